// Everything the control plane announces, on one bus: health transitions (forwarded from
// HealthEvents, which notifiers read), operator actions, reloads and DNS set changes. The event
// stream of the admin API reads it; fields follow the webhook body (README: Event stream).
import { EventEmitter } from 'node:events';
import type { ServerView } from '../admin/control.js';
import type { HealthEventType } from './health/events.js';

/** Every announcement type, health ones first. */
export type AnnouncementType = HealthEventType | 'drained' | 'disabled' | 'enabled' | 'weight' | 'reload' | 'reload-rejected' | 'dns-changed';

/** One announcement, as the event stream sends it (JSON-ready). */
export interface Announcement {
  readonly type: AnnouncementType;
  /** The server concerned; absent for reloads and DNS changes. */
  readonly server?: { readonly addr: string; readonly name: string };
  /** Why, in words. */
  readonly reason: string;
  /** Epoch milliseconds. */
  readonly time: number;
  /** Servers available after it. */
  readonly healthy: number;
  /** Servers configured. */
  readonly total: number;
  /** The concerned server's view after it. */
  readonly view?: ServerView;
  /** `weight`: the new weight. */
  readonly weight?: number;
  /** `reload`: what changed; `kept`: what needs a restart. */
  readonly changes?: readonly string[];
  readonly kept?: readonly string[];
  /** `reload-rejected`: every problem of the file. */
  readonly problems?: readonly string[];
  /** `dns-changed`: the source id ("dns:NAME") and how many servers it now gives. */
  readonly source?: string;
  readonly servers?: number;
}

/** The bus; listeners must not throw or block (the stream only queues bytes). */
export class Announcements extends EventEmitter<{ announcement: [Announcement] }> {
  /** Publishes one announcement to every listener. */
  publish(a: Announcement): void {
    this.emit('announcement', a);
  }
}
