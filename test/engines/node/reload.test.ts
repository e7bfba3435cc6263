import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { backends, closeAll, get, servedBy, startBalancer } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

test('SIGHUP reloads the config; a bad file keeps the old one; in-flight requests finish', async () => {
  const servers = await backends(3);
  const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
  // Active checks off, so only our requests reach server-1.
  const b0 = await startBalancer({ healthCheck: { enabled: false }, servers: [{ addr: a }] });
  const reloads = () => b0.logs.filter((l) => String(l.msg).startsWith('reloaded ')).length;
  try {
    assert.equal(servedBy(await get(`${b0.url}/`)), 'server-1');
    const before = servers[0]?.requests() ?? 0;
    const slow = get(`${b0.url}/slow?ms=1500`);
    await waitFor(() => (servers[0]?.requests() ?? 0) > before, 'slow request at server-1', 10_000);

    writeFileSync(b0.file, JSON.stringify({ addr: '127.0.0.1:0', servers: [{ addr: b }, { addr: c }] }));
    b0.proc.kill('SIGHUP');
    await waitFor(() => reloads() === 1, 'reload', 10_000);
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) names.add(servedBy(await get(`${b0.url}/`)));
    assert.deepEqual([...names].sort(), ['server-2', 'server-3']);
    const inflight = await slow;
    assert.equal(inflight.status, 200, 'the request in flight during the reload finished');
    assert.equal(servedBy(inflight), 'server-1');

    // A bad file: every problem logged naming the file and field, and nothing changes.
    writeFileSync(b0.file, JSON.stringify({ addr: '127.0.0.1:0', servers: [{ addr: 'localhost:9' }] }));
    b0.proc.kill('SIGHUP');
    await waitFor(() => b0.logs.some((l) => String(l.msg).startsWith('reload rejected')), 'rejection', 10_000);
    const rejection = String(b0.logs.find((l) => String(l.msg).startsWith('reload rejected'))?.msg);
    assert.ok(rejection.includes(`${b0.file}: servers[0].addr: "localhost:9" is not an http:// or https:// URL`), rejection);
    writeFileSync(b0.file, '{"servers": [');
    b0.proc.kill('SIGHUP');
    await waitFor(() => b0.logs.filter((l) => String(l.msg).includes('invalid JSON')).length === 1, 'JSON rejection', 10_000);
    assert.equal(reloads(), 1);
    for (let i = 0; i < 4; i++) assert.match(servedBy(await get(`${b0.url}/`)), /server-[23]/);
    assert.equal(b0.proc.exitCode, null, 'still running');
  } finally {
    assert.equal(await b0.stop(), 0);
    await closeAll(servers);
  }
});
