import { z } from 'zod';
import { parseListenAddress, type ListenAddress } from './listen.js';

// The plain-HTTP listener that sends every request to HTTPS (and answers ACME HTTP-01
// challenges): `"redirectHttp": ":80"`, the address syntax of `addr`. It is meant with `tls` on
// the main listener, whose port the redirects name.

/** `"redirectHttp": ":80"`. */
export const redirectHttpSchema = z
  .string({ error: 'is not a listen address string like ":80"' })
  .superRefine((s, ctx) => {
    const r = parseListenAddress(s);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', input: s, message: r });
  })
  .optional()
  .meta({
    description:
      'Second, plain-HTTP listener, e.g. ":80": answers every request with 308 to https://<host><path> on the main listener\'s port, and serves ACME HTTP-01 challenges; meant with "tls". Changing it needs a restart',
  });

/** The redirect listener as the balancer uses it. */
export interface RedirectHttpConfig {
  /** As written, e.g. ":80". */
  readonly addr: string;
  readonly listen: ListenAddress;
}

/** Resolves the validated field; undefined when the redirect listener is off. */
export function resolveRedirectHttp(addr: string | undefined): RedirectHttpConfig | undefined {
  if (addr === undefined) return undefined;
  const listen = parseListenAddress(addr);
  if (typeof listen === 'string') throw new Error('unreachable: schema accepted a bad redirectHttp address');
  return { addr, listen };
}

/** True when a reload from `a` to `b` changes the redirect listener's address (or turns it on or off): that needs a restart. */
export function redirectNeedsRestart(a: RedirectHttpConfig | undefined, b: RedirectHttpConfig | undefined): boolean {
  return a?.addr !== b?.addr;
}

/** The warning for a redirect listener beside a main listener without `tls` (it redirects to a port that speaks plain HTTP), or undefined. */
export function redirectHttpWarning(file: string, redirect: RedirectHttpConfig | undefined, hasTls: boolean, addr: string): string | undefined {
  if (redirect === undefined || hasTls) return undefined;
  return `${file}: redirectHttp: is set but "tls" is not: requests to ${redirect.addr} are redirected to https on ${addr}, which serves plain HTTP; set "tls" (see the README's HTTPS part)`;
}
