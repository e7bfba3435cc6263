import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';

// How the balancer verifies `https://` servers (Traefik's serversTransport, nginx's proxy_ssl_*):
// verified by default against the system and bundled CAs, SNI and the name checked are each
// server address's host, unless `servername` says otherwise; `insecureSkipVerify` turns checks
// off, loudly. One top-level object: every https server is verified the same way.

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads a CA file: the PEM certificates in it, or a phrase saying why it cannot be used
 * ("does not exist", "holds no PEM certificate"...).
 */
export function readCaFile(path: string): { pem: string; count: number } | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'is a CA file that does not exist';
    if (code === 'EACCES') return 'is a CA file that cannot be read (permission denied)';
    if (code === 'EISDIR') return 'is a directory, not a CA file (PEM certificates)';
    return `is a CA file that cannot be read (${code ?? String(e)})`;
  }
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return 'is a CA file with no PEM certificate in it ("-----BEGIN CERTIFICATE-----")';
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b);
    } catch (e) {
      return `is a CA file whose certificate ${i + 1} does not parse (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  return { pem: blocks.join('\n'), count: blocks.length };
}

/** `"upstreamTls": { "ca": "/etc/balancer/backend-ca.pem", "servername": "api.internal", "insecureSkipVerify": false }`. */
export const upstreamTlsSchema = z
  .strictObject({
    ca: z
      .string({ error: 'is not a string (a path to a PEM file of CA certificates)' })
      .min(1, { message: 'is empty (a path to a PEM file of CA certificates)' })
      .superRefine((s, ctx) => {
        const r = readCaFile(s);
        if (typeof r === 'string') ctx.addIssue({ code: 'custom', input: s, message: r });
      })
      .optional()
      .meta({ description: 'PEM file of the CA certificates https servers are verified against, instead of the system CAs (nginx proxy_ssl_trusted_certificate, Traefik rootCAs)' }),
    servername: z
      .string({ error: 'is not a string (a host name)' })
      .regex(/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/, { message: 'is not a host name like "api.internal"' })
      .refine((s) => isIP(s) === 0, { message: 'is an IP address; SNI carries names only (leave servername out and an IP address in a server address is checked against the certificate\'s IP entries)' })
      .optional()
      .meta({ description: 'Name sent in SNI and checked against the server certificate, instead of each address\'s host (nginx proxy_ssl_name, Traefik serverName)' }),
    insecureSkipVerify: z
      .boolean({ error: 'is not true or false' })
      .default(false)
      .meta({ description: 'Do not verify https servers\' certificates at all (lab setups only; warned about at start and on every reload) (default false)' }),
  })
  .optional()
  .meta({ description: 'How https:// servers (static and DNS-discovered) are verified: system CAs by default, SNI = the address\'s host' });

/** The `upstreamTls` section as validated from the file. */
export type UpstreamTlsFile = z.output<typeof upstreamTlsSchema>;

/** How https servers are verified, as the balancer uses it. */
export interface UpstreamTls {
  /** The CA file as written, or undefined for the system CAs. */
  readonly caFile: string | undefined;
  /** Its PEM certificates (read when the config is loaded). */
  readonly ca: string | undefined;
  /** SNI and checked name instead of each address's host. */
  readonly servername: string | undefined;
  /** Certificates are not verified. */
  readonly insecureSkipVerify: boolean;
}

/** The settings when `upstreamTls` is left out: verify against the system CAs. */
export const DEFAULT_UPSTREAM_TLS: UpstreamTls = { caFile: undefined, ca: undefined, servername: undefined, insecureSkipVerify: false };

/** Resolves the validated section, reading the CA file; a problem (a file gone since validation) comes back as `upstreamTls.ca: ...`. */
export function resolveUpstreamTls(file: UpstreamTlsFile): UpstreamTls | string {
  if (file === undefined) return DEFAULT_UPSTREAM_TLS;
  let ca: string | undefined;
  if (file.ca !== undefined) {
    const r = readCaFile(file.ca);
    if (typeof r === 'string') return `upstreamTls.ca: ${JSON.stringify(file.ca)} ${r}`;
    ca = r.pem;
  }
  const tls = { caFile: file.ca, servername: file.servername, insecureSkipVerify: file.insecureSkipVerify } as UpstreamTls;
  // The PEM text stays out of JSON (the admin API's /api/config shows `caFile`, not the certificates).
  Object.defineProperty(tls, 'ca', { value: ca, enumerable: false });
  return tls;
}

/** The loud warning for `insecureSkipVerify` (logged at start and on every reload), or undefined. */
export function upstreamTlsWarning(file: string, tls: UpstreamTls): string | undefined {
  if (!tls.insecureSkipVerify) return undefined;
  return `${file}: upstreamTls.insecureSkipVerify: true: certificates of https servers are NOT verified; anyone on the path to a server can read and change its traffic (use "ca" with the servers' CA instead outside a lab)`;
}
