import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkNotifications, DEFAULT_TELEGRAM_API_BASE } from '../../../src/control/notify/config.js';
import { substituteEnv } from '../../../src/control/notify/env.js';

const problems = (raw: unknown, env: Record<string, string> = {}): readonly string[] => checkNotifications(raw, env).problems;

describe('substituteEnv', () => {
  it('replaces ${VAR} in every string, leaves keys and other values alone', () => {
    const r = substituteEnv({ a: 'x-${A}-${B}', n: 1, list: ['${A}', true, null], '${A}': 'k' }, { A: '1', B: '2' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.value, { a: 'x-1-2', n: 1, list: ['1', true, null], '${A}': 'k' });
  });

  it('reports a missing variable with its path and name, and keeps $${ as a literal', () => {
    const r = substituteEnv({ notifications: [{ secret: '${HOOK_SECRET}' }], lit: '$${NOT_A_VAR}' }, {});
    assert.deepEqual(r.problems, ['notifications[0].secret: "${HOOK_SECRET}" uses environment variable HOOK_SECRET, which is not set']);
    assert.deepEqual((r.value as { lit: string }).lit, '${NOT_A_VAR}');
  });

  it('reports malformed references', () => {
    const r = substituteEnv({ a: '${1X}', b: 'abc ${OPEN' }, { '1X': 'no' });
    assert.equal(r.problems.length, 2);
    assert.match(r.problems[0] ?? '', /^a: "\$\{1X\}" has "\$\{1X\}", which is not an environment variable name/);
    assert.match(r.problems[1] ?? '', /^b: .* without a closing "\}"/);
  });

  it('treats a set but empty variable as set (the schema then says what is wrong)', () => {
    assert.deepEqual(substituteEnv('${E}', { E: '' }), { value: '', problems: [] });
  });
});

describe('notifications config', () => {
  it('resolves defaults', () => {
    const r = checkNotifications(
      [
        { type: 'webhook', url: 'https://hooks.example.com/x' },
        { type: 'telegram', botToken: '${TG_TOKEN}', chatId: -1001234 },
      ],
      { TG_TOKEN: '123:abc' },
    );
    assert.deepEqual(r.problems, []);
    const [w, t] = r.notifiers ?? [];
    assert.deepEqual(w, {
      type: 'webhook',
      name: 'webhook-1',
      url: 'https://hooks.example.com/x',
      secret: undefined,
      headers: {},
      events: ['server-down', 'server-up', 'all-down', 'recovered', 'certificate-failing', 'certificate-expiring'],
      timeoutMs: 5000,
      retries: 3,
      retryDelayMs: 1000,
      queueSize: 100,
      flapping: { changes: 4, windowMs: 120_000 },
    });
    assert.equal(t?.type, 'telegram');
    assert.equal(t?.name, 'telegram-2');
    if (t?.type === 'telegram') {
      assert.equal(t.botToken, '123:abc');
      assert.equal(t.chatId, -1001234);
      assert.equal(t.apiBase, DEFAULT_TELEGRAM_API_BASE);
    }
  });

  it('takes explicit settings, seconds to ms, flapping off', () => {
    const [w] = checkNotifications(
      [
        {
          type: 'webhook',
          name: 'ops',
          url: 'http://127.0.0.1:5678/webhook/balancer',
          secret: '${S}',
          headers: { Authorization: 'Bearer ${T}' },
          events: ['all-down', 'recovered', 'all-down'],
          timeout: 2.5,
          retries: 0,
          retryDelay: 0.25,
          queueSize: 7,
          flapping: { enabled: false },
        },
      ],
      { S: 'shh', T: 'tok' },
    ).notifiers ?? [];
    assert.equal(w?.type, 'webhook');
    if (w?.type !== 'webhook') return;
    assert.equal(w.secret, 'shh');
    assert.deepEqual(w.headers, { Authorization: 'Bearer tok' });
    assert.deepEqual(w.events, ['all-down', 'recovered']);
    assert.equal(w.timeoutMs, 2500);
    assert.equal(w.retries, 0);
    assert.equal(w.retryDelayMs, 250);
    assert.equal(w.queueSize, 7);
    assert.equal(w.flapping, undefined);
  });

  it('names a missing environment variable', () => {
    assert.deepEqual(problems([{ type: 'telegram', botToken: '${TG_TOKEN}', chatId: 1 }]), [
      'notifications[0].botToken: "${TG_TOKEN}" uses environment variable TG_TOKEN, which is not set',
    ]);
  });

  it('rejects bad URLs', () => {
    assert.deepEqual(problems([{ type: 'webhook', url: 'ftp://example.com/x' }]), [
      'notifications[0].url: "ftp://example.com/x" is not an http:// or https:// URL',
    ]);
    assert.deepEqual(problems([{ type: 'webhook', url: 'not a url' }]), ['notifications[0].url: "not a url" is not an http:// or https:// URL']);
    assert.deepEqual(problems([{ type: 'telegram', botToken: 't', chatId: 1, apiBase: 'localhost:8081' }]), [
      'notifications[0].apiBase: "localhost:8081" is not an http:// or https:// URL',
    ]);
    assert.match(problems([{ type: 'webhook', url: 'http://u:p@h/' }])[0] ?? '', /has a user name or password in it/);
  });

  it('rejects an unknown or missing type', () => {
    assert.deepEqual(problems([{ type: 'slack', url: 'http://h/' }]), [
      'notifications[0].type: "slack" is not a notifier type (allowed: webhook, telegram)',
    ]);
    assert.deepEqual(problems([{ url: 'http://h/' }]), ['notifications[0].type: is required (allowed: webhook, telegram)']);
  });

  it('requires chatId and botToken for telegram', () => {
    assert.deepEqual(problems([{ type: 'telegram', botToken: '1:a' }]), [
      'notifications[0].chatId: is required (a number like -1001234567890, or "@channelname")',
    ]);
    assert.deepEqual(problems([{ type: 'telegram', chatId: '@ops' }]), ['notifications[0].botToken: is required']);
    assert.deepEqual(problems([{ type: 'telegram', botToken: '1:a', chatId: 1.5 }]), [
      'notifications[0].chatId: 1.5 is not a chat id (a number like -1001234567890, or "@channelname")',
    ]);
  });

  it('does not print the value of a substituted secret', () => {
    const p = problems([{ type: 'telegram', botToken: '${TG_TOKEN}', chatId: 1 }], { TG_TOKEN: 'super secret/with slash' });
    assert.deepEqual(p, ['notifications[0].botToken: "${TG_TOKEN}" has spaces, "/", "?" or "#", which a bot token never has']);
  });

  it('hints at misspelt keys with the keys of that notifier type', () => {
    const p = problems([{ type: 'telegram', botToken: '1:a', chatID: 5 }]);
    assert.ok(p.includes('notifications[0].chatID: unknown key (did you mean "chatId"?); allowed: type, botToken, chatId, apiBase, name, events, timeout, retries, retryDelay, queueSize, flapping'), p.join('\n'));
  });

  it('rejects bad events, headers, numbers, and duplicate names', () => {
    const p = problems([
      { type: 'webhook', url: 'http://h/', events: ['down'] },
      { type: 'webhook', url: 'http://h/', headers: { 'Content-Type': 'text/plain' } },
      { type: 'webhook', url: 'http://h/', retries: 1.5, queueSize: 0, timeout: -1 },
      { type: 'webhook', url: 'http://h/', events: [] },
    ]);
    assert.deepEqual(p, [
      'notifications[0].events[0]: "down" is not an event type (allowed: server-down, server-up, all-down, recovered, certificate-failing, certificate-expiring)',
      'notifications[1].headers.Content-Type: "text/plain" is not allowed: the notifier sets "Content-Type" itself',
      'notifications[2].timeout: -1 is not a number of seconds above 0 and at most 300 (Time for one delivery attempt)',
      'notifications[2].retries: 1.5 is not a whole number from 0 to 20 (Retries after a failed attempt)',
      'notifications[2].queueSize: 0 is not a whole number from 1 to 10000 (Messages held while the receiver is slow or down; beyond it the oldest are dropped)',
      'notifications[3].events: is empty; list at least one of server-down, server-up, all-down, recovered, certificate-failing, certificate-expiring, or leave "events" out for all',
    ]);
    // Checked once every entry is valid on its own.
    assert.deepEqual(problems([{ type: 'webhook', url: 'http://h/', name: 'a' }, { type: 'telegram', botToken: '1:a', chatId: 1, name: 'a' }]), [
      'notifications[1].name: "a" is a duplicate of notifications[0].name',
    ]);
  });

  it('accepts an absent or empty list', () => {
    assert.deepEqual(checkNotifications(undefined, {}), { notifiers: [], problems: [] });
    assert.deepEqual(checkNotifications([], {}), { notifiers: [], problems: [] });
  });
});

describe('header values', () => {
  it('rejects a line break that came from an environment variable, showing the value as written', () => {
    assert.deepEqual(problems([{ type: 'webhook', url: 'http://h/', headers: { 'X-Token': '${T}' } }], { T: 'a\r\nX-Evil: 1' }), [
      'notifications[0].headers.X-Token: "${T}" has a line break or NUL, which a header value cannot have',
    ]);
  });
});
