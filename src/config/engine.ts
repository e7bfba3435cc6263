import { z } from 'zod';

// Which engine moves the bytes. The raw-socket engine passes the whole black-box suite and the
// hostile-request table, so it is the default (issue 11 §4); "node" (node:http + undici) stays as
// the fallback. With `tls`, "fast" serves HTTP/1.1 and the node engine's listener HTTP/2.

/** Engines a config may name. */
export const ENGINE_NAMES = ['node', 'fast'] as const;
/** One engine's name. */
export type EngineName = (typeof ENGINE_NAMES)[number];

/** The engine used when the config names none. */
export const DEFAULT_ENGINE: EngineName = 'fast';

/** `"engine": "fast" | "node"`. */
export const engineField = z
  .string()
  .refine((s) => (ENGINE_NAMES as readonly string[]).includes(s), {
    message: `is not an engine (allowed: ${ENGINE_NAMES.map((n) => `"${n}"`).join(', ')})`,
  })
  .default(DEFAULT_ENGINE)
  .meta({
    description:
      `Proxy engine: "fast" (raw sockets, own HTTP/1.1 parser; with "tls", HTTP/2 clients are served by the node engine's code) or "node" (node:http + undici) (default "${DEFAULT_ENGINE}"); a change needs a restart`,
    enum: [...ENGINE_NAMES],
  });

/** The validated `engine` field as the runtime uses it. */
export function resolveEngine(s: string | undefined): EngineName {
  return s !== undefined && (ENGINE_NAMES as readonly string[]).includes(s) ? (s as EngineName) : DEFAULT_ENGINE;
}
