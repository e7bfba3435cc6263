// Black-box, in a real browser: the dashboard served by the real balancer (the CLI as a process,
// real backends), driven by Debian's Chromium through playwright-core. It must show every server
// up, turn a killed one down without a reload, drain one through its button with the token the
// page asked for, and say what the API answered.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { backends, closeAll, get, startBalancer, adminUrl } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { rawExchange } from '../helpers/raw-client.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dash-token-93be';
/** Where the screenshot goes: a temp file, or the README's image when DASHBOARD_SCREENSHOT names it. */
const SHOT = process.env.DASHBOARD_SCREENSHOT ?? `/tmp/balancer-dashboard-${process.pid}.png`;

async function apiState(admin: string, name: string): Promise<string | undefined> {
  const r = await get(`${admin}/api/servers`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { servers: { name: string; state: string }[] }).servers.find((s) => s.name === name)?.state;
}

const stateOf = (page: Page, name: string): Promise<string> => page.locator(`[data-server="${name}"] [data-role="state"]`).textContent().then((t) => t ?? "");

/** The status line of a raw request's answer. */
const rawStatus = async (base: string, text: string): Promise<string> => (await rawExchange(base, text)).split('\r\n')[0] ?? '';

test(
  'dashboard in Chromium: every server up, a killed one turns down live, drain through its button with the token, refusals shown',
  { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}: install Debian's chromium (apt-get install chromium) to run the dashboard's browser test` },
  async () => {
    const [a, b, c] = await backends(3, { latencyMs: [2, 8, 20] });
    assert.ok(a !== undefined && b !== undefined && c !== undefined);
    const bp = await startBalancer({
      name: 'edge-eu',
      algorithm: 'least-connections',
      healthCheckDelay: 0.25,
      admin: { addr: '127.0.0.1:0', token: TOKEN },
      servers: [
        { addr: a.url, name: 'alpha' },
        { addr: b.url, name: 'bravo' },
        { addr: c.url, name: 'charlie' },
      ],
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
    let traffic = true;
    const load = (async () => {
      while (traffic) await get(`${bp.url}/`).catch(() => undefined);
    })();
    try {
      const admin = await adminUrl(bp);

      // The page itself: no token needed, strict CSP, never cached; a foreign Host is refused.
      const page0 = await get(`${admin}/`);
      assert.equal(page0.status, 200);
      assert.match(String(page0.headers['content-security-policy']), /default-src 'self'; script-src 'self'/);
      assert.equal(page0.headers['cache-control'], 'no-store');
      assert.equal((await get(`${admin}/dashboard/app.js`)).status, 200);
      assert.match(await rawStatus(admin, `GET / HTTP/1.1\r\nHost: evil.example:${new URL(admin).port}\r\nConnection: close\r\n\r\n`), / 403 /);

      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        // Failed loads are judged by URL below; any other error is a fault (a CSP violation, a script error).
        if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (401|404)/.test(m.text())) problems.push(m.text());
      });
      page.on('response', (r) => {
        const path = new URL(r.url()).pathname;
        // 401: the page asks for the token; 404 on /api/events: a balancer without the stream (the page polls).
        if (r.status() >= 400 && r.status() !== 401 && !(r.status() === 404 && path === '/api/events')) problems.push(`${r.status()} ${path}`);
      });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${admin}/`);

      // Reads need the token here: the page asks; a wrong one is refused with the API's message.
      await page.locator('#token-input').fill('not-the-token');
      await page.locator('#token-ok').click();
      await page.locator('#token-why').filter({ hasText: 'wrong token' }).waitFor({ timeout: 10_000 });
      await page.locator('#token-input').fill(TOKEN);
      await page.locator('#token-ok').click();

      for (const name of ['alpha', 'bravo', 'charlie']) {
        await waitFor(async () => (await stateOf(page, name).catch(() => '')).includes('up'), `${name} shown up`);
      }
      assert.equal(await page.locator('#algorithm').innerText(), 'least-connections');
      assert.equal(await page.locator('#config-name').innerText(), 'edge-eu');
      await waitFor(async () => (await page.locator('#total-up').innerText()) === '3 of 3', 'totals: 3 of 3 up');

      // Kill bravo: its row turns down without reloading the page.
      await b.close();
      await waitFor(async () => (await stateOf(page, 'bravo')).includes('down'), 'bravo shown down', 10_000);
      await waitFor(async () => (await page.locator('#total-up').innerText()) === '2 of 3', 'totals: 2 of 3 up');
      assert.notEqual(await page.locator('[data-server="bravo"] [data-role="why"]').innerText(), '');

      // Drain charlie through its button (the token entered above is in session storage).
      await page.getByRole('button', { name: 'Drain charlie' }).click();
      await waitFor(async () => (await apiState(admin, 'charlie')) === 'draining', 'the API says charlie is draining');
      await waitFor(async () => (await stateOf(page, 'charlie')).includes('draining'), 'charlie shown draining');
      await page.locator('#message').filter({ hasText: 'charlie: drain done' }).waitFor({ timeout: 5_000 });
      assert.equal(page.url(), `${admin}/`, 'the token never went into the URL');

      // The timeline has bravo's fall (newest first; drain after it).
      await page.locator('#timeline li').filter({ hasText: 'bravo' }).first().waitFor({ timeout: 10_000 });

      if (SHOT.startsWith('/tmp/') === false) mkdirSync(dirname(SHOT), { recursive: true });
      // For the README's image only: let the charts fill for a while under the running traffic.
      if (process.env.DASHBOARD_SCREENSHOT !== undefined) await new Promise((r) => setTimeout(r, 25_000));
      await page.evaluate('window.scrollTo(0, 0)');
      const png = await page.screenshot({ path: SHOT });
      assert.ok(png.length > 10_000, `screenshot of ${png.length} bytes`);
      assert.deepEqual(problems, [], 'no script errors or CSP violations in the page');
    } finally {
      traffic = false;
      await load;
      await browser.close();
      await bp.stop();
      await closeAll([a, c]);
    }
  },
);
