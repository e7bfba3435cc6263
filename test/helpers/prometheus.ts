// Prometheus on the test side: a strict parser of the text exposition format (0.0.4), and a real
// Prometheus server (Debian's package) started on loopback to scrape the admin listener.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** One sample: metric name, labels, value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed exposition: every sample and each family's declared type. */
export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

// The family a sample belongs to, given the declared types (histogram and summary samples have suffixes).
function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = types.get(base);
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return undefined;
}

function parseValue(s: string, line: string): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client
  // writes "Nan" for an event-loop lag not yet measured).
  if (/^\+?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`bad value ${JSON.stringify(s)} in: ${line}`);
  return Number(s);
}

/**
 * Parses the Prometheus text format strictly: every sample must belong to a family declared by a
 * `# TYPE` line before it, names and label names must be valid, label values properly quoted and
 * escaped, no family declared twice, no duplicate series. Throws on anything else.
 */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const seen = new Set<string>();
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (m === null) {
        if (/^# (HELP|TYPE) /.test(line)) throw new Error(`bad comment line: ${line}`);
        continue;
      }
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`unknown type in: ${line}`);
        if (types.has(name)) throw new Error(`type declared twice: ${line}`);
        types.set(name, rest);
      }
      continue;
    }
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
    const name = line.slice(0, i);
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    const family = familyOf(name, types);
    if (family === undefined) throw new Error(`sample without a # TYPE line before it: ${line}`);
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        if (eq === -1) throw new Error(`bad labels in: ${line}`);
        const label = line.slice(i, eq);
        if (!LABEL.test(label)) throw new Error(`bad label name ${JSON.stringify(label)} in: ${line}`);
        if (line[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
        let j = eq + 2;
        let value = '';
        for (;;) {
          const c = line[j];
          if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
          if (c === '"') break;
          if (c === '\\') {
            const e = line[j + 1];
            if (e === '\\' || e === '"') value += e;
            else if (e === 'n') value += '\n';
            else throw new Error(`bad escape in: ${line}`);
            j += 2;
            continue;
          }
          value += c;
          j++;
        }
        if (label in labels) throw new Error(`label ${label} twice in: ${line}`);
        labels[label] = value;
        i = j + 1;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') throw new Error(`bad labels in: ${line}`);
      }
      i++;
    }
    if (line[i] !== ' ') throw new Error(`no value in: ${line}`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length > 2 || (parts.length === 2 && !/^-?\d+$/.test(parts[1] ?? ''))) throw new Error(`bad value or timestamp in: ${line}`);
    const value = parseValue(parts[0] ?? '', line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none; throws when several. */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Sum of every sample named `name` whose labels include `labels` (0 when none). */
export function sumOf(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

/** Where Debian's package puts the server. */
export const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/** A Prometheus server under test. */
export interface PrometheusProcess {
  readonly url: string;
  /** Instant query: the result vector of `/api/v1/query`. */
  query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Its log (stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus on loopback scraping `target` (host:port of the admin listener) every second,
 * with `token` as the bearer credential when given; storage in a temp dir removed on stop.
 */
export async function startPrometheus(target: string, token?: string): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'balancer-prom-'));
  const port = await freePort();
  const auth = token === undefined ? '' : `    authorization:\n      credentials: ${JSON.stringify(token)}\n`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: balancer\n${auth}    static_configs:\n      - targets: [${JSON.stringify(target)}]\n`,
  );
  const proc: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${stderr}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
    }, 'prometheus ready', 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    log: () => stderr,
    stop,
    async query(q: string) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success' || body.data === undefined) throw new Error(`query ${q} failed: ${body.error ?? r.status}`);
      return body.data.result;
    },
  };
}

/** Whether the Prometheus binary is installed. */
export function hasPrometheus(): boolean {
  return existsSync(PROMETHEUS);
}
