/** Host and port a listener binds to. */
export interface ListenAddress {
  /** Host or IP; undefined means every interface. */
  readonly host: string | undefined;
  /** TCP port, 0..65535 (0: any free port). */
  readonly port: number;
  /** Workers (src/workers/) bind their own sockets with SO_REUSEPORT: the kernel spreads connections among them. */
  readonly reusePort?: boolean;
}

/**
 * Parses a Go-style listen address: ":8000", "127.0.0.1:8000", "[::1]:8000", "localhost:8000".
 * Returns a phrase saying what is wrong instead when it cannot.
 */
export function parseListenAddress(addr: string): ListenAddress | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d+)$/.exec(addr);
  if (!m) return 'is not a listen address like ":8000", "127.0.0.1:8000" or "[::1]:8000"';
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535) return 'has a port out of range (allowed: 0 to 65535)';
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

/** Formats a host and port for URLs and logs ("[::1]:8000", "127.0.0.1:8000"). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
