#!/usr/bin/env node
// A fake Telegram Bot API for scripts/e2e-n8n.sh: listens on 127.0.0.1 only, answers
// getMe and sendMessage like the real API, and appends every sendMessage call as one JSON
// line to the log file, for the script to assert on.
// Usage: node e2e-n8n-fake-telegram.mjs --token TOKEN --log FILE --port-file FILE
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: { token: { type: 'string' }, log: { type: 'string' }, 'port-file': { type: 'string' } },
});
if (!o.token || !o.log || !o['port-file']) {
  console.error('usage: e2e-n8n-fake-telegram.mjs --token TOKEN --log FILE --port-file FILE');
  process.exit(2);
}
const token = o.token;
let nextId = 1;

const reply = (res, status, obj) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(obj));
};

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    console.log(`fake-telegram: ${req.method} ${url.pathname.replace(token, '<token>')}`);
    if (!m) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (m[1] !== token) return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    if (m[2] === 'getMe') return reply(res, 200, { ok: true, result: { id: 1, is_bot: true, first_name: 'fake', username: 'fake_bot' } });
    if (m[2] !== 'sendMessage') return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not faked' });
    let params;
    try {
      const ct = String(req.headers['content-type'] ?? '');
      params = ct.includes('application/json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
    } catch {
      return reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: body is not JSON' });
    }
    if (params.chat_id === undefined || typeof params.text !== 'string' || params.text === '') {
      return reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat_id and text are required' });
    }
    appendFileSync(o.log, `${JSON.stringify({ at: new Date().toISOString(), params })}\n`);
    const message_id = nextId++;
    return reply(res, 200, {
      ok: true,
      result: { message_id, date: Math.floor(Date.now() / 1000), chat: { id: params.chat_id, type: 'private' }, text: params.text },
    });
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  writeFileSync(o['port-file'], String(port));
  console.log(`fake-telegram: listening on 127.0.0.1:${port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
