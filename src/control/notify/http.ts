import { request, type Dispatcher } from 'undici';
import { type Clock } from '../../util/clock.js';
import { NotifyError } from './errors.js';

/** Most of a receiver's answer we read; enough for any error text, small enough to be safe. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** A receiver's answer. */
export interface HttpAnswer {
  readonly status: number;
  /** At most MAX_RESPONSE_BYTES of the body, as UTF-8. */
  readonly body: string;
  /** From a `Retry-After: <seconds>` header, in ms. */
  readonly retryAfterMs: number | undefined;
}

/** How to send one POST. */
export interface PostOptions {
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  /** Aborts the attempt (used by close()). */
  readonly signal?: AbortSignal;
  /** Names the receiver in error messages; never the full URL (it may hold a bot token). */
  readonly label: string;
}

async function readLimited(body: AsyncIterable<Buffer | Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = Buffer.from(chunk);
    parts.push(b.subarray(0, MAX_RESPONSE_BYTES - size));
    size += b.length;
    if (size >= MAX_RESPONSE_BYTES) break; // leaving the loop destroys the stream
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * POSTs a JSON body once, within `timeoutMs` for the whole exchange (connect, headers, body).
 * Resolves with any HTTP answer; rejects only with NotifyError (timeout, network, closed).
 */
export async function postJson(url: string, body: string, headers: Readonly<Record<string, string>>, o: PostOptions): Promise<HttpAnswer> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = o.clock.setTimer(() => {
    timedOut = true;
    ac.abort(new Error('timeout'));
  }, o.timeoutMs);
  const onOuterAbort = (): void => ac.abort(new Error('closed'));
  if (o.signal?.aborted) onOuterAbort();
  else o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
      body,
      signal: ac.signal,
      dispatcher: o.dispatcher,
    });
    const text = await readLimited(res.body);
    const ra = res.headers['retry-after'];
    const raS = typeof ra === 'string' && /^\d+$/.test(ra.trim()) ? Number(ra.trim()) : undefined;
    return { status: res.statusCode, body: text, retryAfterMs: raS === undefined ? undefined : raS * 1000 };
  } catch (e) {
    if (timedOut) throw new NotifyError('E_NOTIFY_TIMEOUT', `${o.label}: no answer within ${o.timeoutMs} ms`, true);
    if (ac.signal.aborted) throw new NotifyError('E_NOTIFY_CLOSED', `${o.label}: notifier closed before the answer came`, false);
    throw new NotifyError('E_NOTIFY_NETWORK', `${o.label}: ${describeNetworkError(e)}`, true);
  } finally {
    o.clock.clearTimer(timer);
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** "ECONNREFUSED", "socket hang up (UND_ERR_SOCKET)": short and free of URLs. */
function describeNetworkError(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof err.cause?.code === 'string' ? err.cause.code : typeof err.code === 'string' ? err.code : undefined;
  const msg = typeof err.cause?.message === 'string' ? err.cause.message : typeof err.message === 'string' ? err.message : String(e);
  if (code !== undefined && msg.includes(code)) return code;
  return code === undefined ? msg : `${msg} (${code})`;
}
