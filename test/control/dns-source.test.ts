import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, test } from 'node:test';
import type { DiscoverySettings } from '../../src/config/discovery.js';
import { createResolver, DnsSource, SRV_ZERO_WEIGHT, type DnsResolver } from '../../src/control/sources/dns.js';
import type { ServerSpec } from '../../src/control/sources/source.js';
import { Dnsmasq } from '../helpers/dnsmasq.js';
import { recordingLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

// DNS discovery against a real DNS server (dnsmasq), refresh 1 s and TTL 1 s.

const REFRESH_MS = 1000;

/** The real resolver, counting the A lookups (one per refresh of a `dns` entry). */
function countingResolver(settings: DiscoverySettings): DnsResolver & { lookups: number } {
  const real = createResolver(settings);
  const r = {
    lookups: 0,
    resolve4: (name: string, o: { ttl: true }) => {
      r.lookups++;
      return real.resolve4(name, o);
    },
    resolve6: (name: string, o: { ttl: true }) => real.resolve6(name, o),
    resolveSrv: (name: string) => {
      r.lookups++;
      return real.resolveSrv(name);
    },
    cancel: () => real.cancel(),
  };
  return r;
}

/** A started source and everything it reported. */
function watch(dns: Dnsmasq, entry: ConstructorParameters<typeof DnsSource>[0]) {
  const settings: DiscoverySettings = { resolvers: [dns.resolver], refreshMs: REFRESH_MS };
  const resolver = countingResolver(settings);
  const log = recordingLogger();
  const source = new DnsSource(entry, settings, { log, resolver });
  const reports: (readonly ServerSpec[])[] = [];
  source.start((servers) => reports.push(servers));
  const addrs = (): string[] => (reports.at(-1) ?? []).map((s) => s.addr);
  return { source, resolver, log, reports, addrs };
}

/** A UDP relay to dnsmasq that can start dropping every query, as a DNS server that stopped answering does. */
async function droppingRelay(to: number) {
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  const waiting = new Map<number, RemoteInfo>();
  const relay = { drop: false, port: 0, close: () => Promise.all([new Promise<void>((r) => front.close(() => r())), new Promise<void>((r) => back.close(() => r()))]) };
  front.on('message', (msg, from) => {
    if (relay.drop) return;
    waiting.set(msg.readUInt16BE(0), from); // keyed by DNS query id
    back.send(msg, to, '127.0.0.1');
  });
  back.on('message', (msg) => {
    const from = waiting.get(msg.readUInt16BE(0));
    if (from !== undefined) front.send(msg, from.port, from.address);
  });
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  relay.port = front.address().port;
  return relay;
}

const api = { kind: 'dns', lookup: 'api.service.test', port: 8080, scheme: 'http', name: 'api', weight: 2, backup: false } as const;

describe('DNS source against dnsmasq', () => {
  let dns: Dnsmasq;
  before(async () => {
    dns = await Dnsmasq.start(
      {
        'api.service.test': ['127.0.0.2', '127.0.0.3'],
        'v6.service.test': ['127.0.0.4', '::1'],
        'a.service.test': ['127.0.0.2'],
        'b.service.test': ['127.0.0.3'],
        'c.service.test': ['127.0.0.4'],
        'd.service.test': ['127.0.0.5'],
      },
      [
        { name: '_http._tcp.api.service.test', target: 'a.service.test', port: 9001, priority: 10, weight: 60 },
        { name: '_http._tcp.api.service.test', target: 'b.service.test', port: 9002, priority: 10, weight: 30 },
        { name: '_http._tcp.api.service.test', target: 'd.service.test', port: 9004, priority: 10, weight: 0 },
        { name: '_http._tcp.api.service.test', target: 'c.service.test', port: 9003, priority: 20, weight: 0 },
        { name: '_http._tcp.api.service.test', target: 'gone.service.test', port: 9005, priority: 30, weight: 5 },
      ],
    );
  });
  after(async () => {
    await dns.close();
  });

  test('a name with two addresses gives both servers, named prefix-address:port, and no report while the set stays', async () => {
    const w = watch(dns, api);
    try {
      await waitFor(() => w.reports.length > 0, 'the first report');
      assert.deepEqual(w.reports[0], [
        { addr: 'http://127.0.0.2:8080', name: 'api-127.0.0.2:8080', weight: 2, backup: false, source: 'dns:api.service.test' },
        { addr: 'http://127.0.0.3:8080', name: 'api-127.0.0.3:8080', weight: 2, backup: false, source: 'dns:api.service.test' },
      ]);
      assert.equal(w.source.id, 'dns:api.service.test');
      assert.deepEqual({ ...w.source.status(), since: 0 }, { id: 'dns:api.service.test', ok: true, error: undefined, since: 0, servers: 2 });
      // TTL 1 s, refresh 1 s: two more lookups, the same two addresses (in whatever order), no new report.
      const seen = w.resolver.lookups;
      await waitFor(() => w.resolver.lookups >= seen + 2, 'two more lookups');
      assert.equal(w.reports.length, 1);
      assert.deepEqual(w.log.entries.filter((e) => e.level === 'warn'), []);
    } finally {
      await w.source.stop();
    }
  });

  test('IPv6 addresses are servers too, in brackets; the default name prefix is the DNS name', async () => {
    const w = watch(dns, { kind: 'dns', lookup: 'v6.service.test', port: 8443, scheme: 'https', name: undefined, weight: 1, backup: true });
    try {
      await waitFor(() => w.reports.length > 0, 'the first report');
      assert.deepEqual(
        w.reports[0]?.map((s) => [s.addr, s.name, s.backup]),
        [
          ['https://127.0.0.4:8443', 'v6.service.test-127.0.0.4:8443', true],
          ['https://[::1]:8443', 'v6.service.test-[::1]:8443', true],
        ],
      );
    } finally {
      await w.source.stop();
    }
  });

  test('an address added to DNS is reported within refresh + 2 s, a removed one too', async () => {
    const w = watch(dns, api);
    try {
      await waitFor(() => w.reports.length === 1, 'the first report');
      const t0 = Date.now();
      await dns.setHosts({ 'api.service.test': ['127.0.0.2', '127.0.0.3', '127.0.0.6'] });
      await waitFor(() => w.addrs().length === 3, 'the third address', REFRESH_MS + 2000);
      const addedMs = Date.now() - t0;
      assert.deepEqual(w.addrs(), ['http://127.0.0.2:8080', 'http://127.0.0.3:8080', 'http://127.0.0.6:8080']);
      const t1 = Date.now();
      await dns.setHosts({ 'api.service.test': ['127.0.0.3', '127.0.0.6'] });
      await waitFor(() => w.addrs().length === 2, 'the removal', REFRESH_MS + 2000);
      const removedMs = Date.now() - t1;
      assert.deepEqual(w.addrs(), ['http://127.0.0.3:8080', 'http://127.0.0.6:8080']);
      assert.equal(w.reports.length, 3, 'one report per change');
      assert.ok(w.log.entries.some((e) => e.level === 'info' && e.msg.includes('added http://127.0.0.6:8080')));
      assert.ok(w.log.entries.some((e) => e.level === 'info' && e.msg.includes('removed http://127.0.0.2:8080')));
      console.log(`# added seen after ${addedMs} ms, removal after ${removedMs} ms (refresh ${REFRESH_MS} ms)`);
    } finally {
      await w.source.stop();
      await dns.setHosts({ 'api.service.test': ['127.0.0.2', '127.0.0.3'], 'a.service.test': ['127.0.0.2'], 'b.service.test': ['127.0.0.3'], 'c.service.test': ['127.0.0.4'], 'd.service.test': ['127.0.0.5'], 'v6.service.test': ['127.0.0.4', '::1'] });
    }
  });

  test('SRV: lowest priority are primaries, higher ones backups, SRV weights are weights, a target without address is left out', async () => {
    const w = watch(dns, { kind: 'srv', lookup: '_http._tcp.api.service.test', scheme: 'http', name: 'web', backup: false });
    try {
      await waitFor(() => w.reports.length > 0, 'the first report');
      assert.equal(w.source.id, 'srv:_http._tcp.api.service.test');
      assert.deepEqual(
        w.reports[0]?.map((s) => [s.name, s.addr, s.weight, s.backup, s.source]),
        [
          ['web-127.0.0.2:9001', 'http://127.0.0.2:9001', 60, false, 'srv:_http._tcp.api.service.test'],
          ['web-127.0.0.3:9002', 'http://127.0.0.3:9002', 30, false, 'srv:_http._tcp.api.service.test'],
          // Priority 20 (a backup) has weight 0 alone at its priority: weight 1.
          ['web-127.0.0.4:9003', 'http://127.0.0.4:9003', 1, true, 'srv:_http._tcp.api.service.test'],
          // Weight 0 next to non-zero weights of its priority: a very small share (RFC 2782).
          ['web-127.0.0.5:9004', 'http://127.0.0.5:9004', SRV_ZERO_WEIGHT, false, 'srv:_http._tcp.api.service.test'],
        ],
      );
      const warned = w.log.entries.filter((e) => e.level === 'warn');
      assert.equal(warned.length, 1, JSON.stringify(warned));
      assert.match(warned[0]?.msg ?? '', /SRV target gone\.service\.test has no A or AAAA record; left out/);
      assert.equal(w.source.status().ok, true);
    } finally {
      await w.source.stop();
    }
  });

  test('a name that never resolves is an empty set and one warning, not a crash', async () => {
    const w = watch(dns, { ...api, lookup: 'nowhere.service.test' });
    try {
      await waitFor(() => w.reports.length > 0, 'the first report');
      assert.deepEqual(w.reports, [[]]);
      const seen = w.resolver.lookups;
      // After a failure the next try is within min(refresh, 5 s): 1 s here.
      await waitFor(() => w.resolver.lookups >= seen + 2, 'two more lookups');
      const st = w.source.status();
      assert.equal(st.ok, false);
      assert.match(st.error ?? '', /NXDOMAIN/);
      assert.equal(st.servers, 0);
      const warned = w.log.entries.filter((e) => e.level === 'warn');
      assert.equal(warned.length, 1);
      assert.match(warned[0]?.msg ?? '', /^nowhere\.service\.test does not resolve: NXDOMAIN, no such name \(ENOTFOUND\); no servers from it until it does$/);
      assert.equal(w.reports.length, 1);
    } finally {
      await w.source.stop();
    }
  });

  test('a DNS server that stops answering: the lookup times out, the last set stays, one log line; answers again: ok', async () => {
    const relay = await droppingRelay(dns.port);
    // A real c-ares resolver with a short timeout, so the test takes a second rather than six.
    const real = new Resolver({ timeout: 300, tries: 1 });
    real.setServers([`127.0.0.1:${relay.port}`]);
    let lookups = 0;
    const resolver: DnsResolver = {
      resolve4: (n, o) => {
        lookups++;
        return real.resolve4(n, o);
      },
      resolve6: (n, o) => real.resolve6(n, o),
      resolveSrv: (n) => real.resolveSrv(n),
      cancel: () => real.cancel(),
    };
    const log = recordingLogger();
    const source = new DnsSource(api, { resolvers: [`127.0.0.1:${relay.port}`], refreshMs: REFRESH_MS }, { log, resolver });
    const reports: (readonly ServerSpec[])[] = [];
    source.start((s) => reports.push(s));
    try {
      await waitFor(() => reports.length === 1, 'the first report');
      relay.drop = true;
      await waitFor(() => !source.status().ok, 'the timeout');
      const seen = lookups;
      await waitFor(() => lookups >= seen + 1, 'another lookup');
      assert.equal(source.status().error, 'timed out (ETIMEOUT)');
      assert.equal(source.status().servers, 2);
      assert.equal(reports.length, 1);
      assert.equal(log.entries.filter((e) => e.level === 'warn').length, 1);
      relay.drop = false;
      await waitFor(() => source.status().ok, 'the recovery');
      assert.equal(log.entries.filter((e) => e.msg.includes('works again')).length, 1);
      assert.equal(reports.length, 1);
    } finally {
      await source.stop();
      await relay.close();
    }
  });

  // Last: it stops and restarts dnsmasq.
  test('dnsmasq stopped: the last set stays, ok false, one log line; started again: ok, and how long it was out', async () => {
    const w = watch(dns, api);
    try {
      await waitFor(() => w.reports.length === 1 && w.addrs().length === 2, 'the first report');
      await dns.stop();
      await waitFor(() => !w.source.status().ok, 'the failure');
      const seen = w.resolver.lookups;
      await waitFor(() => w.resolver.lookups >= seen + 2, 'two more failed lookups');
      const st = w.source.status();
      assert.equal(st.servers, 2);
      assert.match(st.error ?? '', /ECONNREFUSED|ETIMEOUT/);
      assert.equal(w.reports.length, 1, 'no report while DNS is down');
      const warned = w.log.entries.filter((e) => e.level === 'warn');
      assert.equal(warned.length, 1, JSON.stringify(warned));
      assert.match(warned[0]?.msg ?? '', /^DNS lookup of api\.service\.test failed: .*; keeping its last 2 server\(s\)$/);

      await dns.restart();
      await waitFor(() => w.source.status().ok, 'the recovery');
      const back = w.log.entries.filter((e) => e.msg.includes('works again'));
      assert.equal(back.length, 1);
      assert.equal(back[0]?.level, 'info');
      assert.ok(Number(back[0]?.obj.outageMs) >= REFRESH_MS, JSON.stringify(back[0]));
      assert.equal(w.source.status().error, undefined);
      assert.equal(w.reports.length, 1, 'the same set: no report');
      assert.equal(w.log.entries.filter((e) => e.level === 'warn').length, 1);
    } finally {
      await w.source.stop();
    }
  });
});
