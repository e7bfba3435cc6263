/**
 * The path prefix of a server address, as sent before every forwarded path: "" when the address
 * has none ("http://h:9000" and "http://h:9000/"), else its path as written, percent-encoded
 * ("http://h:9000/app" gives "/app", "http://h:9000/app/" gives "/app/").
 */
export function pathPrefix(server: URL): string {
  return server.pathname === '/' ? '' : server.pathname;
}

/**
 * Joins a server's path prefix and a request's origin-form target (path and query) with exactly
 * one slash between them, as Go's httputil.NewSingleHostReverseProxy (singleJoiningSlash) and
 * Traefik do: "/app" + "/foo?q" is "/app/foo?q", "/app/" + "/foo" is "/app/foo", "/app" + "/" is
 * "/app/". Nothing else changes: the target's bytes (%2F, %20, "//", the query) pass as the
 * client sent them. An empty prefix returns `target` itself (no allocation).
 */
export function joinPath(prefix: string, target: string): string {
  if (prefix === '') return target;
  const slashEnd = prefix.charCodeAt(prefix.length - 1) === 47;
  const slashStart = target.charCodeAt(0) === 47;
  if (slashEnd && slashStart) return prefix + target.slice(1);
  if (!slashEnd && !slashStart) return `${prefix}/${target}`;
  return prefix + target;
}

/** An absolute-form request target split into its authority and its origin-form rest. */
export interface AbsoluteTarget {
  /** host[:port] of the target, for the Host header (RFC 9112 §3.2.2). */
  readonly authority: string;
  /** Path and query, "/" when the target has no path. */
  readonly originForm: string;
}

/**
 * Splits an absolute-form target ("http://example.com/x?y", RFC 9112 §3.2.2) into its authority
 * and origin-form ("/x?y"): a proxy forwards origin-form to a server, and a Host taken from the
 * target. A fragment, which clients must not send, is cut off, as every server ignores it.
 */
export function splitAbsoluteForm(target: string): AbsoluteTarget {
  const start = target.indexOf('//') + 2;
  let end = start;
  while (end < target.length && target[end] !== '/' && target[end] !== '?' && target[end] !== '#') end++;
  let authority = target.slice(start, end);
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  let rest = target.slice(end);
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  return { authority, originForm: rest === '' || rest[0] === '?' ? `/${rest}` : rest };
}

/**
 * Why a server address (already an http(s) URL) cannot be used, or undefined: a path is allowed
 * (it prefixes every forwarded path); a query, a fragment or user info is not, since no rule says
 * how to merge them with the client's. Undefined too for a string that is no URL at all.
 */
export function checkServerAddress(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined; // not a URL at all: the URL check says so
  }
  if (u.username !== '' || u.password !== '' || /^https?:\/\/[^/?#]*@/i.test(s)) {
    return 'has user info ("user@"); a server address is scheme://host:port with an optional path';
  }
  if (s.includes('?')) return 'has a query ("?"); a server address may have a path, but no query';
  if (s.includes('#')) return 'has a fragment ("#"); a server address may have a path, but no fragment';
  return undefined;
}

// Separators some servers decode or accept: "/", "\", and their percent-encodings.
const SEPARATORS = /%2f|%5c|\\/gi;
const ENCODED_DOT = /%2e/gi;

/**
 * True when the dot segments of `target`'s path climb above its root ("/../x", "/a/%2e%2e/../x",
 * "/..%2Fx", "/..\x"): joined to a server's path prefix, such a path would step out of it on any
 * server that normalises paths. Separators and dots count in their encoded forms too, since
 * servers differ in what they decode; empty segments ("//") do not count as depth.
 */
export function climbsAboveRoot(target: string): boolean {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (!path.includes('.') && !/%2e/i.test(path)) return false;
  let depth = 0;
  for (const raw of path.replace(SEPARATORS, '/').split('/')) {
    const seg = raw.replace(ENCODED_DOT, '.');
    if (seg === '..') {
      if (--depth < 0) return true;
    } else if (seg !== '' && seg !== '.') depth++;
  }
  return false;
}
