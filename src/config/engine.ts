import { z } from 'zod';

// Which engine moves the bytes. "node" (node:http + undici) stays the default until the raw-socket
// engine passes the whole black-box suite and the hostile-request table (issue 11 §4).

/** Engines a config may name. */
export const ENGINE_NAMES = ['node', 'fast'] as const;
/** One engine's name. */
export type EngineName = (typeof ENGINE_NAMES)[number];
/** The engine used when the config names none. */
export const DEFAULT_ENGINE: EngineName = 'node';

/** `"engine": "fast" | "node"`. */
export const engineField = z
  .string()
  .refine((s) => (ENGINE_NAMES as readonly string[]).includes(s), {
    message: `is not an engine (allowed: ${ENGINE_NAMES.map((n) => `"${n}"`).join(', ')})`,
  })
  .default(DEFAULT_ENGINE)
  .meta({
    description: `Proxy engine: "node" (node:http + undici) or "fast" (raw sockets, own HTTP/1.1 parser) (default "${DEFAULT_ENGINE}"); a change needs a restart`,
    enum: [...ENGINE_NAMES],
  });

/** The validated `engine` field as the runtime uses it. */
export function resolveEngine(s: string): EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(s) ? (s as EngineName) : DEFAULT_ENGINE;
}
