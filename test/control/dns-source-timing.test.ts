import assert from 'node:assert/strict';
import type { RecordWithTtl, SrvRecord } from 'node:dns';
import { describe, test } from 'node:test';
import type { DnsServerConfig } from '../../src/config/discovery.js';
import { DnsSource, sourcesFromConfig, type DnsResolver } from '../../src/control/sources/dns.js';
import type { ServerSpec } from '../../src/control/sources/source.js';
import { FakeClock } from '../helpers/clock.js';
import { recordingLogger } from '../helpers/logger.js';

// DnsSource's timing and bookkeeping, on fake time with a scripted resolver (the behaviour
// against a real DNS server is in dns-source.test.ts).

type Answer = RecordWithTtl[] | SrvRecord[] | string | 'hang';

function dnsError(code: string): Error {
  return Object.assign(new Error(`query ${code}`), { code });
}

/** A resolver answering from `answers[type:name]`: records, an error code, or 'hang' (until cancelled). */
function scripted(answers: Record<string, Answer>) {
  const r = {
    answers,
    calls: [] as string[],
    inflight: 0,
    maxInflight: 0,
    cancelled: 0,
    hanging: [] as ((e: Error) => void)[],
    ask<T>(key: string): Promise<T> {
      r.calls.push(key);
      const a = r.answers[key] ?? 'ENODATA';
      if (a === 'hang') {
        r.inflight++;
        r.maxInflight = Math.max(r.maxInflight, r.inflight);
        return new Promise<T>((_, reject) =>
          r.hanging.push((e) => {
            r.inflight--;
            reject(e);
          }),
        );
      }
      if (typeof a === 'string') return Promise.reject(dnsError(a));
      return Promise.resolve(a as T);
    },
  };
  const resolver: DnsResolver = {
    resolve4: (n) => r.ask(`A:${n}`),
    resolve6: (n) => r.ask(`AAAA:${n}`),
    resolveSrv: (n) => r.ask(`SRV:${n}`),
    cancel: () => {
      r.cancelled++;
      for (const h of r.hanging.splice(0)) h(dnsError('ECANCELLED'));
    },
  };
  return { r, resolver };
}

const entry: DnsServerConfig = { kind: 'dns', lookup: 'api.test', port: 80, scheme: 'http', name: undefined, weight: 1, backup: false };

function setup(answers: Record<string, Answer>, refreshMs = 30_000, e: DnsServerConfig = entry) {
  const clock = new FakeClock();
  const { r, resolver } = scripted(answers);
  const log = recordingLogger();
  const source = new DnsSource(e, { resolvers: undefined, refreshMs }, { log, clock, resolver });
  const reports: (readonly ServerSpec[])[] = [];
  source.start((s) => reports.push(s));
  const lookups = (): number => r.calls.filter((c) => c.startsWith('A:') || c.startsWith('SRV:')).length;
  return { clock, r, log, source, reports, lookups };
}

const a = (address: string, ttl: number): RecordWithTtl => ({ address, ttl });

describe('DNS source timing (fake clock, scripted resolver)', () => {
  test('the next lookup follows the shortest TTL, never sooner than 1 s nor later than refresh', async () => {
    for (const [ttls, expectMs] of [
      [[5, 10], 5000],
      [[0], 1000],
      [[300], 30_000],
    ] as const) {
      const t = setup({ 'A:api.test': ttls.map((ttl, i) => a(`10.0.0.${i + 1}`, ttl)) });
      await t.clock.advance(0);
      assert.equal(t.lookups(), 1);
      await t.clock.advance(expectMs - 1);
      assert.equal(t.lookups(), 1, `TTLs ${ttls.join(',')}: not before ${expectMs} ms`);
      await t.clock.advance(1);
      assert.equal(t.lookups(), 2, `TTLs ${ttls.join(',')}: at ${expectMs} ms`);
      await t.source.stop();
    }
  });

  test('after a failure the next try comes within 5 s, or refresh when that is shorter', async () => {
    for (const [refreshMs, expectMs] of [
      [30_000, 5000],
      [2000, 2000],
    ] as const) {
      const t = setup({ 'A:api.test': 'ESERVFAIL' }, refreshMs);
      await t.clock.advance(expectMs - 1);
      assert.equal(t.lookups(), 1);
      await t.clock.advance(1);
      assert.equal(t.lookups(), 2);
      await t.source.stop();
    }
  });

  test('a slow lookup is never overlapped: the next one is scheduled only when it ends', async () => {
    const t = setup({ 'A:api.test': 'hang', 'AAAA:api.test': 'hang' }, 1000);
    await t.clock.advance(120_000);
    assert.equal(t.lookups(), 1);
    assert.equal(t.clock.pending, 0, 'no timer while a lookup runs');
    t.r.answers['A:api.test'] = [a('10.0.0.1', 60)];
    t.r.answers['AAAA:api.test'] = 'ENODATA';
    // The resolver gives up (as c-ares does after its timeout): the lookup failed, the next one is scheduled.
    for (const h of t.r.hanging.splice(0)) h(dnsError('ETIMEOUT'));
    await t.clock.advance(0);
    assert.equal(t.clock.pending, 1);
    await t.clock.advance(1000);
    assert.equal(t.lookups(), 2);
    assert.deepEqual(t.reports.at(-1)?.map((s) => s.addr), ['http://10.0.0.1:80']);
    assert.equal(t.r.maxInflight, 2, 'A and AAAA of one lookup, never two lookups');
    await t.source.stop();
  });

  test('stop cancels the timer and the query in flight, and nothing is reported or logged after', { timeout: 5000 }, async () => {
    const t = setup({ 'A:api.test': [a('10.0.0.1', 60)], 'AAAA:api.test': 'ENODATA' });
    await t.clock.advance(0);
    assert.equal(t.clock.pending, 1);
    t.r.answers['A:api.test'] = 'hang';
    await t.clock.advance(30_000);
    assert.equal(t.r.inflight, 1);
    const logged = t.log.entries.length;
    await t.source.stop();
    assert.equal(t.r.cancelled, 1);
    assert.equal(t.r.inflight, 0);
    assert.equal(t.clock.pending, 0);
    await t.clock.advance(120_000);
    assert.equal(t.lookups(), 2);
    assert.equal(t.reports.length, 1);
    assert.equal(t.log.entries.length, logged);
  });

  test('the same addresses in another order are no change; a new one is', async () => {
    const t = setup({ 'A:api.test': [a('10.0.0.1', 1), a('10.0.0.2', 1)], 'AAAA:api.test': [a('::2', 1)] });
    await t.clock.advance(0);
    t.r.answers['A:api.test'] = [a('10.0.0.2', 1), a('10.0.0.1', 1)];
    t.r.answers['AAAA:api.test'] = [a('::2', 1)];
    await t.clock.advance(3000);
    assert.equal(t.lookups(), 4);
    assert.equal(t.reports.length, 1);
    t.r.answers['A:api.test'] = [a('10.0.0.2', 1), a('10.0.0.3', 1), a('10.0.0.1', 1)];
    await t.clock.advance(1000);
    assert.equal(t.reports.length, 2);
    assert.deepEqual(t.reports[1]?.map((s) => s.addr), ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80', 'http://[::2]:80']);
    await t.source.stop();
  });

  test('DNS failures keep the last set: timeout, SERVFAIL, NXDOMAIN, no address, and a failed AAAA alone', async () => {
    for (const [a4, a6] of [
      ['ETIMEOUT', 'ETIMEOUT'],
      ['ESERVFAIL', 'ENODATA'],
      ['ENOTFOUND', 'ENOTFOUND'],
      ['ENODATA', 'ENODATA'],
      [[a('10.0.0.1', 1)], 'ESERVFAIL'],
      ['ECONNREFUSED', 'ECONNREFUSED'],
    ] as const) {
      const t = setup({ 'A:api.test': [a('10.0.0.1', 1), a('10.0.0.2', 1)], 'AAAA:api.test': 'ENODATA' }, 1000);
      await t.clock.advance(0);
      t.r.answers['A:api.test'] = typeof a4 === 'string' ? a4 : [...a4];
      t.r.answers['AAAA:api.test'] = a6;
      await t.clock.advance(10_000);
      const what = `A ${JSON.stringify(a4)}, AAAA ${a6}`;
      assert.equal(t.reports.length, 1, what);
      assert.equal(t.source.status().servers, 2, what);
      assert.equal(t.source.status().ok, false, what);
      assert.equal(t.log.entries.filter((e) => e.level === 'warn').length, 1, what);
      await t.source.stop();
    }
  });

  test('an outage is logged once, and its end with how long it lasted; status follows', async () => {
    const t = setup({ 'A:api.test': [a('10.0.0.1', 1)], 'AAAA:api.test': 'ENODATA' }, 1000);
    await t.clock.advance(0);
    assert.deepEqual({ ...t.source.status() }, { id: 'dns:api.test', ok: true, error: undefined, since: t.clock.epoch(), servers: 1 });
    t.r.answers['A:api.test'] = 'ESERVFAIL';
    await t.clock.advance(1000);
    const downAt = t.clock.epoch();
    assert.deepEqual({ ...t.source.status() }, { id: 'dns:api.test', ok: false, error: 'SERVFAIL (ESERVFAIL)', since: downAt, servers: 1 });
    t.r.answers['A:api.test'] = 'ETIMEOUT';
    await t.clock.advance(11_000);
    assert.equal(t.source.status().error, 'timed out (ETIMEOUT)');
    assert.equal(t.source.status().since, downAt, 'another error in the same outage is no change');
    t.r.answers['A:api.test'] = [a('10.0.0.1', 1)];
    await t.clock.advance(1000);
    const warn = t.log.entries.filter((e) => e.level === 'warn');
    assert.deepEqual(
      warn.map((e) => e.msg),
      ['DNS lookup of api.test failed: SERVFAIL (ESERVFAIL); keeping its last 1 server(s)'],
    );
    const back = t.log.entries.filter((e) => e.msg.includes('works again'));
    assert.equal(back.length, 1);
    assert.equal(back[0]?.obj.outageMs, 12_000);
    assert.equal(back[0]?.msg, 'DNS lookup of api.test works again after 12.0 s: 1 server(s)');
    assert.equal(t.source.status().ok, true);
    assert.equal(t.reports.length, 1);
    await t.source.stop();
  });

  test('SRV: a failed target lookup fails the whole lookup; the last set stays', async () => {
    const srv: DnsServerConfig = { kind: 'srv', lookup: '_h._tcp.x.test', scheme: 'http', name: 'x', backup: false };
    const t = setup(
      {
        'SRV:_h._tcp.x.test': [
          { name: 'a.x.test', port: 81, priority: 1, weight: 3 },
          { name: 'b.x.test', port: 82, priority: 1, weight: 1 },
        ],
        'A:a.x.test': [a('10.0.0.1', 1)],
        'A:b.x.test': [a('10.0.0.2', 1)],
      },
      1000,
      srv,
    );
    await t.clock.advance(0);
    assert.deepEqual(t.reports[0]?.map((s) => [s.name, s.weight]), [['x-10.0.0.1:81', 3], ['x-10.0.0.2:82', 1]]);
    t.r.answers['A:b.x.test'] = 'ETIMEOUT';
    await t.clock.advance(3000);
    assert.equal(t.reports.length, 1);
    assert.equal(t.source.status().error, 'SRV target b.x.test: timed out (ETIMEOUT)');
    t.r.answers['A:b.x.test'] = [a('10.0.0.2', 1)];
    t.r.answers['SRV:_h._tcp.x.test'] = [
      { name: 'a.x.test', port: 81, priority: 1, weight: 1 },
      { name: 'b.x.test', port: 82, priority: 1, weight: 1 },
    ];
    await t.clock.advance(5000);
    assert.deepEqual(t.reports.at(-1)?.map((s) => s.weight), [1, 1], 'a new SRV weight is a change');
    assert.equal(t.reports.length, 2);
    await t.source.stop();
  });

  test('SRV: records whose target is "." (no service) give no server', async () => {
    const srv: DnsServerConfig = { kind: 'srv', lookup: '_h._tcp.x.test', scheme: 'http', name: 'x', backup: false };
    const t = setup({ 'SRV:_h._tcp.x.test': [{ name: '.', port: 0, priority: 0, weight: 0 }, { name: 'a.x.test', port: 81, priority: 1, weight: 1 }], 'A:a.x.test': [a('10.0.0.1', 60)] }, 1000, srv);
    await t.clock.advance(0);
    assert.deepEqual(t.reports[0]?.map((s) => [s.addr, s.backup]), [['http://10.0.0.1:81', false]], 'the only real target is the primary');
    t.r.answers['SRV:_h._tcp.x.test'] = [{ name: '', port: 0, priority: 0, weight: 0 }];
    await t.clock.advance(1000);
    assert.equal(t.source.status().error, 'no SRV records with a target');
    assert.equal(t.reports.length, 1);
    await t.source.stop();
  });

  test('sourcesFromConfig makes one source per DNS entry, ids dns:NAME and srv:NAME', () => {
    const { resolver } = scripted({});
    const sources = sourcesFromConfig(
      {
        dnsServers: [entry, { kind: 'srv', lookup: '_h._tcp.x.test', scheme: 'https', name: undefined, backup: true }],
        discovery: { resolvers: ['127.0.0.1:5353'], refreshMs: 1000 },
      },
      { log: recordingLogger(), newResolver: () => resolver },
    );
    assert.deepEqual(
      sources.map((s) => s.id),
      ['dns:api.test', 'srv:_h._tcp.x.test'],
    );
    assert.deepEqual(sources[0]?.status(), { id: 'dns:api.test', ok: false, error: 'not looked up yet', since: sources[0]?.status().since, servers: 0 });
  });

  test('reload: an unchanged source is kept running; a changed one starts from the last set, which a DNS outage does not empty', async () => {
    const clock = new FakeClock();
    const { r, resolver } = scripted({ 'A:api.test': [a('10.0.0.1', 60)], 'AAAA:api.test': 'ENODATA', 'A:b.test': [a('10.0.0.9', 60)] });
    const log = recordingLogger();
    const other: DnsServerConfig = { ...entry, lookup: 'b.test' };
    const first = sourcesFromConfig({ dnsServers: [entry, other], discovery: { resolvers: undefined, refreshMs: 30_000 } }, { log, clock, newResolver: () => resolver });
    for (const s of first) s.start(() => undefined);
    await clock.advance(0);
    assert.deepEqual(first[0]?.servers().map((s) => s.addr), ['http://10.0.0.1:80']);

    // DNS breaks, then a reload changes the port of api.test only.
    r.answers['A:api.test'] = 'ESERVFAIL';
    const changed: DnsServerConfig = { ...entry, port: 81 };
    const next = sourcesFromConfig({ dnsServers: [changed, other], discovery: { resolvers: undefined, refreshMs: 30_000 } }, { log, clock, newResolver: () => resolver, previous: first });
    assert.equal(next[1], first[1], 'b.test unchanged: the same running source');
    assert.notEqual(next[0], first[0]);
    await first[0]?.stop();
    const reports: (readonly ServerSpec[])[] = [];
    next[0]?.start((s) => reports.push(s));
    await clock.advance(20_000);
    assert.deepEqual(reports.map((set) => set.map((s) => s.addr)), [['http://10.0.0.1:80']], 'the last set, not an empty one');
    assert.equal(next[0]?.status().ok, false);
    r.answers['A:api.test'] = [a('10.0.0.1', 60)];
    await clock.advance(5000);
    assert.deepEqual(reports.at(-1)?.map((s) => s.addr), ['http://10.0.0.1:81']);
    for (const s of next) await s.stop();
  });
});
