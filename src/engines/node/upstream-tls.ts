// A default import: the CLI must still load on an old Node.js to say it is too old (getCACertificates is 22.15+).
import nodeTls, { type SecureContext } from 'node:tls';
import type { UpstreamTls } from '../../config/upstream-tls.js';

// TLS towards https:// servers, for proxied requests (undici's connect options), WebSocket
// tunnels and health probes (node:https options): the same verification everywhere.

/** The options handed to tls.connect for one https server. */
export interface UpstreamTlsOptions {
  /** Trusted CAs, made once per config (a context per connection would parse every CA each time). */
  readonly secureContext: SecureContext;
  /** SNI and the name checked; undefined: the address's host (no SNI for an IP address). */
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

const contexts = new WeakMap<UpstreamTls, UpstreamTlsOptions>();
let systemCas: string[] | undefined;

// Node's bundled Mozilla CAs (and NODE_EXTRA_CA_CERTS) plus the operating system's store, as
// Traefik and Caddy trust the system roots; read once.
function defaultCas(): string[] {
  systemCas ??= [...new Set([...nodeTls.getCACertificates('default'), ...nodeTls.getCACertificates('system')])];
  return systemCas;
}

/** The tls.connect options for `url` under `tls`; undefined for an http:// server. */
export function upstreamTlsOptions(tls: UpstreamTls, url: URL): UpstreamTlsOptions | undefined {
  if (url.protocol !== 'https:') return undefined;
  let o = contexts.get(tls);
  if (o === undefined) {
    const secureContext = nodeTls.createSecureContext({ ca: tls.ca ?? defaultCas() });
    o = { secureContext, rejectUnauthorized: !tls.insecureSkipVerify, ...(tls.servername !== undefined ? { servername: tls.servername } : {}) };
    contexts.set(tls, o);
  }
  return o;
}

/** True when two configs verify https servers the same way (pools are renewed otherwise). */
export function sameUpstreamTls(a: UpstreamTls, b: UpstreamTls): boolean {
  return a.ca === b.ca && a.servername === b.servername && a.insecureSkipVerify === b.insecureSkipVerify;
}

// OpenSSL's verify results as Node names them, and Node's own name check.
const VERIFY_CODE = /^(?:ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|CERT_|INVALID_CA|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE|HOSTNAME_MISMATCH)/;
const HANDSHAKE_CODE = /^(?:ERR_SSL_|ERR_TLS_|EPROTO$)/;

/**
 * A truthful reason for a TLS failure along `err` and its causes: "certificate verify failed:
 * self-signed certificate", "TLS handshake failed: wrong version number"; undefined otherwise.
 */
export function tlsFailureReason(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    const message = (e as { message?: unknown }).message;
    const text = typeof message === 'string' ? message : String(code);
    if (typeof code === 'string' && VERIFY_CODE.test(code)) return `certificate verify failed: ${text}`;
    // EPROTO is node:https's code for the same OpenSSL errors undici names ERR_SSL_*.
    if (typeof code === 'string' && HANDSHAKE_CODE.test(code) && (code !== 'EPROTO' || text.includes('SSL routines'))) {
      // OpenSSL messages read "...:SSL routines:ssl3_get_record:wrong version number:...": keep the phrase.
      const phrase = /SSL routines:[^:]*:([^:]+)/.exec(text)?.[1] ?? text;
      return `TLS handshake failed: ${phrase.trim()}`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
