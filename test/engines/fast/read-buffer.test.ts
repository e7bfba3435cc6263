// The fast engine reads each server connection into one reused buffer, and every client connection
// into one buffer shared by all (node's `onread`): a body slice still queued for a slow reader must
// not be overwritten by the next read. Black-box: the real CLI, patterned bodies both ways, slow
// readers on the other side; every byte compared.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startBalancer } from '../../helpers/cluster.js';
import { rawBackend, type RawBackend } from '../../helpers/raw-backend.js';

const NO_CHECKS = { enabled: false, passive: { maxFails: 0 } };
const SIZE = 8 * 1024 * 1024;

// Every 4 bytes the offset: a slice overwritten by a later read shows as wrong bytes, not just a wrong count.
const BODY = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4) BODY.writeUInt32LE(i, i);
const DIGEST = createHash('sha256').update(BODY).digest('hex');

describe('fast engine read buffer', () => {
  let backend: RawBackend;
  before(async () => {
    backend = await rawBackend((req, res) => {
      if (req.method === 'POST') {
        // Reads slowly, so the balancer's writes of the uploads queue up.
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (d: Buffer) => {
          h.update(d);
          n += d.length;
          req.pause();
          setTimeout(() => req.resume(), 2);
        });
        req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
        return;
      }
      res.writeHead(200, { 'content-length': String(SIZE) });
      // Writes of odd sizes, so reads end mid-slice.
      let off = 0;
      const pump = (): void => {
        while (off < SIZE) {
          const n = Math.min(7919 + (off % 50_000), SIZE - off);
          const more = res.write(BODY.subarray(off, off + n));
          off += n;
          if (!more) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
  });
  after(async () => {
    await backend.close();
  });

  test('a client reading in bursts gets every byte of a large body as the server sent it', async () => {
    const b = await startBalancer({ engine: 'fast', healthCheck: NO_CHECKS, servers: [{ addr: backend.url }] });
    try {
      const got = await new Promise<Buffer>((resolve, reject) => {
        const { port, hostname } = new URL(b.url);
        const s = connect(Number(port), hostname);
        const parts: Buffer[] = [];
        let n = 0;
        s.on('data', (d: Buffer) => {
          parts.push(d);
          n += d.length;
          // Pauses now and then, so writes to this client are queued part-way.
          if (parts.length % 8 === 0) {
            s.pause();
            setTimeout(() => s.resume(), 5);
          }
        });
        s.on('error', reject);
        s.on('close', () => resolve(Buffer.concat(parts, n)));
        s.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      });
      const headEnd = got.indexOf('\r\n\r\n') + 4;
      assert.match(got.subarray(0, headEnd).toString('latin1'), /^HTTP\/1\.1 200 /);
      const body = got.subarray(headEnd);
      assert.equal(body.length, SIZE);
      assert.equal(createHash('sha256').update(body).digest('hex'), DIGEST, 'the body arrived altered');
    } finally {
      await b.stop();
    }
  });

  test('uploads from clients sending at once reach the server unaltered (the shared client read buffer)', async () => {
    const b = await startBalancer({ engine: 'fast', healthCheck: NO_CHECKS, servers: [{ addr: backend.url }] });
    try {
      const { port, hostname } = new URL(b.url);
      const upload = (chunked: boolean, seed: number): Promise<string> =>
        new Promise((resolve, reject) => {
          const size = 2 * 1024 * 1024;
          const body = Buffer.alloc(size);
          for (let i = 0; i < size; i += 4) body.writeUInt32LE((i * seed) >>> 0, i);
          const s = connect(Number(port), hostname);
          let got = '';
          s.setEncoding('latin1');
          s.on('data', (d: string) => (got += d));
          s.on('error', reject);
          s.on('close', () => resolve(got));
          s.write(`POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`}\r\n\r\n`);
          let off = 0;
          const pump = (): void => {
            while (off < size) {
              const n = Math.min(5003 + (off % 30_011), size - off);
              const piece = body.subarray(off, off + n);
              off += n;
              const more = chunked ? s.write(Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')])) : s.write(piece);
              if (!more) return void s.once('drain', pump);
            }
            if (chunked) s.write('0\r\n\r\n');
          };
          pump();
          const expect = `${size} ${createHash('sha256').update(body).digest('hex')}`;
          s.on('close', () => {
            if (!got.endsWith(expect)) reject(new Error(`upload ${seed} arrived altered: ${got.slice(-80)}`));
          });
        });
      const answers = await Promise.all([upload(false, 3), upload(true, 5), upload(false, 7), upload(true, 11)]);
      for (const a of answers) assert.match(a, /^HTTP\/1\.1 200 /);
    } finally {
      await b.stop();
    }
  });
});
