// Black-box: passive ejections are true to what the servers do. A server that hangs on real
// requests stays out though it passes its checks; one that cuts its responses short is ejected.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { backends, closeAll, get, servedBy, startBalancer, type BalancerProcess } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

/** A real HTTP server whose /health passes and whose other paths are answered by `other`. */
async function misbehaving(other: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    hits++;
    other(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

function close(s: Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((r) => s.close(() => r()));
}

const messages = (b: BalancerProcess, about: string) => b.logs.map((l) => String(l.msg)).filter((m) => m.startsWith(`server ${about} `));

describe('passive ejections tell the truth', () => {
  test('a server that hangs on requests but passes its checks stays ejected; passing probes do not readmit it', async () => {
    const hung = await misbehaving(() => undefined); // never answers
    const [good] = await backends(1);
    const b = await startBalancer({
      healthCheckDelay: 0.2,
      healthCheck: { path: '/health', timeout: 0.5, slowStart: 0 },
      timeouts: { responseHeaders: 0.3 },
      servers: [{ addr: hung.url }, { addr: good!.url }],
    });
    try {
      // Round robin sends every other request to the hung server until it is ejected (retries save the clients).
      await waitFor(async () => {
        await get(`${b.url}/`);
        return messages(b, hung.url).some((m) => m.includes(' down: ejected for 30 s'));
      }, 'ejection of the hung server', 20_000);
      const hitsAtEjection = hung.hits();
      // Its checks pass every 0.2 s; watch about ten of them (before, the first one readmitted it).
      const until = Date.now() + 2000;
      let served = 0;
      while (Date.now() < until) {
        const r = await get(`${b.url}/`);
        assert.equal(r.status, 200);
        assert.equal(servedBy(r), good!.name);
        served++;
      }
      assert.ok(served > 10);
      assert.equal(hung.hits(), hitsAtEjection, 'no request reached the hung server while ejected');
      const ups = messages(b, hung.url).filter((m) => m.includes(' up: '));
      assert.deepEqual(ups, [], 'readmitted while ejected for timeouts');
      assert.ok(messages(b, hung.url).some((m) => /last: response headers timeout/.test(m)));
    } finally {
      await b.stop();
      await closeAll([good!]);
      await close(hung.server);
    }
  });

  test('a server that cuts its responses short (closed mid-body, bad chunk, body idle timeout) is ejected', async () => {
    let n = 0;
    const cutting = await misbehaving((req, res) => {
      const socket = req.socket;
      const kind = n++ % 3;
      if (kind === 0) {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('only part of it');
        setTimeout(() => socket.destroy(), 20);
      } else if (kind === 1) {
        socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nbroken\r\n');
        setTimeout(() => socket.destroy(), 20);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('and then silence'); // until the body idle timeout
      }
    });
    const [good] = await backends(1);
    const b = await startBalancer({
      healthCheckDelay: 0.2,
      healthCheck: { path: '/health', timeout: 0.5, slowStart: 0 },
      timeouts: { idle: 0.5 },
      servers: [{ addr: cutting.url }, { addr: good!.url }],
    });
    try {
      let cut = 0;
      for (let i = 0; i < 40 && !messages(b, cutting.url).some((m) => m.includes(' down: ejected')); i++) {
        await get(`${b.url}/`).catch(() => cut++);
      }
      await waitFor(() => messages(b, cutting.url).some((m) => m.includes(' down: ejected')), 'ejection of the cutting server', 5000);
      assert.ok(cut >= 3 && cut <= 4, `${cut} clients got a cut response before the ejection (maxFails 3)`);
      assert.ok(messages(b, cutting.url).some((m) => /down: ejected .* last: response body idle timeout/.test(m)), messages(b, cutting.url).join('\n'));
      const hitsAtEjection = cutting.hits();
      for (let i = 0; i < 20; i++) assert.equal(servedBy(await get(`${b.url}/`)), good!.name);
      assert.equal(cutting.hits(), hitsAtEjection);
      assert.deepEqual(messages(b, good!.url), [], 'the good server is never blamed');
    } finally {
      await b.stop();
      await closeAll([good!]);
      await close(cutting.server);
    }
  });
});
