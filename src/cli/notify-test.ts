import type { LevelWithSilent } from 'pino';
import { loadConfig, type Config } from '../config/load.js';
import { formatNotifyTestResults, notifyTest, notifyTestExitCode } from '../control/notify/notify-test.js';
import { createLogger } from '../util/logger.js';
import { fail } from './exit.js';

/** `balancer notify-test`: one test event to every notifier, one line per result; exit 0 when all arrived. */
export async function notifyTestCommand(o: { config: string; logLevel: LevelWithSilent }): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(o.config);
  } catch (e) {
    fail(e);
  }
  const results = await notifyTest(config, createLogger(o.logLevel));
  process.stdout.write(`${formatNotifyTestResults(results)}\n`);
  process.exitCode = notifyTestExitCode(results);
}
