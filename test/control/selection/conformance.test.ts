import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALGORITHM_NAMES, SELECTORS } from '../../../src/control/selection/algorithms.js';
import { conformance } from './conformance.js';

test('every canonical algorithm is registered', () => {
  for (const name of ALGORITHM_NAMES) assert.ok(SELECTORS[name], `${name} is not implemented`);
});

for (const name of ALGORITHM_NAMES) {
  const factory = SELECTORS[name];
  if (factory) conformance(name, factory);
}
