// A small in-memory AdminControl for the admin server's own tests (the real one is the Cluster).
import type { AdminControl, ReloadOutcome, ServerAction, ServerView } from '../../src/admin/control.js';
import type { SourceStatus } from '../../src/control/sources/source.js';

/** An AdminControl over a list of servers, recording every call. */
export class FakeControl implements AdminControl {
  readonly calls: string[] = [];
  isReady = true;
  nextReload: ReloadOutcome = { ok: true, changes: ['servers: added c'], kept: ['a', 'b'] };
  private list: ServerView[];

  constructor(views: ServerView[] = [view('a', 'http://127.0.0.2:9000'), view('b', 'http://127.0.0.3:9000', { state: 'down', healthy: false, reason: 'connection refused' })]) {
    this.list = views;
  }

  servers(): readonly ServerView[] {
    return this.list;
  }
  sources(): readonly SourceStatus[] {
    return [{ id: 'config', ok: true, error: undefined, since: 0, servers: this.list.length }];
  }
  act(name: string, action: ServerAction): ServerView | undefined {
    this.calls.push(`${action} ${name}`);
    const state = action === 'drain' ? 'draining' : action === 'disable' ? 'disabled' : 'up';
    return this.update(name, { state });
  }
  setWeight(name: string, weight: number): ServerView | undefined {
    this.calls.push(`weight ${name} ${weight}`);
    return this.update(name, { weight, effectiveWeight: weight });
  }
  async reload(): Promise<ReloadOutcome> {
    this.calls.push('reload');
    return this.nextReload;
  }
  redactedConfig(): unknown {
    return { servers: this.list.map((s) => ({ addr: s.addr })), admin: { addr: '127.0.0.1:0', token: '[redacted]' } };
  }
  ready(): boolean {
    return this.isReady;
  }

  private update(name: string, change: Partial<ServerView>): ServerView | undefined {
    const i = this.list.findIndex((s) => s.name === name);
    const old = this.list[i];
    if (old === undefined) return undefined;
    const next = { ...old, ...change };
    this.list = this.list.map((s, j) => (j === i ? next : s));
    return next;
  }
}

/** A server view with defaults. */
export function view(name: string, addr: string, over: Partial<ServerView> = {}): ServerView {
  return {
    name,
    addr,
    state: 'up',
    healthy: true,
    reason: undefined,
    since: '2026-11-25T12:00:00.000Z',
    weight: 1,
    effectiveWeight: 1,
    inflight: 0,
    requests: 0,
    failures: 0,
    backup: false,
    source: 'config',
    ...over,
  };
}
