import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/** How one test server behaves. */
export interface TestServerOptions {
  /** Identity reported in every answer. */
  readonly name: string;
  /** Port to listen on (0: any free port). */
  readonly port: number;
  /** Host to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Added delay before every answer, in ms. */
  readonly latencyMs?: number;
  /** Share of requests (0..1) answered with 500, to try failure handling. */
  readonly failureRate?: number;
  /** Random source for failureRate (injectable for tests). */
  readonly random?: () => number;
}

/** A running test server. */
export interface TestServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly server: Server;
  /** Requests received so far (counted on arrival, before any delay). */
  readonly requests: () => number;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789\n');

/** Streams `n` bytes with backpressure (never builds the whole body). */
function sendBytes(res: ServerResponse, n: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
  let left = n;
  const pump = (): void => {
    while (left > 0) {
      const part = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= part.length;
      if (!res.write(part)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/** Starts one test server: identity, echo, /slow, /status, /bytes, /headers, WebSocket echo. */
export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const random = opts.random ?? Math.random;
  let count = 0;
  let port = opts.port;
  const identity = (req: IncomingMessage) => ({ server: opts.name, port, method: req.method, url: req.url });

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('x-server', opts.name);
    if ((opts.failureRate ?? 0) > 0 && random() < (opts.failureRate ?? 0) && url.pathname !== '/health') {
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${opts.name}: injected failure\n`);
      return;
    }
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) {
      req.resume();
      res.writeHead(Number(status[1]), { 'content-type': 'text/plain' }).end(`${opts.name}: status ${status[1]}\n`);
      return;
    }
    if (url.pathname === '/bytes') {
      req.resume();
      sendBytes(res, Number(url.searchParams.get('n') ?? 1024));
      return;
    }
    if (url.pathname === '/headers') {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...identity(req), headers: req.headers }));
      return;
    }
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (url.pathname === '/echo' || hasBody) {
      // Echo streams: the body goes back as it arrives, with backpressure via pipe.
      const headers: Record<string, string> = { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' };
      if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
      res.writeHead(200, headers);
      req.pipe(res);
      return;
    }
    req.resume();
    const wantsJson = url.searchParams.get('format') === 'json' || (req.headers.accept ?? '').includes('application/json');
    if (wantsJson) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(identity(req))}\n`);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`${opts.name} (port ${port}) ${req.method} ${req.url}\n`);
    }
  };

  const server = createServer((req, res) => {
    count++;
    const url = req.url ?? '/';
    const slow = url.startsWith('/slow') ? Number(new URL(url, 'http://x').searchParams.get('ms') ?? 0) : 0;
    const delay = (opts.latencyMs ?? 0) + (Number.isFinite(slow) ? slow : 0);
    if (delay > 0) {
      const t = setTimeout(() => answer(req, res), delay);
      res.once('close', () => clearTimeout(t));
    } else answer(req, res);
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.send(JSON.stringify({ hello: opts.name, port }));
    });
  });
  wss.on('headers', (headers) => headers.push(`X-Server: ${opts.name}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  return {
    name: opts.name,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    server,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Options for a group of test servers on consecutive ports. */
export interface TestServerGroupOptions {
  readonly count: number;
  /** First port; 0 gives each server a free port. */
  readonly port: number;
  readonly host?: string;
  /** Per-server latencies in ms; the last value repeats for the rest. */
  readonly latencyMs?: readonly number[];
  /** Per-server failure rates 0..1; the last value repeats for the rest. */
  readonly failureRate?: readonly number[];
  /** Names for the servers (default server-1..N). */
  readonly names?: readonly string[];
}

/** Picks the i-th value of a per-server list, repeating the last. */
const nth = (list: readonly number[] | undefined, i: number): number | undefined =>
  list === undefined || list.length === 0 ? undefined : list[Math.min(i, list.length - 1)];

/** Starts `count` test servers named server-1..N on port, port+1, ... */
export async function startTestServers(opts: TestServerGroupOptions): Promise<TestServer[]> {
  const started: TestServer[] = [];
  try {
    for (let i = 0; i < opts.count; i++) {
      started.push(
        await startTestServer({
          name: opts.names?.[i] ?? `server-${i + 1}`,
          port: opts.port === 0 ? 0 : opts.port + i,
          host: opts.host,
          latencyMs: nth(opts.latencyMs, i),
          failureRate: nth(opts.failureRate, i),
        }),
      );
    }
  } catch (e) {
    await Promise.all(started.map((s) => s.close()));
    throw e;
  }
  return started;
}
