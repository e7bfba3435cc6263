import { Counter, Gauge, type Registry } from 'prom-client';
import type { TlsTerminator } from './terminator.js';

/**
 * Registers the TLS metrics on `registry`, read from `tls` at scrape time (nothing on the request
 * path): `balancer_certificate_expiry_timestamp_seconds{name}` per name served (the earliest
 * expiry when several certificates serve one name) and the rapid-reset sessions closed.
 */
export function registerTlsMetrics(registry: Registry, tls: TlsTerminator): void {
  const registers = [registry];
  new Gauge({
    name: 'balancer_certificate_expiry_timestamp_seconds',
    help: 'When the certificate served for a name expires (notAfter), epoch seconds.',
    labelNames: ['name'],
    registers,
    collect(this: Gauge<'name'>) {
      this.reset();
      const earliest = new Map<string, number>();
      for (const c of tls.list()) {
        const t = Date.parse(c.notAfter) / 1000;
        for (const n of c.names) earliest.set(n, Math.min(t, earliest.get(n) ?? Infinity));
      }
      for (const [name, t] of earliest) this.set({ name }, t);
    },
  });
  new Counter({
    name: 'balancer_http2_reset_flood_sessions_total',
    help: 'HTTP/2 connections closed for cancelling too many streams a second (rapid reset).',
    registers,
    collect(this: Counter) {
      this.reset();
      this.inc(tls.resetFloods);
    },
  });
}
