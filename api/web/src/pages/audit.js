// Audit: the chain head and the signed checkpoints; a verification of the
// whole log run here in the browser, with progress (each event's Ed25519
// signature by its registered key, each envelope's SHA-256 linking to the
// next one's prevHash, each checkpoint's signature by the ledger key); and
// an export in the message-stream format `wattctl verify --export` reads
// offline (ledger/message_stream.h), assembled here page by page.
import { get, query } from '../api.js';
import { h, section, table } from '../ui.js';
import { t } from '../i18n.js';
import { fromBase64, fromHex, hex, verifyEvent } from '../signing.js';

const PAGE = 1000;
const CHECKPOINT_DOMAIN = new TextEncoder().encode('wattledger/v1/checkpoint');

// True when `needle` occurs in `haystack` (a decoded field inside the bytes that were hashed).
function contains(haystack, needle) {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return needle.length === 0;
}

// The checkpoints in seq order, fetched a page at a time: next() is the
// following one, or null after the last.
function checkpointCursor() {
  let page = [];
  let index = 0;
  let from = 0;
  let done = false;
  return async function next() {
    if (index < page.length) return page[index++];
    if (done) return null;
    page = (await get(`/api/checkpoints${query({ from, limit: PAGE })}`)).items;
    index = 0;
    done = page.length < PAGE;
    if (!page.length) return null;
    from = page[page.length - 1].seq + 1;
    return page[index++];
  };
}

// Every event from seq 1, page by page; `onPage(events, head)` sees each page.
async function eachPage(onPage) {
  let from = 1;
  for (;;) {
    const page = await get(`/api/events${query({ from, limit: PAGE })}`);
    if (!page.items.length) return page.head;
    await onPage(page.items, page.head);
    from = page.items[page.items.length - 1].seq + 1;
    if (from > page.head) return page.head;
  }
}

async function verifyLog(progress, status) {
  const keys = await get('/api/keys');
  const publicKeys = new Map(keys.items.map((k) => [k.keyId, k.publicKey]));
  for (const k of keys.items) {
    const id = hex(await crypto.subtle.digest('SHA-256', fromHex(k.publicKey)));
    if (id !== k.keyId) throw new Error(`key ${k.keyId}: its id is not the SHA-256 of its public key`);
  }
  // Each checkpoint is checked when the events reach its seq, so nothing
  // but the current pages is held.
  const ledgerKey = await crypto.subtle.importKey('raw', fromHex(keys.ledgerKey), { name: 'Ed25519' }, false, ['verify']);
  const nextCheckpoint = checkpointCursor();
  let checkpoint = await nextCheckpoint();
  let checked = 0;
  let previous = '0'.repeat(64);
  let expected = 1;
  const head = await eachPage(async (events, headSeq) => {
    for (const e of events) {
      if (e.seq !== expected) throw new Error(`seq ${expected}: missing (got ${e.seq})`);
      const envelope = fromBase64(e.envelope);
      const body = fromBase64(e.bodyBytes);
      const hash = hex(await crypto.subtle.digest('SHA-256', envelope));
      if (e.prevHash !== previous) throw new Error(`seq ${e.seq}: prevHash does not link to seq ${e.seq - 1}`);
      if (!contains(envelope, body) || !contains(envelope, fromHex(e.signature)) || !contains(envelope, fromHex(e.prevHash))) {
        throw new Error(`seq ${e.seq}: the decoded fields are not those of the envelope`);
      }
      const publicKey = publicKeys.get(e.signerKeyId);
      if (!publicKey || !(await verifyEvent(publicKey, e.signature, body))) {
        throw new Error(`seq ${e.seq}: bad signature`);
      }
      for (; checkpoint && checkpoint.seq <= e.seq; checkpoint = await nextCheckpoint()) {
        if (checkpoint.seq !== e.seq || checkpoint.chainHash !== hash) {
          throw new Error(`checkpoint ${checkpoint.seq}: its chain hash is not the log's`);
        }
        const seq = new Uint8Array(8);
        new DataView(seq.buffer).setBigUint64(0, BigInt(checkpoint.seq));
        const message = new Uint8Array([...CHECKPOINT_DOMAIN, ...seq, ...fromHex(checkpoint.chainHash)]);
        if (!(await crypto.subtle.verify({ name: 'Ed25519' }, ledgerKey, fromHex(checkpoint.signature), message))) {
          throw new Error(`checkpoint ${checkpoint.seq}: bad signature`);
        }
        checked++;
      }
      previous = hash;
      expected = e.seq + 1;
    }
    progress.max = headSeq;
    progress.value = expected - 1;
    status.textContent = `${expected - 1} / ${headSeq} ${t('events')}`;
  });
  // Checkpoints past the events read cover events appended since: not checked.
  return { head, checked };
}

// One record of the export format: u32le(0) u32le(words) segment.
function record(bytes) {
  const out = new Uint8Array(8 + bytes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0, true);
  view.setUint32(4, bytes.length / 8, true);
  out.set(bytes, 8);
  return out;
}

function download(parts, name) {
  const url = URL.createObjectURL(new Blob(parts, { type: 'application/octet-stream' }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function exportLog(progress, status) {
  const parts = [];
  await eachPage(async (events, headSeq) => {
    for (const e of events) parts.push(record(fromBase64(e.envelope)));
    progress.max = headSeq;
    progress.value = events[events.length - 1].seq;
    status.textContent = `${progress.value} / ${headSeq} ${t('events')}`;
  });
  const checkpoints = [];
  const nextCheckpoint = checkpointCursor();
  for (let c = await nextCheckpoint(); c; c = await nextCheckpoint()) checkpoints.push(record(fromBase64(c.canonical)));
  download(parts, 'wattledger.log');
  download(checkpoints, 'wattledger.log.checkpoints');
}

export async function auditPage({ main }) {
  const [head, checkpoints] = await Promise.all([get('/api/head'), get('/api/checkpoints?limit=0')]);
  const progress = h('progress', { id: 'audit-progress', value: 0, max: head.seq });
  const status = h('span', { id: 'audit-status' });
  const run = (action) => async (e) => {
    e.target.disabled = true;
    try {
      status.textContent = await action(progress, status);
    } catch (error) {
      status.textContent = `✗ ${error.message}`;
      status.className = 'error';
    } finally {
      e.target.disabled = false;
    }
  };
  main.append(
    section(t('head'), h('p', {}, `${t('seq')} `, h('b', { id: 'head-seq' }, head.seq), ` · ${t('chainHash')} `, h('code', {}, head.chainHash))),
    section(t('audit'),
      h('div', { class: 'toolbar' },
        h('button', { id: 'verify', onclick: run(async (p, s) => {
          const r = await verifyLog(p, s);
          s.className = 'ok';
          return `✓ ${t('verified')}: ${r.head} ${t('events')}, ${r.checked} ${t('checkpoints')}`;
        }) }, t('verify')),
        h('button', { id: 'export', onclick: run(async (p, s) => { await exportLog(p, s); return `✓ ${t('done')}`; }) }, t('exportLog')),
        progress, status),
      h('p', { class: 'note' }, 'wattctl verify --file wattledger.log --ledger-key LEDGER.pub   (offline, on your own machine)')),
    section(t('checkpoints'), table(checkpoints.latest ? [checkpoints.latest] : [], ['seq', 'chainHash', 'signature'])));
}
