import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { recordingLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';
import { FakeControl } from './fake-control.js';
import { rawExchange as raw } from '../helpers/raw-client.js';

const TOKEN = 'test-token-123';
const log = recordingLogger();
const control = new FakeControl();
let admin: AdminServer;
let readOnly: AdminServer;
const readOnlyControl = new FakeControl();

before(async () => {
  admin = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control, log });
  readOnly = await startAdminServer({ addr: '127.0.0.1:0', token: undefined, control: readOnlyControl, log });
});
after(async () => {
  await admin.close();
  await readOnly.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: { error?: { code: string; message: string; known?: string[]; problems?: string[]; field?: string } } & Record<string, unknown>;
}

async function call(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; token?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const r = await request(`${base}${path}`, { method: (opts.method ?? 'GET') as 'GET', headers, body: opts.body });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, json: text === '' ? {} : (JSON.parse(text) as Answer['json']) };
}

const port = (base: string): string => new URL(base).port;

test('GET /api/servers lists servers and sources, no-store, JSON', async () => {
  const r = await call(admin.url, '/api/servers');
  assert.equal(r.status, 200);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const servers = r.json.servers as { name: string }[];
  assert.deepEqual(servers.map((s) => s.name), ['a', 'b']);
  assert.deepEqual((r.json.sources as { id: string }[]).map((s) => s.id), ['config']);
});

test('the start line names the admin URL (field admin) and says read-only; never "listening on", which is the proxy\'s line', () => {
  const lines = log.entries.filter((e) => e.obj.admin !== undefined);
  const ro = lines.find((e) => e.obj.admin === readOnly.url);
  const rw = lines.find((e) => e.obj.admin === admin.url);
  assert.match(ro?.msg ?? '', /^admin API at http:\/\/127\.0\.0\.1:\d+ \(read-only: no token\)$/);
  assert.match(rw?.msg ?? '', /^admin API at http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(!log.entries.some((e) => e.msg.includes(' listening on ') || 'addr' in e.obj));
});

test('GET /api/servers/NAME answers one server; names are URL-decoded', async () => {
  const c = new FakeControl();
  const { view } = await import('./fake-control.js');
  const s = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control: c, log });
  try {
    c.servers(); // default list
    const r = await call(s.url, '/api/servers/a');
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'a');
    const c2 = new FakeControl([view('127.0.0.1:9000', 'http://127.0.0.1:9000')]);
    const s2 = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control: c2, log });
    try {
      const d = await call(s2.url, `/api/servers/${encodeURIComponent('127.0.0.1:9000')}/drain`, { method: 'POST' });
      assert.equal(d.status, 200);
      assert.deepEqual(c2.calls, ['drain 127.0.0.1:9000']);
    } finally {
      await s2.close();
    }
  } finally {
    await s.close();
  }
});

test('drain, disable, enable answer the new server object', async () => {
  for (const [action, state] of [['drain', 'draining'], ['disable', 'disabled'], ['enable', 'up']] as const) {
    const r = await call(admin.url, `/api/servers/a/${action}`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.state, state);
    assert.equal(r.json.name, 'a');
  }
  assert.deepEqual(control.calls.slice(-3), ['drain a', 'disable a', 'enable a']);
});

test('an unknown server is a 404 naming the known servers', async () => {
  const r = await call(admin.url, '/api/servers/nope/drain', { method: 'POST' });
  assert.equal(r.status, 404);
  assert.equal(r.json.error?.code, 'E_ADMIN_UNKNOWN_SERVER');
  assert.deepEqual(r.json.error?.known, ['a', 'b']);
  assert.match(r.json.error?.message ?? '', /no server named "nope" \(known: a, b\)/);
  const g = await call(admin.url, '/api/servers/nope');
  assert.equal(g.status, 404);
  const w = await call(admin.url, '/api/servers/nope/weight', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"weight":2}' });
  assert.equal(w.status, 404);
});

test('PUT weight sets a positive weight; anything else is a 400 naming the field', async () => {
  const ok = await call(admin.url, '/api/servers/b/weight', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"weight": 2.5}' });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.weight, 2.5);
  assert.equal(control.calls.at(-1), 'weight b 2.5');
  const before = control.calls.length;
  for (const body of ['{"weight": 0}', '{"weight": -1}', '{"weight": "2"}', '{"weight": null}', '{}', '[2]', '2', '{"weight": 2, "x": 1}', '{"weight": 1e999}']) {
    const r = await call(admin.url, '/api/servers/b/weight', { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    assert.equal(r.status, 400, body);
    assert.equal(r.json.error?.code, 'E_ADMIN_BAD_REQUEST', body);
    assert.match(r.json.error?.message ?? '', /weight|field|object/, body);
  }
  const notJson = await call(admin.url, '/api/servers/b/weight', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{weight: 2' });
  assert.equal(notJson.status, 400);
  assert.match(notJson.json.error?.message ?? '', /not valid JSON/);
  const weightless = await call(admin.url, '/api/servers/b/weight', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"weigth": 2}' });
  assert.equal(weightless.json.error?.field, 'weigth');
  assert.equal(control.calls.length, before, 'no bad weight reached the control plane');
});

test('POST /api/reload: 200 with the changes, or 400 with every problem', async () => {
  const ok = await call(admin.url, '/api/reload', { method: 'POST' });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json.changes, ['servers: added c']);
  control.nextReload = { ok: false, problems: ['b.json: servers[0].addr: "x" is not an http:// or https:// URL', 'b.json: algorithm: "rr" is not a known algorithm'] };
  const bad = await call(admin.url, '/api/reload', { method: 'POST' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error?.code, 'E_ADMIN_RELOAD_INVALID');
  assert.equal(bad.json.error?.problems?.length, 2);
  control.nextReload = { ok: true, changes: [], kept: [] };
});

test('GET /api/config answers the redacted config', async () => {
  const r = await call(admin.url, '/api/config');
  assert.equal(r.status, 200);
  assert.deepEqual((r.json.admin as { token: string }).token, '[redacted]');
});

test('/healthz and /readyz need no token; readyz follows ready()', async () => {
  const h = await call(admin.url, '/healthz', { token: null });
  assert.equal(h.status, 200);
  assert.equal(h.headers['cache-control'], 'no-store');
  assert.equal((await call(admin.url, '/readyz', { token: null })).status, 200);
  control.isReady = false;
  try {
    const r = await call(admin.url, '/readyz', { token: null });
    assert.equal(r.status, 503);
  } finally {
    control.isReady = true;
  }
  // A foreign Host does not matter to probes (Kubernetes sends the pod IP).
  const probe = await raw(admin.url, `GET /healthz HTTP/1.1\r\nHost: 10.0.0.7:${port(admin.url)}\r\nConnection: close\r\n\r\n`);
  assert.match(probe, /^HTTP\/1\.1 200 /);
});

test('unknown routes are 404; a wrong method is 405 with Allow', async () => {
  const r = await call(admin.url, '/api/nothing');
  assert.equal(r.status, 404);
  assert.equal(r.json.error?.code, 'E_ADMIN_NOT_FOUND');
  assert.equal((await call(admin.url, '/nothing', { token: null })).status, 404);
  assert.equal((await call(admin.url, '/api/servers/a/explode', { method: 'POST' })).status, 404);
  const m = await call(admin.url, '/api/servers', { method: 'POST' });
  assert.equal(m.status, 405);
  assert.equal(m.headers.allow, 'GET, HEAD');
  assert.equal(m.json.error?.code, 'E_ADMIN_METHOD');
  const d = await call(admin.url, '/api/servers/a/drain');
  assert.equal(d.status, 405);
  assert.equal(d.headers.allow, 'POST');
  const w = await call(admin.url, '/api/servers/a/weight', { method: 'POST' });
  assert.equal(w.headers.allow, 'PUT');
  assert.equal((await call(admin.url, '/api/reload')).headers.allow, 'POST');
});

// Every refusal, on a real socket.

test('refused: no token (401, WWW-Authenticate), logged', async () => {
  const r = await call(admin.url, '/api/servers', { token: null });
  assert.equal(r.status, 401);
  assert.equal(r.json.error?.code, 'E_ADMIN_UNAUTHORIZED');
  assert.match(String(r.headers['www-authenticate']), /^Bearer/);
  assert.equal(r.headers['cache-control'], 'no-store');
  await waitFor(() => log.entries.some((e) => e.level === 'warn' && e.obj.code === 'E_ADMIN_UNAUTHORIZED'), 'the refusal logged');
});

test('refused: wrong token (401); the action is not done', async () => {
  const before = control.calls.length;
  const r = await call(admin.url, '/api/servers/a/disable', { method: 'POST', token: 'wrong' });
  assert.equal(r.status, 401);
  assert.match(r.json.error?.message ?? '', /wrong token/);
  assert.equal(control.calls.length, before);
});

test('refused: a cross-site Origin (403), even with the token', async () => {
  const before = control.calls.length;
  const r = await call(admin.url, '/api/servers/a/disable', { method: 'POST', headers: { origin: 'https://evil.example' } });
  assert.equal(r.status, 403);
  assert.equal(r.json.error?.code, 'E_ADMIN_FORBIDDEN_ORIGIN');
  assert.equal(control.calls.length, before);
  const same = await call(admin.url, '/api/servers', { headers: { origin: `http://localhost:${port(admin.url)}` } });
  assert.equal(same.status, 200);
});

test('refused: Sec-Fetch-Site: cross-site (403)', async () => {
  const r = await call(admin.url, '/api/servers', { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(r.status, 403);
  assert.equal(r.json.error?.code, 'E_ADMIN_FORBIDDEN_ORIGIN');
});

test('refused: a foreign Host (DNS rebinding), raw socket', async () => {
  const p = port(admin.url);
  const res = await raw(admin.url, `GET /api/servers HTTP/1.1\r\nHost: rebind.attacker.test:${p}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
  assert.match(res, /^HTTP\/1\.1 403 /);
  assert.match(res, /E_ADMIN_BAD_HOST/);
  assert.match(res, /cache-control: no-store/i);
  for (const host of [`localhost:${p}`, `127.0.0.1:${p}`]) {
    const ok = await raw(admin.url, `GET /api/servers HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
    assert.match(ok, /^HTTP\/1\.1 200 /, host);
  }
  // HTTP/1.0 without a Host at all.
  const none = await raw(admin.url, `GET /api/servers HTTP/1.0\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  assert.match(none, /^HTTP\/1\.[01] 403 /);
});

test('refused: a write body without Content-Type: application/json (415)', async () => {
  const before = control.calls.length;
  const r = await call(admin.url, '/api/servers/a/weight', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: '{"weight": 3}' });
  assert.equal(r.status, 415);
  assert.equal(r.json.error?.code, 'E_ADMIN_CONTENT_TYPE');
  const none = await raw(admin.url, `PUT /api/servers/a/weight HTTP/1.1\r\nHost: 127.0.0.1:${port(admin.url)}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 13\r\n\r\n{"weight": 3}`);
  assert.match(none, /^HTTP\/1\.1 415 /);
  assert.equal(control.calls.length, before);
});

test('refused: writes on a listener without a token (read-only, 403); reads work', async () => {
  const r = await call(readOnly.url, '/api/servers/a/drain', { method: 'POST', token: null });
  assert.equal(r.status, 403);
  assert.equal(r.json.error?.code, 'E_ADMIN_READ_ONLY');
  assert.match(r.json.error?.message ?? '', /read-only/);
  const withSomeToken = await call(readOnly.url, '/api/reload', { method: 'POST', token: 'anything' });
  assert.equal(withSomeToken.status, 403);
  assert.deepEqual(readOnlyControl.calls, []);
  assert.equal((await call(readOnly.url, '/api/servers', { token: null })).status, 200);
});

test('refused: a body over 64 KiB (413), declared or streamed', async () => {
  const p = port(admin.url);
  const head = `PUT /api/servers/a/weight HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n`;
  const declared = await raw(admin.url, `${head}Content-Length: 100000\r\n\r\n{"weight":`);
  assert.match(declared, /^HTTP\/1\.1 413 /);
  const big = `{"weight": 1, "pad": "${'x'.repeat(70 * 1024)}"}`;
  const chunked = await raw(admin.url, `${head}Transfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
  assert.match(chunked, /^HTTP\/1\.1 413 /);
  assert.match(chunked, /E_ADMIN_TOO_LARGE/);
});

test('refusals are logged at most once per cause and client per interval, with a count', async () => {
  const s = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control, log: recordingLogger() });
  const rec = recordingLogger();
  const s2 = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control, log: rec });
  try {
    for (let i = 0; i < 20; i++) assert.equal((await call(s2.url, '/api/servers', { token: 'bad' })).status, 401);
    const lines = rec.entries.filter((e) => e.obj.code === 'E_ADMIN_UNAUTHORIZED');
    assert.equal(lines.length, 1, 'one line now; the rest are summed up later');
    assert.ok(!JSON.stringify(rec.entries).includes(TOKEN), 'the token is never logged');
  } finally {
    await s.close();
    await s2.close();
  }
  const summary = rec.entries.find((e) => e.obj.count === 19);
  assert.ok(summary !== undefined, `a summary line counts the other 19: ${JSON.stringify(rec.entries.map((e) => e.msg))}`);
});

test('a client that sends its request head too slowly is cut with 408; others are served meanwhile', async () => {
  const s = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control, log, timeouts: { headersMs: 300, requestMs: 600 } });
  try {
    const u = new URL(s.url);
    const slow = connect(Number(u.port), u.hostname);
    slow.setEncoding('latin1');
    let got = '';
    slow.on('data', (d: string) => (got += d));
    const closed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    slow.write(`GET /api/servers HTTP/1.1\r\nHost: ${u.host}\r\n`); // and never the end of the head
    assert.equal((await call(s.url, '/api/servers')).status, 200);
    await closed;
    assert.match(got, /^HTTP\/1\.1 408 /);
    // An oversized head is refused, not buffered.
    const big = await raw(s.url, `GET /api/servers HTTP/1.1\r\nHost: ${u.host}\r\nX-Pad: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 /);
  } finally {
    await s.close();
  }
});

test('setToken: a rotated token is in force at once; the old one is refused; undefined makes it read-only', async () => {
  const c = new FakeControl();
  const s = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control: c, log });
  try {
    s.setToken('rotated-token-2');
    assert.equal((await call(s.url, '/api/servers')).status, 401, 'the old token');
    assert.equal((await call(s.url, '/api/servers', { token: 'rotated-token-2' })).status, 200);
    s.setToken(undefined);
    assert.equal((await call(s.url, '/api/servers', { token: null })).status, 200);
    const w = await call(s.url, '/api/servers/a/drain', { method: 'POST', token: 'rotated-token-2' });
    assert.equal(w.json.error?.code, 'E_ADMIN_READ_ONLY');
  } finally {
    await s.close();
  }
});

test('startAdminServer: a taken port is E_LISTEN naming the address', async () => {
  const addr = `127.0.0.1:${port(admin.url)}`;
  await assert.rejects(startAdminServer({ addr, token: TOKEN, control, log }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_LISTEN');
    assert.match(e.message, new RegExp(`admin API on ${addr}: the port is taken`));
    return true;
  });
});
