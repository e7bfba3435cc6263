import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from '../../../src/control/selection/pool.js';
import { makeServers, req, testDeps } from './helpers.js';
import { testPool } from './helpers.js';

test('acquireExcept picks an untried server, then a backup, then nothing', () => {
  for (const algorithm of ['round-robin', 'ip-hash', 'least-connections'] as const) {
    const servers = makeServers([1, 1, 1], { backupFrom: 2 });
    const [a, b, backup] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];
    const pool = testPool(servers, algorithm, {}, testDeps());
    const first = pool.acquire(req());
    assert.ok(first === a || first === b, algorithm);
    const second = pool.acquireExcept(req(), [first]);
    assert.ok(second !== undefined && second !== first && second !== backup, `${algorithm}: another primary`);
    assert.equal(pool.acquireExcept(req(), [a, b]), backup, `${algorithm}: the backup takes the retry`);
    assert.equal(pool.acquireExcept(req(), [a, b, backup]), undefined, `${algorithm}: nothing left`);
    assert.deepEqual(
      servers.map((s) => s.inflight),
      [first === a ? 1 : 0, first === b ? 1 : 0, 0].map((n, i) => n + (servers[i] === second ? 1 : 0) + (i === 2 ? 1 : 0)),
      `${algorithm}: in-flight counts follow the picks`,
    );
  }
});
