import type { ServerAction, ServerView } from '../admin/control.js';
import { callAdmin, resolveAdminTarget, type AdminOptions } from './admin-client.js';

/** What an action did, in one line, from the server's new state. */
export function describeAction(action: ServerAction | 'weight', s: ServerView): string {
  const inflight = `${s.inflight} request${s.inflight === 1 ? '' : 's'} in flight`;
  switch (action) {
    case 'drain':
      return `${s.name} (${s.addr}) is draining: no new requests; ${inflight}${s.inflight === 0 ? ', safe to stop' : ' (balancer status shows when it reaches 0)'}`;
    case 'disable':
      return `${s.name} (${s.addr}) is disabled: no traffic and no health alerts until balancer enable ${s.name}; ${inflight}`;
    case 'enable':
      return `${s.name} (${s.addr}) is enabled: ${s.state}${s.healthy ? '' : ` (${s.reason ?? 'failing its health checks'})`}, weight ${s.effectiveWeight}/${s.weight}`;
    case 'weight':
      return `${s.name} (${s.addr}) has weight ${s.weight} (in force now: ${s.effectiveWeight}) until a reload changes it`;
  }
}

/** The server segment of an admin API path. */
const seg = (name: string): string => encodeURIComponent(name);

/** `balancer drain|disable|enable NAME`. */
export function serverActionCommand(action: ServerAction): (name: string, o: AdminOptions) => Promise<void> {
  return async (name, o) => {
    const target = resolveAdminTarget(o);
    const { body } = await callAdmin(target, 'POST', `/api/servers/${seg(name)}/${action}`);
    process.stdout.write(`${describeAction(action, body as ServerView)}\n`);
  };
}

/** `balancer weight NAME N`. */
export async function weightCommand(name: string, weight: number, o: AdminOptions): Promise<void> {
  const target = resolveAdminTarget(o);
  const { body } = await callAdmin(target, 'PUT', `/api/servers/${seg(name)}/weight`, { body: { weight } });
  process.stdout.write(`${describeAction('weight', body as ServerView)}\n`);
}
