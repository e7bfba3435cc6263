// The ceiling peer of bench/proxy.sh and bench/https.sh: how fast can Node.js forward HTTP/1.1 at
// all? Not a proxy: it trusts both sides, handles only bodiless requests and Content-Length
// responses (what the benchmarks send), validates nothing, and gives each client connection one
// server connection for life. It does the least any forwarder must (find the head's end, drop
// Connection, add X-Forwarded-For, count the response body) on the same reads the fast engine
// uses (one shared buffer for clients, one per server connection), so the fast engine's distance
// to it is the cost of our parsing, checks and control plane, and its distance to nginx is Node's.
//   node dist/bench/raw-forwarder.js PORT BACKEND_URL...             plain HTTP
//   TLS_CERT=cert.pem TLS_KEY=key.pem node dist/bench/raw-forwarder.js PORT BACKEND_URL...   HTTPS (HTTP/1.1 by ALPN)
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readInto } from '../src/engines/read-into.js';

const [portArg, ...targets] = process.argv.slice(2);
if (!portArg || targets.length === 0) {
  console.error('usage: [TLS_CERT=cert.pem TLS_KEY=key.pem] node dist/bench/raw-forwarder.js PORT BACKEND_URL...');
  process.exit(2);
}
const backends = targets.map((t) => new URL(t));
let next = 0;
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

function serve(client: Socket, peer: string, feed: (sink: (b: Buffer) => void) => void): void {
  const b = backends[next++ % backends.length] as URL;
  let partial = '';
  let left = -1; // response body bytes still to come; -1: in a head
  let head = '';
  let closeAfter = false; // the client asked to close after this response
  let completed = false;
  const upBuf = Buffer.allocUnsafeSlow(64 * 1024);
  const up = connect({
    host: b.hostname,
    port: Number(b.port),
    noDelay: true,
    onread: {
      buffer: upBuf,
      callback: (n: number, buf: Uint8Array): boolean => {
        const data = Buffer.from(buf.subarray(0, n)); // copied: the buffer is read into again
        let at = 0;
        while (at < n) {
          if (left < 0) {
            const s = data.toString('latin1', at, n);
            const end = (head + s).indexOf('\r\n\r\n');
            if (end < 0) {
              head += s;
              at = n;
              break;
            }
            const whole = head + s.slice(0, end - head.length + 4);
            at += end - head.length + 4;
            head = '';
            left = Number(CONTENT_LENGTH.exec(whole)?.[1] ?? 0);
          }
          const take = Math.min(left, n - at);
          at += take;
          left -= take;
          if (left === 0) {
            left = -1;
            completed = true;
          }
        }
        client.write(data);
        if (completed && closeAfter) {
          client.end();
          up.destroy();
        }
        completed = false;
        return true;
      },
    },
  });
  feed((bytes) => {
    let s = partial + bytes.toString('latin1');
    let out = '';
    for (;;) {
      const end = s.indexOf('\r\n\r\n');
      if (end < 0) break;
      const lines = s.slice(0, end).split('\r\n');
      for (const l of lines) {
        if (l.length > 10 && l.charCodeAt(10) === 58 && l.slice(0, 10).toLowerCase() === 'connection') {
          if (/close/i.test(l)) closeAfter = true;
        } else out += `${l}\r\n`;
      }
      out += `x-forwarded-for: ${peer}\r\n\r\n`;
      s = s.slice(end + 4);
    }
    partial = s;
    if (out !== '') up.write(out, 'latin1');
  });
  const close = (): void => {
    up.destroy();
    client.destroy();
  };
  up.on('error', close);
  up.on('close', close);
  client.on('error', close);
  client.on('close', close);
}

const cert = process.env.TLS_CERT;
const key = process.env.TLS_KEY;
if (cert !== undefined && key !== undefined) {
  createTlsServer({ cert: readFileSync(cert), key: readFileSync(key), ALPNProtocols: ['http/1.1'] }, (c) => {
    c.setNoDelay(true);
    serve(c, c.remoteAddress ?? '', (sink) => c.on('data', sink));
  }).listen(Number(portArg), '127.0.0.1');
} else {
  createServer({ noDelay: true, pauseOnConnect: true }, (raw) => {
    const peer = raw.remoteAddress ?? '';
    let sink: (b: Buffer) => void = () => {};
    const c = readInto(raw, (b) => sink(b), false);
    serve(c, peer, (s) => {
      sink = s;
    });
  }).listen(Number(portArg), '127.0.0.1');
}
