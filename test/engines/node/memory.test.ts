import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import { backends, closeAll, startBalancer, type BalancerProcess } from '../../helpers/cluster.js';

const GiB = 1024 ** 3;
const MB = 1e6;

/** Runs `work` while sampling the balancer's RSS; returns idle, peak and after. */
async function measure(b: BalancerProcess, work: () => Promise<void>): Promise<{ idle: number; peak: number; after: number }> {
  const idle = b.rss();
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, b.rss())), 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { idle, peak, after: b.rss() };
}

test('a 1 GiB download and a 1 GiB upload stream through without buffering', async () => {
  const servers = await backends(1);
  const b = await startBalancer({ servers: [{ addr: servers[0]?.url }] });
  try {
    await request(`${b.url}/`).then((r) => r.body.text());
    const down = await measure(b, async () => {
      const r = await request(`${b.url}/bytes?n=${GiB}`);
      let n = 0;
      for await (const c of r.body) n += (c as Buffer).length;
      assert.equal(n, GiB);
    });
    const up = await measure(b, async () => {
      const chunk = Buffer.alloc(1 << 20, 1);
      let left = GiB;
      async function* body(): AsyncGenerator<Buffer> {
        for (; left > 0; left -= chunk.length) yield chunk;
      }
      const r = await request(`${b.url}/echo`, {
        method: 'POST',
        body: Readable.from(body()),
        headers: { 'content-length': String(GiB) },
      });
      let n = 0;
      for await (const c of r.body) n += (c as Buffer).length;
      assert.equal(n, GiB);
    });
    const report = (m: typeof down) => `idle ${(m.idle / MB).toFixed(0)} MB, peak ${(m.peak / MB).toFixed(0)} MB, after ${(m.after / MB).toFixed(0)} MB`;
    console.log(`download: ${report(down)}; upload: ${report(up)}`);
    // Buffering even a tenth of a body would show as 100+ MB; garbage not yet collected stays well under that.
    for (const m of [down, up]) {
      assert.ok(m.peak - m.idle < 128 * MB, report(m));
      assert.ok(m.after - down.idle < 50 * MB, report(m));
    }
  } finally {
    await b.stop();
    await closeAll(servers);
  }
});
