// Black-box: requests cut by our own shutdown or reload are never retried on, or blamed on, a server.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { backends, closeAll, get, startBalancer } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

/** A server that passes its checks (/health) and does `other` with every other request (answering them when it returns true). */
async function server(other: (destroy: () => void) => boolean | void): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const s = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    hits++;
    req.resume();
    if (other(() => req.socket.destroy()) === true) res.end('ok');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => hits };
}

function close(s: Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((r) => s.close(() => r()));
}

const msgs = (logs: Record<string, unknown>[]) => logs.map((l) => String(l.msg));

describe('our own shutdown and reload blame no server', () => {
  test('a request cut at the end of the shutdown grace period is not retried, not blamed, and logged as cut by the shutdown', async () => {
    const slow = await server(() => undefined); // answers after the grace period, i.e. never
    const others = await backends(2);
    const b = await startBalancer({
      algorithm: 'first',
      healthCheck: { path: '/health' },
      timeouts: { shutdown: 0.5 },
      servers: [{ addr: slow.url }, ...others.map((s) => ({ addr: s.url }))],
    });
    try {
      const reply = get(`${b.url}/report`).then(
        (r) => `status ${r.status}`,
        (e: Error) => `error ${e.message}`,
      );
      await waitFor(() => slow.hits() === 1, 'the request at the slow server', 10_000);
      const code = await b.stop('SIGTERM');
      assert.equal(code, 0);
      assert.match(await reply, /^error/, 'the client connection is closed');
      const lines = msgs(b.logs);
      assert.deepEqual(lines.filter((m) => m.startsWith('retrying')), [], 'not retried');
      assert.deepEqual(lines.filter((m) => / failed: /.test(m)), [], 'no server blamed');
      assert.ok(lines.some((m) => m.startsWith('request cut by the shutdown')), lines.join('\n'));
      const cut = b.logs.find((l) => String(l.msg).startsWith('request cut by the shutdown'));
      assert.equal(cut?.upstream, slow.url);
    } finally {
      await b.stop();
      await closeAll(others);
      await close(slow.server);
    }
  });

  test('after a reload, a request that fails on a server still configured is retried on another (pools outlive reloads), never on a closed pool', async () => {
    let cut: (() => void) | undefined;
    // Holds the first request until the test resets it; answers the later ones.
    const resetting = await server((destroy) => {
      if (cut !== undefined) return true;
      cut = destroy;
      return false;
    });
    const others = await backends(1);
    const config = {
      algorithm: 'first',
      healthCheck: { path: '/health' },
      servers: [{ addr: resetting.url }, { addr: others[0]!.url }],
    };
    const b = await startBalancer(config);
    try {
      const reply = get(`${b.url}/report`).then(
        (r) => `status ${r.status}`,
        (e: Error) => `error ${e.message}`,
      );
      await waitFor(() => cut !== undefined, 'the request at the first server', 10_000);
      writeFileSync(b.file, readFileSync(b.file, 'utf8')); // same config: a reload all the same
      b.proc.kill('SIGHUP');
      await waitFor(() => msgs(b.logs).some((m) => m.startsWith('reloaded')), 'reload', 10_000);
      cut!(); // the old server resets the request after the reload
      const outcome = await reply;
      const lines = msgs(b.logs);
      assert.deepEqual(lines.filter((m) => /UND_ERR_(CLOSED|DESTROYED)|cut by/.test(m)), [], lines.join('\n'));
      assert.ok(lines.some((m) => m.startsWith(`retrying on ${others[0]!.url} after ${resetting.url} failed`)), lines.join('\n'));
      assert.deepEqual(lines.filter((m) => m.includes(`upstream ${others[0]!.url} failed`)), [], 'the other server is not blamed');
      assert.equal(outcome, 'status 200', 'the reload kept both servers: the idempotent request is retried on the other');
      // The new servers serve as usual.
      assert.equal((await get(`${b.url}/`)).status, 200);
    } finally {
      await b.stop();
      await closeAll(others);
      await close(resetting.server);
    }
  });
});
