import { isIP } from 'node:net';
import { z } from 'zod';
import { parseListenAddress, type ListenAddress } from './listen.js';

// The admin listener's config. An admin API that anyone on the network can reach and change is
// how Traefik leaked TLS keys (CVE-2018-15598): off unless configured, and a listener beyond
// loopback is refused without a token.

/** Default admin address in the docs and examples. */
export const DEFAULT_ADMIN_ADDR = '127.0.0.1:9901';

/** True when `host` reaches only this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** `"admin": { "addr": "127.0.0.1:9901", "token": "${BALANCER_ADMIN_TOKEN}" }`. */
export const adminSchema = z
  .strictObject({
    addr: z
      .string()
      .superRefine((s, ctx) => {
        const r = parseListenAddress(s);
        if (typeof r === 'string') ctx.addIssue({ code: 'custom', input: s, message: r });
      })
      .meta({ description: `Admin API listen address, e.g. "${DEFAULT_ADMIN_ADDR}"; an address beyond loopback needs a token` }),
    token: z
      .string()
      .min(1, { message: 'is empty (an empty token would be no token; leave "token" out for a read-only admin API on loopback)' })
      .refine((s) => !/[\s\0]/.test(s), { message: 'has spaces or control characters, which cannot be sent in an Authorization header' })
      .optional()
      .meta({ description: 'Bearer token for the admin API; use "${BALANCER_ADMIN_TOKEN}". Without it the API is read-only' }),
  })
  .superRefine((a, ctx) => {
    const listen = parseListenAddress(a.addr);
    if (typeof listen === 'string' || a.token !== undefined || isLoopbackHost(listen.host)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['addr'],
      input: a.addr,
      message: `is not a loopback address, and admin.token is not set: an admin API reachable from the network needs a token ("token": "\${BALANCER_ADMIN_TOKEN}"), or listen on "${DEFAULT_ADMIN_ADDR}"`,
    });
  })
  .optional()
  .meta({ description: 'Admin API listener (off unless set): server states, drain/disable/enable, weights, reload' });

/** The `admin` section as validated from the file. */
export type AdminFile = z.output<typeof adminSchema>;

/** The admin listener as the balancer uses it. */
export interface AdminConfig {
  /** As written, e.g. "127.0.0.1:9901". */
  readonly addr: string;
  readonly listen: ListenAddress;
  /** Undefined: the API is read-only. */
  readonly token: string | undefined;
}

/** Resolves the validated `admin` section; undefined when the admin listener is off. */
export function resolveAdmin(file: AdminFile): AdminConfig | undefined {
  if (file === undefined) return undefined;
  const listen = parseListenAddress(file.addr);
  if (typeof listen === 'string') throw new Error('unreachable: schema accepted a bad admin address');
  return { addr: file.addr, listen, token: file.token };
}

/** True when a reload from `a` to `b` changes what needs a restart: the admin listener's address (or turning it on or off). */
export function adminNeedsRestart(a: AdminConfig | undefined, b: AdminConfig | undefined): boolean {
  return a?.addr !== b?.addr;
}
