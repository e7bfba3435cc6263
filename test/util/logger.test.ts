import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTerminalLine } from '../../src/util/logger.js';

const at = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();

test('a terminal log line is one line: time, level, message, and the why when the message lacks it', () => {
  const line = (o: Record<string, unknown>) => formatTerminalLine(JSON.stringify({ level: 40, time: at, ...o }), false);
  assert.equal(line({ msg: 'test notification failed', notifier: 'ops', error: 'HTTP 500' }), '03:04:05.067 WARN  test notification failed (notifier: ops, error: HTTP 500)');
  assert.equal(line({ msg: 'upstream http://a:1 failed: ECONNREFUSED', reason: 'ECONNREFUSED', upstream: 'http://a:1', servers: ['x', 'y'] }), '03:04:05.067 WARN  upstream http://a:1 failed: ECONNREFUSED');
  assert.equal(line({ msg: 'two\n  lines' }), '03:04:05.067 WARN  two lines');
  assert.match(formatTerminalLine(JSON.stringify({ level: 30, time: at, msg: 'hi' }), true), /^03:04:05\.067 \u001b\[32mINFO \u001b\[39m hi$/);
});
