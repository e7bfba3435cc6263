// The two Node.js peers of bench/engines.ts, each one process, round-robin over the backends:
//   node dist/bench/node-peers.js http-proxy PORT BACKEND_URL...   node-http-proxy (the npm package
//     `http-proxy`), with a keep-alive agent, as its README shows
//   node dist/bench/node-peers.js undici PORT BACKEND_URL...       a bare node:http server forwarding
//     with one undici Pool per backend: the ceiling of node:http + undici, without our features
import { createServer, Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import httpProxy from 'http-proxy';
import { Pool } from 'undici';

const [kind, portArg, ...targets] = process.argv.slice(2);
if ((kind !== 'http-proxy' && kind !== 'undici') || !portArg || targets.length === 0) {
  console.error('usage: node dist/bench/node-peers.js http-proxy|undici PORT BACKEND_URL...');
  process.exit(2);
}
const port = Number(portArg);
let next = 0;

// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded by the bare proxy either.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function forwardable(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

if (kind === 'http-proxy') {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const proxy = httpProxy.createProxyServer({ agent });
  proxy.on('error', (_err, _req, res) => {
    if ('writeHead' in res && !res.headersSent) res.writeHead(502);
    res.end();
  });
  createServer((req, res) => proxy.web(req, res, { target: targets[next++ % targets.length] })).listen(port, '127.0.0.1');
} else {
  const pools = targets.map((t) => new Pool(t, { connections: 512, pipelining: 1 }));
  createServer((req, res) => {
    const pool = pools[next++ % pools.length] as Pool;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.request({ path: req.url ?? '/', method: req.method as 'GET', headers: forwardable(req.headers) as Record<string, string>, body: hasBody ? req : null }).then(
      (up) => {
        res.writeHead(up.statusCode, forwardable(up.headers));
        up.body.pipe(res);
      },
      () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    );
  }).listen(port, '127.0.0.1');
}
