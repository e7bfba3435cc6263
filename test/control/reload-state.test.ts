// Black-box: what the balancer knows about a server (an ejection, its totals) survives a reload,
// as the admin API shows it.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { backends, closeAll, get, startBalancer } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

interface ServerJson {
  name: string;
  state: string;
  healthy: boolean;
  reason?: string;
  since: string;
  requests: number;
  failures: number;
}

test('a reload keeps an ejection and the request totals of every server still configured', async () => {
  // A server whose every answer is a 503: passive checks eject it.
  const bad = createServer((_req, res) => res.writeHead(503).end('no'));
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
  const badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
  const good = await backends(2);
  const config = (algorithm: string, extra: object[] = []) => ({
    addr: '127.0.0.1:0',
    algorithm,
    admin: { addr: '127.0.0.1:0' },
    healthCheck: { enabled: false, passive: { maxFails: 2, baseEjection: 60 } },
    servers: [{ addr: good[0]!.url, name: 'good' }, { addr: badUrl, name: 'bad' }, ...extra],
  });
  const bp = await startBalancer(config('round-robin'));
  try {
    await waitFor(() => bp.logs.some((l) => typeof l.admin === 'string'), 'the admin API');
    const admin = String(bp.logs.find((l) => typeof l.admin === 'string')?.admin);
    const servers = async () => (JSON.parse((await get(`${admin}/api/servers`)).body) as { servers: ServerJson[] }).servers;
    for (let i = 0; i < 6; i++) await get(`${bp.url}/`);
    const before = await servers();
    const badBefore = before.find((s) => s.name === 'bad');
    assert.equal(badBefore?.state, 'down');
    assert.match(String(badBefore?.reason), /ejected for 60 s/);
    assert.equal(badBefore?.failures, 2);

    writeFileSync(bp.file, JSON.stringify(config('least-connections', [{ addr: good[1]!.url, name: 'new' }])));
    bp.proc.kill('SIGHUP');
    await waitFor(() => bp.logs.some((l) => String(l.msg).startsWith('reloaded ')), 'the reload', 10_000);
    const after = await servers();
    const badAfter = after.find((s) => s.name === 'bad');
    assert.deepEqual(badAfter, badBefore, 'same state, reason, since and totals');
    assert.deepEqual(after.find((s) => s.name === 'good')?.requests, before.find((s) => s.name === 'good')?.requests);
    assert.equal(after.find((s) => s.name === 'new')?.state, 'up');
    assert.equal(bp.logs.filter((l) => String(l.msg).includes(`server ${badUrl} down`)).length, 1, 'ejected once, not again after the reload');
  } finally {
    assert.equal(await bp.stop(), 0);
    await closeAll(good);
    await new Promise<void>((r) => bad.close(() => r()));
  }
});
