import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { Client, type Pool as UndiciPool } from 'undici';
import { Upstream } from '../../../src/control/selection/upstream.js';
import { StrayGuard } from '../../../src/engines/node/stray-guard.js';
import { recordingLogger } from '../../helpers/logger.js';
import { get, startBalancer, type BalancerProcess } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * A raw HTTP/1.1 backend that answers `GET /stray/<delayMs>/<id>` with the body `<id>` and then,
 * `delayMs` later (in the same write for 0), sends a second response nobody asked for, with the
 * body `stray-<id>`. Any other path gets a plain, well-behaved answer.
 */
async function strayBackend(): Promise<{ url: string; strays: () => number; close(): Promise<void> }> {
  let strays = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const path = head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
        const m = /^\/stray\/(\d+)\/([\w-]+)$/.exec(path);
        const id = m?.[2] ?? 'plain';
        if (head.startsWith('HEAD ')) {
          // A common misbehaviour: a body after the answer to a HEAD.
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${id.length}\r\n\r\n${id}`);
          continue;
        }
        const answer = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${id.length}\r\n\r\n${id}`;
        if (m === null) {
          socket.write(answer);
          continue;
        }
        const stray = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${id.length + 6}\r\n\r\nstray-${id}`;
        const delay = Number(m[1]);
        if (delay === 0) {
          strays++;
          socket.write(answer + stray);
          continue;
        }
        socket.write(answer);
        setTimeout(() => {
          if (socket.destroyed) return;
          strays++;
          socket.write(stray);
        }, delay);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    strays: () => strays,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Outcome of a run: responses carrying another request's body, and failed requests. */
interface Tally {
  misdelivered: number;
  failed: number;
  ok: number;
}

/** `clients` keep-alive clients each send `perClient` requests one after another; counts whose answer was not theirs. */
async function run(url: string, delayMs: number, clients: number, perClient: number, tag: string): Promise<Tally> {
  const tally: Tally = { misdelivered: 0, failed: 0, ok: 0 };
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const client = new Client(url, { pipelining: 1 });
      try {
        for (let i = 0; i < perClient; i++) {
          const id = `${tag}-${c}-${i}`;
          try {
            const r = await client.request({ path: `/stray/${delayMs}/${id}`, method: 'GET' });
            const body = await r.body.text();
            if (r.statusCode !== 200) tally.failed++;
            else if (body === id) tally.ok++;
            else tally.misdelivered++;
          } catch {
            tally.failed++;
          }
        }
      } finally {
        await client.close();
      }
    }),
  );
  return tally;
}

/** Health checks off, so only the stray bytes decide what happens to the server. */
const NO_CHECKS = { enabled: false, passive: { maxFails: 0 } };

describe('stray responses', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function setup(healthCheck: Record<string, unknown> = NO_CHECKS): Promise<{ b: BalancerProcess; strays: () => number }> {
    const backend = await strayBackend();
    const b = await startBalancer({ healthCheck, servers: [{ addr: backend.url }] });
    cleanup.push(() => backend.close(), () => b.stop());
    return { b, strays: backend.strays };
  }

  test('a stray response on an idle connection is never handed to the next request, and is logged', async () => {
    // 0: the stray follows the answer in the same read; 5: it comes later, while the connection idles.
    for (const delay of [0, 5]) {
      const { b, strays } = await setup();
      const client = new Client(b.url);
      try {
        const first = await client.request({ path: `/stray/${delay}/first-${delay}`, method: 'GET' });
        assert.equal(await first.body.text(), `first-${delay}`);
        await waitFor(() => strays() === 1, 'stray sent', 5_000);
        // The balancer has read the stray before the next request goes out: the idle case.
        await waitFor(() => b.logs.some((l) => /unsolicited response bytes/.test(String(l.msg))), `a log line about the stray (delay ${delay} ms)`, 10_000);
        const next = await client.request({ path: `/stray/${delay}/next-${delay}`, method: 'GET' });
        assert.equal(await next.body.text(), `next-${delay}`, `delay ${delay} ms: the next request got the stray`);
      } finally {
        await client.close();
      }
    }
  });

  test('a body after a HEAD answer is not taken for a stray (undici closes after HEAD)', async () => {
    const { b } = await setup();
    const client = new Client(b.url);
    try {
      for (let i = 0; i < 3; i++) {
        const head = await client.request({ path: '/plain', method: 'HEAD' });
        await head.body.text();
        const r = await client.request({ path: `/stray/1000/after-head-${i}`, method: 'GET' });
        assert.equal(await r.body.text(), `after-head-${i}`);
      }
      // A real stray last: once its line is logged, any line for a HEAD body would be there before it.
      const r = await client.request({ path: '/stray/0/real', method: 'GET' });
      assert.equal(await r.body.text(), 'real');
    } finally {
      await client.close();
    }
    await waitFor(() => b.logs.some((l) => /unsolicited/.test(String(l.msg))), 'the real stray logged', 10_000);
    const lines = b.logs.filter((l) => /unsolicited/.test(String(l.msg)));
    assert.equal(lines.length, 1, 'a HEAD body was taken for a stray');
    assert.equal(lines[0]?.strays, 1);
  });

  test('a server that sends stray responses is counted as failing and ejected', async () => {
    const { b } = await setup({ enabled: false, passive: { maxFails: 1, maxEjectionPercent: 100 } });
    const r = await get(`${b.url}/stray/0/once`);
    assert.equal(r.body, 'once');
    await waitFor(() => b.logs.some((l) => / down: .*unsolicited response bytes/.test(String(l.msg))), 'server ejected for its stray', 10_000);
  });

  test('responses misdelivered at 1, 3, 10 and 50 ms stray delays (4 clients x 50 requests each)', async () => {
    const results: Record<string, Tally> = {};
    for (const delay of [1, 3, 10, 50]) {
      const { b } = await setup();
      results[`${delay} ms`] = await run(b.url, delay, 4, 50, `d${delay}`);
    }
    console.log('stray responses, misdelivered of 200 per delay:', JSON.stringify(results));
    const total = Object.values(results).reduce((n, t) => n + t.misdelivered, 0);
    // Before the guard about 180 of 800 (9-11, 80-81, 63-68, 24-26) went to the wrong request;
    // after, 0, 0, 0-7 and 3-19, nearly all before the first stray was seen on an idle connection
    // (no proxy can tell a stray that lands after the next request went out from the real answer).
    assert.ok(total <= 50, `${total} of 800 responses went to the wrong request`);
  });
});

test('the no-reuse period after a stray doubles each time the server does it again, up to an hour; logs are one a second', () => {
  const log = recordingLogger();
  const failures: string[] = [];
  const renewed: string[] = [];
  let t = 0;
  const guard = new StrayGuard(log, { reportFailure: (_u, reason) => failures.push(reason) }, (u) => renewed.push(u.addr), () => t);
  const u = new Upstream('http://127.0.0.1:9000/app');
  const pool = new EventEmitter();
  guard.watch(u, pool as unknown as UndiciPool);
  const stray = (): boolean => pool.emit('disconnect', u.addr, [], Object.assign(new Error('bad response'), { code: 'UND_ERR_SOCKET' }));
  const closed = (): boolean => pool.emit('disconnect', u.addr, [], Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));

  closed();
  assert.equal(guard.noReuse(u), false, 'a server closing an idle connection is no stray');
  assert.equal(failures.length, 0);

  stray();
  assert.equal(guard.noReuse(u), true);
  assert.deepEqual(renewed, ['http://127.0.0.1:9000']);
  // More strays from the retired pool's connections within the period: counted, logged once a second, no new pool.
  t = 500;
  stray();
  t = 1200;
  stray();
  assert.equal(renewed.length, 1);
  assert.equal(failures.length, 3);
  assert.deepEqual(
    log.entries.map((e) => [e.obj.strays, e.obj.noReuseSeconds]),
    [
      [1, 60],
      [2, 59],
    ],
  );
  t = 60_001;
  assert.equal(guard.noReuse(u), false, 'the period ended');
  const periods: number[] = [];
  for (let i = 0; i < 8; i++) {
    stray();
    periods.push(log.entries.at(-1)?.obj.noReuseSeconds as number);
    t += periods.at(-1)! * 1000 + 1;
  }
  assert.deepEqual(periods, [120, 240, 480, 960, 1920, 3600, 3600, 3600]);
});
