import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const servers = [{ addr: 'http://a.example' }];
const parse = (accessLog: unknown) => parseConfig(JSON.stringify({ servers, accessLog }), 'b.json', {});
function problems(accessLog: unknown): string {
  try {
    parse(accessLog);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  assert.fail('config accepted');
}

test('accessLog: off unless configured; the path defaults to standard output', () => {
  assert.equal(parseConfig(JSON.stringify({ servers }), 'b.json', {}).accessLog, undefined);
  assert.deepEqual(parse({ format: 'json' }).accessLog, { format: 'json', path: '-' });
  assert.deepEqual(parse({ format: 'combined', path: '/var/log/b.log' }).accessLog, { format: 'combined', path: '/var/log/b.log' });
});

test('accessLog: bad fields name the file and field and say what is allowed', () => {
  assert.match(problems({ format: 'xml' }), /^b\.json: accessLog\.format: "xml" is not an access log format \(allowed: "json", "combined"\)$/);
  assert.match(problems({ path: '-' }), /^b\.json: accessLog\.format: is required/);
  assert.match(problems({ format: 'json', path: '' }), /^b\.json: accessLog\.path: "" is empty \(a file path, or "-" for standard output\)$/);
  assert.match(problems({ format: 'json', pth: 'x' }), /accessLog\.pth: unknown key \(did you mean "path"\?\)/);
});
