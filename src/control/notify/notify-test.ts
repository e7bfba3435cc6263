import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import type { HealthEvent } from '../health/events.js';
import { createChannel } from './channels.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { NotifierConfig } from './config.js';
import { NotifyError } from './errors.js';
import type { NotifyErrorCode } from '../../util/errors.js';
import type { LogSink } from '../../util/logger.js';
import type { Notification } from './notification.js';

/** The parts of the loaded config `notifyTest` reads (the runtime Config has them all). */
export interface NotifyTestConfig {
  readonly name: string;
  readonly addr: string;
  readonly servers?: readonly unknown[];
  readonly notifications: readonly NotifierConfig[];
}

/** How one notifier fared. */
export interface NotifyTestResult {
  readonly name: string;
  readonly type: NotifierConfig['type'];
  /** Where it sent, safe to print. */
  readonly target: string;
  readonly ok: boolean;
  /** Why it failed; undefined when ok. */
  readonly error: string | undefined;
  readonly code: NotifyErrorCode | undefined;
}

/** The sample event: a made-up server, so nobody mistakes it for a real outage. */
function testEvent(config: NotifyTestConfig, now: number): HealthEvent {
  const healthy = config.servers?.length ?? 0;
  return {
    type: 'server-down',
    server: { name: 'notify-test', addr: 'http://notify-test.invalid' },
    reason: 'test message from "balancer notify-test"; no real server is affected',
    time: now,
    healthy,
    total: healthy + 1,
  };
}

/**
 * Sends one test notification (a `server-down` of a made-up server, `test: true`) to every
 * configured notifier at once: one attempt each, no retries, each notifier's own timeout, so
 * the CLI answers quickly. Bypasses events filters and damping. Never throws for a failed send.
 */
export async function notifyTest(config: NotifyTestConfig, logger: LogSink, clock: Clock = systemClock): Promise<NotifyTestResult[]> {
  const dispatcher = new Agent({ connections: 2 });
  const balancer = { name: config.name, addr: config.addr };
  const n: Notification = { id: randomUUID(), event: testEvent(config, clock.epoch()), test: true };
  try {
    return await Promise.all(
      config.notifications.map(async (c): Promise<NotifyTestResult> => {
        const channel = createChannel(c, { balancer, clock, dispatcher });
        const base = { name: c.name, type: c.type, target: channel.target };
        try {
          await channel.attempt(n, new AbortController().signal);
          // The CLI prints every result once itself; these lines are for --log-level debug.
          logger.debug({ notifier: c.name, target: channel.target }, `test notification sent to ${c.name}`);
          return { ...base, ok: true, error: undefined, code: undefined };
        } catch (e) {
          const err = e instanceof NotifyError ? e : undefined;
          const error = err?.message ?? String(e);
          logger.debug({ notifier: c.name, target: channel.target, code: err?.code, error }, `test notification to ${c.name} failed: ${error}`);
          return { ...base, ok: false, error, code: err?.code };
        }
      }),
    );
  } finally {
    await dispatcher.destroy().catch(() => undefined);
  }
}

/** Lines for the CLI: `ok    webhook-1 (webhook http://host:port)` or `FAIL  … : error`; says so when none are configured. */
export function formatNotifyTestResults(results: readonly NotifyTestResult[]): string {
  if (results.length === 0) return 'no notifiers configured ("notifications" is empty or missing)';
  return results
    .map((r) => `${r.ok ? 'ok  ' : 'FAIL'}  ${r.name} (${r.type} ${r.target})${r.ok ? '' : `: ${r.error ?? 'failed'}`}`)
    .join('\n');
}

/** Exit status for the CLI: 0 when every notifier worked, 1 when one failed or none are configured. */
export function notifyTestExitCode(results: readonly NotifyTestResult[]): number {
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}
