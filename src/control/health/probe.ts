import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ActiveCheckSettings } from './config.js';
import { statusMatches } from './status-range.js';
import { joinPath, pathPrefix } from '../../engines/node/upstream-path.js';
import type { ProbeFailureCode } from '../../util/errors.js';
import { DEFAULT_UPSTREAM_TLS } from '../../config/upstream-tls.js';
import { tlsFailureReason, upstreamTlsOptions } from '../../engines/node/upstream-tls.js';

/** Result of one probe. */
export type ProbeResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: ProbeFailureCode; readonly reason: string };

/** What a probe needs from the active check settings. */
export type ProbeOptions = Pick<ActiveCheckSettings, 'type' | 'path' | 'timeoutMs' | 'expectStatus' | 'expectBody' | 'upstreamTls'>;

/** Bytes of body searched for `expectBody`; a health page bigger than this is a mistake. */
export const PROBE_BODY_LIMIT = 64 * 1024;

const USER_AGENT = 'balancer-health-check';

const fail = (code: ProbeFailureCode, reason: string): ProbeResult => ({ ok: false, code, reason });
const OK: ProbeResult = { ok: true };

/** Maps a socket, TLS or parser error to a short reason: its code when it has one ("ECONNREFUSED"). */
export function errorResult(err: unknown): ProbeResult {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const tls = tlsFailureReason(err);
  if (tls !== undefined) return fail('E_PROBE_TLS', tls);
  const reason = code ?? (err instanceof Error ? err.message : String(err));
  if (code?.startsWith('HPE_')) return fail('E_PROBE_PROTOCOL', reason);
  if (code !== undefined && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code))) {
    return fail('E_PROBE_TLS', reason);
  }
  return fail('E_PROBE_CONNECT', reason);
}

/**
 * Runs `attempt` with a whole-probe deadline and cancellation. `attempt` gets a
 * `finish` to call once (later calls are ignored) and returns its cleanup.
 */
function withDeadline(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  attempt: (finish: (r: ProbeResult) => void) => () => void,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(fail('E_PROBE_ABORTED', 'aborted'));
    let settled = false;
    let cleanup: (() => void) | undefined;
    const onAbort = () => finish(fail('E_PROBE_ABORTED', 'aborted'));
    const timer = setTimeout(() => finish(fail('E_PROBE_TIMEOUT', `timeout after ${timeoutMs} ms`)), timeoutMs);
    function finish(r: ProbeResult): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup?.();
      resolve(r);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = attempt(finish);
    // `attempt` may have finished synchronously, before `cleanup` was known.
    if (settled) cleanup();
  });
}

/**
 * HTTP(S) GET of `path` on the server, joined to the server address's path as proxied requests
 * are ("http://h/app" and "/health" give "/app/health"): passes on an expected status and, if
 * asked, a body containing `expectBody`.
 */
export function probeHttp(server: URL, opts: ProbeOptions, signal?: AbortSignal): Promise<ProbeResult> {
  return withDeadline(opts.timeoutMs, signal, (finish) => {
    const mod = server.protocol === 'https:' ? https : http;
    // agent: false opens a fresh connection each time, so a dead listener is seen even when pooled sockets linger.
    const req = mod.request(new URL(server.origin), {
      path: joinPath(pathPrefix(server), opts.path),
      method: 'GET',
      agent: false,
      ...upstreamTlsOptions(opts.upstreamTls ?? DEFAULT_UPSTREAM_TLS, server),
      headers: { 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
    });
    req.on('error', (err) => finish(errorResult(err)));
    req.on('response', (res) => {
      res.on('error', (err) => finish(errorResult(err)));
      const status = res.statusCode ?? 0;
      if (!statusMatches(status, opts.expectStatus)) return finish(fail('E_PROBE_STATUS', `status ${status}`));
      if (opts.expectBody === undefined) return finish(OK);
      const needle = Buffer.from(opts.expectBody);
      // Keep only the last needle.length - 1 bytes between chunks: enough to find a match split across them.
      let tail: Buffer = Buffer.alloc(0);
      let seen = 0;
      const mismatch = () => fail('E_PROBE_BODY', `body mismatch: no ${JSON.stringify(opts.expectBody)}`);
      res.on('data', (chunk: Buffer) => {
        const room = PROBE_BODY_LIMIT - seen;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        seen += part.length;
        const hay = tail.length === 0 ? part : Buffer.concat([tail, part]);
        if (hay.includes(needle)) return finish(OK);
        if (seen >= PROBE_BODY_LIMIT) return finish(mismatch());
        tail = hay.subarray(Math.max(0, hay.length - (needle.length - 1)));
      });
      res.on('end', () => finish(mismatch()));
    });
    req.end();
    return () => req.destroy();
  });
}

/** TCP connect to the server's port: passes once the connection is accepted. */
export function probeTcp(server: URL, opts: Pick<ProbeOptions, 'timeoutMs'>, signal?: AbortSignal): Promise<ProbeResult> {
  return withDeadline(opts.timeoutMs, signal, (finish) => {
    const port = server.port !== '' ? Number(server.port) : server.protocol === 'https:' ? 443 : 80;
    // WHATWG URLs keep IPv6 brackets in hostname; sockets want the bare address.
    const host = server.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = net.connect({ host, port });
    socket.on('connect', () => finish(OK));
    socket.on('error', (err) => finish(errorResult(err)));
    return () => socket.destroy();
  });
}

/** One probe of the configured type. */
export function probe(server: URL, opts: ProbeOptions, signal?: AbortSignal): Promise<ProbeResult> {
  return opts.type === 'tcp' ? probeTcp(server, opts, signal) : probeHttp(server, opts, signal);
}
