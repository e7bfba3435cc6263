#!/usr/bin/env node
// Publishes one health event through the balancer's real webhook notifier (compiled, in dist/)
// and waits until it is delivered; exits non-zero if it is not. Used by scripts/e2e-n8n.sh
// until that script runs the real balancer.
// Usage: node e2e-n8n-publish.mjs --url URL --header-name N --header-value V
//        --type server-down --server-name web-2 --server-addr http://127.0.0.1:9001
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = (p) => import(pathToFileURL(join(root, 'dist/src', p)).href);
const { HealthEvents } = await load('health/events.js');
const { checkNotifications } = await load('notify/config.js');
const { Notifier } = await load('notify/notifier.js');

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    'header-name': { type: 'string' },
    'header-value': { type: 'string' },
    type: { type: 'string', default: 'server-down' },
    'server-name': { type: 'string', default: 'web-2' },
    'server-addr': { type: 'string', default: 'http://127.0.0.1:9001' },
  },
});
if (!o.url) {
  console.error('usage: e2e-n8n-publish.mjs --url URL [--header-name N --header-value V] [--type T] [--server-name N] [--server-addr A]');
  process.exit(2);
}

const headers = o['header-name'] ? { [o['header-name']]: o['header-value'] ?? '' } : {};
const checked = checkNotifications([{ type: 'webhook', name: 'n8n', url: o.url, headers, retries: 2, retryDelay: 0.5, timeout: 30 }], process.env);
if (!checked.notifiers) {
  console.error(checked.problems.join('\n'));
  process.exit(2);
}
const log = (level) => (obj, msg) => console.log(`publish: ${level} ${msg} ${JSON.stringify(obj)}`);
const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') };
const events = new HealthEvents();
const notifier = new Notifier(events, { balancer: { name: 'e2e-balancer', addr: '127.0.0.1:8000' }, notifiers: checked.notifiers, logger });
const down = o.type === 'server-down' || o.type === 'all-down';
events.publish({
  type: o.type,
  server: { name: o['server-name'], addr: o['server-addr'] },
  reason: down ? '3 failed checks, last: ECONNREFUSED' : '2 successful checks',
  time: Date.now(),
  healthy: down ? 1 : 2,
  total: 2,
});
const report = await notifier.close(60_000);
const st = report.stats[0];
console.log(`publish: sent=${st.sent} failed=${st.failed} dropped=${st.dropped}`);
process.exit(st.sent === 1 ? 0 : 1);
