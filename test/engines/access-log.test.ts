import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { backends, CLI, closeAll, get, startBalancer, withTestEngine, writeConfig } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

/** The access log lines among the balancer's stdout JSON lines (they have a status, app lines a msg). */
function accessLines(logs: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return logs.filter((l) => typeof l.status === 'number' && l.msg === undefined);
}

function fileLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

// nginx's combined format, then our three fields: duration, server, attempts.
const COMBINED =
  /^(\S+) - - \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "(\S+) (\S+) (HTTP\/\d\.\d)" (\d{3}) (\d+) "((?:[^"\\]|\\x[0-9A-F]{2})*)" "((?:[^"\\]|\\x[0-9A-F]{2})*)" (\d+\.\d{3})ms "([^"]*)" (\d+)$/;

test('json access log on stdout: status, body bytes, server name, attempts (2 after a retry), 499 for a client that left', async () => {
  const [live] = await backends(1);
  const dead = await freePort();
  const b = await startBalancer({
    healthCheck: { enabled: false, passive: { maxFails: 0 } },
    retries: { attempts: 2 },
    accessLog: { format: 'json', path: '-' },
    servers: [
      { addr: `http://127.0.0.1:${dead}`, name: 'dead-one' },
      { addr: live?.url, name: 'live-one' },
    ],
  });
  try {
    // Round robin: every other request goes to the dead server first, and is retried on the live one.
    for (let i = 0; i < 4; i++) {
      const r = await get(`${b.url}/bytes?n=${1000 + i}&i=${i}`, { headers: { 'user-agent': 'access-test', referer: 'http://ref.example/' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.length, 1000 + i);
    }
    await waitFor(() => accessLines(b.logs).length >= 4, 'four access lines');
    const lines = accessLines(b.logs);
    for (const [i, l] of lines.entries()) {
      assert.equal(l.method, 'GET');
      assert.equal(l.path, `/bytes?n=${1000 + i}&i=${i}`, 'the path as received');
      assert.equal(l.status, 200);
      assert.equal(l.bytes, 1000 + i, 'body bytes sent');
      assert.equal(l.server, 'live-one');
      assert.equal(l.client, '127.0.0.1');
      assert.equal(l.peer, '127.0.0.1');
      assert.equal(l.userAgent, 'access-test');
      assert.equal(l.referer, 'http://ref.example/');
      assert.equal(l.protocol, 'HTTP/1.1');
      assert.equal(typeof l.durationMs, 'number');
      assert.ok(Number(l.durationMs) >= 0);
      assert.ok(!Number.isNaN(Date.parse(String(l.time))));
    }
    // Those that went to the dead server first were retried once on the live one.
    assert.ok(lines.every((l) => l.attempts === 1 || l.attempts === 2), lines.map((l) => l.attempts).join());
    assert.ok(lines.some((l) => l.attempts === 2), 'some request was retried');

    // A client that leaves before the answer: 499 (nginx's convention), no body bytes.
    const before = accessLines(b.logs).length;
    const sock = connect(Number(new URL(b.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write('GET /slow?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => (live?.requests() ?? 0) >= 5 + 0, 'the slow request to reach a server');
    await new Promise((resolve) => setTimeout(resolve, 100));
    sock.destroy();
    await waitFor(() => accessLines(b.logs).length > before, 'the line of the request whose client left');
    const gone = accessLines(b.logs)[before];
    assert.equal(gone?.path, '/slow?ms=3000');
    assert.equal(gone?.status, 499);
    assert.equal(gone?.bytes, 0);
  } finally {
    assert.equal(await b.stop(), 0);
    await closeAll(live === undefined ? [] : [live]);
  }
});

test('a 503 answered by the balancer itself (no server available) is logged with server "-" and 0 attempts', async () => {
  const dead = await freePort();
  const b = await startBalancer({
    healthCheckDelay: 0.2,
    healthCheck: { fall: 1, timeout: 0.5, jitter: 0 },
    accessLog: { format: 'json', path: '-' },
    servers: [{ addr: `http://127.0.0.1:${dead}`, name: 'down-one' }],
  });
  try {
    await waitFor(async () => (await get(`${b.url}/`)).status === 503, 'the server to be marked down');
    const before = accessLines(b.logs).length;
    const r = await get(`${b.url}/nobody-home`);
    assert.equal(r.status, 503);
    await waitFor(() => accessLines(b.logs).some((l) => l.path === '/nobody-home'), 'the 503 line');
    const l = accessLines(b.logs).slice(before).find((x) => x.path === '/nobody-home');
    assert.equal(l?.status, 503);
    assert.equal(l?.server, '-');
    assert.equal(l?.attempts, 0);
    assert.equal(l?.bytes, Buffer.byteLength(r.body), 'the error body the client got');
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('combined access log to a file: lines parse as nginx combined plus duration, server and attempts; escaping as nginx', async () => {
  const [live] = await backends(1);
  const path = join(dirname(writeConfig({})), 'access.log');
  const b = await startBalancer({ accessLog: { format: 'combined', path }, healthCheck: { enabled: false }, servers: [{ addr: live?.url, name: 'web 1' }] });
  try {
    const r = await get(`${b.url}/a/b?c=d`, { headers: { 'user-agent': 'say "hi" \\ there', referer: 'http://r.example/x' } });
    assert.equal(r.status, 200);
    await get(`${b.url}/x`, { method: 'HEAD' });
    await waitFor(() => fileLines(path).length >= 2, 'two lines in the file');
    const [first, second] = fileLines(path);
    const m = COMBINED.exec(first ?? '');
    assert.ok(m, first);
    assert.equal(m[1], '127.0.0.1');
    assert.equal(m[3], 'GET');
    assert.equal(m[4], '/a/b?c=d');
    assert.equal(m[5], 'HTTP/1.1');
    assert.equal(m[6], '200');
    assert.equal(Number(m[7]), Buffer.byteLength(r.body));
    assert.equal(m[8], 'http://r.example/x');
    assert.equal(m[9], 'say \\x22hi\\x22 \\x5C there');
    assert.ok(Number(m[10]) >= 0);
    assert.equal(m[11], 'web 1');
    assert.equal(m[12], '1');
    const h = COMBINED.exec(second ?? '');
    assert.ok(h, second);
    assert.equal(h[3], 'HEAD');
    assert.equal(h[7], '0', 'a HEAD response has no body bytes');
  } finally {
    assert.equal(await b.stop(), 0);
    await closeAll(live === undefined ? [] : [live]);
  }
});

test('rename then SIGUSR1: new lines go to a new file at the path; a reload switches the format', async () => {
  const [live] = await backends(1);
  const path = join(dirname(writeConfig({})), 'access.log');
  const config = { addr: '127.0.0.1:0', accessLog: { format: 'combined', path }, healthCheck: { enabled: false }, servers: [{ addr: live?.url }] };
  const b = await startBalancer(config);
  try {
    assert.equal((await get(`${b.url}/before-rotation`)).status, 200);
    await waitFor(() => fileLines(path).length === 1, 'the first line');
    renameSync(path, `${path}.1`);
    b.proc.kill('SIGUSR1');
    await waitFor(() => b.logs.some((l) => String(l.msg).startsWith('SIGUSR1: access log reopened')), 'the reopen');
    assert.equal((await get(`${b.url}/after-rotation`)).status, 200);
    await waitFor(() => fileLines(path).length === 1, 'a line in the new file');
    assert.match(fileLines(path)[0] ?? '', /"GET \/after-rotation HTTP\/1\.1" 200 /);
    const rotated = fileLines(`${path}.1`);
    assert.equal(rotated.length, 1);
    assert.match(rotated[0] ?? '', /"GET \/before-rotation HTTP\/1\.1" 200 /);

    // A reload with another format: the next lines are JSON.
    writeFileSync(b.file, JSON.stringify(withTestEngine({ ...config, accessLog: { format: 'json', path } })));
    b.proc.kill('SIGHUP');
    await waitFor(() => b.logs.some((l) => String(l.msg).startsWith('reloaded ')), 'the reload');
    assert.equal((await get(`${b.url}/after-reload`)).status, 200);
    await waitFor(() => fileLines(path).length === 2, 'the JSON line');
    const entry = JSON.parse(fileLines(path)[1] ?? '') as Record<string, unknown>;
    assert.equal(entry.path, '/after-reload');
    assert.equal(entry.status, 200);

    // A reload to a path that cannot be opened keeps the old log and says why.
    writeFileSync(b.file, JSON.stringify(withTestEngine({ ...config, accessLog: { format: 'json', path: '/nonexistent-dir/a.log' } })));
    b.proc.kill('SIGHUP');
    await waitFor(() => b.logs.some((l) => String(l.msg).includes('the access log stays as it was (json to ')), 'the error line');
    assert.equal((await get(`${b.url}/after-bad-reload`)).status, 200);
    await waitFor(() => fileLines(path).length === 3, 'a line in the old log');
    assert.match(fileLines(path)[2] ?? '', /"path":"\/after-bad-reload"/);
  } finally {
    assert.equal(await b.stop(), 0);
    await closeAll(live === undefined ? [] : [live]);
  }
});

test('an access log path that cannot be opened is a config error naming the file and field (exit 2)', async () => {
  const file = writeConfig({ servers: [{ addr: 'http://127.0.0.1:9' }], accessLog: { format: 'json', path: '/nonexistent-dir/access.log' } });
  const proc = spawn(process.execPath, [CLI, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  assert.equal(code, 2);
  assert.ok(stderr.includes(`${file}: accessLog.path: "/nonexistent-dir/access.log" cannot be opened for appending: its directory does not exist (ENOENT)`), stderr);
});

test('a stdout reader that stops reading does not stall proxying; access lines are dropped and the drops counted', async () => {
  const [live] = await backends(1);
  const port = await freePort();
  const file = writeConfig({ addr: `127.0.0.1:${port}`, healthCheck: { enabled: false }, accessLog: { format: 'json', path: '-' }, servers: [{ addr: live?.url }] });
  const proc = spawn(process.execPath, [CLI, 'start', '--config', file, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const N = 800;
  // Long paths make big lines: about 3 KB each, so 1 MiB of buffer plus the pipe's fills in a few hundred.
  const pad = 'p'.repeat(3000);
  try {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes(' listening on '), 'balancer to start');
    proc.stdout.pause(); // nobody reads stdout from now on: the pipe fills up
    for (let i = 0; i < N; i++) {
      const r = await request(`http://127.0.0.1:${port}/${i}/${pad}`, { headersTimeout: 5000, bodyTimeout: 5000 });
      await r.body.text();
      assert.equal(r.statusCode, 200);
    }
    proc.stdout.resume(); // the reader is back: the backlog is written, then the drops are reported
    const parsed = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const dropped = () => parsed().reduce((s, l) => s + Number(l.accessLogDropped ?? 0), 0);
    const logged = () => parsed().filter((l) => typeof l.status === 'number' && String(l.path).endsWith(pad)).length;
    await waitFor(() => dropped() > 0 && logged() + dropped() >= N, 'every request logged or counted as dropped');
    assert.ok(logged() > 0, 'lines before the stall were written');
    assert.equal(logged() + dropped(), N, `${logged()} lines + ${dropped()} dropped`);
    const report = parsed().find((l) => l.accessLogDropped !== undefined);
    assert.match(String(report?.msg), /^access log: [\d,]+ lines? dropped in the last [\d.]+ s \(the reader of standard output is not keeping up/);
  } finally {
    proc.stdout.resume();
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    await closeAll(live === undefined ? [] : [live]);
  }
});

test('a request the balancer answers on the raw socket (a malformed chunked body: 400) is logged with that status, not as a client that left', async () => {
  const [live] = await backends(1);
  const b = await startBalancer({ healthCheck: { enabled: false }, accessLog: { format: 'json', path: '-' }, servers: [{ addr: live?.url }] });
  try {
    const sock = connect(Number(new URL(b.url).port), '127.0.0.1');
    let reply = '';
    sock.on('data', (d: Buffer) => (reply += d.toString()));
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n');
    await waitFor(() => reply.startsWith('HTTP/1.1 400 '), 'the 400');
    sock.destroy();
    await waitFor(() => accessLines(b.logs).some((l) => l.path === '/upload'), 'its line');
    const l = accessLines(b.logs).find((x) => x.path === '/upload');
    assert.equal(l?.status, 400);
    assert.equal(l?.method, 'POST');
  } finally {
    assert.equal(await b.stop(), 0);
    await closeAll(live === undefined ? [] : [live]);
  }
});
