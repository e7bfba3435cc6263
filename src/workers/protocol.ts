// The IPC messages between the primary and its workers (node:cluster, "advanced" serialization:
// structured clone, so a Config's Sets cross intact).
import type { AddressInfo } from 'node:net';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { WireConfig } from './wire-config.js';
import type { MemberState } from './reports.js';
import type { ReportBatch } from './reporter.js';

/** A registry's metrics as getMetricsAsJSON() gives them. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Primary to worker. */
export type ToWorker =
  /** Everything a new worker needs: the config in force, the servers, how many workers share the traffic. */
  | { readonly t: 'init'; readonly config: WireConfig; readonly members: readonly MemberState[]; readonly workers: number; readonly metrics: boolean }
  /** A reload: the new config (its servers follow in a `members` message when they changed). */
  | { readonly t: 'config'; readonly config: WireConfig }
  /** The servers, in order, with their state (membership or order changed). */
  | { readonly t: 'members'; readonly members: readonly MemberState[] }
  /** One server's health, operator state or weight changed. */
  | { readonly t: 'state'; readonly state: MemberState }
  /** Send your metrics (a scrape of /metrics). */
  | { readonly t: 'metrics'; readonly id: number }
  /** Reopen the access log (SIGUSR1). */
  | { readonly t: 'reopen' }
  /** Stop accepting, finish in-flight requests within `graceMs`, report, exit. */
  | { readonly t: 'stop'; readonly graceMs: number };

/** Worker to primary. */
export type FromWorker =
  /** The engine listens (at `address`; `url` is what clients use). */
  | { readonly t: 'listening'; readonly address: AddressInfo; readonly url: string }
  /** The worker could not start (listen failed, a bad access log path); it exits with `exitCode`. */
  | { readonly t: 'failed'; readonly message: string; readonly exitCode: number }
  /** Outcomes since the last report. */
  | { readonly t: 'report'; readonly batch: ReportBatch }
  /** A reload's config is in force here; `kept` are settings that need a restart. */
  | { readonly t: 'applied'; readonly kept: readonly string[] }
  /** This worker's metrics, for scrape `id` (or its last, when exiting: id -1). */
  | { readonly t: 'metrics'; readonly id: number; readonly metrics: MetricsJson }
  /** What reopening the access log did. */
  | { readonly t: 'reopened'; readonly ok: boolean; readonly message: string };

/** Anything that is not one of our messages (node:cluster's own use the same channel). */
export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

/** See isFromWorker. */
export function isToWorker(m: unknown): m is ToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
