import { ConfigError, loadConfig, type Config } from '../../config/load.js';

/**
 * The config loader for reloads of a balancer started with `started`: a file that changes "mode"
 * is refused (the engine that listens is the one the mode chose at start), so it keeps serving.
 */
export function loadKeepingMode(started: Config, load: (file: string) => Config = loadConfig): (file: string) => Config {
  const was = started.tcp !== undefined ? 'tcp' : 'http';
  return (file) => {
    const next = load(file);
    const now = next.tcp !== undefined ? 'tcp' : 'http';
    if (now !== was) throw new ConfigError('E_CONFIG_INVALID', [`${file}: mode: "${now}" needs a restart (the balancer runs in "${was}" mode)`]);
    return next;
  };
}
