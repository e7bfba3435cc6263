import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KineticMax } from '../../../src/control/selection/kinetic-max.js';
import { mulberry32 } from './helpers.js';

test('kinetic-max: tracks the first maximum of moving lines like a linear scan', () => {
  const rng = mulberry32(11);
  for (const n of [1, 2, 3, 4, 5, 17, 64, 100]) {
    const slopes = Array.from({ length: n }, () => Math.floor(rng() * 10));
    const bases = Array.from({ length: n }, () => Math.floor(rng() * 200) - 100);
    const k = new KineticMax();
    k.reset(slopes, bases);
    for (let step = 1; step <= 3000; step++) {
      const got = k.advance();
      let want = 0;
      for (let i = 1; i < n; i++) {
        if ((bases[i] ?? 0) + (slopes[i] ?? 0) * step > (bases[want] ?? 0) + (slopes[want] ?? 0) * step) want = i;
      }
      assert.equal(got, want, `n=${n} step=${step}`);
      // Knock a random line down (or up) now and then, as picks do.
      if (rng() < 0.5) {
        const i = Math.floor(rng() * n);
        const d = Math.floor(rng() * 300) - 200;
        k.shift(i, d);
        bases[i] = (bases[i] ?? 0) + d;
      }
    }
  }
});

test('kinetic-max: empty', () => {
  const k = new KineticMax();
  assert.equal(k.advance(), -1);
  k.reset([], []);
  assert.equal(k.advance(), -1);
});
