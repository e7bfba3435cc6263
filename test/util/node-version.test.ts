import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MIN_NODE, unsupportedNode } from '../../src/util/node-version.js';
import { CLI } from '../helpers/cluster.js';

test('the minimum Node.js version is the one package.json engines states', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, `>=${MIN_NODE}`);
});

test('Node.js 20 and 22 before 22.19 are refused, 22.19 and later run', () => {
  for (const v of ['20.20.2', 'v20.18.1', '22.18.0', '21.7.3', '18.20.0']) assert.match(unsupportedNode(v) ?? '', /needs Node\.js 22\.19\.0 or newer/, v);
  for (const v of ['22.19.0', '22.23.3', 'v24.21.0', '24.0.0', '25.1.0', '100.0.0']) assert.equal(unsupportedNode(v), undefined, v);
});

// An older Node.js to run the CLI under: this machine's system node (20 on our machines and CI), if older.
const older = ['/usr/bin/node', '/usr/local/bin/node']
  .map((bin) => ({ bin, version: spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim() ?? '' }))
  .find((n) => n.version !== '' && unsupportedNode(n.version) !== undefined);

test('the CLI under an unsupported Node.js says so in one line and exits 1', { skip: older ? false : 'no Node.js older than 22.19 on this machine' }, () => {
  const r = spawnSync(older?.bin ?? '', [CLI, 'start', '--config', 'examples/balancer.json'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `balancer: needs Node.js ${MIN_NODE} or newer (24 recommended); this is Node.js ${older?.version}\n`);
  assert.equal(r.stdout, '');
});
