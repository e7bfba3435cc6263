import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { CertificateError, CertificateSet, type ContextOptions } from '../tls/certificates.js';
import { wholeNumberField } from './fields.js';

// `"tls"` on the listener: HTTPS and HTTP/2 to clients. Defaults follow Mozilla's "intermediate"
// server-side TLS recommendation (TLS 1.2 and 1.3, AEAD ciphers with forward secrecy), as Caddy
// and Traefik ship; HTTP/2 limits follow nginx's and node's defaults.

/** Mozilla's "intermediate" cipher list (TLS 1.3 suites first, then TLS 1.2), the default. */
export const MOZILLA_INTERMEDIATE_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
].join(':');

/** TLS versions `minVersion` allows. */
export const TLS_MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

/** HTTP/2 defaults: nginx's http2_max_concurrent_streams 128; node's 10 MB session memory. */
export const HTTP2_DEFAULTS = {
  maxConcurrentStreams: 128,
  maxHeaderListSize: 32 * 1024,
  maxSessionMemory: 10,
  maxResetsPerSecond: 100,
} as const;

const whole = (what: string, dflt: number, min: number, max?: number) =>
  wholeNumberField(what, dflt, min, max, { type: `must be a number: ${what}`, range: `is not a whole number from ${min}${max === undefined ? ' up' : ` to ${max}`}` });

/** `tls.http2`: limits per HTTP/2 connection. */
export const http2Schema = z
  .strictObject({
    maxConcurrentStreams: whole('Streams (requests) one HTTP/2 connection may have open at once', HTTP2_DEFAULTS.maxConcurrentStreams, 1, 2 ** 31 - 1),
    maxHeaderListSize: whole('Bytes of request headers (HPACK-decoded, RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE) one HTTP/2 request may have; more resets the stream', HTTP2_DEFAULTS.maxHeaderListSize, 1024),
    maxSessionMemory: whole('Megabytes one HTTP/2 connection may buffer (node maxSessionMemory); beyond, new streams are refused', HTTP2_DEFAULTS.maxSessionMemory, 1),
    maxResetsPerSecond: whole(
      'Streams a client may cancel per second on one HTTP/2 connection (rapid reset, CVE-2023-44487); more, and the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed',
      HTTP2_DEFAULTS.maxResetsPerSecond,
      1,
    ),
  })
  .meta({ description: 'HTTP/2 limits per client connection' });

/** One certificate entry. */
const certificateSchema = z
  .strictObject({
    cert: z.string().min(1, { message: 'is empty (the path of a PEM certificate, e.g. "/etc/balancer/fullchain.pem")' }).meta({ description: 'PEM certificate file, with its chain (fullchain.pem)' }),
    key: z.string().min(1, { message: 'is empty (the path of a PEM private key, e.g. "/etc/balancer/key.pem")' }).meta({ description: 'PEM private key file (unencrypted)' }),
  })
  .meta({ description: 'A certificate and its key' });

/** The fields of `tls`; other areas (ACME) extend this object with their own. */
export const tlsFields = {
  certificates: z
    .array(certificateSchema)
    .optional()
    .meta({ description: 'Certificates, chosen by SNI (exact name, then wildcard); the first is the default for clients without SNI or with an unknown name' }),
  minVersion: z
    .string()
    .refine((s) => (TLS_MIN_VERSIONS as readonly string[]).includes(s), { message: `is not a TLS version the balancer allows (allowed: ${TLS_MIN_VERSIONS.map((v) => `"${v}"`).join(', ')})` })
    .default('TLSv1.2')
    .meta({ description: 'Lowest TLS version accepted: "TLSv1.2" (default) or "TLSv1.3"', enum: [...TLS_MIN_VERSIONS] }),
  ciphers: z
    .string()
    .min(1, { message: 'is empty (an OpenSSL cipher list)' })
    .default(MOZILLA_INTERMEDIATE_CIPHERS)
    .meta({ description: "OpenSSL cipher list (default: Mozilla's intermediate list)" }),
  http2: http2Schema.prefault({}),
};

/**
 * Whether a `tls` object has what it needs to serve; a phrase saying what is missing otherwise.
 * Areas that bring certificates of their own (ACME) extend this check.
 */
export function missingCertificates(tls: { readonly certificates?: readonly unknown[] | undefined }): string | undefined {
  return tls.certificates === undefined || tls.certificates.length === 0 ? 'has no certificates (give "certificates": [{ "cert": "fullchain.pem", "key": "key.pem" }])' : undefined;
}

/** `"tls": { "certificates": [...], "minVersion", "ciphers", "http2" }`: HTTPS on the listener. */
export const tlsSchema = z
  .strictObject(tlsFields)
  .superRefine((t, ctx) => {
    const why = missingCertificates(t);
    if (why !== undefined) ctx.addIssue({ code: 'custom', input: t, message: why });
  })
  .optional()
  .meta({ description: 'HTTPS on the listener: certificates chosen by SNI, TLS 1.2+, HTTP/2 via ALPN (off unless set)' });

/** The `tls` section as validated from the file. */
export type TlsFile = z.output<typeof tlsSchema>;

/** HTTP/2 limits as the listener uses them. */
export interface Http2Limits {
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
  /** Megabytes. */
  readonly maxSessionMemory: number;
  readonly maxResetsPerSecond: number;
}

/** TLS as the balancer uses it: the certificates read and checked, the options resolved. */
export interface TlsSettings extends ContextOptions {
  /** The certificates of the config file (an empty set when none are configured). */
  readonly certificates: CertificateSet;
  readonly http2: Http2Limits;
}

/**
 * Reads and checks the certificates of `file` (throws CertificateError naming each field and file
 * that cannot be used); undefined when TLS is off.
 */
export function resolveTls(file: TlsFile): TlsSettings | undefined {
  if (file === undefined) return undefined;
  const options: ContextOptions = { minVersion: file.minVersion as ContextOptions['minVersion'], ciphers: file.ciphers };
  try {
    createSecureContext({ ciphers: file.ciphers });
  } catch (e) {
    throw new CertificateError([{ field: 'tls.ciphers', message: `${JSON.stringify(file.ciphers)} is not a cipher list OpenSSL accepts (${(e as Error).message})` }]);
  }
  const entries = file.certificates ?? [];
  const certificates = entries.length === 0 ? CertificateSet.empty(options) : CertificateSet.load(entries, options);
  return { ...options, certificates, http2: file.http2 };
}

/** Thrown by resolveTls for certificates that cannot be served (load.ts turns it into a ConfigError). */
export { CertificateError };
