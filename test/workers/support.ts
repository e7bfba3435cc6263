// Helpers of the workers' black-box tests: backends whose health check can be failed on demand,
// requests on fresh connections (so the kernel or node:cluster spreads them over the workers),
// and the admin API's view of the workers.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminUrl, type BalancerProcess } from '../helpers/cluster.js';
import type { WorkerView } from '../../src/workers/primary.js';

/** A backend that names itself, answers /health with 200 or 503 as told, and /slow after `slowMs`. */
export interface Backend {
  readonly name: string;
  readonly url: string;
  /** Requests other than health checks it received. */
  served: number;
  /** Health checks answer 200 (true) or 503 (false). */
  healthy: boolean;
  /** Requests (not health checks) are answered with this status (default 200). */
  status: number;
  close(): Promise<void>;
}

/** Starts a backend named `name`. */
export async function backend(name: string, slowMs = 1500): Promise<Backend> {
  const b: { served: number; healthy: boolean; status: number } = { served: 0, healthy: true, status: 200 };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(b.healthy ? 200 : 503).end();
      return;
    }
    b.served++;
    const answer = (): void => void res.writeHead(b.status, { 'x-server': name, 'content-type': 'text/plain' }).end(name);
    if (req.url === '/slow') setTimeout(answer, slowMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(b, {
    name,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** One request on a connection of its own (closed after it): { status, server (X-Server), body }. */
export function once(url: string, headers: Record<string, string> = {}): Promise<{ status: number; server: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, server: String(res.headers['x-server'] ?? ''), body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** `n` requests, each on its own connection, a few at a time. */
export async function many(url: string, n: number, headers: Record<string, string> = {}): Promise<{ status: number; server: string }[]> {
  const out: { status: number; server: string }[] = [];
  for (let i = 0; i < n; i += 4) {
    const batch = await Promise.all(Array.from({ length: Math.min(4, n - i) }, () => once(url, headers)));
    out.push(...batch);
  }
  return out;
}

/** A worker in GET /api/servers: the type the primary answers with. */
export type { WorkerView };

/** GET /api/servers. */
export async function servers(bp: BalancerProcess, token?: string): Promise<{ servers: { name: string; state: string; inflight: number; requests: number }[]; workers: WorkerView[] }> {
  const r = await fetch(`${await adminUrl(bp)}/api/servers`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return (await r.json()) as { servers: { name: string; state: string; inflight: number; requests: number }[]; workers: WorkerView[] };
}

/** GET /metrics. */
export async function metrics(bp: BalancerProcess): Promise<string> {
  return (await fetch(`${await adminUrl(bp)}/metrics`)).text();
}

/** Sum of the samples of `name` (with every label set) in a Prometheus exposition. */
export function total(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
