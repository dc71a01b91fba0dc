// What the browser tests run against: a fresh ledger (`wattctl init`), wattd
// on loopback with free ports and fast sweeps, the demo campus
// (`wattctl seed-demo`) and the simulated building (`meter-sim --demo`) with
// its control port and truth file. Binaries come from WL_BIN (default
// build/dev/tools). Everything is stopped by stop().
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../../..', import.meta.url).pathname);
const bin = resolve(process.env.WL_BIN || join(root, 'build/dev/tools'));

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

// A child process whose JSON log lines (stderr, or stdout too) can be awaited.
function start(command, args, { jsonOnStdout = false } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  const feed = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      for (const w of [...waiters]) if (line.includes(w.needle)) { waiters.splice(waiters.indexOf(w), 1); w.done(line); }
    }
  };
  child.stderr.on('data', feed);
  if (jsonOnStdout) child.stdout.on('data', feed); else child.stdout.resume();
  return {
    child,
    lines,
    waitFor(needle, ms = 20000) {
      const seen = lines.find((l) => l.includes(needle));
      if (seen) return Promise.resolve(seen);
      return new Promise((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`${command}: no "${needle}" in ${ms} ms:\n${lines.slice(-20).join('\n')}`)), ms);
        waiters.push({ needle, done: (l) => { clearTimeout(timer); done(l); } });
      });
    },
    stop() {
      if (child.exitCode !== null) return Promise.resolve();
      return new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 10000).unref(); });
    },
  };
}

const field = (line, name) => JSON.parse(line)[name];

export async function startCampus() {
  const dir = mkdtempSync(join(tmpdir(), 'wattledger-web-'));
  const data = join(dir, 'data');
  execFileSync(join(bin, 'wattctl'), ['init', '--data', data], { stdio: 'pipe' });
  const wattd = start(join(bin, 'wattd'), [
    '--data', data, '--rpc_listen', '127.0.0.1:0', '--http_listen', '127.0.0.1:0',
    '--collector_listen', '127.0.0.1:0', '--sweep_seconds', '2', '--poll_timeout_ms', '300',
    '--checkpoint_every_seconds', '1', '--web_root', join(root, 'api/web/dist')]);
  const rpc = field(await wattd.waitFor('"rpc_listening"'), 'address');
  const http = field(await wattd.waitFor('"http_listening"'), 'address');
  const g1 = `127.0.0.1:${await freePort()}`;
  execFileSync(join(bin, 'wattctl'), ['seed-demo', '--data', data, '--server', rpc, '--g1_address', g1], { stdio: 'pipe' });
  const collector = field(await wattd.waitFor('"ingest_started"'), 'collector_listening');
  const sim = start(join(bin, 'meter-sim'), [
    '--demo', '--demo_g1', g1, '--master', collector, '--seed', '7', '--resistive-rate', '0',
    '--truth', join(dir, 'truth.json'), '--truth-interval-ms', '500', '--heartbeat-s', '1',
    '--control', '127.0.0.1:0'], { jsonOnStdout: true });
  await sim.waitFor('"ready"');
  return {
    dir,
    data,
    url: `http://${http}`,
    adminPassword: readFileSync(join(data, 'web/first-admin-password'), 'utf8').trim(),
    key: (name) => join(data, 'keys', `${name}.pem`),
    truth: () => JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')),
    wattdLog: () => wattd.lines.join('\n'),
    async stop() {
      await sim.stop();
      await wattd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
