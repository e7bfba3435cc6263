// Black-box: GET /api/events on the real balancer (the CLI as a process, real backends): the
// snapshot, announcements of health, operator actions and reloads, the live summary, a reader
// that never reads cut off while others stream on, auth, and a prompt exit with a stream open.
import assert from 'node:assert/strict';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { backends, closeAll, get, startBalancer, adminUrl } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'events-token-91c2';
const auth = { authorization: `Bearer ${TOKEN}` };

interface Sse {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

interface Stream {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly events: Sse[];
  /** Comments seen (": ping"). */
  readonly comments: string[];
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens the stream and parses SSE as a browser page would. */
function openStream(admin: string, headers: Record<string, string> = auth): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(`${admin}/api/events`, { headers }, (res) => {
      const events: Sse[] = [];
      const comments: string[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data !== '') events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      });
      const ended = new Promise<void>((r) => {
        res.once('end', () => r());
        res.once('close', () => r());
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, events, comments, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

const find = (s: Stream, type: string, pred: (d: Record<string, unknown>) => boolean = () => true) => s.events.find((e) => e.event === type && pred(e.data));

test('the stream: snapshot of every server, server-down with its view, drained, reload and reload-rejected, summaries with rates and latencies', async () => {
  const [a, b, c] = await backends(3);
  assert.ok(a !== undefined && b !== undefined && c !== undefined);
  const config = {
    name: 'events-test',
    algorithm: 'round-robin',
    healthCheckDelay: 0.25,
    admin: { addr: '127.0.0.1:0', token: TOKEN },
    servers: [
      { addr: a.url, name: 'a' },
      { addr: b.url, name: 'b' },
      { addr: c.url, name: 'c' },
    ],
  };
  const bp = await startBalancer(config);
  let traffic = true;
  try {
    const admin = await adminUrl(bp);
    const s = await openStream(admin);
    assert.equal(s.status, 200);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    assert.equal(s.headers['cache-control'], 'no-store');
    await waitFor(() => s.events.length > 0, 'the first event');
    const first = s.events[0];
    assert.equal(first?.event, 'snapshot');
    assert.equal(first?.data.name, 'events-test');
    assert.equal(first?.data.algorithm, 'round-robin');
    assert.deepEqual((first?.data.servers as { name: string }[]).map((x) => x.name), ['a', 'b', 'c']);
    assert.ok(Array.isArray(first?.data.sources));

    // Traffic: the summary shows rates and latencies for the servers taking it.
    const load = (async () => {
      while (traffic) await get(`${bp.url}/`).catch(() => undefined);
    })();
    await waitFor(() => {
      const last = s.events.filter((e) => e.event === 'summary').at(-1)?.data;
      const servers = (last?.servers ?? []) as { name: string; rps: number; p50: number | null; p99: number | null }[];
      return servers.length === 3 && servers.every((x) => x.rps > 0 && typeof x.p50 === 'number' && typeof x.p99 === 'number');
    }, 'a summary with rps > 0 and p50/p99 for every server');
    const summary = s.events.filter((e) => e.event === 'summary').at(-1)?.data as {
      time: number;
      totals: { rps: number; errorsPerSecond: number; up: number; total: number };
      servers: { name: string; state: string; healthy: boolean; inflight: number; effectiveWeight: number; slowStart: number; errorRate: number; p50: number; p99: number }[];
    };
    assert.ok(summary.totals.rps > 0);
    assert.equal(summary.totals.up, 3);
    assert.equal(summary.totals.total, 3);
    for (const x of summary.servers) {
      assert.equal(x.state, 'up');
      assert.ok(x.p50 <= x.p99, `p50 ${x.p50} <= p99 ${x.p99}`);
      assert.ok(x.errorRate >= 0 && x.errorRate <= 1);
      assert.ok(x.slowStart > 0 && x.slowStart <= 1);
    }

    // A killed backend: server-down, with the webhook fields and the view.
    await c.close();
    await waitFor(() => find(s, 'server-down') !== undefined, 'server-down');
    const down = find(s, 'server-down')?.data as { server: { name: string; addr: string }; reason: string; time: number; healthy: number; total: number; view: { state: string; name: string } };
    assert.equal(down.server.name, 'c');
    assert.equal(down.view.name, 'c');
    assert.equal(down.view.state, 'down');
    assert.equal(down.total, 3);
    assert.equal(down.healthy, 2);
    assert.equal(typeof down.reason, 'string');
    assert.ok(Math.abs(down.time - Date.now()) < 60_000);

    // Drain through the API.
    const r = await get(`${admin}/api/servers/b/drain`, { method: 'POST', headers: auth });
    assert.equal(r.status, 200, r.body);
    await waitFor(() => find(s, 'drained') !== undefined, 'drained');
    const drained = find(s, 'drained')?.data as { server: { name: string }; view: { state: string } };
    assert.equal(drained.server.name, 'b');
    assert.equal(drained.view.state, 'draining');

    // A good reload, then a bad one.
    writeFileSync(bp.file, JSON.stringify({ ...config, addr: '127.0.0.1:0', servers: [...config.servers, { addr: 'http://127.0.0.1:1', name: 'd' }] }));
    assert.equal((await get(`${admin}/api/reload`, { method: 'POST', headers: auth })).status, 200);
    await waitFor(() => find(s, 'reload') !== undefined, 'reload');
    assert.ok((find(s, 'reload')?.data.changes as string[]).some((x) => x.includes('127.0.0.1:1')));
    writeFileSync(bp.file, '{ "servers": [ { "addr": "ftp://nope" } ] }');
    assert.equal((await get(`${admin}/api/reload`, { method: 'POST', headers: auth })).status, 400);
    await waitFor(() => find(s, 'reload-rejected') !== undefined, 'reload-rejected');
    assert.ok((find(s, 'reload-rejected')?.data.problems as string[]).length > 0);
    s.close();
  } finally {
    traffic = false;
    await bp.stop();
    await closeAll([a, b]);
  }
});

test('a client that never reads is cut off with memory bounded, logged once, while another keeps streaming', async () => {
  const [a] = await backends(1);
  assert.ok(a !== undefined);
  const config = { healthCheckDelay: 0.25, admin: { addr: '127.0.0.1:0', token: TOKEN }, servers: [{ addr: a.url, name: 'a' }] };
  const bp = await startBalancer(config);
  try {
    const admin = await adminUrl(bp);
    const u = new URL(admin);
    // The stalled client: sends its request, then never reads a byte.
    const stalled = connect(Number(u.port), u.hostname);
    stalled.pause();
    let stalledClosed = false;
    stalled.on('close', () => (stalledClosed = true));
    stalled.on('error', () => undefined);
    stalled.write(`GET /api/events HTTP/1.1\r\nhost: ${u.host}\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`);
    const reader = await openStream(admin);
    await waitFor(() => reader.events.length > 0, 'the reader snapshot');
    const rssBefore = bp.rss();
    // Events as fast as the API takes them: weight changes, eight clients at once.
    let changes = 0;
    const cut = () => bp.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('event stream to') && l.msg.includes('cut off'));
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!cut() && changes < 100_000) {
          const r = await get(`${admin}/api/servers/a/weight`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: `{"weight": ${1 + (changes % 7)}}` });
          assert.equal(r.status, 200, r.body);
          changes++;
        }
      }),
    );
    await waitFor(cut, 'the stalled client cut off');
    // What the kernel still holds for it drains, then the connection is closed by the balancer.
    stalled.on('data', () => undefined);
    stalled.resume();
    await waitFor(() => stalledClosed, 'the stalled connection closed');
    console.log(`cut after ${changes} weight changes, rss +${bp.rss() - rssBefore}: ${String(bp.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('event stream to'))?.msg)}`);
    assert.equal(bp.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('event stream to')).length, 1);
    const grown = bp.rss() - rssBefore;
    assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
    // The reader got every rejection and streams on: another summary arrives after the cut.
    await waitFor(() => reader.events.filter((e) => e.event === 'weight').length === changes, 'every weight change at the reader');
    const summaries = reader.events.filter((e) => e.event === 'summary').length;
    await waitFor(() => reader.events.filter((e) => e.event === 'summary').length > summaries, 'a summary after the cut');
    reader.close();
  } finally {
    await bp.stop();
    await closeAll([a]);
  }
});

test('the stream keeps the /api/ rules: no token or a wrong one is 401, a foreign origin 403, POST 405; 32 streams at most (503 beyond)', async () => {
  const [a] = await backends(1);
  assert.ok(a !== undefined);
  const bp = await startBalancer({ admin: { addr: '127.0.0.1:0', token: TOKEN }, servers: [{ addr: a.url, name: 'a' }] });
  try {
    const admin = await adminUrl(bp);
    assert.equal((await get(`${admin}/api/events`)).status, 401);
    assert.equal((await get(`${admin}/api/events`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await get(`${admin}/api/events`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })).status, 405);
    // A foreign page's origin is refused even with the token.
    assert.equal((await get(`${admin}/api/events`, { headers: { ...auth, origin: 'http://evil.example' } })).status, 403);
    // Streams are capped: the 33rd is a 503, the API itself still answers.
    const open = await Promise.all(Array.from({ length: 32 }, () => openStream(admin)));
    assert.deepEqual([...new Set(open.map((x) => x.status))], [200]);
    const extra = await get(`${admin}/api/events`, { headers: auth });
    assert.equal(extra.status, 503);
    assert.equal((JSON.parse(extra.body) as { error: { code: string } }).error.code, 'E_ADMIN_BUSY');
    assert.equal((await get(`${admin}/api/servers`, { headers: auth })).status, 200);
    for (const x of open) x.close();
  } finally {
    await bp.stop();
    await closeAll([a]);
  }
});

test('the balancer exits at once on SIGTERM with an event stream open, and the stream ends', async () => {
  const [a] = await backends(1);
  assert.ok(a !== undefined);
  const bp = await startBalancer({ timeouts: { shutdown: 20 }, admin: { addr: '127.0.0.1:0', token: TOKEN }, servers: [{ addr: a.url, name: 'a' }] });
  try {
    const admin = await adminUrl(bp);
    const s = await openStream(admin);
    await waitFor(() => s.events.length > 0, 'the snapshot');
    const t0 = Date.now();
    const code = await bp.stop();
    assert.equal(code, 0);
    await s.ended;
    // Well inside the 20 s grace: nothing waits on the open stream.
    assert.ok(Date.now() - t0 < 15_000, `exited after ${Date.now() - t0} ms`);
  } finally {
    await bp.stop();
    await closeAll([a]);
  }
});
