// A backend for the HTTPS tests: echoes what it got, streams bodies back, tunnels upgrades.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { rawBackend, type RawBackend } from '../helpers/raw-backend.js';

/** Requests the backend has seen, by path (for the reset-flood test). */
export interface EchoBackend extends RawBackend {
  readonly seen: { count: number };
  /** KiB the last `/big/N` response has handed to its socket so far. */
  readonly bigSent: { kib: number };
}

/**
 * Routes: `/headers` answers the request's headers as JSON; `/echo` streams the request body
 * back as it arrives; `/big/N` sends N KiB; anything else answers its method and path. An
 * Upgrade request gets 101 and its bytes echoed back (a stand-in for a WebSocket server).
 */
export async function echoBackend(): Promise<EchoBackend> {
  const seen = { count: 0 };
  const bigSent = { kib: 0 };
  const b = await rawBackend((req: IncomingMessage, res: ServerResponse) => {
    seen.count++;
    const url = req.url ?? '/';
    if (url === '/headers') {
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.setHeader('connection', 'keep-alive');
      res.setHeader('keep-alive', 'timeout=5');
      res.end(JSON.stringify({ headers: req.headers, rawHeaders: req.rawHeaders, httpVersion: req.httpVersion }));
      return;
    }
    if (url === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.flushHeaders();
      req.pipe(res);
      return;
    }
    const big = /^\/big\/(\d+)$/.exec(url);
    if (big !== null) {
      req.resume();
      const kib = Number(big[1]);
      res.writeHead(200, { 'content-length': kib * 1024 });
      const chunk = Buffer.alloc(1024, 'x');
      let sent = 0;
      bigSent.kib = 0;
      const pump = (): void => {
        while (sent < kib) {
          bigSent.kib = ++sent;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    req.resume();
    res.end(`${req.method} ${url}`);
  });
  b.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n' + `x-forwarded-proto: ${String(req.headers['x-forwarded-proto'])}\r\n\r\n`);
    socket.pipe(socket);
  });
  return Object.assign(b, { seen, bigSent });
}
