// "mode": "tcp" black-box: the real CLI, real echo backends, real client sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminUrl, get, startBalancer } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { auth, echoBackend, greeting, servers, tcpClient, TOKEN, type EchoBackend } from './tcp-helpers.js';

async function closeAll(bs: readonly EchoBackend[]): Promise<void> {
  await Promise.all(bs.map((b) => b.close()));
}

test('connections are spread by the algorithm and counted per server in the admin API', async () => {
  const bs = await Promise.all(['a', 'b', 'c'].map((n) => echoBackend(n)));
  const bp = await startBalancer({
    mode: 'tcp',
    admin: { addr: '127.0.0.1:0', token: TOKEN },
    servers: bs.map((b, i) => ({ addr: i === 1 ? `127.0.0.1:${b.port}` : b.addr, name: b.name })),
  });
  try {
    assert.match(bp.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) seen.push(await greeting(bp.url));
    // round-robin: each server exactly a third, in turn.
    for (const b of bs) assert.equal(seen.filter((s) => s === b.name).length, 10, `${b.name} got a third: ${seen.join(',')}`);
    assert.deepEqual(seen.slice(0, 3).sort(), ['a', 'b', 'c']);
    const admin = await adminUrl(bp);
    await waitFor(async () => (await servers(admin)).every((v) => v.requests === 10 && v.inflight === 0), 'the admin API counts 10 connections per server');
    const views = await servers(admin);
    assert.deepEqual(views.map((v) => v.addr), bs.map((b) => b.addr), 'addresses shown as tcp://host:port ("host:port" written)');
    assert.ok(views.every((v) => v.state === 'up' && v.failures === 0));
  } finally {
    await bp.stop();
    await closeAll(bs);
  }
});

test('bytes flow both ways; a half-close (FIN) reaches the server and its answer still comes back', async () => {
  const [a] = await Promise.all([echoBackend('a')]);
  assert.ok(a !== undefined);
  const bp = await startBalancer({ mode: 'tcp', servers: [{ addr: a.addr }] });
  try {
    const c = await tcpClient(bp.url);
    await c.waitFor(/^a\n/);
    // 1 MiB each way, through the balancer's backpressure.
    const big = Buffer.alloc(1 << 20, 'x');
    c.socket.write(big);
    c.socket.end('END'); // FIN after the data
    await c.ended;
    const got = c.text();
    assert.equal(got.length, 2 + big.length + 3 + 'bye a\n'.length, 'greeting, the echo of every byte, then the answer to the FIN');
    assert.ok(got.endsWith('xxxEND' + 'bye a\n'), 'the server saw the FIN after all the data and its answer came back');
    // Its connections: the health check's (nothing sent) and ours.
    assert.deepEqual(a.received.map((r) => Buffer.concat(r).length).filter((n) => n > 0), [big.length + 3]);
  } finally {
    await bp.stop();
    await a.close();
  }
});

test('a refused server: the connection is retried on another server before any client byte is forwarded; passive checks eject it', async () => {
  const a = await echoBackend('a');
  const dead = await freePort();
  const bp = await startBalancer({
    mode: 'tcp',
    healthCheck: { enabled: false },
    admin: { addr: '127.0.0.1:0', token: TOKEN },
    servers: [{ addr: `tcp://127.0.0.1:${dead}`, name: 'dead' }, { addr: a.addr, name: 'a' }],
  });
  try {
    for (let i = 0; i < 8; i++) {
      const c = await tcpClient(bp.url);
      c.socket.write(`hello ${i}\n`);
      await c.waitFor(new RegExp(`^a\\nhello ${i}\\n$`), 'the live server greets and echoes');
      c.socket.destroy();
    }
    // Every client byte reached the live server once: none was lost to the refused attempt.
    assert.equal(a.accepted, 8);
    assert.ok(bp.logs.some((l) => String(l.msg).startsWith(`upstream tcp://127.0.0.1:${dead} failed: ECONNREFUSED; trying ${a.addr}`)));
    const admin = await adminUrl(bp);
    await waitFor(async () => (await servers(admin)).find((v) => v.name === 'dead')?.state === 'down', 'the refused server ejected');
    const dv = (await servers(admin)).find((v) => v.name === 'dead');
    assert.ok(dv !== undefined && dv.failures >= 1 && dv.failures === dv.requests, 'every attempt on it a failure');
  } finally {
    await bp.stop();
    await a.close();
  }
});

test('a backend killed under load: clients are served throughout, and no new connection goes to it once it is down', async () => {
  const bs = await Promise.all(['a', 'b', 'c'].map((n) => echoBackend(n)));
  const [, victim] = bs;
  assert.ok(victim !== undefined);
  const bp = await startBalancer({
    mode: 'tcp',
    algorithm: 'least-connections',
    healthCheckDelay: 0.2,
    healthCheck: { fall: 1, downInterval: 0.2 },
    admin: { addr: '127.0.0.1:0', token: TOKEN },
    servers: bs.map((b) => ({ addr: b.addr, name: b.name })),
  });
  try {
    const admin = await adminUrl(bp);
    let failed = 0;
    let served = 0;
    let stop = false;
    // Four clients in a loop, each a connection with a round trip.
    const load = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const c = await tcpClient(bp.url);
          c.socket.write('ping\n');
          await Promise.race([c.waitFor(/\nping\n$/, 'echo', 5000), c.closed.then(() => Promise.reject(new Error('closed')))]);
          c.socket.destroy();
          served++;
        } catch {
          failed++;
        }
      }
    });
    await waitFor(() => victim.accepted >= 5, 'load reaching the victim');
    await victim.kill();
    await waitFor(async () => (await servers(admin)).find((v) => v.name === 'b')?.state === 'down', 'the killed server down');
    const atDown = (await servers(admin)).find((v) => v.name === 'b')?.requests ?? -1;
    const servedAtDown = served;
    await waitFor(() => served >= servedAtDown + 100, '100 more connections served');
    stop = true;
    await Promise.all(load);
    const after = (await servers(admin)).find((v) => v.name === 'b')?.requests;
    assert.equal(after, atDown, 'no connection attempt on the server after it was down');
    // Connections open on it when it died were reset (they were its own); every new one was served.
    assert.ok(failed <= 4, `at most the connections open on it when it died failed (${failed})`);
  } finally {
    await bp.stop();
    await closeAll(bs);
  }
});

test('drain: open connections to the server keep working, new ones go elsewhere', async () => {
  const bs = await Promise.all(['a', 'b'].map((n) => echoBackend(n)));
  const bp = await startBalancer({ mode: 'tcp', admin: { addr: '127.0.0.1:0', token: TOKEN }, servers: bs.map((b) => ({ addr: b.addr, name: b.name })) });
  try {
    const admin = await adminUrl(bp);
    const first = await tcpClient(bp.url);
    await first.waitFor(/^a\n/);
    const r = await get(`${admin}/api/servers/a/drain`, { method: 'POST', headers: auth });
    assert.equal(r.status, 200, r.body);
    for (let i = 0; i < 6; i++) assert.equal(await greeting(bp.url), 'b');
    first.socket.write('still here\n');
    await first.waitFor(/still here\n$/, 'the drained server still serves its open connection');
    const v = (await servers(admin)).find((x) => x.name === 'a');
    assert.equal(v?.state, 'draining');
    assert.equal(v?.inflight, 1);
    first.socket.end();
    await first.ended;
    await waitFor(async () => (await servers(admin)).find((x) => x.name === 'a')?.inflight === 0, 'the connection ended');
  } finally {
    await bp.stop();
    await closeAll(bs);
  }
});


test('clients sending at once: every byte echoed unaltered (client reads share one buffer, copied before they are queued)', async () => {
  const a = await echoBackend('a', '127.0.0.1', true);
  const bp = await startBalancer({ mode: 'tcp', servers: [{ addr: a.addr }] });
  try {
    // More than the kernel's socket buffers hold, so writes to the slow server queue in the balancer.
    const size = 8 << 20;
    const one = async (seed: number): Promise<void> => {
      const c = await tcpClient(bp.url);
      await c.waitFor(/^a\n/);
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4) body.writeUInt32LE((i * seed) >>> 0, i);
      // Odd-sized writes, so reads end mid-pattern.
      for (let off = 0; off < size; off += 7919) c.socket.write(body.subarray(off, Math.min(size, off + 7919)));
      c.socket.end();
      await c.ended;
      const echoed = Buffer.from(c.text().slice(2, 2 + size), 'latin1');
      assert.equal(echoed.length, size, `client ${seed}: every byte came back`);
      assert.ok(echoed.equals(body), `client ${seed}: the echo differs from what was sent`);
    };
    await Promise.all([3, 5, 7, 11].map(one));
  } finally {
    await bp.stop();
    await a.close();
  }
});
