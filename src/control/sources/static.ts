import type { ServerConfig } from '../../config/load.js';
import type { ServerSpec, SourceStatus, UpstreamSource } from './source.js';

/** Id of the config's own server list. */
export const STATIC_SOURCE_ID = 'config';

/** The servers listed in the config: reported once at start, never changing (a reload makes a new one). */
export class StaticSource implements UpstreamSource {
  /** Always "config". */
  readonly id = STATIC_SOURCE_ID;
  private readonly specs: readonly ServerSpec[];
  private readonly since = Date.now();

  /** A source reporting `servers` (the config's list). */
  constructor(servers: readonly ServerConfig[]) {
    this.specs = servers.map((s) => ({ addr: s.addr, name: s.name, weight: s.weight, backup: s.backup, source: STATIC_SOURCE_ID }));
  }

  /** Reports the list at once. */
  start(onChange: (servers: readonly ServerSpec[]) => void): void {
    onChange(this.specs);
  }

  /** Nothing runs. */
  async stop(): Promise<void> {}

  /** Always ok. */
  status(): SourceStatus {
    return { id: this.id, ok: true, error: undefined, since: this.since, servers: this.specs.length };
  }
}
