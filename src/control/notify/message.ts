import type { BalancerInfo, Notification } from './notification.js';

/** Human duration: "45 s", "2 min", "3 min 20 s", "1 h 5 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return rest === 0 || m >= 10 ? `${Math.round(s / 60)} min` : `${m} min ${rest} s`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** "web-2 (http://localhost:9001)", or just the address when the name adds nothing. */
function serverLabel(server: { readonly name: string; readonly addr: string }): string {
  return server.name === '' || server.name === server.addr ? server.addr : `${server.name} (${server.addr})`;
}

/**
 * The one-line human text of a notification, the same for every channel, e.g.
 * "🔴 server web-2 (http://localhost:9001) is DOWN: 3 failed checks, last: ECONNREFUSED — 3/4 healthy".
 * Plain text on purpose: no Markdown, so server names with `_` or `*` cannot break it.
 */
export function formatMessage(n: Notification, balancer: BalancerInfo): string {
  const e = n.event;
  const server = serverLabel(e.server);
  const why = e.reason === '' ? '' : `: ${e.reason}`;
  const counts = ` — ${e.healthy}/${e.total} healthy`;
  const f = n.flapping;
  let text: string;
  if (f?.state === 'ended') {
    const now = e.type === 'server-down' || e.type === 'all-down' ? 'DOWN' : 'UP';
    text = `🟡 server ${server} flapped ${f.changes} times in ${formatDuration(f.spanMs)}, now ${now}${counts}`;
  } else {
    switch (e.type) {
      case 'server-down':
        text = `🔴 server ${server} is DOWN${why}${counts}`;
        break;
      case 'server-up':
        text = `🟢 server ${server} is UP${why}${counts}`;
        break;
      case 'all-down':
        text = `🚨 ALL servers of ${balancer.name} are DOWN, last: ${server}${why}${counts}`;
        break;
      case 'recovered':
        text = `✅ ${balancer.name} recovered: server ${server} is UP${why}${counts}`;
        break;
      case 'certificate-failing':
        text = `🔐 ${balancer.name}: certificate renewal for ${e.server.name} is failing${why}`;
        break;
      case 'certificate-expiring':
        text = `⏳ ${balancer.name}: certificate for ${e.server.name} is close to expiry${why}`;
        break;
    }
    if (f?.state === 'started') {
      text += ` — flapping (${f.changes} changes in ${formatDuration(f.spanMs)}): further messages about this server are held until it is stable for ${formatDuration(f.windowMs)}`;
    }
  }
  return n.test === true ? `🧪 TEST from ${balancer.name} (${balancer.addr}): ${text}` : text;
}
