import type { ServerView } from '../admin/control.js';
import type { SourceStatus } from '../control/sources/source.js';
import { callAdmin, resolveAdminTarget, type AdminOptions } from './admin-client.js';
import { formatWorkers } from '../workers/status-line.js';
import type { WorkerView } from '../workers/primary.js';

/** Options of `balancer status`. */
export interface StatusOptions extends AdminOptions {
  json?: boolean;
}

/** A number for the table: whole numbers as they are, others with at most two decimals. */
function num(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(Math.round(n * 100) / 100);
}

/** What the STATE column says: the state, "down" too when a drained or disabled server fails its checks. */
function stateOf(s: ServerView): string {
  let state: string = s.state;
  if ((s.state === 'draining' || s.state === 'disabled') && !s.healthy) state += ', down';
  return state;
}

/** Effective weight, with the configured one when they differ (slow start, operator weight): "0.4/2". */
function weightOf(s: ServerView): string {
  return s.effectiveWeight === s.weight ? num(s.weight) : `${num(s.effectiveWeight)}/${num(s.weight)}`;
}

/**
 * The servers as an aligned table: NAME ADDRESS STATE ACTIVE REQS FAILS WEIGHT REASON
 * (ACTIVE: requests in flight; REQS and FAILS: totals). The reason comes last because it is the only long, often empty,
 * column; with `width` (a terminal's), it is cut to fit, so each server stays on one line.
 */
export function formatStatusTable(servers: readonly ServerView[], sources: readonly SourceStatus[] = [], width?: number): string {
  const head = ['NAME', 'ADDRESS', 'STATE', 'ACTIVE', 'REQS', 'FAILS', 'WEIGHT', 'REASON'];
  const right = [false, false, false, true, true, true, true, false];
  const rows = servers.map((s) => [
    s.name,
    s.addr.replace(/^http:\/\//, ''),
    stateOf(s),
    num(s.inflight),
    num(s.requests),
    num(s.failures),
    weightOf(s),
    s.reason ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => {
    const text = cells
      .map((c, i) => (right[i] === true ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
    return width !== undefined && text.length > width && width > 20 ? `${text.slice(0, width - 1)}…` : text;
  };
  const out = [line(head), ...rows.map(line)];
  if (servers.length === 0) out.push('(no servers)');
  const backups = servers.filter((s) => s.backup).map((s) => s.name);
  if (backups.length > 0) out.push(`backup (used only while no other server is up): ${backups.join(', ')}`);
  // Sources other than the config file: how DNS discovery is doing.
  for (const src of sources) {
    if (src.id === 'config' && src.ok) continue;
    const since = new Date(src.since).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    out.push(
      src.ok
        ? `source ${src.id}: ${src.servers} server${src.servers === 1 ? '' : 's'}, ok since ${since}`
        : `source ${src.id}: failing since ${since}: ${src.error ?? 'unknown error'} (keeping its last ${src.servers} server${src.servers === 1 ? '' : 's'})`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** `balancer status`: the servers as the running balancer sees them. */
export async function statusCommand(o: StatusOptions): Promise<void> {
  const target = resolveAdminTarget(o);
  const { body } = await callAdmin(target, 'GET', '/api/servers');
  const { servers, sources, workers } = body as { servers: ServerView[]; sources: SourceStatus[]; workers?: WorkerView[] };
  const width = process.stdout.isTTY === true ? process.stdout.columns : undefined;
  process.stdout.write(o.json === true ? `${JSON.stringify(body, null, 2)}\n` : formatStatusTable(servers, sources, width) + formatWorkers(workers));
}
