import { TEST_ENGINE } from './cluster.js';

/**
 * For a black-box test that cannot pass on the fast engine yet: the `skip` option of node:test,
 * set to `reason` only when the suite runs with BALANCER_TEST_ENGINE=fast. Usage:
 * `test('name', skipOnFastEngine('why'), async () => ...)`.
 */
export function skipOnFastEngine(reason: string): { skip: string | false } {
  return { skip: TEST_ENGINE === 'fast' ? `fast engine: ${reason}` : false };
}
