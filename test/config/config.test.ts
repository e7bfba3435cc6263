import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ConfigError, configWarnings, loadConfig, parseConfig } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { parseListenAddress } from '../../src/config/listen.js';
import { CLI, writeConfig } from '../helpers/cluster.js';

const ok = { servers: [{ addr: 'http://localhost:9000' }] };
const withServer = (extra: Record<string, unknown>) => ({ ...ok, ...extra });
const server = (extra: Record<string, unknown>) => ({ servers: [{ addr: 'http://localhost:9000', ...extra }] });

/** Bad configs and the message each must give (every message must appear, prefixed by the file name). */
const BAD: [string, unknown, string[]][] = [
  ['invalid JSON: trailing comma', '{"servers": [{"addr": "http://a:1",}]}', ['balancer.json:1:35: invalid JSON: trailing comma']],
  ['invalid JSON on a later line', '{\n  "servers": [\n    {"addr": "http://a:1"}\n  ]\n  "addr": ":80"\n}', ['balancer.json:5:3: invalid JSON']],
  ['truncated JSON', '{"servers": [', ['balancer.json:1:14: invalid JSON: expected a value, found the end of the file']],
  ['not an object', '[]', ['(top level): an array is not an object']],
  ['servers missing', {}, ['servers: is required']],
  ['servers empty', { servers: [] }, ['servers: is empty (at least one server is required)']],
  ['servers not a list', { servers: 'http://a' }, ['servers: "http://a" is not an array']],
  ['server addr without scheme', { servers: [{ addr: 'localhost:9001' }] }, ['servers[0].addr: "localhost:9001" is not an http:// or https:// URL']],
  ['server addr with another scheme', { servers: [{ addr: 'ftp://localhost:9001' }] }, ['servers[0].addr: "ftp://localhost:9001" is not an http:// or https:// URL']],
  ['server addr missing', { servers: [{ weight: 2 }] }, ['servers[0].addr: is required']],
  ['server addr not a string', { servers: [{ addr: 9000 }] }, ['servers[0].addr: 9000 is not a string']],
  ['duplicate server', { servers: [{ addr: 'http://localhost:9000' }, { addr: 'http://localhost:9000/' }] }, ['servers[1].addr: "http://localhost:9000/" is a duplicate of servers[0].addr']],
  ['weight not a number', server({ weight: 'heavy' }), ['servers[0].weight: "heavy" is not a number']],
  ['weigth not a number', server({ weigth: '0.9' }), ['servers[0].weigth: "0.9" is not a number']],
  ['weight zero', server({ weight: 0 }), ['servers[0].weight: 0 is not a positive number']],
  ['weight negative', server({ weigth: -1 }), ['servers[0].weigth: -1 is not a positive number']],
  ['weight and weigth disagree', server({ weight: 1, weigth: 2 }), ['servers[0]: an object has both "weight" and "weigth" with different values']],
  ['unknown server key', server({ wieght: 1 }), ['servers[0].wieght: unknown key (did you mean "weight"?)']],
  ['unknown top-level key', withServer({ algoritm: 'random' }), ['algoritm: unknown key (did you mean "algorithm"?)']],
  ['unknown key, no close match', withServer({ colour: 'blue' }), ['colour: unknown key; allowed: ']],
  ['port out of range', withServer({ addr: ':99999' }), ['addr: ":99999" has a port out of range (allowed: 0 to 65535)']],
  ['listen address without port', withServer({ addr: 'localhost' }), ['addr: "localhost" is not a listen address like ":8000"']],
  ['unknown algorithm', withServer({ algorithm: 'fastest' }), ['algorithm: "fastest" is not a known algorithm (allowed: round-robin,']],
  ['healthCheckDelay negative', withServer({ healthCheckDelay: -5 }), ['healthCheckDelay: -5 is not a positive number']],
  ['healthCheckDelay a string', withServer({ healthCheckDelay: '10s' }), ['healthCheckDelay: "10s" is not a number']],
  ['timeout zero', withServer({ timeouts: { connect: 0 } }), ['timeouts.connect: 0 is not a positive number']],
  ['unknown timeout key', withServer({ timeouts: { read: 5 } }), ['timeouts.read: unknown key']],
  ['server port out of range', { servers: [{ addr: 'http://localhost:99999' }] }, ['servers[0].addr: "http://localhost:99999" has port 99999, out of range (allowed: 1 to 65535)']],
  ['server port zero', { servers: [{ addr: 'http://localhost:0' }] }, ['servers[0].addr: "http://localhost:0" has port 0, out of range (allowed: 1 to 65535)']],
  ['server port not a number', { servers: [{ addr: 'http://localhost:90a0/' }] }, ['servers[0].addr: "http://localhost:90a0/" has a port that is not a number ("90a0"; allowed: 1 to 65535)']],
  ['server address without host', { servers: [{ addr: 'http://:9000' }] }, ['servers[0].addr: "http://:9000" has no host']],
  ['several problems at once', { addr: ':x', servers: [{ addr: 'nope' }] }, ['addr: ":x" is not a listen address', 'servers[0].addr: "nope" is not an http:// or https:// URL']],
];

describe('bad configs', () => {
  for (const [name, input, messages] of BAD) {
    test(name, () => {
      const text = typeof input === 'string' ? input : JSON.stringify(input);
      assert.throws(
        () => parseConfig(text, 'balancer.json'),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          for (const m of messages) {
            assert.ok(
              e.problems.some((p) => p.startsWith('balancer.json') && p.includes(m)),
              `expected "${m}" in:\n${e.problems.join('\n')}`,
            );
          }
          return true;
        },
      );
    });
  }
});

describe('good configs', () => {
  test('the original format is accepted verbatim, weigth included', () => {
    const c = parseConfig(readFileSync(new URL('../../../examples/original.json', import.meta.url), 'utf8'), 'original.json');
    assert.equal(c.algorithm, 'random');
    assert.equal(c.healthCheckIntervalMs, 10_000);
    assert.deepEqual(c.listen, { host: undefined, port: 8000 });
    assert.deepEqual(
      c.servers.map((s) => s.weight),
      [0.9, 0.1, 0.1, 0.1],
    );
  });

  test('defaults and aliases', () => {
    const c = parseConfig(JSON.stringify({ algorithm: 'roundRobin', servers: [{ addr: 'https://a.example' }] }), 'x.json');
    assert.equal(c.algorithm, 'round-robin');
    assert.equal(c.addr, ':8000');
    assert.equal(c.servers[0]?.weight, 1);
    assert.deepEqual(c.timeouts, { connectMs: 5000, responseHeadersMs: 60_000, idleMs: 60_000, shutdownMs: 10_000, requestHeadMs: 30_000 });
    for (const alias of ['round_robin', 'roundrobin', 'Round-Robin', 'rr']) {
      assert.equal(parseConfig(JSON.stringify({ algorithm: alias, ...ok }), 'x.json').algorithm, 'round-robin', alias);
    }
  });

  test('listen addresses', () => {
    assert.deepEqual(parseListenAddress(':8000'), { host: undefined, port: 8000 });
    assert.deepEqual(parseListenAddress('127.0.0.1:8000'), { host: '127.0.0.1', port: 8000 });
    assert.deepEqual(parseListenAddress('[::1]:8000'), { host: '::1', port: 8000 });
    assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    assert.equal(typeof parseListenAddress('8000'), 'string');
  });

  test('a missing file names the file', () => {
    assert.throws(() => loadConfig('/nonexistent/balancer.json'), /\/nonexistent\/balancer\.json: cannot read config: no such file/);
  });

  test('the shipped JSON Schema matches the zod schema', () => {
    const shipped: unknown = JSON.parse(readFileSync(new URL('../../../schema/balancer.schema.json', import.meta.url), 'utf8'));
    assert.deepEqual(shipped, configJsonSchema(), 'run `npm run schema` to regenerate schema/balancer.schema.json');
  });

  test('every example config validates, and the quick-start one starts without warnings', () => {
    for (const f of ['balancer.json', 'original.json']) {
      loadConfig(new URL(`../../../examples/${f}`, import.meta.url).pathname);
    }
    assert.deepEqual(configWarnings(loadConfig(new URL('../../../examples/balancer.json', import.meta.url).pathname)), []);
  });
});

describe('balancer validate', () => {
  test('prints FILE: OK and exits 0 for a good file', () => {
    const file = writeConfig(ok);
    const r = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${file}: OK\n`);
  });

  test('prints every error naming the file and field, exits 2', () => {
    const file = writeConfig({ servers: [{ addr: 'http://localhost:9000' }, { addr: 'localhost:9001' }], algoritm: 'random' });
    const r = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`${file}: servers\\[1\\]\\.addr: "localhost:9001" is not an http:// or https:// URL`));
    assert.match(r.stderr, /algoritm: unknown key \(did you mean "algorithm"\?\)/);
  });

  test('start with a bad config exits 2 without listening', () => {
    const file = writeConfig({ servers: [] });
    const r = spawnSync(process.execPath, [CLI, 'start', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /servers: is empty/);
  });
});
