import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IpHash } from '../../../src/control/selection/ip-hash.js';
import { Pool } from '../../../src/control/selection/pool.js';
import { Upstream } from '../../../src/control/selection/upstream.js';
import { clientAddress, makeServers, req, testDeps } from './helpers.js';
import { st, testPool } from './helpers.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => clientAddress(i * 7919));

const assign = (sel: IpHash, keys: readonly string[] = KEYS): (Upstream | undefined)[] => keys.map((k) => sel.select(req(k)));

describe('ip-hash', () => {
  test('the same client always gets the same server while it is up', () => {
    const servers = makeServers(5);
    const sel = new IpHash();
    sel.update(servers);
    const before = assign(sel);
    assert.deepEqual(assign(sel), before, 'repeat');
    sel.update(servers);
    assert.deepEqual(assign(sel), before, 'after a no-op update');
    const backwards = [...KEYS].reverse().map((k) => sel.select(req(k)));
    assert.deepEqual(backwards, [...before].reverse(), 'order of requests does not matter');
  });

  test('a server going down moves only its clients (at most 1/N + 2%), and they come back when it returns', () => {
    for (const n of [2, 5, 10]) {
      const servers = makeServers(n);
      const sel = new IpHash();
      sel.update(servers);
      const before = assign(sel);
      for (const down of servers) {
        sel.update(servers.filter((s) => s !== down));
        const during = assign(sel);
        let moved = 0;
        during.forEach((u, i) => {
          if (u !== before[i]) {
            moved++;
            assert.equal(before[i], down, `n=${n}: ${KEYS[i]} moved off ${before[i]?.name}, which stayed up`);
          }
          assert.notEqual(u, down);
        });
        const limit = KEYS.length * (1 / n + 0.02);
        assert.ok(moved <= limit, `n=${n}: ${moved} of ${KEYS.length} keys moved when ${down.name} went down`);
        sel.update(servers);
        assert.deepEqual(assign(sel), before, `n=${n}: keys come back when ${down.name} returns`);
      }
    }
  });

  test('several servers down: still only their clients move, all return', () => {
    const servers = makeServers(8);
    const sel = new IpHash();
    sel.update(servers);
    const before = assign(sel);
    const up = servers.filter((_, i) => i % 3 === 0); // 3 of 8 up
    sel.update(up);
    assign(sel).forEach((u, i) => {
      assert.ok(u !== undefined && up.includes(u));
      if (up.includes(before[i] as Upstream)) assert.equal(u, before[i]);
    });
    sel.update(servers);
    assert.deepEqual(assign(sel), before);
  });

  test('two independent instances agree on every key (config order and object identity do not matter)', () => {
    const a = makeServers([1, 2, 3, 1, 1]);
    const b = makeServers([1, 2, 3, 1, 1]).reverse();
    const x = new IpHash();
    const y = new IpHash();
    x.update(a);
    y.update(b);
    assert.deepEqual(
      assign(x).map((u) => u?.addr),
      assign(y).map((u) => u?.addr),
    );
    x.update(a.filter((s) => s.name !== 'b'));
    y.update(b.filter((s) => s.name !== 'b'));
    assert.deepEqual(
      assign(x).map((u) => u?.addr),
      assign(y).map((u) => u?.addr),
      'with the same server down',
    );
  });

  test('through Pool, instances agree even when one never saw a server up', () => {
    const a = makeServers(4);
    const b = makeServers(4);
    st((b[2] as Upstream)).available = false; // down since b's start: b's selector never got it in update()
    const pa = testPool(a, 'ip-hash', {}, testDeps());
    const pb = testPool(b, 'ip-hash', {}, testDeps());
    st((a[2] as Upstream)).available = false;
    pa.refresh();
    const names = (p: Pool): string[] =>
      KEYS.map((k) => {
        const u = p.acquire(req(k)) as Upstream;
        p.release(u, 1, false);
        return u.addr;
      });
    assert.deepEqual(names(pa), names(pb));
  });

  test('weighted: shares over 100,000 keys are within 1 percentage point of the weights', () => {
    const weights = [1, 2, 3, 4];
    const servers = makeServers(weights);
    const sel = new IpHash();
    sel.update(servers);
    const counts = new Map<Upstream | undefined, number>();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = sel.select(req(clientAddress(i)));
      counts.set(u, (counts.get(u) ?? 0) + 1);
    }
    for (const s of servers) {
      const share = (counts.get(s) ?? 0) / n;
      assert.ok(Math.abs(share - s.weight / 10) < 0.01, `${s.name}: ${share}`);
    }
  });

  test('backups: used consistently while every primary is down; clients return to primaries', () => {
    const servers = makeServers([1, 1, 1, 1, 1], { backupFrom: 3 });
    const pool = testPool(servers, 'ip-hash', {}, testDeps());
    const pick = (k: string): Upstream => {
      const u = pool.acquire(req(k)) as Upstream;
      pool.release(u, 1, false);
      return u;
    };
    const before = KEYS.slice(0, 500).map(pick);
    for (const s of servers.slice(0, 3)) st(s).available = false;
    pool.refresh();
    const onBackup = KEYS.slice(0, 500).map(pick);
    assert.ok(onBackup.every((u) => u.backup));
    assert.ok(onBackup.some((u) => u.name === 'd') && onBackup.some((u) => u.name === 'e'));
    assert.deepEqual(KEYS.slice(0, 500).map(pick), onBackup);
    for (const s of servers) st(s).available = true;
    pool.refresh();
    assert.deepEqual(KEYS.slice(0, 500).map(pick), before);
  });

  test('servers sharing an origin (different paths) are distinct', () => {
    const servers = [
      new Upstream('http://10.9.9.9:80/x', { index: 0, name: 'x' }),
      new Upstream('http://10.9.9.9:80/y', { index: 1, name: 'y' }),
    ];
    const sel = new IpHash();
    sel.update(servers);
    const got = new Set(assign(sel, KEYS.slice(0, 200)).map((u) => u?.name));
    assert.deepEqual([...got].sort(), ['x', 'y']);
  });
});
