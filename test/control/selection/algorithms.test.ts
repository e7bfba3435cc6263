import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalAlgorithm } from '../../../src/control/selection/algorithms.js';

test('algorithm names and the aliases nginx/HAProxy/Envoy/Traefik/Linkerd users type', () => {
  const cases: [string, string | undefined][] = [
    ['roundRobin', 'round-robin'],
    ['round_robin', 'round-robin'],
    ['wrr', 'weighted-round-robin'],
    ['static-rr', 'weighted-round-robin'],
    ['least_conn', 'least-connections'],
    ['leastconn', 'least-connections'],
    ['WeightedLeastConnections', 'weighted-least-connections'],
    ['ip_hash', 'ip-hash'],
    ['source', 'ip-hash'],
    ['MAGLEV', 'ip-hash'],
    ['least_time', 'least-response-time'],
    ['peak-ewma', 'least-response-time'],
    ['p2c', 'power-of-two'],
    ['LEAST_REQUEST', 'power-of-two'],
    ['first', 'first'],
    ['fastest', undefined],
  ];
  for (const [input, want] of cases) assert.equal(canonicalAlgorithm(input), want, input);
});
