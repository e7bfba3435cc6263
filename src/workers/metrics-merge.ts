// /metrics with workers: the primary's registry (health checks, transitions, ejections, notifiers,
// reloads, server state gauges) merged with what each worker counts itself (requests, durations,
// upstream errors, retries, in-flight requests, process metrics), by prom-client's cluster
// aggregation: counters and histograms summed, gauges by their own aggregator (sum for in-flight,
// average for event-loop lag, first for the version...).
import { AggregatorRegistry } from 'prom-client';
import type { MetricsJson } from './protocol.js';

/** Metrics a worker counts (the primary's copies of them read zero and are left out). */
export const WORKER_METRICS: ReadonlySet<string> = new Set([
  'balancer_requests_total',
  'balancer_request_duration_seconds',
  'balancer_upstream_errors_total',
  'balancer_retries_total',
  'balancer_server_in_flight_requests',
]);

/** Of a worker's metrics, those it owns: its request metrics and its process's (CPU, memory, event loop). */
export function workerPart(m: MetricsJson): MetricsJson {
  return m.filter((x) => WORKER_METRICS.has(x.name) || !x.name.startsWith('balancer_'));
}

/** Of the primary's metrics, those it owns (everything but the workers' request metrics). */
export function primaryPart(m: MetricsJson): MetricsJson {
  return m.filter((x) => !WORKER_METRICS.has(x.name));
}

/**
 * What a worker that exited leaves behind: its counters and histograms (totals must not go
 * down when a worker is replaced), not its gauges (they described a live process).
 */
export function retiredPart(m: MetricsJson): MetricsJson {
  // prom-client types `type` as an enum, but its JSON holds the strings "counter", "histogram"...
  return workerPart(m).filter((x) => ['counter', 'histogram'].includes(String(x.type)));
}

/** Merges the parts into one registry's text exposition. */
export function mergeMetrics(parts: readonly MetricsJson[]): Promise<string> {
  return AggregatorRegistry.aggregate(parts as MetricsJson[]).metrics();
}

/** Several retired parts as one (so crashes do not grow the list the scrape merges). */
export async function compact(parts: readonly MetricsJson[]): Promise<MetricsJson> {
  return (await AggregatorRegistry.aggregate(parts as MetricsJson[]).getMetricsAsJSON()) as MetricsJson;
}
