import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CLI } from './helpers/cluster.js';

test('the bin runs by itself (shebang, executable bit), as npx balancer runs it', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };
  assert.equal(new URL(`../../${pkg.bin.balancer}`, import.meta.url).pathname, CLI);
  const r = spawnSync(CLI, ['--version'], { encoding: 'utf8' });
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('--help lists every command', () => {
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const c of ['start', 'validate', 'notify-test', 'test-servers']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});
