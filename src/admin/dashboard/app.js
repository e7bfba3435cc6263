// The live dashboard. Reads GET /api/events (SSE read through fetch, because EventSource cannot
// send the Authorization header); when the balancer has no stream (404) it polls /api/servers
// every 2 s instead. No data is in the page itself: every call carries the token from
// sessionStorage, and the token never goes into a URL.

const TOKEN_KEY = 'balancer-admin-token';
const POLL_MS = 2000;
const RECONNECT_MS = 2000;
/** Points kept per chart: 5 minutes at one summary a second. */
const HISTORY = 300;
const TIMELINE_MAX = 100;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

/** name -> { view, stats, history: [{p50, p99}], el: {...} } */
const servers = new Map();
let pendingToken = null; // resolves the dialog's promise
let mode = 'connecting';

// ---- token ---------------------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Opens the token dialog; resolves with the token, or null when cancelled. */
function askToken(why) {
  const dialog = $('token-dialog');
  $('token-why').textContent = why;
  $('token-input').value = '';
  if (!dialog.open) dialog.showModal();
  $('token-input').focus();
  return new Promise((resolve) => {
    if (pendingToken) pendingToken(null);
    pendingToken = resolve;
  });
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token-input').value.trim();
  if (t === '') return;
  sessionStorage.setItem(TOKEN_KEY, t);
  $('token-dialog').close();
  const p = pendingToken;
  pendingToken = null;
  if (p) p(t);
});
$('token-cancel').addEventListener('click', () => {
  $('token-dialog').close();
});
$('token-dialog').addEventListener('close', () => {
  // 'close' fires a task later: the dialog may already be open again for the next question.
  if ($('token-dialog').open) return;
  const p = pendingToken;
  pendingToken = null;
  if (p) p(null);
});
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  say('Token forgotten for this tab.', 'info');
});

/** fetch() with the bearer token; a 401 asks for the token (showing why) and tries again. */
async function api(path, init = {}) {
  for (;;) {
    const headers = { ...(init.headers || {}) };
    const t = token();
    if (t) headers.authorization = `Bearer ${t}`;
    const res = await fetch(path, { ...init, headers, cache: 'no-store' });
    if (res.status !== 401) return res;
    const err = await errorOf(res);
    sessionStorage.removeItem(TOKEN_KEY);
    const got = await askToken(t ? `Refused: ${err}` : 'This admin API needs its token.');
    if (got === null) {
      const e = new Error(err);
      e.refused = true;
      throw e;
    }
  }
}

/** The API's own error message from a refused answer. */
async function errorOf(res) {
  try {
    const body = await res.json();
    if (body && body.error) {
      const problems = Array.isArray(body.error.problems) ? `: ${body.error.problems.join('; ')}` : '';
      return `${body.error.message}${problems} (${body.error.code}, HTTP ${res.status})`;
    }
  } catch {
    // not JSON: fall through
  }
  return `HTTP ${res.status}`;
}

// ---- messages -------------------------------------------------------------------------------

let messageTimer;
function say(text, kind) {
  const m = $('message');
  m.textContent = text;
  m.className = `message ${kind}`;
  m.hidden = false;
  clearTimeout(messageTimer);
  if (kind !== 'error') messageTimer = setTimeout(() => (m.hidden = true), 6000);
}

function setLink(text, live) {
  const l = $('link');
  l.textContent = text;
  l.className = live ? 'live' : 'not-live';
}

// ---- formatting -----------------------------------------------------------------------------

const fmtNum = (n, digits = 1) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n >= 100 ? String(Math.round(n)) : n.toFixed(digits));
const fmtMs = (n) => (n === null || n === undefined ? '–' : n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n >= 10 ? Math.round(n) : n.toFixed(1)} ms`);
const fmtW = (w) => String(Math.round(w * 100) / 100);
const fmtPct = (r) => (r === null || r === undefined ? '–' : `${(r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0)}%`);
const clock = (t) => new Date(t).toLocaleTimeString([], { hour12: false });

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
}

const STATE_MARK = { up: '●', down: '▼', draining: '◐', disabled: '■' };

// ---- server cards ---------------------------------------------------------------------------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function stat(parent, label) {
  const box = el('div', 'stat');
  box.append(el('span', 'label', label));
  const v = el('span', 'value', '–');
  box.append(v);
  parent.append(box);
  return v;
}

/** Builds a card once; later updates only change text, so focus on its buttons survives. */
function card(name) {
  let s = servers.get(name);
  if (s) return s;
  const root = el('article', 'server');
  root.dataset.server = name;
  root.setAttribute('aria-label', `server ${name}`);
  const head = el('div', 'head');
  const title = el('h3', 'name', name);
  const state = el('span', 'state');
  state.dataset.role = 'state';
  head.append(title, state);
  const addr = el('p', 'addr muted');
  const why = el('p', 'why');
  why.dataset.role = 'why';
  const grid = el('div', 'stats');
  const weight = stat(grid, 'weight');
  const inflight = stat(grid, 'in flight');
  const rps = stat(grid, 'req/s');
  const err = stat(grid, 'errors');
  const p50 = stat(grid, 'p50');
  const p99 = stat(grid, 'p99');
  const slow = el('div', 'slow');
  const slowBar = el('progress');
  slowBar.max = 1;
  const slowText = el('span', 'small muted');
  slow.append(slowBar, slowText);
  const chart = document.createElementNS(SVG, 'svg');
  chart.setAttribute('class', 'chart');
  chart.setAttribute('viewBox', `0 0 ${HISTORY} 40`);
  chart.setAttribute('preserveAspectRatio', 'none');
  chart.setAttribute('role', 'img');
  const l99 = document.createElementNS(SVG, 'polyline');
  l99.setAttribute('class', 'p99');
  const l50 = document.createElementNS(SVG, 'polyline');
  l50.setAttribute('class', 'p50');
  chart.append(l99, l50);
  const legend = el('p', 'legend small muted');
  legend.append(el('span', 'key k99', 'p99'), el('span', 'key k50', 'p50'), el('span', 'chart-max', ''));
  const buttons = el('div', 'buttons');
  const mk = (action, label) => {
    const b = el('button', `act ${action}`, label);
    b.type = 'button';
    b.dataset.action = action;
    b.setAttribute('aria-label', `${label} ${name}`);
    b.addEventListener('click', () => act(name, action, b));
    buttons.append(b);
    return b;
  };
  const drain = mk('drain', 'Drain');
  const disable = mk('disable', 'Disable');
  const enable = mk('enable', 'Enable');
  root.append(head, addr, why, grid, slow, chart, legend, buttons);
  $('servers').append(root);
  s = { view: null, stats: null, history: [], el: { root, state, addr, why, weight, inflight, rps, err, p50, p99, slow, slowBar, slowText, chart, l99, l50, legend, drain, disable, enable } };
  servers.set(name, s);
  return s;
}

function paint(s) {
  const v = s.view;
  const st = s.stats;
  const e = s.el;
  const state = (st && st.state) || (v && v.state) || 'unknown';
  e.root.dataset.state = state;
  e.state.textContent = `${STATE_MARK[state] || '?'} ${state}`;
  e.state.className = `state st-${state}`;
  if (v) {
    e.addr.textContent = `${v.addr}${v.backup ? ' · backup' : ''}${v.source && v.source !== 'config' ? ` · ${v.source}` : ''}`;
    const what = v.reason ? `${v.reason} · since` : `${state} since`;
    e.why.textContent = `${what} ${clock(v.since)} (${ago(v.since)})`;
    e.why.className = `why ${state === 'up' ? 'muted' : 'bad'}`;
  }
  const eff = st ? st.effectiveWeight : v && v.effectiveWeight;
  const weight = v ? v.weight : undefined;
  e.weight.textContent = eff === undefined ? '–' : weight !== undefined && weight !== eff ? `${fmtW(eff)} / ${fmtW(weight)}` : fmtW(eff);
  e.inflight.textContent = String(st ? st.inflight : v ? v.inflight : '–');
  e.rps.textContent = st ? fmtNum(st.rps) : '–';
  e.err.textContent = st ? fmtPct(st.errorRate) : '–';
  e.p50.textContent = st && 'p50' in st ? fmtMs(st.p50) : '–';
  e.p99.textContent = st && 'p99' in st ? fmtMs(st.p99) : '–';
  // Slow start: the stream says how far; without it, effective over configured weight.
  let progress = st && typeof st.slowStart === 'number' ? st.slowStart : null;
  if (progress === null && v && state === 'up' && v.weight > 0) progress = Math.min(1, v.effectiveWeight / v.weight);
  const ramping = progress !== null && progress < 1 && state === 'up';
  e.slow.hidden = !ramping;
  if (ramping) {
    e.slowBar.value = progress;
    e.slowText.textContent = `slow start ${Math.round(progress * 100)}%`;
  }
  drawChart(s);
  e.drain.disabled = state === 'draining';
  e.disable.disabled = state === 'disabled';
  e.enable.disabled = state === 'up' || state === 'down';
}

function drawChart(s) {
  const h = s.history;
  const e = s.el;
  const hasLatency = h.some((p) => p.p99 !== null);
  e.chart.toggleAttribute('hidden', !hasLatency); // an SVG element has no .hidden property
  e.legend.hidden = !hasLatency;
  if (!hasLatency) return;
  const max = Math.max(1, ...h.map((p) => p.p99 || 0));
  // The window grows to HISTORY points; a fresh page is not a flat line squeezed at the right.
  const width = Math.max(30, h.length);
  const off = width - h.length;
  e.chart.setAttribute('viewBox', `0 0 ${width} 40`);
  const line = (key) =>
    h
      .map((p, i) => (p[key] === null ? null : `${off + i},${(40 - (p[key] / max) * 38).toFixed(1)}`))
      .filter((x) => x !== null)
      .join(' ');
  e.l99.setAttribute('points', line('p99'));
  e.l50.setAttribute('points', line('p50'));
  const span = h.length < 120 ? `${h.length} s` : `${Math.round(h.length / 60)} min`;
  e.chart.setAttribute('aria-label', `latency over the last ${span}, p99 up to ${fmtMs(max)}`);
  e.legend.lastChild.textContent = `max ${fmtMs(max)} · ${span}`;
}

function setViews(views) {
  const names = new Set(views.map((v) => v.name));
  for (const [name, s] of servers) {
    if (!names.has(name)) {
      s.el.root.remove();
      servers.delete(name);
    }
  }
  for (const v of views) {
    const s = card(v.name);
    s.view = v;
    if (s.stats) s.stats.state = v.state;
    // Keep config order: re-append in order (no-op when already in place).
    $('servers').append(s.el.root);
    paint(s);
  }
  if (mode !== 'stream') paintTotals(null);
}

function setView(v) {
  const s = card(v.name);
  s.view = v;
  if (s.stats) s.stats.state = v.state;
  paint(s);
}

function paintTotals(t) {
  const all = [...servers.values()];
  const up = t ? t.up : all.filter((s) => s.view && s.view.state === 'up').length;
  const total = t ? t.total : all.length;
  $('total-up').textContent = `${up} of ${total}`;
  $('total-up').className = up < total ? 'warn' : '';
  if (t) {
    $('total-rps').textContent = fmtNum(t.rps);
    $('total-eps').textContent = fmtNum(t.errorsPerSecond);
    $('total-eps').className = t.errorsPerSecond > 0 ? 'warn' : '';
  }
}

// ---- timeline -------------------------------------------------------------------------------

function timeline(time, type, text, bad) {
  const li = el('li', bad ? 'bad' : '');
  li.append(el('time', 'muted', clock(time)), el('span', `type t-${type}`, type), el('span', 'text', text));
  li.querySelector('time').dateTime = new Date(time).toISOString();
  const list = $('timeline');
  list.prepend(li);
  while (list.children.length > TIMELINE_MAX) list.lastChild.remove();
}

const BAD = new Set(['server-down', 'all-down', 'reload-rejected', 'disabled']);

function announce(type, d) {
  if (d.view) setView(d.view);
  const who = d.server && d.server.name ? d.server.name : '';
  let text = who;
  if (d.reason) text += `${text ? ': ' : ''}${d.reason}`;
  if (Array.isArray(d.changes) && d.changes.length) text += `${text ? ': ' : ''}${d.changes.join('; ')}`;
  if (Array.isArray(d.problems) && d.problems.length) text += `${text ? ': ' : ''}${d.problems.join('; ')}`;
  if (type === 'dns-changed' && d.source) text += `${text ? ' ' : ''}${d.source}: ${d.servers} servers`;
  if (typeof d.healthy === 'number' && typeof d.total === 'number') text += ` (${d.healthy} of ${d.total} up)`;
  timeline(d.time || Date.now(), type, text || type, BAD.has(type));
}

// ---- the stream -----------------------------------------------------------------------------

function onEvent(name, data) {
  let d;
  try {
    d = JSON.parse(data);
  } catch {
    return;
  }
  if (name === 'snapshot') {
    $('config-name').textContent = d.name || '';
    $('algorithm').textContent = d.algorithm || '?';
    setViews(d.servers || []);
  } else if (name === 'summary') {
    if (d.totals) paintTotals(d.totals);
    for (const st of d.servers || []) {
      const s = card(st.name);
      s.stats = st;
      s.history.push({ p50: st.p50 ?? null, p99: st.p99 ?? null });
      if (s.history.length > HISTORY) s.history.shift();
      if (s.view && st.state) s.view = { ...s.view, state: st.state, healthy: st.healthy, inflight: st.inflight, effectiveWeight: st.effectiveWeight };
      paint(s);
    }
  } else {
    announce(name, d);
  }
}

/** Reads one SSE response to its end; returns normally when the server closed it. */
async function readStream(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let cut;
    while ((cut = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue; // comments are keep-alive pings
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value2 = colon === -1 ? '' : line.slice(colon + 1);
        if (value2.startsWith(' ')) value2 = value2.slice(1);
        if (field === 'event') event = value2;
        else if (field === 'data') data.push(value2);
      }
      if (data.length) onEvent(event, data.join('\n'));
    }
  }
}

async function stream() {
  for (;;) {
    let res;
    try {
      res = await api('/api/events', { headers: { accept: 'text/event-stream' } });
    } catch (e) {
      setLink(e.refused ? 'no token: nothing to show' : `cannot reach the balancer (${e.message}); retrying`, false);
      if (e.refused) {
        const again = await askToken('The dashboard needs the admin token to read the servers.');
        if (again === null) await sleep(RECONNECT_MS);
      } else await sleep(RECONNECT_MS);
      continue;
    }
    if (res.status === 404) return false; // no stream on this balancer: poll instead
    if (!res.ok) {
      setLink(`event stream refused: ${await errorOf(res)}; retrying`, false);
      await sleep(RECONNECT_MS * 2);
      continue;
    }
    mode = 'stream';
    setLink('live (event stream)', true);
    try {
      await readStream(res);
    } catch {
      // cut off (network, or too slow a reader): reconnect, the snapshot brings us up to date
    }
    setLink('stream lost; reconnecting…', false);
    timeline(Date.now(), 'stream', 'lost the event stream; reconnecting', true);
    await sleep(RECONNECT_MS);
  }
}

// ---- polling fallback -----------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function poll() {
  mode = 'poll';
  try {
    const res = await api('/api/config');
    if (res.ok) {
      const c = await res.json();
      $('config-name').textContent = c.name || '';
      $('algorithm').textContent = c.algorithm || 'round-robin';
    }
  } catch {
    // shown by the loop below
  }
  let last = null; // { t, byName: { name: {requests, failures, state} } }
  for (;;) {
    try {
      const res = await api('/api/servers');
      if (!res.ok) throw new Error(await errorOf(res));
      const body = await res.json();
      const now = Date.now();
      let rps = 0;
      let eps = 0;
      for (const v of body.servers) {
        const before = last && last.byName[v.name];
        const s = card(v.name);
        if (before) {
          const dt = (now - last.t) / 1000;
          const dr = Math.max(0, v.requests - before.requests);
          const df = Math.max(0, v.failures - before.failures);
          s.stats = { state: v.state, inflight: v.inflight, effectiveWeight: v.effectiveWeight, rps: dr / dt, errorRate: dr > 0 ? df / dr : 0 };
          rps += dr / dt;
          eps += df / dt;
          if (before.state !== v.state) {
            timeline(now, v.state === 'up' ? 'server-up' : v.state === 'down' ? 'server-down' : v.state, `${v.name}: ${before.state} → ${v.state}${v.reason ? `: ${v.reason}` : ''}`, v.state !== 'up');
          }
        }
      }
      setViews(body.servers);
      if (last) {
        $('total-rps').textContent = fmtNum(rps);
        $('total-eps').textContent = fmtNum(eps);
      }
      last = { t: now, byName: Object.fromEntries(body.servers.map((v) => [v.name, v])) };
      setLink(`polling every ${POLL_MS / 1000} s (no event stream: no latency charts)`, true);
    } catch (e) {
      setLink(e.refused ? 'no token: nothing to show' : `cannot reach the balancer (${e.message}); retrying`, false);
    }
    await sleep(POLL_MS);
  }
}

// ---- operator actions -----------------------------------------------------------------------

async function act(name, action, button) {
  button.disabled = true;
  try {
    if (!token()) {
      const t = await askToken(`${action} ${name} needs the admin token.`);
      if (t === null) return;
    }
    const res = await api(`/api/servers/${encodeURIComponent(name)}/${action}`, { method: 'POST' });
    if (!res.ok) {
      say(`${action} ${name} refused: ${await errorOf(res)}`, 'error');
      return;
    }
    const view = await res.json();
    setView(view);
    say(`${name}: ${action} done, now ${view.state}`, 'ok');
    if (mode !== 'stream') timeline(Date.now(), action === 'drain' ? 'drained' : action === 'disable' ? 'disabled' : 'enabled', `${name} (from this page)`, action === 'disable');
  } catch (e) {
    say(`${action} ${name} failed: ${e.message}`, 'error');
  } finally {
    const s = servers.get(name);
    if (s) paint(s);
    else button.disabled = false;
  }
}

$('reload').addEventListener('click', async () => {
  const b = $('reload');
  b.disabled = true;
  try {
    if (!token() && (await askToken('Reloading needs the admin token.')) === null) return;
    const res = await api('/api/reload', { method: 'POST' });
    if (!res.ok) {
      say(`reload refused: ${await errorOf(res)}`, 'error');
      return;
    }
    const body = await res.json();
    say(`reloaded: ${body.changes.length ? body.changes.join('; ') : 'no changes'}`, 'ok');
  } catch (e) {
    say(`reload failed: ${e.message}`, 'error');
  } finally {
    b.disabled = false;
  }
});

// "since ... ago" texts age even when nothing happens.
setInterval(() => {
  for (const s of servers.values()) if (s.view) paint(s);
}, 5000);

// Days until the soonest certificate expiry (HTTPS listeners only: the endpoint is 404 otherwise).
// Plain fetch with the token, so a missing token never opens a second prompt.
async function certificates() {
  try {
    const t = token();
    const res = await fetch('/api/certificates', { headers: t ? { authorization: `Bearer ${t}` } : {}, cache: 'no-store' });
    if (!res.ok) return;
    const { certificates: list } = await res.json();
    if (!list.length) return;
    const soonest = list.reduce((a, c) => (c.daysLeft < a.daysLeft ? c : a));
    $('cert-days').textContent = `${soonest.daysLeft} d`;
    $('cert-box').title = list.map((c) => `${c.names.join(', ')}: ${c.daysLeft} days (until ${c.notAfter}), issuer ${c.issuer}`).join('\n');
    $('cert-box').classList.toggle('warn', soonest.daysLeft < 14);
    $('cert-box').hidden = false;
  } catch {
    // not shown
  }
}
void certificates();
setInterval(certificates, 60_000);

(async () => {
  const streamed = await stream();
  if (streamed === false) await poll();
})();
