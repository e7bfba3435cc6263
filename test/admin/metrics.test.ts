// Black-box: GET /metrics on the admin listener of the real balancer (the CLI as a process, real
// backends), parsed by a strict text-format parser, and scraped by a real Prometheus.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { backends, closeAll, get, startBalancer, adminUrl } from '../helpers/cluster.js';
import { hasPrometheus, parseExposition, PROMETHEUS, startPrometheus, sumOf, valueOf, type Exposition } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/wait.js';
import { rawExchange as raw } from '../helpers/raw-client.js';
import { freePort } from '../helpers/ports.js';
import { startReceiver } from '../control/notify/helpers.js';

const TOKEN = 'metrics-token-5b1e';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The admin URL from the balancer's start-up log. */
async function scrape(admin: string, headers: Record<string, string> = {}): Promise<Exposition> {
  const r = await get(`${admin}/metrics`, { headers });
  assert.equal(r.status, 200, r.body);
  return parseExposition(r.body);
}

test('metrics: requests by server, method and code class; a killed server flips balancer_server_up to 0 and counts a transition to down; answers with no server count as server="none"', async () => {
  const [a, b] = await backends(2);
  if (a === undefined || b === undefined) throw new Error('two backends');
  const bp = await startBalancer({
    healthCheckDelay: 0.2,
    healthCheck: { fall: 1, rise: 1, timeout: 0.5 },
    admin: { addr: '127.0.0.1:0' },
    servers: [
      { addr: a.url, name: 'a' },
      { addr: b.url, name: 'b' },
    ],
  });
  try {
    const admin = await adminUrl(bp);
    const before = await scrape(admin);
    // Every family is declared with the type Prometheus expects.
    for (const [name, type] of [
      ['balancer_requests_total', 'counter'],
      ['balancer_request_duration_seconds', 'histogram'],
      ['balancer_server_in_flight_requests', 'gauge'],
      ['balancer_server_up', 'gauge'],
      ['balancer_server_state', 'gauge'],
      ['balancer_server_effective_weight', 'gauge'],
      ['balancer_health_checks_total', 'counter'],
      ['balancer_server_transitions_total', 'counter'],
      ['balancer_server_ejections_total', 'counter'],
      ['balancer_retries_total', 'counter'],
      ['balancer_upstream_errors_total', 'counter'],
      ['balancer_notifications_total', 'counter'],
      ['balancer_config_reloads_total', 'counter'],
      ['balancer_config_last_reload_success_timestamp_seconds', 'gauge'],
      ['process_cpu_seconds_total', 'counter'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      assert.equal(before.types.get(name as string), type, `# TYPE ${name} ${type}`);
    }
    assert.equal(valueOf(before, 'balancer_server_up', { server: 'a' }), 1);
    assert.equal(valueOf(before, 'balancer_server_up', { server: 'b' }), 1);
    assert.equal(valueOf(before, 'balancer_server_state', { server: 'a', state: 'up' }), 1);
    assert.equal(valueOf(before, 'balancer_server_state', { server: 'a', state: 'down' }), 0);

    for (let i = 0; i < 10; i++) assert.equal((await get(`${bp.url}/x`)).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await get(`${bp.url}/status/404`)).status, 404);
    assert.equal((await get(`${bp.url}/p`, { method: 'POST', body: 'hi' })).status, 200);
    assert.equal((await get(`${bp.url}/p`, { method: 'PROPFIND' })).status, 200);
    const m = await scrape(admin);
    assert.equal(sumOf(m, 'balancer_requests_total', { method: 'GET', code_class: '2xx' }), 10);
    assert.equal(sumOf(m, 'balancer_requests_total', { method: 'GET', code_class: '4xx' }), 4);
    assert.equal(sumOf(m, 'balancer_requests_total', { method: 'POST', code_class: '2xx' }), 1);
    assert.equal(sumOf(m, 'balancer_requests_total', { method: 'OTHER', code_class: '2xx' }), 1);
    assert.equal(valueOf(m, 'balancer_requests_total', { server: 'a', method: 'GET', code_class: '2xx' }), 5, 'round-robin: half on a');
    assert.equal(sumOf(m, 'balancer_request_duration_seconds_count'), 16);
    assert.equal(valueOf(m, 'balancer_request_duration_seconds_bucket', { server: 'a', le: '+Inf' }), valueOf(m, 'balancer_request_duration_seconds_count', { server: 'a' }));
    assert.ok(m.samples.some((s) => s.name === 'balancer_request_duration_seconds_bucket' && s.labels.le === '0.005'), 'Caddy buckets from 0.005');
    assert.ok(m.samples.some((s) => s.name === 'balancer_request_duration_seconds_bucket' && s.labels.le === '10'), 'Caddy buckets up to 10');
    assert.ok((valueOf(m, 'balancer_health_checks_total', { server: 'b', result: 'passed' }) ?? 0) > 0);
    // No label carries a path or a client address.
    for (const s of m.samples) for (const v of Object.values(s.labels)) assert.ok(!v.startsWith('/') && !v.includes('127.0.0.1'), `label value ${v} of ${s.name}`);

    // Kill b: health checks see it down.
    await b.close();
    await waitFor(async () => valueOf(await scrape(admin), 'balancer_server_up', { server: 'b' }) === 0, 'balancer_server_up{server="b"} 0');
    const down = await scrape(admin);
    assert.equal(valueOf(down, 'balancer_server_transitions_total', { server: 'b', to: 'down' }), 1);
    assert.equal(valueOf(down, 'balancer_server_state', { server: 'b', state: 'down' }), 1);
    assert.equal(valueOf(down, 'balancer_server_state', { server: 'b', state: 'up' }), 0);
    assert.equal(valueOf(down, 'balancer_server_effective_weight', { server: 'b' }), 0);
    assert.ok((valueOf(down, 'balancer_health_checks_total', { server: 'b', result: 'failed' }) ?? 0) >= 1);
    assert.equal(valueOf(down, 'balancer_server_up', { server: 'a' }), 1);

    // Kill a too: the balancer answers 503 itself, with no server.
    await a.close();
    await waitFor(async () => valueOf(await scrape(admin), 'balancer_server_up', { server: 'a' }) === 0, 'balancer_server_up{server="a"} 0');
    assert.equal((await get(`${bp.url}/x`)).status, 503);
    assert.equal((await get(`${bp.url}/x`, { method: 'HEAD' })).status, 503);
    // A malformed request: 400 on its own connection, method unknown.
    assert.match(await raw(bp.url, 'GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'), /^HTTP\/1\.1 400 /);
    const none = await scrape(admin);
    assert.equal(valueOf(none, 'balancer_requests_total', { server: 'none', method: 'GET', code_class: '5xx' }), 1);
    assert.equal(valueOf(none, 'balancer_requests_total', { server: 'none', method: 'HEAD', code_class: '5xx' }), 1);
    assert.equal(valueOf(none, 'balancer_requests_total', { server: 'none', method: 'OTHER', code_class: '4xx' }), 1);
    // The servers' own counts did not move.
    assert.equal(sumOf(none, 'balancer_requests_total', { server: 'a' }) + sumOf(none, 'balancer_requests_total', { server: 'b' }), 16);
  } finally {
    await bp.stop();
    await closeAll([a, b]);
  }
});

test('metrics: /metrics needs the token when one is set; a drained server shows state draining; reloads count by result; a removed server leaves the exposition', async () => {
  const [a, b] = await backends(2);
  if (a === undefined || b === undefined) throw new Error('two backends');
  const config = (servers: { addr: string; name: string }[]) => ({ addr: '127.0.0.1:0', admin: { addr: '127.0.0.1:0', token: TOKEN }, servers });
  const bp = await startBalancer(
    config([
      { addr: a.url, name: 'a' },
      { addr: b.url, name: 'b' },
    ]),
  );
  try {
    const admin = await adminUrl(bp);
    assert.equal((await get(`${admin}/metrics`)).status, 401, 'no token');
    assert.equal((await get(`${admin}/metrics`, { headers: { authorization: 'Bearer nope' } })).status, 401, 'wrong token');
    assert.equal((await get(`${admin}/metrics`, { method: 'POST', headers: auth })).status, 405);
    const start = await scrape(admin, auth);
    const startedAt = valueOf(start, 'balancer_config_last_reload_success_timestamp_seconds') ?? 0;
    assert.ok(startedAt > Date.now() / 1000 - 120 && startedAt <= Date.now() / 1000 + 1, `start time ${startedAt}`);
    assert.equal(valueOf(start, 'balancer_config_reloads_total', { result: 'success' }), 0);

    // Drain a through the API.
    assert.equal((await get(`${admin}/api/servers/a/drain`, { method: 'POST', headers: auth })).status, 200);
    const drained = await scrape(admin, auth);
    assert.equal(valueOf(drained, 'balancer_server_state', { server: 'a', state: 'draining' }), 1);
    assert.equal(valueOf(drained, 'balancer_server_state', { server: 'a', state: 'up' }), 0);
    assert.equal(valueOf(drained, 'balancer_server_up', { server: 'a' }), 1, 'healthy, only drained');
    assert.equal(valueOf(drained, 'balancer_server_transitions_total', { server: 'a', to: 'draining' }), 1);
    assert.equal(valueOf(drained, 'balancer_server_state', { server: 'b', state: 'up' }), 1);
    assert.equal((await get(`${bp.url}/x`)).status, 200);
    assert.equal(sumOf(await scrape(admin, auth), 'balancer_requests_total', { server: 'a' }), 0, 'a drained takes nothing');

    // A bad file: a failed reload, nothing else changes.
    writeFileSync(bp.file, '{ "servers": [ ');
    assert.equal((await get(`${admin}/api/reload`, { method: 'POST', headers: auth })).status, 400);
    const bad = await scrape(admin, auth);
    assert.equal(valueOf(bad, 'balancer_config_reloads_total', { result: 'failure' }), 1);
    assert.equal(valueOf(bad, 'balancer_config_reloads_total', { result: 'success' }), 0);
    assert.equal(valueOf(bad, 'balancer_config_last_reload_success_timestamp_seconds'), startedAt);

    // A good file without b: a successful reload, and b's series go.
    writeFileSync(bp.file, JSON.stringify(config([{ addr: a.url, name: 'a' }])));
    await new Promise((r) => setTimeout(r, 20)); // the timestamp has millisecond resolution
    const ok = await get(`${admin}/api/reload`, { method: 'POST', headers: auth });
    assert.equal(ok.status, 200, ok.body);
    const after = await scrape(admin, auth);
    assert.equal(valueOf(after, 'balancer_config_reloads_total', { result: 'success' }), 1);
    assert.ok((valueOf(after, 'balancer_config_last_reload_success_timestamp_seconds') ?? 0) > startedAt);
    assert.deepEqual(
      after.samples.filter((s) => s.labels.server === 'b').map((s) => s.name),
      [],
      'no series of the removed server b',
    );
    assert.equal(valueOf(after, 'balancer_server_state', { server: 'a', state: 'draining' }), 1, 'a reload keeps a drained');
  } finally {
    await bp.stop();
    await closeAll([a, b]);
  }
});

test('metrics: a refused connection counts an upstream error of kind refused, a retry, an ejection and a transition to down; the request counts under the server that answered', async () => {
  const [a] = await backends(1);
  if (a === undefined) throw new Error('a backend');
  const dead = `http://127.0.0.1:${await freePort()}`;
  const hook = await startReceiver();
  const bp = await startBalancer({
    healthCheck: { enabled: false, passive: { maxFails: 1 } },
    admin: { addr: '127.0.0.1:0' },
    notifications: [{ type: 'webhook', name: 'ops', url: `${hook.url}/hook`, flapping: { enabled: false } }],
    servers: [
      { addr: dead, name: 'dead' },
      { addr: a.url, name: 'a' },
    ],
  });
  try {
    const admin = await adminUrl(bp);
    for (let i = 0; i < 4; i++) assert.equal((await get(`${bp.url}/x`)).status, 200, 'retried on a');
    const m = await scrape(admin);
    assert.equal(valueOf(m, 'balancer_upstream_errors_total', { server: 'dead', kind: 'refused' }), 1);
    assert.equal(valueOf(m, 'balancer_retries_total', { reason: 'connect' }), 1);
    assert.equal(valueOf(m, 'balancer_server_ejections_total', { server: 'dead' }), 1);
    assert.equal(valueOf(m, 'balancer_server_ejections_total', { server: 'a' }), 0);
    assert.equal(valueOf(m, 'balancer_server_transitions_total', { server: 'dead', to: 'down' }), 1);
    assert.equal(valueOf(m, 'balancer_server_up', { server: 'dead' }), 0);
    assert.equal(valueOf(m, 'balancer_requests_total', { server: 'a', method: 'GET', code_class: '2xx' }), 4);
    assert.equal(sumOf(m, 'balancer_requests_total', { server: 'dead' }), 0);
    assert.equal(sumOf(m, 'balancer_health_checks_total'), 0, 'active checks off');
    // The webhook hears of it; the counter says it was sent.
    await waitFor(async () => valueOf(await scrape(admin), 'balancer_notifications_total', { notifier: 'ops', event: 'server-down', result: 'sent' }) === 1, 'one server-down notification sent');
  } finally {
    await bp.stop();
    await closeAll([a, hook]);
  }
});

test('metrics: a real Prometheus scrapes /metrics with the bearer token and sees a killed server down and request rates under load', { skip: hasPrometheus() ? false : `${PROMETHEUS} not installed (apt-get install prometheus)` }, async () => {
  const [a, b] = await backends(2);
  if (a === undefined || b === undefined) throw new Error('two backends');
  const bp = await startBalancer({
    healthCheckDelay: 0.2,
    healthCheck: { fall: 1, rise: 1, timeout: 0.5 },
    admin: { addr: '127.0.0.1:0', token: TOKEN },
    servers: [
      { addr: a.url, name: 'a' },
      { addr: b.url, name: 'b' },
    ],
  });
  const admin = await adminUrl(bp);
  const prom = await startPrometheus(new URL(admin).host, TOKEN);
  let running = true;
  const load = (async () => {
    while (running) {
      await get(`${bp.url}/x`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    const up = async (): Promise<Record<string, string>> => Object.fromEntries((await prom.query('balancer_server_up')).map((r) => [r.metric.server ?? '?', r.value[1]]));
    await waitFor(async () => JSON.stringify(await up()) === JSON.stringify({ a: '1', b: '1' }), `Prometheus sees a and b up (${prom.log()})`, 30_000);
    await waitFor(async () => (await prom.query('sum by (server) (rate(balancer_requests_total[5s]))')).length === 2, 'request rates of both servers', 30_000);
    await b.close();
    await waitFor(async () => JSON.stringify(await up()) === JSON.stringify({ a: '1', b: '0' }), 'Prometheus sees b down', 30_000);
    const transitions = await prom.query('balancer_server_transitions_total{server="b",to="down"}');
    assert.equal(transitions[0]?.value[1], '1');
    // Under load, a takes every request: its rate is positive; b's falls to 0 once its last requests leave the window.
    await waitFor(async () => {
      const rates = Object.fromEntries((await prom.query('sum by (server) (rate(balancer_requests_total{code_class="2xx"}[5s]))')).map((r) => [r.metric.server ?? '?', Number(r.value[1])]));
      return (rates.a ?? 0) > 0 && rates.b === 0;
    }, 'rate of a > 0 and of b = 0', 30_000);
    const rates = await prom.query('sum by (server) (rate(balancer_requests_total[5s]))');
    console.log(`prometheus: balancer_server_up ${JSON.stringify(await up())}; rate(balancer_requests_total[5s]) by server ${JSON.stringify(Object.fromEntries(rates.map((r) => [r.metric.server, Number(r.value[1]).toFixed(1)])))}`);
  } finally {
    running = false;
    await load;
    await prom.stop();
    await bp.stop();
    await closeAll([a, b]);
  }
});
