// Black-box: --watch reloads the config file when it changes; a half-written file changes nothing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { backends, closeAll, get, servedBy, startBalancer } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

test('--watch reloads on a change; a half-written file is rejected and changes nothing, its completion reloads', async () => {
  const servers = await backends(2);
  const [a, b] = servers.map((s) => s.url) as [string, string];
  const bp = await startBalancer({ healthCheck: { enabled: false }, servers: [{ addr: a }] }, ['--watch']);
  const reloads = () => bp.logs.filter((l) => String(l.msg).startsWith('reloaded ')).length;
  const rejected = () => bp.logs.filter((l) => String(l.msg).startsWith('reload rejected')).length;
  try {
    await waitFor(() => bp.logs.some((l) => String(l.msg).startsWith('watching ')), 'the watching line');
    assert.equal(servedBy(await get(`${bp.url}/`)), 'server-1');
    const full = JSON.stringify({ addr: '127.0.0.1:0', healthCheck: { enabled: false }, servers: [{ addr: b }] });
    // An editor's first write: half the file.
    writeFileSync(bp.file, full.slice(0, full.length / 2));
    await waitFor(() => rejected() >= 1, 'the half-written file rejected', 10_000);
    assert.equal(reloads(), 0);
    for (let i = 0; i < 3; i++) assert.equal(servedBy(await get(`${bp.url}/`)), 'server-1', 'the old config still serves');
    writeFileSync(bp.file, full);
    await waitFor(() => reloads() === 1, 'the reload of the complete file', 10_000);
    const line = bp.logs.find((l) => String(l.msg).startsWith('reloaded '));
    assert.match(String(line?.msg), /\(config file changed\)/);
    for (let i = 0; i < 3; i++) assert.equal(servedBy(await get(`${bp.url}/`)), 'server-2');
  } finally {
    assert.equal(await bp.stop(), 0);
    await closeAll(servers);
  }
});
