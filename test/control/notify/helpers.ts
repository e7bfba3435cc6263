// Test helpers for notify tests: loopback receivers, health events, notifier configs.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthEvent, HealthEventType } from '../../../src/control/health/events.js';

/** A request a receiver got. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** How a receiver answers: status and body, or 'hang' to never answer. */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

/** A loopback HTTP server recording requests. */
export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: Received[];
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1, port 0; `answer` picks the reply per request (0-based index). */
export async function startReceiver(answer: (req: Received, index: number) => Answer = () => ({ status: 200, body: 'ok' })): Promise<Receiver> {
  const requests: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const a = answer(r, requests.length);
      requests.push(r);
      if (a === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fake Telegram Bot API: accepts sendMessage for `token`, answers like the real one. */
export async function startFakeTelegram(
  token: string,
  special: (index: number) => Answer | undefined = () => undefined,
): Promise<Receiver> {
  return startReceiver((req, i) => {
    const s = special(i);
    if (s !== undefined) return s;
    if (req.url !== `/bot${token}/sendMessage`) return { status: 404, body: JSON.stringify({ ok: false, error_code: 404, description: 'Not Found' }) };
    const msg = JSON.parse(req.body) as { chat_id?: unknown; text?: unknown };
    if (msg.chat_id === undefined || typeof msg.text !== 'string') {
      return { status: 400, body: JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: chat_id or text missing' }) };
    }
    return { status: 200, body: JSON.stringify({ ok: true, result: { message_id: i + 1, chat: { id: msg.chat_id }, text: msg.text } }) };
  });
}

/** A health event with sensible defaults. */
export function healthEvent(type: HealthEventType, name = 'web-2', addr = 'http://localhost:9001', more: Partial<HealthEvent> = {}): HealthEvent {
  return {
    type,
    server: { name, addr },
    reason: type === 'server-down' || type === 'all-down' ? '3 failed checks, last: ECONNREFUSED' : '2 successful checks',
    time: Date.UTC(2025, 0, 15, 12, 0, 0),
    healthy: type === 'server-down' ? 3 : 4,
    total: 4,
    ...more,
  };
}

import { checkNotifications, type NotifierConfig } from '../../../src/control/notify/config.js';

/** Resolves raw `notifications` entries through the real schema; throws on problems. */
export function notifiers(raw: unknown[], env: Record<string, string> = {}): NotifierConfig[] {
  const r = checkNotifications(raw, env);
  if (r.notifiers === undefined) throw new Error(`bad test config:\n${r.problems.join('\n')}`);
  return r.notifiers;
}
