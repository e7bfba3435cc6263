import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, redactConfig, redactUrl } from '../../src/admin/redact.js';
import { parseConfig } from '../../src/config/load.js';

const env = { TG: '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11', HOOK: 'hook-bearer-xyz', HMAC: 'hmac-key-0123456789', ADMIN: 'admin-token-abcdef' };

const file = {
  servers: [{ addr: 'http://127.0.0.1:9000', name: 'a' }],
  admin: { addr: '127.0.0.1:9901', token: '${ADMIN}' },
  notifications: [
    {
      type: 'webhook',
      url: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX1?token=qs-secret&channel=ops',
      secret: '${HMAC}',
      headers: { Authorization: 'Bearer ${HOOK}', 'X-Team': 'ops' },
    },
    { type: 'telegram', botToken: '${TG}', chatId: -1001234567890 },
  ],
};

test('redactConfig: no secret of a loaded config survives, and the rest is kept', () => {
  const config = parseConfig(JSON.stringify(file), 'balancer.json', env);
  const out = redactConfig(config);
  const text = JSON.stringify(out);
  for (const secret of [...Object.values(env), 'qs-secret', 'XXXXXXXXXXXXXXXXXXXXXXXX1']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  const o = out as { admin: { token: string; addr: string }; notifications: Record<string, unknown>[]; servers: { addr: string }[]; name: string };
  assert.equal(o.admin.token, REDACTED);
  assert.equal(o.admin.addr, '127.0.0.1:9901');
  assert.equal(o.notifications[0]?.secret, REDACTED);
  assert.deepEqual(o.notifications[0]?.headers, { Authorization: REDACTED, 'X-Team': REDACTED });
  assert.equal(o.notifications[0]?.url, `https://hooks.slack.com/services/T00000000/B00000000/${REDACTED}?token=${REDACTED}&channel=${REDACTED}`);
  assert.equal(o.notifications[1]?.botToken, REDACTED);
  assert.equal(o.notifications[1]?.chatId, -1001234567890);
  assert.equal(o.servers[0]?.addr, 'http://127.0.0.1:9000');
  assert.equal(o.name, 'balancer');
  // The input is not changed.
  assert.equal(config.admin?.token, env.ADMIN);
});

test('redactConfig: an absent token stays absent (a read-only admin API is visible as such)', () => {
  const config = parseConfig(JSON.stringify({ servers: file.servers, admin: { addr: '127.0.0.1:9901' } }), 'b.json', env);
  const o = redactConfig(config) as { admin: Record<string, unknown> };
  assert.equal('token' in o.admin, false);
});

test('redactConfig: secrets are found by field name anywhere, numbers included', () => {
  const out = redactConfig({ a: { apiKey: 'k', password: 'p', nested: [{ clientSecret: 's', pin: 1234, authToken: 99 }] }, plain: 'x' });
  assert.deepEqual(out, { a: { apiKey: REDACTED, password: REDACTED, nested: [{ clientSecret: REDACTED, pin: 1234, authToken: REDACTED }] }, plain: 'x' });
});

test('redactUrl: credentials, query values and token-like path segments', () => {
  assert.equal(redactUrl('https://user:pw@example.com/hook'), 'https://redacted@example.com/hook');
  assert.equal(redactUrl('https://example.com/hook?key=abc&x=1'), `https://example.com/hook?key=${REDACTED}&x=${REDACTED}`);
  assert.equal(redactUrl('https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'), `https://discord.com/api/webhooks/123456789012345678/${REDACTED}`);
  // Names and plain paths are kept.
  assert.equal(redactUrl('https://n8n.example.com/webhook/balancer-alerts'), 'https://n8n.example.com/webhook/balancer-alerts');
  assert.equal(redactUrl('http://127.0.0.1:9000'), 'http://127.0.0.1:9000');
  assert.equal(redactUrl('not a url'), 'not a url');
});
