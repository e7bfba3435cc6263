// Black-box: every server killed under load, default health settings. Clients are told the truth
// (503 with Retry-After, not 502) within seconds, all-down is announced once, counts are right.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startReceiver } from '../notify/helpers.js';
import { backends, closeAll, get, startBalancer } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

interface Sample {
  readonly at: number;
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

interface WebhookEvent {
  readonly event: string;
  readonly healthy: number;
  readonly total: number;
  readonly server: { readonly addr: string };
}

describe('all servers dead', () => {
  test('killing every server under load: 503 with Retry-After within seconds, one all-down, counts 3/4 to 0/4', async () => {
    const hook = await startReceiver();
    const servers = await backends(4);
    const b = await startBalancer({
      servers: servers.map((s) => ({ addr: s.url })),
      notifications: [{ type: 'webhook', url: `${hook.url}/hook` }],
    });
    const samples: Sample[] = [];
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        const r = await get(`${b.url}/`).catch(() => undefined);
        samples.push({ at: Date.now(), status: r?.status ?? 0, retryAfter: r?.headers['retry-after'] as string | undefined, body: r?.body ?? '' });
      }
    });
    const events = () => hook.requests.map((r) => JSON.parse(r.body) as WebhookEvent);
    try {
      await waitFor(() => samples.length > 200, 'load to start', 20_000);
      assert.ok(samples.every((s) => s.status === 200));
      const killedAt = Date.now();
      await closeAll(servers);
      await waitFor(() => events().some((e) => e.event === 'all-down'), 'all-down webhook', 10_000);
      const allDownAt = Date.now();
      await waitFor(() => samples.filter((s) => s.at > allDownAt).length > 200, 'load after all-down', 20_000);
      // Let any late (duplicate) event arrive before counting.
      await new Promise((r) => setTimeout(r, 1000));
      running = false;
      await Promise.all(loops);

      const after = samples.filter((s) => s.at > killedAt);
      const statuses = [...new Set(after.map((s) => s.status))].sort();
      const firstNon200 = after.find((s) => s.status !== 200);
      console.log(`after the kill: ${after.length} answers, statuses ${statuses.join(', ')}; all-down after ${allDownAt - killedAt} ms`);
      // A request in flight at the kill reached its server and was cut there (its retries then found
      // the others refusing): a 502 is true for it. Every request that reached no server gets 503.
      const bad = after.filter((s) => s.status !== 200 && s.status !== 503);
      console.log(`other answers: ${bad.map((s) => `${s.at - killedAt} ms ${s.status} ${s.body.trim()}`).join('; ')}`);
      assert.ok(bad.length <= 4, `${bad.length} answers neither 200 nor 503`);
      assert.ok(bad.every((s) => s.status === 502 && s.at - killedAt < 1000), 'a 502 only for a request in flight at the kill');
      assert.ok(after.filter((s) => s.status === 503).every((s) => Number(s.retryAfter) >= 1), 'every 503 has Retry-After');
      assert.ok(firstNon200 !== undefined && firstNon200.at - killedAt < 5000, 'clients told within a few seconds');
      assert.ok(allDownAt - killedAt < 8000, `all-down after ${allDownAt - killedAt} ms`);

      const evs = events();
      assert.equal(evs.filter((e) => e.event === 'all-down').length, 1, 'exactly one all-down');
      const downs = evs.filter((e) => e.event === 'server-down');
      assert.deepEqual(downs.map((e) => `${e.healthy}/${e.total}`).sort().reverse(), ['3/4', '2/4', '1/4', '0/4']);
      assert.deepEqual(new Set(downs.map((e) => e.server.addr)), new Set(servers.map((s) => s.url)));
      const allDown = evs.find((e) => e.event === 'all-down');
      assert.equal(`${allDown?.healthy}/${allDown?.total}`, '0/4');
      assert.deepEqual(evs.filter((e) => e.event === 'server-up' || e.event === 'recovered'), [], 'nothing came back');
      assert.ok(b.logs.some((l) => String(l.msg).startsWith('all servers down')));
    } finally {
      running = false;
      await Promise.all(loops);
      await b.stop();
      await hook.close();
    }
  });
});
