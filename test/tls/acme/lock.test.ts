import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StorageLock } from '../../../src/tls/acme/lock.js';
import { FakeClock } from '../../helpers/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'balancer-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const path = () => join(dir, `lock-${++n}`);

test('one holder at a time; the file says who and when (mode 0600); release frees it', () => {
  const clock = new FakeClock(1_800_000_000_000);
  const p = path();
  const a = new StorageLock(p, clock);
  const b = new StorageLock(p, clock);
  assert.deepEqual(a.tryAcquire(), { acquired: true });
  const r = b.tryAcquire();
  assert.equal(r.acquired, false);
  assert.equal(!r.acquired && r.holder?.pid, process.pid);
  assert.equal(!r.acquired && r.holder?.time, 1_800_000_000_000);
  assert.equal(statSync(p).mode & 0o777, 0o600);
  b.release(); // not b's: no effect
  assert.equal(b.tryAcquire().acquired, false);
  a.release();
  assert.throws(() => statSync(p), /ENOENT/);
  assert.equal(b.tryAcquire().acquired, true);
  b.release();
});

test('stale after 10 minutes: broken by the next taker; a refreshing holder never goes stale', () => {
  const clock = new FakeClock(1_800_000_000_000);
  const p = path();
  const a = new StorageLock(p, clock);
  const b = new StorageLock(p, clock);
  assert.equal(a.tryAcquire().acquired, true);
  clock.advanceSync(9 * 60_000);
  a.refresh();
  clock.advanceSync(9 * 60_000);
  assert.equal(b.tryAcquire().acquired, false, '18 minutes old but refreshed 9 minutes ago');
  clock.advanceSync(60_001 + 60_000);
  const r = b.tryAcquire();
  assert.equal(r.acquired, true);
  assert.equal(r.acquired && r.broke !== undefined && r.broke !== 'unreadable' && r.broke.pid, process.pid);
  // The old holder finds out when it refreshes, and its release leaves the new holder's lock alone.
  a.refresh();
  assert.equal(a.held, false);
  a.release();
  assert.equal(JSON.parse(readFileSync(p, 'utf8')).token, b.readHolder()?.token);
  assert.equal(new StorageLock(p, clock).tryAcquire().acquired, false);
  b.release();
});

test('a lock of a process that no longer runs on this host is stale at once; another host\'s is not', () => {
  const clock = new FakeClock(Date.now());
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const p = path();
  writeFileSync(p, JSON.stringify({ pid: Number(dead), host: hostname(), time: Date.now(), token: 'x' }));
  const r = new StorageLock(p, clock).tryAcquire();
  assert.equal(r.acquired, true);
  const q = path();
  writeFileSync(q, JSON.stringify({ pid: Number(dead), host: 'another-host', time: Date.now(), token: 'x' }));
  assert.equal(new StorageLock(q, clock).tryAcquire().acquired, false);
});

test('an unreadable lock is judged by its age', () => {
  const clock = new FakeClock(Date.now());
  const p = path();
  writeFileSync(p, '');
  assert.equal(new StorageLock(p, clock).tryAcquire().acquired, false);
  clock.advanceSync(10 * 60_000 + 1000);
  assert.deepEqual(new StorageLock(p, clock).tryAcquire(), { acquired: true, broke: 'unreadable' });
});
