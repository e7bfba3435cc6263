import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backends, CLI, closeAll, get, servedBy, startBalancer, writeConfig } from './helpers/cluster.js';
import { alive } from './helpers/alive.js';
import { waitFor } from './helpers/wait.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const tmp = (name: string) => join(tmpdir(), `balancer-${process.pid}-${Date.now()}-${name}`);

/** Runs the CLI in a pseudo-terminal (util-linux `script`), as a user's terminal window would. */
function inTerminal(args: string[], stderrFile: string) {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const proc = spawn('script', ['-qfec', `exec ${quoted} 2>'${stderrFile}'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out };
}

test('closing the terminal stops a balancer that runs in it (SIGHUP means hang-up there)', { skip: !hasScript && 'no util-linux script' }, async () => {
  const [server] = await backends(1);
  const errFile = tmp('stderr');
  const file = writeConfig({ addr: '127.0.0.1:0', servers: [{ addr: server?.url }] });
  const t = inTerminal(['start', '--config', file], errFile);
  let pid = 0;
  try {
    await waitFor(() => / listening on /.test(t.output()), 'the balancer to listen');
    pid = Number(/pid (\d+)/.exec(t.output())?.[1]);
    t.proc.kill('SIGKILL'); // the terminal window goes away: the kernel hangs up its session
    await waitFor(() => !alive(pid), 'the balancer to stop after the hang-up', 20_000);
    assert.equal(readFileSync(errFile, 'utf8'), '', 'a graceful stop, no crash');
  } finally {
    t.proc.kill('SIGKILL');
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    await closeAll(server ? [server] : []);
  }
});

test('the terminal log is one line per message, and the start line says where it really listens', { skip: !hasScript && 'no util-linux script' }, async () => {
  const [server] = await backends(1);
  const errFile = tmp('stderr');
  const t = inTerminal(['start', '--config', writeConfig({ addr: ':0', servers: [{ addr: server?.url }] })], errFile);
  try {
    await waitFor(() => /pid \d+/.test(t.output()), 'the start lines');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the lines that follow it
    // eslint-disable-next-line no-control-regex
    const lines = t.output().replace(/\u001b\[[\d;]*m/g, '').split(/\r?\n/).filter((l) => l !== '');
    const listening = lines.find((l) => l.includes(' listening on '));
    assert.match(String(listening), /^\d\d:\d\d:\d\d\.\d{3} INFO {2}balancer listening on :\d+ \(all interfaces\) — try http:\/\/localhost:\d+ \(round-robin over 1 server\)$/);
    for (const l of lines) assert.match(l, /^\d\d:\d\d:\d\d\.\d{3} [A-Z]+ +\S/, `every line is a whole message: ${JSON.stringify(l)}`);
  } finally {
    t.proc.kill('SIGTERM');
    t.proc.kill('SIGKILL');
    await closeAll(server ? [server] : []);
  }
});

test('detached, SIGHUP still reloads; SIGUSR2 and balancer reload --pid-file reload; the pid file goes at exit', async () => {
  const [a, b] = await backends(2);
  const pidFile = tmp('pid');
  const bal = await startBalancer({ servers: [{ addr: a?.url }] }, ['--pid-file', pidFile]).catch(async (e: unknown) => {
    await closeAll([a, b].flatMap((s) => (s ? [s] : [])));
    throw e;
  });
  const reloads = () => bal.logs.filter((l) => String(l.msg).startsWith('reloaded '));
  try {
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(bal.proc.pid));
    const rewrite = (url: string | undefined) => writeFileSync(bal.file, JSON.stringify({ addr: '127.0.0.1:0', servers: [{ addr: url }] }));

    rewrite(b?.url);
    const r = spawnSync(process.execPath, [CLI, 'reload', '--pid-file', pidFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /sent SIGUSR2 to pid \d+/);
    await waitFor(() => reloads().length === 1, 'the reload');
    assert.equal(reloads()[0]?.signal, 'SIGUSR2');
    assert.equal(servedBy(await get(`${bal.url}/`)), b?.name);

    rewrite(a?.url);
    bal.proc.kill('SIGHUP');
    await waitFor(() => reloads().length === 2, 'the SIGHUP reload');
    assert.equal(servedBy(await get(`${bal.url}/`)), a?.name);

    rewrite(b?.url);
    assert.equal(spawnSync(process.execPath, [CLI, 'reload', '--pid', String(bal.proc.pid)]).status, 0);
    await waitFor(() => reloads().length === 3, 'the --pid reload');
  } finally {
    assert.equal(await bal.stop(), 0);
    await closeAll([a, b].flatMap((s) => (s ? [s] : [])));
  }
  assert.equal(existsSync(pidFile), false);
});

test('balancer reload with a missing or stale pid file says so in one line and exits 1', async () => {
  const missing = spawnSync(process.execPath, [CLI, 'reload', '--pid-file', '/nonexistent/balancer.pid'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, 'balancer: cannot read pid file /nonexistent/balancer.pid: no such file (is a balancer running with --pid-file /nonexistent/balancer.pid?)\n');

  const gone = spawn(process.execPath, ['-e', '0']);
  const pid = gone.pid as number;
  await new Promise((resolve) => gone.once('exit', resolve));
  const stale = tmp('stale.pid');
  writeFileSync(stale, `${pid}\n`);
  const r = spawnSync(process.execPath, [CLI, 'reload', '--pid-file', stale], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^balancer: pid ${pid} \\(from .*\\) is not (running|a balancer)`));
});
