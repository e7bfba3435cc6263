// `npm test` (after the build): every test once on the default engine ("fast"), then the black-box
// engine suite (the real CLI on real sockets: test/engines/node/*.test.js, the hostile-request
// table, the access log, and the HTTPS tests in test/tls/ and with workers) a second time with BALANCER_TEST_ENGINE=node,
// so both engines pass the same tests (issues 11 and 12). Exits non-zero when either pass fails.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const runner = ['--test', '--test-concurrency=2', '--test-timeout=180000'];

/** Every *.test.js under `dir`, sorted (as `find | sort` did). */
function testFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(dir, f))
    .sort();
}

/** Runs node --test on `files` with `env` added; returns its exit status. */
function pass(title, files, env = {}) {
  console.log(`\n# ${title}: ${files.length} files`);
  const r = spawnSync(process.execPath, [...runner, ...files], { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

const all = pass('all tests (default engine)', testFiles(join(dist, 'test')));

/** The *.test.js directly in `dir` (not below), sorted. */
function topLevelTests(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(dir, f))
    .sort();
}

// The engine-neutral black-box files: test/engines/node/, those directly in test/engines/ (hostile
// table, access log) and in test/tls/ (HTTPS), and HTTPS with workers.
const engines = join(dist, 'test', 'engines');
const blackBox = [
  ...testFiles(join(engines, 'node')),
  ...topLevelTests(engines),
  ...topLevelTests(join(dist, 'test', 'tls')),
  join(dist, 'test', 'workers', 'workers-https.test.js'),
];
const second = pass('black-box engine suite again with BALANCER_TEST_ENGINE=node', blackBox, { BALANCER_TEST_ENGINE: 'node' });

console.log(`\n# npm test: all tests (default engine) ${all === 0 ? 'passed' : 'FAILED'}; node engine ${second === 0 ? 'passed' : 'FAILED'}`);
process.exit(all !== 0 ? all : second);
