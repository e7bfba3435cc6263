// Issue 11's proof, in one run: Balancer (each engine, 1 worker and `workers: auto`), nginx (1
// worker and auto), HAProxy (1 thread and 2), node-http-proxy, a bare node:http + undici proxy and the ceiling
// (bench/raw-forwarder.ts: a bare raw-socket forwarder that validates nothing, how fast Node.js forwards at all),
// side by side in front of the same nginx backends, loaded with wrk at 64 and 512 connections for
// a tiny and a 64 KiB response. Peers are interleaved (every round runs each peer once per cell,
// in a rotating order) so the machine's drift hits all alike; medians over the rounds are printed
// with the ratio to nginx with the same worker count and to node-http-proxy, then a PASS/FAIL line
// per Balancer peer and cell against the targets (>= 0.9x nginx req/s, p99 <= 1.5x nginx's,
// >= 3x node-http-proxy). A Balancer setting the build does not know yet (engine, workers) is
// skipped with a note. Ports 18100-18199 (bench/proxy.sh uses 1808x and 1900x).
// Usage: bash bench/engines.sh [seconds=5] [--quick] [--rounds N]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const PEERS = join(ROOT, 'dist', 'bench', 'node-peers.js');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const roundsAt = argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : quick ? 1 : 2;
const SECS = Number(argv.find((a, i) => /^\d+$/.test(a) && argv[i - 1] !== '--rounds') ?? (quick ? 1 : 5));
const BACKENDS = [18101, 18102, 18103, 18104];
const BIG = 64 * 1024;

/** One load: a response size and a connection count. */
interface Cell {
  readonly path: '/' | '/64k';
  readonly size: string;
  readonly conns: number;
}
const CELLS: Cell[] = (quick ? [64] : [64, 512]).flatMap((conns) => [
  { path: '/' as const, size: 'tiny', conns },
  { path: '/64k' as const, size: '64 KiB', conns },
]);

/** One thing under load. `group` is its worker count class: it is compared with nginx of the same. */
interface Peer {
  name: string;
  /** Its log file's name in the work dir. */
  log?: string;
  readonly port: number;
  readonly group: '1' | 'auto';
  readonly balancer: boolean;
  proc?: ChildProcess;
  skipped?: string;
}

const work = mkdtempSync(join(tmpdir(), 'bench-engines-'));
const children: ChildProcess[] = [];

function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
process.on('exit', () => {
  cleanup();
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** Starts `cmd` with its output in a log file under the work dir. */
function start(name: string, cmd: string, args: string[]): ChildProcess {
  const log = openSync(join(work, `${name}.log`), 'a');
  const c = spawn(cmd, args, { stdio: ['ignore', log, log] });
  children.push(c);
  return c;
}

/** The last lines a peer wrote (why it did not start). */
function tail(name: string): string {
  try {
    const lines = readFileSync(join(work, `${name}.log`), 'utf8').trim().split('\n');
    // A config error's first line says enough ("workers: unknown key"); the allowed keys are noise here.
    return lines.slice(-2).map((l) => l.replace(/; allowed: .*/, '').replace(/^\S+\.json: /, '')).join(' | ').slice(0, 200);
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `port` answers `/` with 200 and `/64k` with 64 KiB; the reason when it does not. */
async function ready(port: number, proc: ChildProcess | undefined): Promise<string | undefined> {
  const end = Date.now() + 20_000;
  let last = 'no answer';
  while (Date.now() < end) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) return `exited (${proc.exitCode ?? proc.signalCode})`;
    try {
      const a = await fetch(`http://127.0.0.1:${port}/`);
      await a.arrayBuffer();
      const b = await fetch(`http://127.0.0.1:${port}/64k`);
      const n = (await b.arrayBuffer()).byteLength;
      if (a.status === 200 && b.status === 200 && n === BIG) return undefined;
      last = `answers ${a.status}, ${b.status} with ${n} bytes`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  return last;
}

function nginxConf(name: string, workers: string, body: string): string {
  const file = join(work, `${name}.conf`);
  writeFileSync(
    file,
    `daemon off; worker_processes ${workers}; pid ${work}/${name}.pid; error_log ${work}/${name}.err;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000; default_type application/octet-stream;
${body}
}
`,
  );
  return file;
}

function haproxyConf(name: string, threads: number, port: number): string {
  const file = join(work, `${name}.cfg`);
  writeFileSync(
    file,
    `global
  nbthread ${threads}
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
${BACKENDS.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join('\n')}
`,
  );
  return file;
}

/** Starts a Balancer with `extra` config; a setting the build rejects makes it a skipped peer. */
async function startBalancer(peer: Peer, extra: Record<string, unknown>): Promise<void> {
  const config = { addr: `127.0.0.1:${peer.port}`, algorithm: 'round-robin', servers: BACKENDS.map((p) => ({ addr: `http://127.0.0.1:${p}` })), ...extra };
  const file = join(work, `${peer.port}.json`);
  writeFileSync(file, JSON.stringify(config));
  const name = `balancer-${peer.port}`;
  peer.proc = start(name, process.execPath, [CLI, 'start', '--config', file, '--log-level', 'warn']);
  const why = await ready(peer.port, peer.proc);
  if (why !== undefined) {
    peer.skipped = `${why}: ${tail(name)}`;
    peer.proc.kill('SIGTERM');
  }
}

/** wrk's figures for one run. */
interface Run {
  rps: number;
  p50: number;
  p99: number;
  bad: number;
}

/** "1.23ms" | "850.00us" | "1.20s" -> milliseconds. */
function ms(s: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s ?? '');
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

function wrk(port: number, cell: Cell, secs: number): Run {
  const r = spawnSync('wrk', ['-t1', `-c${cell.conns}`, `-d${secs}s`, '--latency', `http://127.0.0.1:${port}${cell.path}`], { encoding: 'utf8', timeout: (secs + 30) * 1000 });
  const out = r.stdout ?? '';
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]);
  const p99 = ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const bad = non2xx + (sock ? Number(sock[1]) + Number(sock[3]) + Number(sock[4]) : 0);
  return { rps, p50, p99, bad };
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() ?? '?';
}

async function main(): Promise<void> {
  for (const t of ['wrk', 'nginx', 'haproxy']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) {
      console.error(`bench/engines: needs ${t} (apt-get install -y wrk nginx-light haproxy)`);
      process.exit(2);
    }
  }
  // Backends: nginx, one process per core, four ports, a 13-byte body at / and 64 KiB at /64k.
  // nginx's workers run as an unprivileged user when we are root: they must be able to read it.
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'www'), { mode: 0o755 });
  writeFileSync(join(work, 'www', '64k'), Buffer.alloc(BIG, 'x'), { mode: 0o644 });
  start('backend', 'nginx', [
    '-c',
    nginxConf('backend', 'auto', BACKENDS.map((p) => `server { listen 127.0.0.1:${p}; root ${work}/www; location = / { return 200 "hello from ${p}"; } location = /64k { } }`).join('\n')),
  ]);

  const lb = (port: number) =>
    `upstream backends { ${BACKENDS.map((p) => `server 127.0.0.1:${p};`).join(' ')} keepalive 256; }
server { listen 127.0.0.1:${port}; location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_max_temp_file_size 0; } }`;
  const peers: Peer[] = [
    { name: 'nginx ×1', port: 18110, group: '1', balancer: false },
    { name: 'nginx ×auto', port: 18111, group: 'auto', balancer: false },
    { name: 'HAProxy 1 thread', port: 18112, group: '1', balancer: false },
    { name: 'HAProxy 2 threads', port: 18113, group: 'auto', balancer: false },
    { name: 'node-http-proxy', port: 18130, group: '1', balancer: false },
    { name: 'node:http+undici', port: 18131, group: '1', balancer: false },
    { name: 'ceiling (raw forwarder)', port: 18132, group: '1', balancer: false },
    { name: 'Balancer node ×1', port: 18120, group: '1', balancer: true },
    { name: 'Balancer node ×auto', port: 18121, group: 'auto', balancer: true },
    { name: 'Balancer fast ×1', port: 18122, group: '1', balancer: true },
    { name: 'Balancer fast ×auto', port: 18123, group: 'auto', balancer: true },
  ];
  const byPort = (port: number) => peers.find((p) => p.port === port) as Peer;
  byPort(18110).log = 'nginx1';
  byPort(18110).proc = start('nginx1', 'nginx', ['-c', nginxConf('nginx1', '1', lb(18110))]);
  byPort(18111).log = 'nginxauto';
  byPort(18111).proc = start('nginxauto', 'nginx', ['-c', nginxConf('nginxauto', 'auto', lb(18111))]);
  byPort(18112).log = 'haproxy1';
  byPort(18112).proc = start('haproxy1', 'haproxy', ['-f', haproxyConf('haproxy1', 1, 18112), '-db']);
  byPort(18113).log = 'haproxy2';
  byPort(18113).proc = start('haproxy2', 'haproxy', ['-f', haproxyConf('haproxy2', 2, 18113), '-db']);
  const urls = BACKENDS.map((p) => `http://127.0.0.1:${p}`);
  byPort(18130).log = 'http-proxy';
  byPort(18130).proc = start('http-proxy', process.execPath, ['--no-deprecation', PEERS, 'http-proxy', '18130', ...urls]);
  byPort(18131).log = 'undici';
  byPort(18131).proc = start('undici', process.execPath, [PEERS, 'undici', '18131', ...urls]);
  byPort(18132).log = 'ceiling';
  byPort(18132).proc = start('ceiling', process.execPath, [join(ROOT, 'dist', 'bench', 'raw-forwarder.js'), '18132', ...urls]);
  for (const p of peers.filter((x) => !x.balancer)) {
    const why = await ready(p.port, p.proc);
    if (why !== undefined) p.skipped = `${why}: ${tail(p.log ?? '')}`;
  }
  // Balancer: `engine: "node"` where the build knows the setting (else its only engine), then the rest.
  await startBalancer(byPort(18120), { engine: 'node' });
  const nodeOne = byPort(18120);
  if (nodeOne.skipped !== undefined && /engine/.test(nodeOne.skipped)) {
    delete nodeOne.skipped;
    await startBalancer(nodeOne, {});
    if (nodeOne.skipped === undefined) nodeOne.name = 'Balancer node ×1*';
  }
  await startBalancer(byPort(18121), nodeOne.name.endsWith('*') ? { workers: 'auto' } : { engine: 'node', workers: 'auto' });
  await startBalancer(byPort(18122), { engine: 'fast' });
  await startBalancer(byPort(18123), { engine: 'fast', workers: 'auto' });

  const live = peers.filter((p) => p.skipped === undefined);
  const runs = CELLS.length * live.length * ROUNDS;
  console.log(`bench/engines: ${cpus().length} cores, ${process.version}, ${version('nginx', ['-v'])}, ${version('haproxy', ['-v'])}, ${version('wrk', ['-v'])}`);
  console.log(`backends: nginx (worker_processes auto) on ${BACKENDS.join(', ')}; wrk -t1 --latency, ${SECS} s per run, ${ROUNDS} round(s), ${runs} runs (~${Math.ceil((runs * (SECS + 0.3) + live.length * 2) / 60)} min); medians over rounds`);
  for (const p of peers) if (p.skipped !== undefined) console.log(`  skipped ${p.name}: ${p.skipped}`);
  if (nodeOne.name.endsWith('*')) console.log('  * this build has no `engine` setting: its only engine (node) ran');

  // Warm-up: JIT, connection pools.
  for (const p of live) wrk(p.port, { path: '/', size: 'tiny', conns: 64 }, quick ? 1 : 2);

  const results = new Map<string, Run[]>();
  for (let round = 0; round < ROUNDS; round++) {
    CELLS.forEach((cell, ci) => {
      const shift = (round + ci) % live.length;
      const order = [...live.slice(shift), ...live.slice(0, shift)];
      for (const p of order) {
        const key = `${p.name}|${ci}`;
        results.set(key, [...(results.get(key) ?? []), wrk(p.port, cell, SECS)]);
      }
    });
    process.stderr.write(`\nround ${round + 1}/${ROUNDS} done\n`);
  }

  const fig = (p: Peer, ci: number) => {
    const rs = results.get(`${p.name}|${ci}`) ?? [];
    return { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), bad: rs.reduce((n, r) => n + r.bad, 0) };
  };
  const x = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–');
  const verdicts: string[] = [];
  CELLS.forEach((cell, ci) => {
    const nginxOf = (g: '1' | 'auto') => byPort(g === '1' ? 18110 : 18111);
    const hp = byPort(18130);
    console.log(`\n${cell.size} response, ${cell.conns} connections`);
    console.log(`| peer | req/s | p50 | p99 | × nginx (same workers) | p99 × nginx | × node-http-proxy |`);
    console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
    for (const p of live) {
      const f = fig(p, ci);
      const n = fig(nginxOf(p.group), ci);
      const h = fig(hp, ci);
      const bad = f.bad > 0 ? ` (${f.bad} errors/non-2xx!)` : '';
      console.log(`| ${p.name} | ${Math.round(f.rps).toLocaleString('en-US')}${bad} | ${f.p50.toFixed(2)} ms | ${f.p99.toFixed(2)} ms | ${x(f.rps, n.rps)} | ${x(f.p99, n.p99)} | ${x(f.rps, h.rps)} |`);
      if (p.balancer) {
        const okRps = f.rps >= 0.9 * n.rps;
        const okP99 = f.p99 <= 1.5 * n.p99;
        const okHp = f.rps >= 3 * h.rps;
        const pass = okRps && okP99 && okHp && f.bad === 0;
        verdicts.push(
          `${pass ? 'PASS' : 'FAIL'} ${p.name}, ${cell.size} c${cell.conns}: ${x(f.rps, n.rps)} nginx ×${p.group} req/s (≥0.9× ${okRps ? 'ok' : 'no'}), p99 ${x(f.p99, n.p99)} (≤1.5× ${okP99 ? 'ok' : 'no'}), ${x(f.rps, h.rps)} node-http-proxy (≥3× ${okHp ? 'ok' : 'no'})${f.bad > 0 ? `, ${f.bad} errors` : ''}`,
        );
      }
    }
  });
  console.log(`\ntargets (issue 11): ≥ 0.9× nginx req/s with the same workers, p99 ≤ 1.5× nginx's, ≥ 3× node-http-proxy`);
  for (const v of verdicts) console.log(v);
  for (const p of peers) if (p.skipped !== undefined && p.balancer) console.log(`SKIP ${p.name}: ${p.skipped}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
