import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { isHttpUrl, NOT_HTTP_URL } from './fields.js';

// Automatic certificates (ACME): "tls": { "acme": {...} } (one field of the `tls` object).

/** Let's Encrypt's production directory: the default, as in Caddy and Traefik. */
export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
/** Let's Encrypt's staging directory: untrusted certificates, generous rate limits; for trying a setup. */
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
/** Default storage folder (relative to the working directory). */
export const DEFAULT_ACME_STORAGE = './certs';
/** Challenge types the balancer can answer. */
export const ACME_CHALLENGES = ['http-01'] as const;

// RFC 1123 host names, lower case or not; HTTP-01 cannot prove a wildcard, so "*." is refused.
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** Why `s` cannot be a domain of an HTTP-01 certificate, or undefined when it can. */
export function domainProblem(s: string): string | undefined {
  if (s.startsWith('*.')) return 'is a wildcard name; HTTP-01 cannot prove a wildcard (list each name, or use certificates from another tool in "tls.certificates")';
  if (!HOST_NAME.test(s)) return 'is not a DNS name (letters, digits, "-" and ".", e.g. "example.com")';
  if (/^[0-9.]+$/.test(s)) return 'is an IP address; ACME certificates here are for DNS names';
  return undefined;
}

/** `"acme": { "email", "domains", "directory", "storage", "ca", "challenge" }`. */
export const acmeSchema = z
  .strictObject({
    email: z
      .string()
      .regex(/^[^@\s]+@[^@\s]+$/, { message: 'is not an e-mail address (the CA sends expiry warnings and account notices there)' })
      .meta({ description: 'Contact address of the ACME account (the CA writes there about expiring certificates or problems)' }),
    domains: z
      .array(
        z.string().superRefine((s, ctx) => {
          const why = domainProblem(s);
          if (why !== undefined) ctx.addIssue({ code: 'custom', input: s, message: why });
        }),
      )
      .min(1, { message: 'is empty (list at least one domain name to get a certificate for)' })
      .refine((a) => new Set(a.map((d) => d.toLowerCase().replace(/\.$/, ''))).size === a.length, { message: 'lists a domain twice' })
      .meta({ description: 'Domain names to get certificates for, one certificate each; each must reach this balancer on port 80 (HTTP-01)' }),
    directory: z
      .string()
      .refine(isHttpUrl, { message: NOT_HTTP_URL })
      .default(LETS_ENCRYPT_PRODUCTION)
      .meta({ description: `ACME directory URL (default Let's Encrypt production; staging: ${LETS_ENCRYPT_STAGING})` }),
    storage: z
      .string()
      .min(1, { message: 'is empty (a folder for the account key and certificates)' })
      .refine((s) => !s.includes('\0'), { message: 'has a NUL character, which no path can hold' })
      .default(DEFAULT_ACME_STORAGE)
      .meta({ description: `Folder for the account key, certificates and the lock, created mode 0700; may be shared by several balancers (default "${DEFAULT_ACME_STORAGE}")` }),
    ca: z
      .string()
      .min(1, { message: 'is empty (a PEM file of CA certificates to trust for the directory, or leave "ca" out)' })
      .optional()
      .meta({ description: 'PEM file of extra CA certificates trusted for the ACME directory\'s own HTTPS (a private CA, or pebble in tests)' }),
    challenge: z
      .string()
      .refine((s) => (ACME_CHALLENGES as readonly string[]).includes(s), {
        message: `is not a supported challenge (allowed: ${ACME_CHALLENGES.map((c) => `"${c}"`).join(', ')})`,
      })
      .default('http-01')
      .meta({ description: 'How domain control is proved: "http-01" (answered on the HTTP redirect listener, port 80)', enum: [...ACME_CHALLENGES] }),
  })
  .optional()
  .meta({ description: 'Automatic certificates from an ACME CA such as Let\'s Encrypt (off unless set)' });

/** The `acme` section as validated from the file. */
export type AcmeFile = z.output<typeof acmeSchema>;

/** ACME settings as the balancer uses them. */
export interface AcmeConfig {
  readonly email: string;
  /** Lower case, without a trailing dot. */
  readonly domains: readonly string[];
  readonly directory: string;
  /** Absolute path of the storage folder. */
  readonly storage: string;
  /** Absolute path of the extra CA file, when set. */
  readonly ca?: string;
  readonly challenge: (typeof ACME_CHALLENGES)[number];
}

/** Resolves the validated section (paths made absolute against `cwd`); undefined when ACME is off. */
export function resolveAcme(file: AcmeFile, cwd: string = process.cwd()): AcmeConfig | undefined {
  if (file === undefined) return undefined;
  return {
    email: file.email,
    domains: file.domains.map((d) => d.toLowerCase().replace(/\.$/, '')),
    directory: file.directory,
    storage: resolve(cwd, file.storage),
    ...(file.ca !== undefined ? { ca: resolve(cwd, file.ca) } : {}),
    challenge: file.challenge as AcmeConfig['challenge'], // the schema allowed only ACME_CHALLENGES
  };
}

/**
 * What keeps valid ACME settings from working, each as `field: phrase`: HTTP-01 needs the plain
 * HTTP listener (`redirectHttp`), and a `ca` file must hold PEM certificates.
 */
export function acmeProblems(acme: AcmeConfig, hasRedirectListener: boolean): string[] {
  const problems: string[] = [];
  if (acme.challenge === 'http-01' && !hasRedirectListener) {
    problems.push('tls.acme: needs "redirectHttp" (e.g. ":80"): the CA checks HTTP-01 challenges over plain HTTP on port 80, which that listener answers');
  }
  if (acme.ca !== undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(acme.ca, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`tls.acme.ca: ${JSON.stringify(acme.ca)} cannot be read: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e)}`);
    }
    if (text !== undefined && !text.includes('-----BEGIN CERTIFICATE-----')) {
      problems.push(`tls.acme.ca: ${JSON.stringify(acme.ca)} is not a PEM file of CA certificates (no "-----BEGIN CERTIFICATE-----" block)`);
    }
  }
  return problems;
}
