// Who may talk to the admin API: every check that can refuse a request before it reaches a
// route, as one pure function of the request head, so the whole policy is table-tested.
//
// Learned from admin-API CVEs: Traefik's exposed API (CVE-2018-15598) and Caddy's cross-site
// request forgery against a loopback admin API (CVE-2026-27589). A web page in the operator's
// browser can send requests to 127.0.0.1, and a DNS name the attacker controls can be rebound
// to 127.0.0.1; so the token is checked, writes always need it, and Host, Origin and
// Sec-Fetch-Site must say the request comes from this machine's admin address, not a web page.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { AdminErrorCode } from '../util/errors.js';

/** A refused request: the status, a stable code and a reason for the JSON error answer. */
export interface Refusal {
  readonly status: number;
  readonly code: AdminErrorCode;
  readonly message: string;
  /** Extra answer headers (WWW-Authenticate on 401). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the guard needs to know about the listener. */
export interface GuardOptions {
  /** The configured token; undefined makes the API read-only. */
  readonly token: string | undefined;
  /** The configured listen host (undefined, "0.0.0.0" or "::" for every interface). */
  readonly host: string | undefined;
  /** The bound port. */
  readonly port: number;
}

/** The parts of a request the guard looks at. */
export interface GuardRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
}

/** Checks one request head; undefined when it may go on to its route. */
export type Guard = (req: GuardRequest) => Refusal | undefined;

/** Methods that change nothing; every other method is a write. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for GET, HEAD and OPTIONS. */
export function isReadMethod(method: string): boolean {
  return READ_METHODS.has(method);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Lower case, IPv6 in brackets, no trailing dot: the form hosts are compared in. */
function normaliseHost(host: string): string {
  let h = host.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (isIP(h) === 6) return `[${h}]`;
  return h;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** "host:port" from a Host header or an Origin's authority; undefined when malformed. */
function splitAuthority(authority: string, defaultPort: number): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/\s@]+)(?::(\d{1,5}))?$/.exec(authority);
  if (m === null || m[1] === undefined) return undefined;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  return { host: normaliseHost(m[1]), port };
}

/** Builds the guard of one admin listener. */
export function createGuard(opts: GuardOptions): Guard {
  const tokenDigest = opts.token === undefined ? undefined : digest(opts.token);
  const configured = opts.host === undefined ? undefined : normaliseHost(opts.host);
  const anyInterface = configured === undefined || configured === '' || WILDCARDS.has(configured);
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (configured !== undefined && !anyInterface) names.add(configured);
  const allowed = [...names].map((n) => `${n}:${opts.port}`).join(', ');

  // Bound to every interface, the API is reached by whatever address of the machine the
  // operator uses; an IP literal cannot be rebound, only a DNS name can, so IP literals pass.
  const hostOk = (host: string, port: number): boolean =>
    port === opts.port && (names.has(host) || (anyInterface && isIP(host.replace(/^\[|\]$/g, '')) !== 0));

  return (req) => {
    const h = req.headers;
    const host = h.host;
    const authority = host === undefined ? undefined : splitAuthority(host, 80);
    if (authority === undefined || !hostOk(authority.host, authority.port)) {
      const what = host === undefined ? 'no Host header' : `Host ${JSON.stringify(host)}`;
      return {
        status: 403,
        code: 'E_ADMIN_BAD_HOST',
        message: `${what} is not this admin API's address (allowed: ${anyInterface ? `${allowed}, or an IP address of this machine` : allowed}); refused against DNS rebinding`,
      };
    }

    const site = h['sec-fetch-site'];
    // Includes, not equals: repeated headers arrive joined ("same-origin, cross-site").
    if (site !== undefined && (site.includes('cross-site') || site.includes('same-site'))) {
      return {
        status: 403,
        code: 'E_ADMIN_FORBIDDEN_ORIGIN',
        message: `refused a request from a web page of another site (Sec-Fetch-Site: ${site}): the admin API takes no requests from other origins (cross-site request forgery)`,
      };
    }
    const origin = h.origin;
    if (origin !== undefined) {
      let ok = false;
      if (origin.startsWith('http://')) {
        const a = splitAuthority(origin.slice('http://'.length), 80);
        ok = a !== undefined && hostOk(a.host, a.port);
      }
      if (!ok) {
        return {
          status: 403,
          code: 'E_ADMIN_FORBIDDEN_ORIGIN',
          message: `refused a request from another origin (Origin ${JSON.stringify(origin)}): the admin API takes no requests from web pages of other origins (cross-site request forgery)`,
        };
      }
    }

    const write = !READ_METHODS.has(req.method);
    if (tokenDigest === undefined) {
      if (write) {
        return {
          status: 403,
          code: 'E_ADMIN_READ_ONLY',
          message: `the admin API is read-only because it has no token; set "admin": {"token": "\${BALANCER_ADMIN_TOKEN}"} in the config to allow ${req.method}`,
        };
      }
    } else {
      const auth = h.authorization;
      const m = auth === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
      // Equal-length digests: the comparison takes the same time whatever the token sent.
      const good = m !== null && m[1] !== undefined && timingSafeEqual(digest(m[1]), tokenDigest);
      if (!good) {
        const why = auth === undefined ? 'no "Authorization: Bearer <token>" header' : m === null ? 'the Authorization header is not "Bearer <token>"' : 'wrong token';
        return {
          status: 401,
          code: 'E_ADMIN_UNAUTHORIZED',
          message: `${why}; the admin API needs its token (admin.token)`,
          headers: { 'www-authenticate': 'Bearer realm="balancer admin"' },
        };
      }
    }

    if (write && hasBody(h)) {
      const type = h['content-type'];
      const media = type?.split(';')[0]?.trim().toLowerCase();
      if (media !== 'application/json') {
        return {
          status: 415,
          code: 'E_ADMIN_CONTENT_TYPE',
          message: `${type === undefined ? 'no Content-Type' : `Content-Type ${JSON.stringify(type)}`}: a request body must be sent as "Content-Type: application/json"`,
        };
      }
    }
    return undefined;
  };
}

/** True when the request head announces a body (a length above 0, or chunked). */
export function hasBody(h: IncomingHttpHeaders): boolean {
  if (h['transfer-encoding'] !== undefined) return true;
  const len = h['content-length'];
  return len !== undefined && len !== '0';
}
