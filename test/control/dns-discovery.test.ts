// Black-box: DNS discovery through the real CLI and a real DNS server (dnsmasq): servers come and
// go with DNS, leave without a failed request, and stay when DNS goes away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer, type TestServer } from '../../src/testservers/server.js';
import { closeAll, get, servedBy, startBalancer } from '../helpers/cluster.js';
import { Dnsmasq } from '../helpers/dnsmasq.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const NAME = 'api.service.test';

test('DNS discovery: both addresses serve, a third joins within refresh + 2 s, one leaves with no failed request, DNS down keeps the last set', async () => {
  const port = await freePort();
  const servers: TestServer[] = [];
  for (const [i, host] of ['127.0.0.2', '127.0.0.3', '127.0.0.4'].entries()) servers.push(await startTestServer({ name: `s${i + 2}`, port, host }));
  const dns = await Dnsmasq.start({ [NAME]: ['127.0.0.2', '127.0.0.3'] });
  const bp = await startBalancer({
    admin: { addr: '127.0.0.1:0' },
    healthCheck: { fall: 1, rise: 1, timeout: 0.5 },
    healthCheckDelay: 0.5,
    servers: [{ dns: NAME, port, name: 'api' }],
    discovery: { resolvers: [dns.resolver], refresh: 1 },
  });
  const seen = async (n: number) => {
    const names = new Set<string>();
    for (let i = 0; i < n; i++) names.add(servedBy(await get(`${bp.url}/`)));
    return [...names].sort();
  };
  await waitFor(() => bp.logs.some((l) => typeof l.admin === 'string'), 'the admin API');
  const admin = String(bp.logs.find((l) => typeof l.admin === 'string')?.admin);
  let running = true;
  const failed: string[] = [];
  try {
    await waitFor(async () => (await seen(6)).join() === 's2,s3', 'both addresses in rotation', 10_000);
    const load = (async () => {
      while (running) {
        const r = await get(`${bp.url}/`).catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status !== 200) failed.push(`${r.status} ${r.body}`);
      }
    })();
    await dns.setHosts({ [NAME]: ['127.0.0.2', '127.0.0.3', '127.0.0.4'] });
    const added = Date.now();
    await waitFor(async () => (await seen(9)).includes('s4'), 'the third address in rotation', 10_000);
    assert.ok(Date.now() - added < 3000 + 2000, `joined within refresh + 2 s (and a margin): ${Date.now() - added} ms`);
    await dns.setHosts({ [NAME]: ['127.0.0.3', '127.0.0.4'] });
    const listed = async () => {
      const r = await get(`${admin}/api/servers`);
      return (JSON.parse(r.body) as { servers: { addr: string; source: string }[] }).servers.map((x) => `${x.addr} ${x.source}`);
    };
    await waitFor(async () => (await listed()).length === 2, 'the removed address gone from the servers', 10_000);
    assert.deepEqual(await listed(), [`http://127.0.0.3:${port}`, `http://127.0.0.4:${port}`].map((a) => `${a} dns:${NAME}`));
    const atS2 = servers[0]!.requests();
    for (let i = 0; i < 20; i++) await get(`${bp.url}/`);
    assert.equal(servers[0]!.requests(), atS2, 'no request reaches the removed address');
    await dns.stop();
    await new Promise((r) => setTimeout(r, 3000)); // several refreshes fail meanwhile
    assert.equal((await listed()).length, 2, 'DNS down: the last known set stays');
    const before = [servers[1]!.requests(), servers[2]!.requests()];
    for (let i = 0; i < 20; i++) assert.equal((await get(`${bp.url}/`)).status, 200);
    assert.ok(servers[1]!.requests() > before[0]! && servers[2]!.requests() > before[1]!, 'both still serve');
    running = false;
    await load;
    assert.deepEqual(failed, [], 'no failed request while servers came and went');
    assert.ok(bp.logs.some((l) => String(l.msg).startsWith(`DNS lookup of ${NAME} failed`)), 'the outage is logged');
  } finally {
    running = false;
    assert.equal(await bp.stop(), 0);
    await dns.close();
    await closeAll(servers);
  }
});

test('SRV priorities: the lowest priority serves, higher ones are backups that take over when it is down', async () => {
  const port = await freePort();
  const primary = await startTestServer({ name: 'primary', port, host: '127.0.0.2' });
  const backup = await startTestServer({ name: 'backup', port, host: '127.0.0.3' });
  const srv = '_http._tcp.web.service.test';
  const dns = await Dnsmasq.start({ 'p.service.test': ['127.0.0.2'], 'b.service.test': ['127.0.0.3'] }, [
    { name: srv, target: 'p.service.test', port, priority: 10, weight: 5 },
    { name: srv, target: 'b.service.test', port, priority: 20, weight: 5 },
  ]);
  const bp = await startBalancer({
    healthCheck: { fall: 1, rise: 1, timeout: 0.5 },
    healthCheckDelay: 0.3,
    servers: [{ srv }],
    discovery: { resolvers: [dns.resolver], refresh: 1 },
  });
  try {
    await waitFor(async () => (await get(`${bp.url}/`)).status === 200, 'the SRV servers');
    for (let i = 0; i < 6; i++) assert.equal(servedBy(await get(`${bp.url}/`)), 'primary');
    await primary.close();
    await waitFor(async () => servedBy(await get(`${bp.url}/`)) === 'backup', 'the backup takes over', 10_000);
  } finally {
    assert.equal(await bp.stop(), 0);
    await dns.close();
    await closeAll([backup]);
  }
});
