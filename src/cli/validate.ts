import { ConfigError, configWarnings, loadConfig } from '../config/load.js';
import { EXIT_BAD_INPUT } from './exit.js';

/** `balancer validate FILE...`: "FILE: OK" (and any warnings) or every problem; exit 0 or 2. */
export function validateCommand(files: string[]): void {
  let bad = false;
  for (const f of files) {
    try {
      const config = loadConfig(f);
      process.stdout.write(`${f}: OK\n`);
      for (const w of configWarnings(config)) process.stderr.write(`warning: ${w}\n`);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      bad = true;
      for (const p of e.problems) process.stderr.write(`${p}\n`);
    }
  }
  process.exitCode = bad ? EXIT_BAD_INPUT : 0;
}
