import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { startBalancer, type BalancerProcess } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { certDir, makeCert } from '../helpers/certs.js';
import { ERROR_CODE, FRAME, frame, getHeaderBlock, rawH2 } from './h2-frames.js';
import { echoBackend, type EchoBackend } from './tls-backend.js';

let backend: EchoBackend;
let bp: BalancerProcess;
let port: number;

before(async () => {
  const dir = certDir();
  const a = makeCert(dir, 'a', ['a.test']);
  backend = await echoBackend();
  bp = await startBalancer({ servers: [{ addr: backend.url }], tls: { certificates: [{ cert: a.cert, key: a.key }], http2: { maxResetsPerSecond: 100 } } });
  port = Number(new URL(bp.url).port);
});

after(async () => {
  await bp.stop();
  await backend.close();
});

function session(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(bp.url, { rejectUnauthorized: false, servername: 'a.test' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function get(s: ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = s.request({ ':path': path });
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (d: string) => (body += d));
    r.on('end', () => resolve(body));
    r.on('error', reject);
  });
}

// Another client's requests, one after another, until `stop` says so; every answer is checked.
async function bystander(s: ClientHttp2Session, stop: () => boolean): Promise<number> {
  let n = 0;
  while (!stop() || n < 20) {
    assert.equal(await get(s, `/calm/${n}`), `GET /calm/${n}`);
    n++;
  }
  return n;
}

test('HTTP/2 limits are advertised: concurrent streams, header list size, no push', async () => {
  const s = h2connect(bp.url, { rejectUnauthorized: false, servername: 'a.test' });
  try {
    await new Promise((r) => s.once('remoteSettings', r));
    assert.equal(s.remoteSettings.maxConcurrentStreams, 128);
    assert.equal(s.remoteSettings.maxHeaderListSize, 32 * 1024);
    assert.equal(s.remoteSettings.enablePush, false);
  } finally {
    s.close();
  }
});

test('rapid reset (CVE-2023-44487): the flooding connection gets GOAWAY ENHANCE_YOUR_CALM; another client is served throughout', async () => {
  const calm = await session();
  const flood = await rawH2(port, 'a.test');
  const seenBefore = backend.seen.count;
  let done = false;
  const served = bystander(calm, () => done);
  try {
    let sent = 0;
    for (let i = 0; i < 5000 && !flood.closed; i++) {
      const id = 2 * i + 1;
      flood.send(Buffer.concat([frame(FRAME.HEADERS, 0x5, id, getHeaderBlock('a.test', `/flood/${i}`)), frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, ERROR_CODE.CANCEL]))]));
      sent++;
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => flood.closed, 'the flooding connection to be closed');
    done = true;
    assert.equal(flood.goaways[0], ERROR_CODE.ENHANCE_YOUR_CALM, `GOAWAY codes ${flood.goaways.join(', ')}`);
    // Node alone lets 1000 cancelled streams through per connection (nghttp2's burst); we stop at ~100 a second.
    const reached = backend.seen.count - seenBefore;
    if (process.env.SHOW_FIGURES) console.log(`rapid reset: closed after ${sent} streams sent, ${reached} reached the server, GOAWAY ${flood.goaways.join(', ')}`);
    assert.ok(reached < 600, `${reached} requests reached the server`);
    assert.ok((await served) >= 20);
    await waitFor(() => bp.logs.some((l) => /HTTP\/2 rapid reset: client 127\.0\.0\.1 cancelled more than 100 streams in a second/.test(String(l.msg))), 'the log line');
    // The calm client's connection was never touched.
    assert.equal(await get(calm, '/after'), 'GET /after');
  } finally {
    done = true;
    await served.catch(() => undefined);
    flood.socket.destroy();
    calm.close();
  }
});

test('CONTINUATION flood (CVE-2024-27983): a header block that never ends is cut off; another client is served', async () => {
  const calm = await session();
  const flood = await rawH2(port, 'a.test');
  let done = false;
  const served = bystander(calm, () => done);
  try {
    // HEADERS without END_HEADERS, then CONTINUATION frames that never set it.
    flood.send(frame(FRAME.HEADERS, 0x1, 1, getHeaderBlock('a.test', '/cont')));
    const junk = Buffer.concat([Buffer.from([0x00, 3]), Buffer.from('x-a'), Buffer.from([100]), Buffer.alloc(100, 'v')]);
    let sent = 0;
    for (let i = 0; i < 20_000 && !flood.closed; i++) {
      flood.send(frame(FRAME.CONTINUATION, 0, 1, junk));
      sent++;
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => flood.closed, 'the flooding connection to be closed');
    done = true;
    if (process.env.SHOW_FIGURES) console.log(`CONTINUATION flood: closed after ${sent} frames, GOAWAY ${flood.goaways.join(', ')}`);
    assert.ok(sent < 20_000, `the connection was closed before all 20000 frames were sent (${sent}; GOAWAY ${flood.goaways.join(', ') || 'none'})`);
    assert.ok((await served) >= 20);
    assert.equal(await get(calm, '/after'), 'GET /after');
  } finally {
    done = true;
    await served.catch(() => undefined);
    flood.socket.destroy();
    calm.close();
  }
});

test('HTTP/2 stream whose client stops reading: cut by limits.minResponseRate (stream reset), no server blamed, the connection serves on', async () => {
  const dir = certDir();
  const c = makeCert(dir, 'c', ['c.test']);
  const slow = await startBalancer({
    servers: [{ addr: backend.url }],
    limits: { minResponseRate: { bytesPerSecond: 100_000, grace: 1 } },
    tls: { certificates: [{ cert: c.cert, key: c.key }] },
  });
  const s = h2connect(slow.url, { rejectUnauthorized: false, servername: 'c.test' });
  try {
    const req = s.request({ ':path': `/big/${64 * 1024}` });
    req.pause(); // never read
    req.on('error', () => undefined);
    await waitFor(() => slow.logs.some((l) => /^response too slow: client 127\.0\.0\.1/.test(String(l.msg))), 'the cut to be logged');
    // Reading now gets what was on its way, then the stream ends short of the 64 MiB.
    let got = 0;
    req.on('data', (d: Buffer) => (got += d.length));
    const closed = new Promise((resolve) => req.once('close', resolve));
    req.resume();
    await closed;
    assert.ok(got < 64 * 1024 * 1024, `got ${got} bytes: the response was cut`);
    // Our cut, not the server's failure: no passive failure, no ejection.
    assert.ok(!slow.logs.some((l) => / failed: | down: |eject/.test(String(l.msg))), JSON.stringify(slow.logs.filter((l) => / failed: | down: |eject/.test(String(l.msg)))));
    // The same connection serves other streams.
    const other = await new Promise<string>((resolve, reject) => {
      const r = s.request({ ':path': '/fine' });
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => resolve(body));
      r.on('error', reject);
    });
    assert.equal(other, 'GET /fine');
  } finally {
    s.close();
    await slow.stop();
  }
});
