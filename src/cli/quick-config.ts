import { ConfigError, resolveConfig, validateConfig, type Config } from '../config/load.js';

/** The flags of `balancer --from ADDR --to URL...` (Caddy's `reverse-proxy --from --to`). */
export interface QuickFlags {
  readonly from?: string;
  readonly to: readonly string[];
  readonly algorithm?: string;
}

/** Where a config built from flags says it came from, in messages. */
export const FLAGS_LABEL = 'command line';

/** The config file the flags stand for: only what they set, so the defaults are the file's. */
export function quickConfigFile(flags: QuickFlags): Record<string, unknown> {
  return {
    addr: flags.from ?? ':8000',
    ...(flags.algorithm !== undefined ? { algorithm: flags.algorithm } : {}),
    servers: flags.to.map((addr) => ({ addr })),
  };
}

// A config path as the flag that set it: `servers[1].addr` is the second --to.
function nameFlag(problem: string): string {
  const p = (problem.startsWith(`${FLAGS_LABEL}: `) ? problem.slice(FLAGS_LABEL.length + 2) : problem).replace(
    /(?<=.)servers\[(\d+)\]\.addr/g,
    (_, i: string) => `--to (#${Number(i) + 1})`,
  );
  const to = /^servers\[(\d+)\]\.addr: (.*)$/s.exec(p);
  if (to) return `${FLAGS_LABEL}: --to (#${Number(to[1]) + 1}): ${to[2]}`;
  if (p.startsWith('servers: ')) return `${FLAGS_LABEL}: --to: ${p.slice('servers: '.length)}`;
  if (p.startsWith('addr: ')) return `${FLAGS_LABEL}: --from: ${p.slice('addr: '.length)}`;
  if (p.startsWith('algorithm: ')) return `${FLAGS_LABEL}: --algorithm: ${p.slice('algorithm: '.length)}`;
  return `${FLAGS_LABEL}: ${p}`;
}

/**
 * Validates the flags exactly as a config file with the same fields (same schema, same
 * defaults); problems name the flag. Throws ConfigError.
 */
export function quickConfig(flags: QuickFlags): { config: Config; file: Record<string, unknown> } {
  const file = quickConfigFile(flags);
  try {
    return { config: resolveConfig(validateConfig(file, FLAGS_LABEL), FLAGS_LABEL), file };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.code, e.problems.map(nameFlag));
    throw e;
  }
}
