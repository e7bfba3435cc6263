import { z } from 'zod';

// Which engine moves the bytes. The raw-socket engine passes the whole black-box suite and the
// hostile-request table, so it is the default (issue 11 §4); "node" (node:http + undici) stays as
// the fallback, and is the default for an HTTPS listener, which only it serves.

/** Engines a config may name. */
export const ENGINE_NAMES = ['node', 'fast'] as const;
/** One engine's name. */
export type EngineName = (typeof ENGINE_NAMES)[number];

/** The engine used when the config names none: "fast", or "node" with `tls` (the fast engine has no TLS listener). */
export function defaultEngine(https: boolean): EngineName {
  return https ? 'node' : 'fast';
}

/** `"engine": "fast" | "node"`. */
export const engineField = z
  .string()
  .refine((s) => (ENGINE_NAMES as readonly string[]).includes(s), {
    message: `is not an engine (allowed: ${ENGINE_NAMES.map((n) => `"${n}"`).join(', ')})`,
  })
  .optional()
  .meta({
    description:
      'Proxy engine: "fast" (raw sockets, own HTTP/1.1 parser) or "node" (node:http + undici). Default "fast", or "node" with "tls" (HTTPS is served by the node engine only); a change needs a restart',
    enum: [...ENGINE_NAMES],
  });

/** The validated `engine` field as the runtime uses it; `https`: the config has `tls`. */
export function resolveEngine(s: string | undefined, https: boolean): EngineName {
  return s !== undefined && (ENGINE_NAMES as readonly string[]).includes(s) ? (s as EngineName) : defaultEngine(https);
}
