// Black-box: the balancer process notices a killed test server and tells real loopback receivers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../../src/control/notify/signature.js';
import type { WebhookBody } from '../../../src/control/notify/payload.js';
import { startTestServer, type TestServer } from '../../../src/testservers/server.js';
import { backends, closeAll, get, startBalancer } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { startFakeTelegram, startReceiver } from './helpers.js';

const TOKEN = '123456:test-token';
const SECRET = 'hook-secret-from-env';
const FAST_CHECKS = { fall: 2, rise: 1, timeout: 0.5, passive: { maxFails: 0 } };

describe('notifications from a running balancer', () => {
  test('a killed and restarted server produces signed down and up webhooks and Telegram messages', async () => {
    const hook = await startReceiver();
    const tg = await startFakeTelegram(TOKEN);
    const servers = await backends(2);
    const victim = servers[1] as TestServer;
    process.env.BALANCER_TEST_HOOK_SECRET = SECRET; // inherited by the balancer process
    const b = await startBalancer({
      name: 'edge-test',
      healthCheckDelay: 0.25,
      healthCheck: FAST_CHECKS,
      servers: servers.map((s, i) => ({ addr: s.url, name: `web-${i + 1}` })),
      notifications: [
        { type: 'webhook', url: `${hook.url}/hook`, secret: '${BALANCER_TEST_HOOK_SECRET}', headers: { 'X-Team': 'ops' }, flapping: { enabled: false } },
        { type: 'telegram', botToken: TOKEN, chatId: 42, apiBase: tg.url, flapping: { enabled: false } },
      ],
    });
    let back: TestServer | undefined;
    const bodies = () => hook.requests.map((r) => JSON.parse(r.body) as WebhookBody);
    try {
      // Let the first health checks pass, so the kill is seen as a failure of an up server.
      await waitFor(() => victim.requests() >= 2, 'first checks', 20_000);
      await victim.close();
      await waitFor(() => bodies().some((x) => x.event === 'server-down'), 'server-down webhook', 20_000);
      back = await startTestServer({ name: victim.name, port: victim.port });
      await waitFor(() => bodies().some((x) => x.event === 'server-up'), 'server-up webhook', 20_000);
      await waitFor(() => tg.requests.length >= 2, 'two Telegram messages', 20_000);

      for (const r of hook.requests) {
        assert.equal(r.method, 'POST');
        assert.equal(r.headers['x-team'], 'ops');
        const sig = r.headers[SIGNATURE_HEADER.toLowerCase()];
        const ts = r.headers[TIMESTAMP_HEADER.toLowerCase()];
        assert.ok(verifySignature(SECRET, r.body, String(sig), String(ts)), 'signature verifies with the secret from the environment');
      }
      const down = bodies().find((x) => x.event === 'server-down') as WebhookBody;
      assert.deepEqual(down.server, { name: 'web-2', addr: victim.url });
      assert.match(down.reason, /2 failed checks, last: ECONNREFUSED/);
      assert.equal(down.healthy, 1);
      assert.equal(down.total, 2);
      assert.equal(down.balancer.name, 'edge-test');
      assert.ok(!Number.isNaN(Date.parse(down.time)) && down.time.endsWith('Z'));
      assert.match(down.message, /web-2.*DOWN/);
      const up = bodies().find((x) => x.event === 'server-up') as WebhookBody;
      assert.equal(up.healthy, 2);

      const texts = tg.requests.map((r) => (JSON.parse(r.body) as { chat_id: number; text: string }));
      assert.ok(texts.every((t) => t.chat_id === 42));
      assert.ok(texts.some((t) => /web-2.*DOWN/.test(t.text)));
      assert.ok(texts.some((t) => /web-2.*UP/.test(t.text)));
    } finally {
      await b.stop();
      await closeAll([...servers, hook, tg]);
      await back?.close();
    }
  });

  test('a dead receiver does not slow proxying', async () => {
    const hanging = await startReceiver(() => 'hang');
    const servers = await backends(3);
    const base = { healthCheckDelay: 0.25, healthCheck: FAST_CHECKS, servers: servers.slice(0, 2).map((s) => ({ addr: s.url })) };
    const quiet = await startBalancer(base);
    const noisy = await startBalancer({
      ...base,
      servers: [...base.servers, { addr: servers[2]?.url }],
      notifications: [{ type: 'webhook', url: hanging.url, timeout: 30, retries: 5, flapping: { enabled: false } }],
    });
    let flapper: TestServer | undefined = servers[2];
    try {
      // Make events: the third server dies and returns, again and again, while we measure.
      let flapping = true;
      const flaps = (async () => {
        while (flapping) {
          await flapper?.close();
          await new Promise((r) => setTimeout(r, 700));
          flapper = await startTestServer({ name: 'server-3', port: servers[2]?.port ?? 0 });
          await new Promise((r) => setTimeout(r, 700));
        }
      })();
      const latency = async (url: string): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < 300; i++) {
          const t = performance.now();
          assert.equal((await get(`${url}/`)).status, 200);
          out.push(performance.now() - t);
        }
        return out.sort((x, y) => x - y);
      };
      const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
      const a = await latency(quiet.url);
      const bl = await latency(noisy.url);
      await waitFor(() => hanging.requests.length >= 1, 'a notification to reach the dead receiver', 20_000);
      flapping = false;
      await flaps;
      console.log(`median ${pct(a, 0.5).toFixed(2)} ms without vs ${pct(bl, 0.5).toFixed(2)} ms with a dead receiver; p99 ${pct(a, 0.99).toFixed(2)} vs ${pct(bl, 0.99).toFixed(2)} ms`);
      // Blocking on the receiver would cost seconds per request; allow only scheduling noise.
      assert.ok(pct(bl, 0.5) < pct(a, 0.5) * 3 + 5, 'median latency grew with a dead receiver');
      assert.ok(pct(bl, 0.99) < 250, `p99 ${pct(bl, 0.99).toFixed(1)} ms with a dead receiver`);
    } finally {
      await quiet.stop();
      await noisy.stop();
      await closeAll([servers[0] as TestServer, servers[1] as TestServer, hanging]);
      await flapper?.close();
    }
  });
});
