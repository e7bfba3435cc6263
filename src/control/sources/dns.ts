import { Resolver } from 'node:dns/promises';
import type { RecordWithTtl, SrvRecord } from 'node:dns';
import { MIN_REFRESH_SECONDS, type DiscoverySettings, type DnsServerConfig } from '../../config/discovery.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import type { LogSink } from '../../util/logger.js';
import type { ServerSpec, SourceStatus, UpstreamSource } from './source.js';

// DNS discovery: a `dns` entry is every A and AAAA address of a name, a `srv` entry every target
// of its SRV records. Choices (the README's "Service discovery (DNS)" says them to users):
//  - A failed lookup (timeout, SERVFAIL, NXDOMAIN, refused, or no address at all) never empties
//    the pool: the last known set stays, the outage is logged once and again when it ends.
//  - Lookups repeat every `refresh`, sooner when a record's TTL is shorter, never below 1 s;
//    after a failure, within 5 s, so a name that comes back is seen soon.
//  - SRV targets are looked up with the same resolvers (what a Consul or Kubernetes SRV answer
//    means); a target without an address is left out with a warning, never handed to the
//    system resolver, which may not know it.

/** Shortest time between two lookups of a name, whatever its TTL says. */
export const MIN_REFRESH_MS = MIN_REFRESH_SECONDS * 1000;
/** Longest wait before a failed lookup is tried again (shorter when `refresh` is). */
export const RETRY_AFTER_FAILURE_MS = 5000;
/** Per-try query timeout (c-ares); with QUERY_TRIES, a dead resolver costs a few seconds per lookup. */
export const QUERY_TIMEOUT_MS = 2000;
/** Tries per query, per resolver. */
export const QUERY_TRIES = 2;
/** Server weight for an SRV weight of 0 next to non-zero weights (RFC 2782: "a very small chance"). */
export const SRV_ZERO_WEIGHT = 0.01;

/** The part of node:dns/promises' `Resolver` a source uses; tests inject their own. */
export interface DnsResolver {
  resolve4(hostname: string, options: { ttl: true }): Promise<RecordWithTtl[]>;
  resolve6(hostname: string, options: { ttl: true }): Promise<RecordWithTtl[]>;
  resolveSrv(hostname: string): Promise<SrvRecord[]>;
  /** Cancels every outstanding query (they reject with ECANCELLED). */
  cancel(): void;
}

/** What a DNS source needs; `clock` and `resolver` default to the real ones. */
export interface DnsSourceDeps {
  readonly log: LogSink;
  readonly clock?: Clock;
  /** The source's own resolver (stop() cancels its queries); default: one from the settings. */
  readonly resolver?: DnsResolver;
  /**
   * Servers a previous source of the same name found (a reload that changed its settings):
   * reported at start and kept while lookups fail, so a reload during a DNS outage empties nothing.
   */
  readonly lastKnown?: readonly ServerSpec[];
}

/** What `sourcesFromConfig` needs. */
export interface DnsSourcesDeps {
  readonly log: LogSink;
  readonly clock?: Clock;
  /** Makes each source's own resolver (tests); default: `createResolver`. */
  readonly newResolver?: (settings: DiscoverySettings) => DnsResolver;
  /** The sources of the config in force, on reload: unchanged ones are reused as they are. */
  readonly previous?: readonly DnsSource[];
}

/** Identity of a source's whole configuration: equal keys look up the same way. */
export function dnsSourceKey(entry: DnsServerConfig, settings: DiscoverySettings): string {
  return JSON.stringify([entry, settings.resolvers ?? null, settings.refreshMs]);
}

/** A resolver asking `settings.resolvers`, or the system's (/etc/resolv.conf) when unset. */
export function createResolver(settings: DiscoverySettings): DnsResolver {
  const r = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
  if (settings.resolvers !== undefined) r.setServers([...settings.resolvers]);
  return r;
}

/**
 * The DNS sources of a config, one per `dns` or `srv` entry, in config order. On reload, pass
 * the sources in force as `previous`: a source whose entry and settings did not change is
 * returned as it is (running: its state and timers carry on; stop only the previous ones not
 * returned); a changed one is a new source (not started) that starts from the last set the
 * previous source of its id found. New sources are not started.
 */
export function sourcesFromConfig(
  config: { readonly dnsServers: readonly DnsServerConfig[]; readonly discovery: DiscoverySettings },
  deps: DnsSourcesDeps,
): DnsSource[] {
  const previous = deps.previous ?? [];
  return config.dnsServers.map((entry) => {
    const same = previous.find((p) => p.key === dnsSourceKey(entry, config.discovery));
    if (same !== undefined) return same;
    const before = previous.find((p) => p.id === `${entry.kind}:${entry.lookup}`);
    return new DnsSource(entry, config.discovery, {
      log: deps.log,
      ...(deps.clock !== undefined ? { clock: deps.clock } : {}),
      ...(deps.newResolver !== undefined ? { resolver: deps.newResolver(config.discovery) } : {}),
      ...(before !== undefined ? { lastKnown: before.servers() } : {}),
    });
  });
}

/** One lookup's outcome: the servers and the shortest TTL, or why it failed. */
type Lookup = { readonly ok: true; readonly servers: ServerSpec[]; readonly ttlMs: number | undefined } | { readonly ok: false; readonly error: string };

/** Addresses of one name: some, none (NXDOMAIN or no record of that type), or a failure. */
type Addresses = { readonly kind: 'found'; readonly records: RecordWithTtl[] } | { readonly kind: 'none'; readonly code: string } | { readonly kind: 'failed'; readonly error: string };

const PHRASES: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN, no such name',
  ENODATA: 'no records',
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'REFUSED by the resolver',
  ETIMEOUT: 'timed out',
  ECONNREFUSED: 'resolver unreachable (connection refused)',
  ECANCELLED: 'cancelled',
};

/** A DNS error as a short phrase: "timed out (ETIMEOUT)". */
function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return `${PHRASES[code] ?? code}${PHRASES[code] !== undefined ? ` (${code})` : ''}`;
  return e instanceof Error ? e.message : String(e);
}

/** URL host of an address: IPv6 in brackets. */
function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * Servers found in DNS for one `dns` or `srv` config entry. Reports the whole set at start
 * (an empty one when the name does not resolve yet) and then only real changes.
 */
export class DnsSource implements UpstreamSource {
  /** "dns:NAME" or "srv:NAME". */
  readonly id: string;
  /** `dnsSourceKey` of its entry and settings. */
  readonly key: string;
  private readonly clock: Clock;
  private readonly resolver: DnsResolver;
  private readonly log: LogSink;
  private onChange: ((servers: readonly ServerSpec[]) => void) | undefined;
  private current: ServerSpec[] = [];
  /** Key of `current`, to report only real changes. */
  private currentKey: string | undefined;
  private ok = false;
  private error: string | undefined = 'not looked up yet';
  private since: number;
  /** Monotonic time the running outage started (undefined while lookups work). */
  private outageStart: number | undefined;
  /** SRV targets without an address, warned about once until they have one again. */
  private readonly missingTargets = new Set<string>();
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The last set of a previous source of this name, reported at start. */
  private readonly seed: readonly ServerSpec[] | undefined;

  /** A source for `entry`, looked up as `settings` say. */
  constructor(
    private readonly entry: DnsServerConfig,
    private readonly settings: DiscoverySettings,
    deps: DnsSourceDeps,
  ) {
    this.id = `${entry.kind}:${entry.lookup}`;
    this.key = dnsSourceKey(entry, settings);
    this.clock = deps.clock ?? systemClock;
    this.resolver = deps.resolver ?? createResolver(settings);
    this.log = deps.log;
    this.since = this.clock.epoch();
    this.seed = deps.lastKnown;
  }

  /** The servers it reports now (sorted by address). */
  servers(): readonly ServerSpec[] {
    return this.current;
  }

  /** Looks the name up now and then on every refresh; `onChange` gets the first set and every change. */
  start(onChange: (servers: readonly ServerSpec[]) => void): void {
    if (this.onChange !== undefined || this.stopped) throw new Error(`${this.id}: a DNS source starts once`);
    this.onChange = onChange;
    if (this.seed !== undefined && this.seed.length > 0) this.report(this.seed.map((sv) => ({ ...sv, source: this.id })), false);
    this.refresh();
  }

  /** Cancels the timer and any query in flight; resolves once nothing runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.resolver.cancel();
    await this.running;
  }

  /** Whether the last lookup worked, and how many servers the source reports. */
  status(): SourceStatus {
    return { id: this.id, ok: this.ok, error: this.error, since: this.since, servers: this.current.length };
  }

  /** One lookup, then the next one scheduled; never two at once (the timer is set only here). */
  private refresh(): void {
    this.timer = undefined;
    this.running = this.lookup()
      .catch((e: unknown): Lookup => ({ ok: false, error: describe(e) }))
      .then((result) => {
        if (this.stopped) return;
        const delay = result.ok ? this.apply(result) : this.fail(result.error);
        this.timer = this.clock.setTimer(() => this.refresh(), delay);
      });
  }

  /** Takes a successful lookup; returns the delay to the next one. */
  private apply(result: Extract<Lookup, { ok: true }>): number {
    const wasOk = this.ok;
    if (this.outageStart !== undefined) {
      const outageMs = Math.round(this.clock.now() - this.outageStart);
      this.log.info(
        { source: this.id, outageMs, servers: result.servers.length },
        `DNS lookup of ${this.entry.lookup} works again after ${(outageMs / 1000).toFixed(1)} s: ${result.servers.length} server(s)`,
      );
      this.outageStart = undefined;
    }
    this.ok = true;
    this.error = undefined;
    if (!wasOk) this.since = this.clock.epoch();
    this.report(result.servers);
    const ttl = result.ttlMs ?? this.settings.refreshMs;
    return Math.max(MIN_REFRESH_MS, Math.min(this.settings.refreshMs, ttl));
  }

  /** Takes a failed lookup: keeps the last set, logs once per outage; returns the delay to the next try. */
  private fail(error: string): number {
    const wasOk = this.ok;
    this.error = error;
    if (this.outageStart === undefined) {
      this.outageStart = this.clock.now();
      const n = this.current.length;
      if (n > 0) {
        this.log.warn({ source: this.id, error, servers: n }, `DNS lookup of ${this.entry.lookup} failed: ${error}; keeping its last ${n} server(s)`);
      } else {
        this.log.warn({ source: this.id, error }, `${this.entry.lookup} does not resolve: ${error}; no servers from it until it does`);
      }
    } else {
      this.log.debug({ source: this.id, error }, `DNS lookup of ${this.entry.lookup} still fails: ${error}`);
    }
    if (wasOk) this.since = this.clock.epoch();
    this.ok = false;
    // The very first lookup failed: say so with an empty set, so whoever waits for every source hears from this one.
    if (this.currentKey === undefined) this.report([]);
    return Math.max(MIN_REFRESH_MS, Math.min(this.settings.refreshMs, RETRY_AFTER_FAILURE_MS));
  }

  /** Reports `servers` when they differ from the last set reported (order aside); `announce` logs the change. */
  private report(servers: ServerSpec[], announce = true): void {
    const sorted = [...servers].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    const key = JSON.stringify(sorted.map((s) => [s.addr, s.name, s.weight, s.backup]));
    if (key === this.currentKey) return;
    const before = new Set(this.current.map((s) => s.addr));
    const after = new Set(sorted.map((s) => s.addr));
    const first = this.currentKey === undefined;
    this.currentKey = key;
    this.current = sorted;
    this.since = this.clock.epoch();
    if (announce && (!first || sorted.length > 0)) {
      const added = sorted.filter((s) => !before.has(s.addr)).map((s) => s.addr);
      const removed = [...before].filter((a) => !after.has(a));
      this.log.info(
        { source: this.id, servers: sorted.map((s) => s.addr), added, removed },
        `${this.id}: ${sorted.length} server(s)${added.length > 0 ? `; added ${added.join(', ')}` : ''}${removed.length > 0 ? `; removed ${removed.join(', ')}` : ''}`,
      );
    }
    this.onChange?.(sorted);
  }

  private lookup(): Promise<Lookup> {
    return this.entry.kind === 'dns' ? this.lookupName(this.entry) : this.lookupSrv(this.entry);
  }

  /** A and AAAA of one name, together. */
  private async addresses(name: string): Promise<Addresses> {
    const family = (p: Promise<RecordWithTtl[]>): Promise<Addresses> =>
      p.then(
        (records): Addresses => (records.length > 0 ? { kind: 'found', records } : { kind: 'none', code: 'ENODATA' }),
        (e: unknown): Addresses => {
          const code = (e as NodeJS.ErrnoException).code;
          // No such name, or no record of this type: an answer, not a failure of DNS.
          return code === 'ENOTFOUND' || code === 'ENODATA' ? { kind: 'none', code } : { kind: 'failed', error: describe(e) };
        },
      );
    const [v4, v6] = await Promise.all([family(this.resolver.resolve4(name, { ttl: true })), family(this.resolver.resolve6(name, { ttl: true }))]);
    // Half an answer is not the set: a failure of either family fails the lookup.
    if (v4.kind === 'failed') return v4;
    if (v6.kind === 'failed') return v6;
    const records = [...(v4.kind === 'found' ? v4.records : []), ...(v6.kind === 'found' ? v6.records : [])];
    if (records.length > 0) return { kind: 'found', records };
    const nx = v4.kind === 'none' && v4.code === 'ENOTFOUND';
    return { kind: 'none', code: nx ? 'ENOTFOUND' : 'ENODATA' };
  }

  private server(prefix: string, address: string, port: number, weight: number, backup: boolean): ServerSpec {
    const hostPort = `${urlHost(address)}:${port}`;
    return { addr: `${this.entry.scheme}://${hostPort}`, name: `${prefix}-${hostPort}`, weight, backup, source: this.id };
  }

  private async lookupName(entry: Extract<DnsServerConfig, { kind: 'dns' }>): Promise<Lookup> {
    const found = await this.addresses(entry.lookup);
    if (found.kind === 'failed') return { ok: false, error: found.error };
    if (found.kind === 'none') return { ok: false, error: found.code === 'ENOTFOUND' ? describe(found) : 'no A or AAAA records (ENODATA)' };
    const prefix = entry.name ?? entry.lookup;
    const servers = new Map<string, ServerSpec>();
    for (const r of found.records) {
      const s = this.server(prefix, r.address, entry.port, entry.weight, entry.backup);
      servers.set(s.addr, s);
    }
    return { ok: true, servers: [...servers.values()], ttlMs: Math.min(...found.records.map((r) => r.ttl * 1000)) };
  }

  private async lookupSrv(entry: Extract<DnsServerConfig, { kind: 'srv' }>): Promise<Lookup> {
    let records: SrvRecord[];
    try {
      records = await this.resolver.resolveSrv(entry.lookup);
    } catch (e) {
      return { ok: false, error: describe(e) };
    }
    // A target of "." means "no service here" (RFC 2782): such records give no server.
    records = records.filter((r) => r.name !== '' && r.name !== '.');
    if (records.length === 0) return { ok: false, error: 'no SRV records with a target' };
    const targets = [...new Set(records.map((r) => r.name.toLowerCase()))];
    const resolved = await Promise.all(targets.map((t) => this.addresses(t)));
    const byTarget = new Map<string, RecordWithTtl[]>();
    for (const [i, t] of targets.entries()) {
      const a = resolved[i];
      if (a === undefined) continue;
      // A target whose lookup failed would shrink the set for a DNS hiccup: the whole lookup fails.
      if (a.kind === 'failed') return { ok: false, error: `SRV target ${t}: ${a.error}` };
      if (a.kind === 'found') {
        byTarget.set(t, a.records);
        if (this.missingTargets.delete(t)) this.log.info({ source: this.id, target: t }, `${this.id}: SRV target ${t} has an address again`);
      } else if (!this.missingTargets.has(t)) {
        this.missingTargets.add(t);
        this.log.warn({ source: this.id, target: t }, `${this.id}: SRV target ${t} has no A or AAAA record; left out until it has one`);
      }
    }
    if (byTarget.size === 0) return { ok: false, error: 'no SRV target has an address' };
    // Lowest priority: primaries; every higher priority: backups (the pool has two tiers).
    const lowest = Math.min(...records.map((r) => r.priority));
    const allZero = new Set(records.filter((r) => records.every((o) => o.priority !== r.priority || o.weight === 0)).map((r) => r.priority));
    const prefix = entry.name ?? entry.lookup;
    const servers = new Map<string, ServerSpec>();
    // Lowest priority first, then heaviest: an address listed twice keeps its best record.
    const ordered = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    let ttlMs = Infinity;
    for (const r of ordered) {
      const addrs = byTarget.get(r.name.toLowerCase()) ?? [];
      const weight = r.weight > 0 ? r.weight : allZero.has(r.priority) ? 1 : SRV_ZERO_WEIGHT;
      for (const a of addrs) {
        ttlMs = Math.min(ttlMs, a.ttl * 1000);
        const s = this.server(prefix, a.address, r.port, weight, entry.backup || r.priority > lowest);
        if (!servers.has(s.addr)) servers.set(s.addr, s);
      }
    }
    return { ok: true, servers: [...servers.values()], ttlMs: Number.isFinite(ttlMs) ? ttlMs : undefined };
  }
}
