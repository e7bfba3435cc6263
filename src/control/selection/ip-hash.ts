import { CumulativeWeights } from './cumulative-weights.js';
import { hash32 } from './hash.js';
import { buildMaglevTable, MAGLEV_TABLE_SIZE } from './maglev.js';
import type { PickRequest, Selector } from './selector.js';
import type { Upstream } from './upstream.js';

// Seeds of the client-address hashes: first slot, probe stride, last-resort fraction.
const SLOT_SEED = 0x2545f491;
const STRIDE_SEED = 0x6c8e9cf5;
const FALLBACK_SEED = 0x1b56c4e9;
// Slots probed for an available server before the last resort. With a share f of the
// weight down, a key reaches the last resort with probability f^16 (f = 0.5: 0.002 %).
const MAX_PROBES = 16;

/**
 * The servers of one tier (primaries or backups) and their Maglev table, built over
 * every server of the tier, available or not, sorted by address so that two instances
 * with the same config build the same table.
 */
class Tier {
  members: Upstream[] = [];
  table: Int32Array = new Int32Array(0);
  // 1 when members[i] is currently available.
  up: Uint8Array = new Uint8Array(0);
  private readonly slotOf = new Map<Upstream, number>();
  private builtWeights: number[] = [];

  /** Adds servers not seen before; returns true when the membership changed. */
  add(servers: readonly Upstream[]): boolean {
    const fresh = servers.filter((u) => !this.slotOf.has(u));
    if (fresh.length === 0) return false;
    this.members = [...this.members, ...fresh].sort(byAddress);
    this.slotOf.clear();
    this.members.forEach((u, i) => this.slotOf.set(u, i));
    this.up = new Uint8Array(this.members.length);
    this.builtWeights = [];
    return true;
  }

  /** Rebuilds the table if membership or any member's effective weight changed since the last build. */
  rebuildIfStale(): void {
    const weights = this.members.map((u) => u.effectiveWeight);
    if (weights.length === this.builtWeights.length && weights.every((w, i) => w === this.builtWeights[i])) return;
    this.builtWeights = weights;
    this.table = buildMaglevTable(hashKeys(this.members), weights);
  }

  /** Marks exactly `servers` as available. */
  setAvailable(servers: readonly Upstream[]): void {
    this.up.fill(0);
    for (const u of servers) {
      const i = this.slotOf.get(u);
      if (i !== undefined) this.up[i] = 1;
    }
  }
}

// Deterministic order independent of config order and object identity.
function byAddress(a: Upstream, b: Upstream): number {
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  if (a.url.href !== b.url.href) return a.url.href < b.url.href ? -1 : 1;
  return a.index - b.index;
}

// Hash keys: the address, with a suffix for the rare servers sharing an origin (different paths).
function hashKeys(members: readonly Upstream[]): string[] {
  const seen = new Map<string, number>();
  return members.map((u) => {
    const n = seen.get(u.addr) ?? 0;
    seen.set(u.addr, n + 1);
    return n === 0 ? u.addr : `${u.addr}#${n}`;
  });
}

/**
 * Consistent hashing of `req.clientAddress` over a weighted Maglev table.
 *
 * The table covers every configured server of the tier (from `configure`, plus any
 * server `update` introduces), not just the available ones. A client's key gives it a
 * fixed sequence of slots (double hashing); it goes to the first slot whose server is
 * available. So a client only moves when its own server goes down, and moves back when
 * it returns; other clients never move, and two instances with the same config and the
 * same servers up agree on every key. After MAX_PROBES unavailable slots the key falls
 * back to a weighted hash over the available servers. O(1) per pick while most servers
 * are up, at most MAX_PROBES + O(log N).
 */
export class IpHash implements Selector {
  private readonly primary = new Tier();
  private readonly backup = new Tier();
  private tier: Tier = this.primary;
  private available: Upstream[] = [];
  private readonly fallback = new CumulativeWeights();

  configure(servers: readonly Upstream[]): void {
    this.primary.add(servers.filter((u) => !u.backup));
    this.backup.add(servers.filter((u) => u.backup));
  }

  select(req: PickRequest): Upstream | undefined {
    if (this.available.length === 0) return undefined;
    const key = req.clientAddress;
    const { table, up, members } = this.tier;
    const size = MAGLEV_TABLE_SIZE;
    let slot = hash32(key, SLOT_SEED) % size;
    const stride = (hash32(key, STRIDE_SEED) % (size - 1)) + 1;
    for (let p = 0; p < MAX_PROBES; p++) {
      const i = table[slot] ?? -1;
      if (up[i] === 1) return members[i];
      slot = (slot + stride) % size;
    }
    return this.available[this.fallback.pick(hash32(key, FALLBACK_SEED) / 2 ** 32)];
  }

  update(servers: readonly Upstream[]): void {
    // The pool offers either primaries or, when none is up, backups.
    this.configure(servers);
    this.tier = servers.length > 0 && servers.every((u) => u.backup) ? this.backup : this.primary;
    this.tier.rebuildIfStale();
    this.tier.setAvailable(servers);
    this.available = [...servers].sort(byAddress);
    this.fallback.reset(this.available);
  }
}

/** Factory for the registry. */
export const createIpHash = (): Selector => new IpHash();
