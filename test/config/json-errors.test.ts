import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { findJsonError, lineColumn, positionInMessage } from '../../src/config/json-errors.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { CLI, writeConfig } from '../helpers/cluster.js';

const GOOD_HEAD = '{\n  "addr": ":8000",\n  "servers": [\n';

/** Broken files and the exact message each must give: the real line and column of the mistake. */
const CASES: [string, string, string][] = [
  [
    'a trailing comma on line 6 is reported at its comma, not at the "]" two lines later',
    `${GOOD_HEAD}    { "addr": "http://localhost:9000" },\n    { "addr": "http://localhost:9001" },\n    { "addr": "http://localhost:9002" },\n\n  ]\n}\n`,
    'balancer.json:6:40: invalid JSON: trailing comma (JSON allows no comma before "]")',
  ],
  [
    'a trailing comma in an object',
    '{\n  "servers": [{ "addr": "http://a:1" }],\n  "name": "x",\n}\n',
    'balancer.json:3:14: invalid JSON: trailing comma (JSON allows no comma before "}")',
  ],
  [
    'a missing comma between properties',
    '{\n  "name": "x"\n  "servers": []\n}',
    'balancer.json:3:3: invalid JSON: expected "," or "}" after a property, found """',
  ],
  ['a property name without quotes', '{\n  servers: []\n}', 'balancer.json:2:3: invalid JSON: property name without double quotes'],
  ['single quotes', `{"name": 'x'}`, `balancer.json:1:10: invalid JSON: single quotes (JSON strings use double quotes)`],
  ['a bare word value', '{"name": x}', 'balancer.json:1:10: invalid JSON: unexpected word "x" (strings need double quotes; true, false and null are lower case)'],
  ['True in capitals', '{"x": True}', 'balancer.json:1:7: invalid JSON: unexpected word "True" (strings need double quotes; true, false and null are lower case)'],
  ['an unterminated string', '{\n  "name": "x\n}', 'balancer.json:2:11: invalid JSON: unterminated string (a string must end with " on the same line)'],
  ['a truncated file', '{\n  "servers": [\n', 'balancer.json:3:1: invalid JSON: expected a value, found the end of the file'],
  ['text after the end', '{"servers": []}\n}', 'balancer.json:2:1: invalid JSON: unexpected "}" after the end of the JSON value'],
  [
    'a YAML file',
    'addr: ":8000"\nservers:\n  - addr: http://localhost:9000\n',
    'balancer.json:1:1: invalid JSON: unexpected word "addr" (strings need double quotes; true, false and null are lower case); this looks like YAML; the config file is JSON (see examples/balancer.json)',
  ],
  [
    'YAML pasted into a JSON file is reported at the pasted line',
    `${GOOD_HEAD}    { "addr": "http://localhost:9000" }\n  ],\n  healthCheck:\n    path: /healthz\n}\n`,
    'balancer.json:6:3: invalid JSON: property name without double quotes; this looks like YAML; the config file is JSON (see examples/balancer.json)',
  ],
  [
    'a YAML list item pasted into a JSON array',
    `${GOOD_HEAD}    - addr: http://localhost:9000\n  ]\n}\n`,
    'balancer.json:4:5: invalid JSON: expected a value, found "-"; this looks like YAML; the config file is JSON (see examples/balancer.json)',
  ],
];

describe('JSON syntax errors name the real line and column', () => {
  for (const [name, text, message] of CASES) {
    test(name, () => {
      assert.throws(
        () => parseConfig(text, 'balancer.json'),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.deepEqual(e.problems, [message]);
          return true;
        },
      );
    });
  }

  test('the scanner agrees with JSON.parse on what is valid', () => {
    for (const ok of ['{}', '[]', '0', '-1.5e+3', '"a\\u00e9\\n"', '{"a": [1, {"b": null}], "c": true}', ' \n{ "a" : false } \n']) {
      JSON.parse(ok);
      assert.equal(findJsonError(ok), undefined, ok);
    }
    for (const [, text] of CASES) assert.throws(() => JSON.parse(text));
  });

  test("V8's positions are read in both message shapes (Node 20 and Node 24)", () => {
    assert.equal(positionInMessage('Expected double-quoted property name in JSON at position 8'), 8);
    assert.equal(positionInMessage('Expected double-quoted property name in JSON at position 8 (line 2 column 1)'), 8);
    assert.equal(positionInMessage('Unexpected token \'}\', "{"a": tru}" is not valid JSON'), undefined);
    assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
  });

  test('a byte-order mark at the start of the file is accepted', () => {
    assert.equal(parseConfig('\ufeff{"servers": [{"addr": "http://a:1"}]}', 'b.json').servers.length, 1);
  });

  test('balancer validate prints the position and exits 2', () => {
    const [, text, message] = CASES[0] as [string, string, string];
    const file = writeConfig(text);
    const r = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `${file}${message.slice('balancer.json'.length)}\n`);
  });
});
