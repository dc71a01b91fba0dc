// The console in headless Chromium (Debian's, driven by playwright-core)
// against wattd + the simulated building on loopback, as its users use it:
// the first admin logs in with the printed password and sees the building;
// creates a cashier's and an operator's accounts for their registered keys;
// the cashier imports their key into the browser, takes a deposit and opens
// its printable receipt; the operator cuts a room off and the simulator's
// relay opens; a report's chart and CSV; the audit page verifies the whole
// log in the browser and exports it; a student sees only their own room.
// Screenshots of every page go to WL_ARTIFACTS (default tests/artifacts/web).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startCampus } from './harness.mjs';

const artifacts = resolve(process.env.WL_ARTIFACTS || new URL('../../../tests/artifacts/web', import.meta.url).pathname);
mkdirSync(artifacts, { recursive: true });

let campus;
let browser;

before(async () => {
  campus = await startCampus();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await campus?.stop();
});

async function newPage(lang = 'en') {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  await context.addInitScript((l) => localStorage.setItem('wl.lang', l), lang);
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('pageerror', (error) => { throw new Error(`page error: ${error.message}`); });
  return page;
}

async function login(page, username, password) {
  await page.goto(campus.url);
  await page.fill('#login input[name=username]', username);
  await page.fill('#login input[name=password]', password);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('nav');
}

// Logs in as a staff member and imports their key into this browser.
async function loginWithKey(page, username, keyName) {
  await login(page, username, `${username}-password`);
  await page.goto(`${campus.url}/#/key`);
  await page.setInputFiles('#key-file', campus.key(keyName));
  await page.waitForSelector('#key-state:has-text("Key kept in this browser")');
}

const shot = (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

async function eventually(what, check, ms = 30000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a wrong password is refused and nothing opens', async () => {
  const page = await newPage();
  await page.goto(campus.url);
  await page.fill('#login input[name=username]', 'admin');
  await page.fill('#login input[name=password]', 'not-the-password');
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#login .msg.error');
  assert.match(await page.textContent('#login .msg.error'), /wrong name or password/);
  assert.equal(await page.$('nav'), null);
  await page.context().close();
});

test('the first admin logs in with the printed password and sees the simulated building', async () => {
  const page = await newPage();
  await login(page, 'admin', campus.adminPassword);
  await page.waitForSelector('#meter-tiles');
  await eventually('256 meters online', async () => {
    await page.goto(`${campus.url}/#/rooms`);
    await page.goto(`${campus.url}/#/dashboard`);
    await page.waitForSelector('#meter-tiles');
    return /256\s*online/.test(await page.textContent('#meter-tiles'));
  });
  assert.match(await page.textContent('#gateway-tiles'), /2\s*online/);
  // The live power chart redraws itself without a reload.
  const first = await page.getAttribute('#power-chart', 'data-updated');
  await eventually('the power chart updates', async () => (await page.getAttribute('#power-chart', 'data-updated')) !== first, 15000);
  assert.ok(await page.$('#power-chart canvas'));
  await shot(page, '01-dashboard');

  // Chinese and English switch in place.
  await page.click('nav button.link >> nth=0');
  await page.waitForSelector('nav a[data-page=rooms]:has-text("房间")');
  await page.click('nav button.link >> nth=0');
  await page.waitForSelector('nav a[data-page=rooms]:has-text("Rooms")');

  // Accounts for the demo's cashier and operator keys.
  await page.goto(`${campus.url}/#/users`);
  await page.waitForSelector('#user-form');
  for (const [name, role, holder] of [['cashier1', 'cashier', 'demo cashier'], ['operator1', 'operator', 'demo operator']]) {
    await page.fill('#user-form input[name=name]', name);
    await page.selectOption('#user-form select[name=role]', role);
    await page.fill('#user-form input[name=password]', `${name}-password`);
    const option = await page.$eval('#user-form select[name=keyId]', (s, h) =>
      [...s.options].find((o) => o.textContent.startsWith(h)).value, holder);
    await page.selectOption('#user-form select[name=keyId]', option);
    await page.click('#user-form button[type=submit]');
    await page.waitForSelector(`#accounts tr[data-user=${name}]`);
  }
  await page.fill('#user-form input[name=name]', 'C202600000');
  await page.selectOption('#user-form select[name=role]', 'student');
  await page.fill('#user-form input[name=password]', 'student-password');
  await page.fill('#user-form input[name=personId]', 'S202600000');
  await page.click('#user-form button[type=submit]');
  await page.waitForSelector('#accounts tr[data-user=C202600000]');
  await shot(page, '02-users-and-keys');

  await page.goto(`${campus.url}/#/devices`);
  await page.waitForSelector('td[data-col=meterAddress]');
  await shot(page, '03-meters-and-gateways');
  await page.goto(`${campus.url}/#/rooms`);
  await page.fill('#room-search', 'B01 103');
  await page.waitForSelector('a[href="#/rooms/B01-103"]');
  await page.click('a[href="#/rooms/B01-103"]');
  await page.waitForSelector('#history td.verified');
  assert.equal(await page.$('#history td.unverified'), null);
  await shot(page, '04-room');
  await page.context().close();
});

test('a cashier imports their key, takes a deposit and prints its receipt', async () => {
  const page = await newPage();
  await loginWithKey(page, 'cashier1', 'cashier');
  const state = await page.textContent('#key-state');
  const [kept, named] = state.match(/[0-9a-f]{64}/g);
  assert.equal(kept, named, 'the imported key is the one the account names');

  const before = await page.evaluate(async () => (await (await fetch('/api/rooms/B01-101/balance')).json()).items[0].balanceFen);
  await page.goto(`${campus.url}/#/cashier`);
  await page.fill('#deposit-form input[name=room]', 'B01-101');
  await page.fill('#deposit-form input[name=amountYuan]', '25.50');
  await page.fill('#deposit-form input[name=cardNo]', 'C202600000');
  await page.click('#deposit-form button[type=submit]');
  await page.waitForSelector('#receipt');
  assert.match(await page.textContent('#receipt-no'), /\S/);
  assert.match(await page.textContent('#receipt-seq'), /^\d+$/);
  assert.ok((await page.getAttribute('#receipt-qr', 'src')).startsWith('data:image/png'));
  const after = await page.evaluate(async () => (await (await fetch('/api/rooms/B01-101/balance')).json()).items[0].balanceFen);
  assert.equal(after - before, 2550);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('nav'), false, 'the printout is the receipt alone');
  assert.equal(await page.isVisible('#receipt'), true);
  await shot(page, '05-receipt-print');
  await page.emulateMedia({ media: 'screen' });
  await shot(page, '06-cashier');

  // The cashier's key may not cut power: the ledger refuses it.
  const refused = await page.evaluate(async () => {
    const csrf = (await (await fetch('/api/session')).json()).csrfToken;
    const r = await fetch('/api/commands/control/prepare', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ meter: '000000010001', action: 'trip', reason: 'x' }) });
    return r.status;
  });
  assert.equal(refused, 403);
  await page.context().close();
});

test('an operator cuts a room off and the simulated meter opens its relay', async () => {
  const page = await newPage();
  await loginWithKey(page, 'operator1', 'operator');
  await page.goto(`${campus.url}/#/control`);
  await page.fill('#relay-form input[name=meter]', '000000010002');
  await page.fill('#relay-form input[name=room]', 'B01-102');
  await page.fill('#relay-form input[name=reason]', 'wiring inspection');
  await page.selectOption('#relay-form select[name=action]', 'trip');
  await page.click('#relay-form button[type=submit]');
  await page.waitForSelector('#relay-form .msg.ok');
  await eventually('the simulator\'s relay opens', () => campus.truth().meters?.['000000010002']?.relay === 'open', 30000);
  await shot(page, '07-control');
  // A new occupant moves in, through the campus registry's form.
  await page.goto(`${campus.url}/#/campus`);
  await page.fill('#occupant-assign-form input[name=room]', 'B01-101');
  await page.fill('#occupant-assign-form input[name=person]', 'S209900001');
  await page.fill('#occupant-assign-form input[name=name]', 'New Student');
  await page.fill('#occupant-assign-form input[name=identity]', 'undergraduate');
  await page.fill('#occupant-assign-form input[name=card]', 'C209900001');
  await page.click('#occupant-assign-form button[type=submit]');
  await page.waitForSelector('#occupant-assign-form .msg');
  assert.match(await page.textContent('#occupant-assign-form .msg'), /seq \d+/);
  await shot(page, '08-campus');
  await page.goto(`${campus.url}/#/rooms/B01-101`);
  await page.waitForSelector('#room-power');
  assert.match(await page.textContent('main'), /New Student/);
  await page.goto(`${campus.url}/#/rooms/B01-102`);
  await page.waitForSelector('#room-power');
  await eventually('the room shows power off', async () => {
    await page.reload();
    await page.waitForSelector('#room-power');
    return /off/.test(await page.textContent('#room-power'));
  });
  await page.context().close();
});

test('a new operator is onboarded in the browser alone: own key made there, registered by the admin', async () => {
  const admin = await newPage();
  await login(admin, 'admin', campus.adminPassword);
  await admin.goto(`${campus.url}/#/key`);
  await admin.setInputFiles('#key-file', campus.key('admin'));
  await admin.waitForSelector('#key-state:has-text("Key kept in this browser")');
  await admin.goto(`${campus.url}/#/users`);
  await admin.fill('#user-form input[name=name]', 'operator2');
  await admin.selectOption('#user-form select[name=role]', 'operator');
  await admin.fill('#user-form input[name=password]', 'operator2-password');
  await admin.click('#user-form button[type=submit]');
  await admin.waitForSelector('#accounts tr[data-user=operator2]');

  const op = await newPage();
  await login(op, 'operator2', 'operator2-password');
  await op.goto(`${campus.url}/#/key`);
  await op.click('#generate-key');
  await op.waitForSelector('#new-public-key');
  const publicKey = (await op.textContent('#new-public-key')).trim();
  assert.match(publicKey, /^[0-9a-f]{64}$/);
  const [saved] = await Promise.all([op.waitForEvent('download'), op.click('#save-key')]);
  assert.match(readFileSync(await saved.path(), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);

  await admin.fill('#key-form textarea[name=publicKey]', publicKey);
  await admin.selectOption('#key-form select[name=role]', 'operator');
  await admin.fill('#key-form input[name=holder]', 'Operator Two');
  await admin.click('#key-form button[type=submit]');
  await admin.waitForSelector('#keys td:has-text("Operator Two")');
  const choice = 'tr[data-user=operator2] select[name=keyId]';
  const keyId = await admin.$eval(choice, (s) => [...s.options].find((o) => o.textContent.startsWith('Operator Two')).value);
  await admin.selectOption(choice, keyId);
  await admin.waitForFunction((id) => document.querySelector('tr[data-user=operator2] select[name=keyId]')?.value === id, keyId);
  await shot(admin, '12-onboarding');

  await op.reload();
  await op.waitForSelector('#key-state');
  const [kept, named] = (await op.textContent('#key-state')).match(/[0-9a-f]{64}/g);
  assert.equal(kept, named);
  await op.goto(`${campus.url}/#/control`);
  await op.fill('#relay-form input[name=meter]', '000000010003');
  await op.fill('#relay-form input[name=reason]', 'exam night');
  await op.selectOption('#relay-form select[name=action]', 'keep-power');
  await op.click('#relay-form button[type=submit]');
  await op.waitForSelector('#relay-form .msg');
  assert.match(await op.textContent('#relay-form .msg'), /seq \d+/);
  await admin.context().close();
  await op.context().close();
});

test('a report has a chart and its CSV downloads; the audit verifies the log in the browser', async () => {
  const page = await newPage('zh');
  await login(page, 'admin', campus.adminPassword);
  await page.goto(`${campus.url}/#/reports`);
  await page.selectOption('select[name=report]', 'deposits');
  await page.click('#show-report');
  await page.waitForSelector('#report-chart canvas');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv.split('\r\n')[0], /day/);
  assert.ok(csv.split('\r\n').filter(Boolean).length >= 2);
  await shot(page, '09-reports');

  await page.goto(`${campus.url}/#/audit`);
  await page.click('#verify');
  await page.waitForSelector('#audit-status.ok, #audit-status.error', { timeout: 60000 });
  assert.match(await page.textContent('#audit-status'), /✓/);
  const [log] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.equal(log.suggestedFilename(), 'wattledger.log');
  await shot(page, '10-audit');
  await page.context().close();
});

test('a student sees their own room and no other', async () => {
  const page = await newPage();
  await login(page, 'C202600000', 'student-password');
  await page.waitForSelector('#my-balance');
  assert.match(await page.textContent('h1'), /B01-101/);
  const links = await page.$$eval('nav a', (as) => as.map((a) => a.dataset.page));
  assert.deepEqual(links, ['me']);
  await page.goto(`${campus.url}/#/rooms/B01-102`);
  await page.waitForSelector('#my-balance');  // no rooms page: back to their own
  const other = await page.evaluate(async () => (await fetch('/api/rooms/B01-102/balance')).status);
  assert.equal(other, 404);
  await shot(page, '11-student');
  await page.context().close();
});
