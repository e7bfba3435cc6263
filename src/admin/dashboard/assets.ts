// The dashboard's static files (index.html, app.js, style.css), copied next to this module by
// `npm run build` and read once, at start: the page holds no data, so it is served without a
// token, under a strict Content-Security-Policy (no inline script, nothing from other origins).
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';

/** CSP of every dashboard file: own origin only, no inline scripts or styles, no framing. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const FILES: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/dashboard/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/dashboard/style.css': ['style.css', 'text/css; charset=utf-8'],
};

let assets: Map<string, Asset> | undefined;

function load(): Map<string, Asset> {
  const dir = new URL('./', import.meta.url);
  const m = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(FILES)) m.set(path, { type, body: readFileSync(new URL(file, dir)) });
  return m;
}

/** True when `path` is one of the dashboard's files. */
export function isDashboardPath(path: string): boolean {
  return Object.hasOwn(FILES, path);
}

/** Sends a dashboard file (HEAD: the head only); the path must pass isDashboardPath. */
export function sendDashboard(res: ServerResponse, path: string, head: boolean): void {
  try {
    assets ??= load();
  } catch (e) {
    // A broken install (files not copied by the build) must not take the admin API down.
    const text = `the dashboard's files are missing from this install: ${e instanceof Error ? e.message : String(e)}\n`;
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
    return;
  }
  const a = assets.get(path);
  if (a === undefined) throw new Error(`no dashboard file ${path}`);
  res.writeHead(200, {
    'content-type': a.type,
    'content-length': a.body.length,
    'cache-control': 'no-store',
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  res.end(head ? undefined : a.body);
}
