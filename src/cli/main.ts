import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { didYouMean } from '../config/format.js';
import { LOG_LEVELS } from '../util/logger.js';
import { EXIT_BAD_INPUT, usageError } from './exit.js';
import { notifyTestCommand } from './notify-test.js';
import { reloadCommand } from './reload.js';
import { serverActionCommand, weightCommand } from './server-action.js';
import { statusCommand } from './status.js';
import { DEFAULT_CONFIG_FILE, startCommand } from './start.js';
import { numberList, testServersCommand } from './test-servers.js';
import { validateCommand } from './validate.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0 to 65535)`);
  return n;
};

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${v}" is not a positive whole number`);
  return n;
};

const collect = (v: string, previous: string[]): string[] => [...previous, v];

const positiveNumber = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${v}" is not a positive number (fractions allowed, e.g. 2 or 0.5)`);
  return n;
};

/** The options every admin API command takes. */
function adminOptions(c: Command): Command {
  return c
    .option('-c, --config <file>', 'config file whose "admin" section says where the admin API is (default ./balancer.json)')
    .option('--admin <url>', 'admin API URL, e.g. http://127.0.0.1:9901 (instead of the config)')
    .option('--token <token>', 'admin API token (default: $BALANCER_ADMIN_TOKEN, then the config\'s admin.token)');
}

/** Builds the command-line interface. Usage errors exit 2 (see `main`). */
export function buildCli(): Command {
  const program = new Command('balancer')
    .description('HTTP load balancer and reverse proxy')
    .version(pkg.version, '-v, --version')
    .showHelpAfterError('(see balancer --help)')
    // Set before the commands are added, so every command inherits it.
    .exitOverride((err: CommanderError) => {
      // Help and version exit 0; every usage error exits 2, as documented.
      process.exit(err.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
    });
  const logLevel = new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info');

  program
    .command('start', { isDefault: true })
    .description('run the balancer (the default command), from a config file or from --from/--to')
    .option('-c, --config <file>', `config file (default ${DEFAULT_CONFIG_FILE})`)
    .option('--from <addr>', 'without a config file: listen address, e.g. ":8000" or "127.0.0.1:8000" (default ":8000")')
    .option('--to <url>', 'without a config file: a server to send requests to; repeat for more', collect, [])
    .option('--algorithm <name>', 'with --to: load-balancing algorithm (default round-robin)')
    .option('--print-config', 'with --to: print the equivalent config file (JSON) and exit')
    .option('--pid-file <file>', 'write the process id to FILE (removed at exit), for balancer reload')
    .option('--watch', 'reload the config file whenever it changes (a bad file is logged and changes nothing)')
    .addOption(logLevel)
    .option('--with-test-servers', "also start built-in test servers on the config's localhost server ports")
    .action(startCommand);

  program
    .command('validate')
    .description('check config files; prints "FILE: OK" or every error; exit 0 or 2')
    .argument('<file...>', 'config files')
    .action(validateCommand);

  adminOptions(
    program
      .command('reload')
      .description(
        'make a running balancer read its config file again: through the admin API (prints what changed, or every problem: exit 2), or by signal with --pid-file/--pid; exit 1 when it cannot be reached',
      )
      .option('--pid-file <file>', 'the pid file the balancer was started with (balancer start --pid-file FILE): send SIGUSR2')
      .option('--pid <n>', 'the process id of the balancer: send SIGUSR2', positiveInt),
  ).action(reloadCommand);

  adminOptions(
    program
      .command('status')
      .description('print the servers as the running balancer sees them (admin API); exit 1 when it cannot be reached')
      .option('--json', 'print the admin API answer as JSON'),
  ).action(statusCommand);

  for (const [action, what] of [
    ['drain', 'stop sending NAME new requests; those in flight finish (it stays health-checked)'],
    ['disable', 'take NAME out for maintenance: no traffic, no health alerts'],
    ['enable', 'bring NAME back after drain or disable (eased in by slow start)'],
  ] as const) {
    adminOptions(program.command(action).description(`${what}; admin API`).argument('<name>', 'server name (as balancer status shows it)')).action(
      serverActionCommand(action),
    );
  }

  adminOptions(
    program
      .command('weight')
      .description("set NAME's weight until a reload changes it; admin API")
      .argument('<name>', 'server name (as balancer status shows it)')
      .argument('<weight>', 'positive number, fractions allowed', positiveNumber),
  ).action(weightCommand);

  program
    .command('notify-test')
    .description('send a test event to every configured notifier and report each result; exit 0 if all arrived')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
    .addOption(logLevel)
    .action(notifyTestCommand);

  program
    .command('test-servers')
    .description('start test backends that answer with their identity (for trying the balancer)')
    .option('-n, --count <n>', 'how many servers', positiveInt, 4)
    .option('-p, --port <port>', 'first port; the others follow', port, 9000)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--latency <ms,...>', 'added latency per server in ms (last value repeats)', numberList((n) => n >= 0, 'a number of milliseconds, 0 or more'))
    .option('--failure-rate <p,...>', 'share 0..1 of requests answered 500, per server (last value repeats)', numberList((n) => n >= 0 && n <= 1, 'a share from 0 to 1'))
    .option('--names <name,...>', 'server names (default server-1..N)', (v: string) => v.split(','))
    .addOption(logLevel)
    .action(testServersCommand);
  return program;
}

/** Runs the CLI on `argv` (process.argv). */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildCli();
  // `start` is the default command, so commander would take an unknown command for an argument
  // of `start` ("too many arguments for 'start'"); name it for what it is.
  const first = argv[2];
  if (first !== undefined && !first.startsWith('-')) {
    const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]).concat('help');
    if (!names.includes(first)) {
      const hint = didYouMean(first, names);
      const file = /\.json$/i.test(first) ? ` (to run with a config file: balancer --config ${first})` : '';
      usageError(`unknown command '${first}'${hint !== undefined ? ` (did you mean '${hint}'?)` : ''}${file}`);
    }
  }
  await program.parseAsync([...argv]);
}
