// Usage: node hung.mjs <repo dir> <seconds>
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
const [dir, secs] = [process.argv[2], Number(process.argv[3] ?? 20)];
const listen = (s) => new Promise((r) => s.listen(0, '127.0.0.1', () => r(s.address().port)));
const hung = createServer((req, res) => { if (req.url === '/health') res.end('ok'); });
const good = createServer((req, res) => res.end('ok'));
const [hp, gp] = [await listen(hung), await listen(good)];
const cfg = `/tmp/h/hung-${process.pid}.json`;
writeFileSync(cfg, JSON.stringify({ addr: '127.0.0.1:0', healthCheckDelay: 1, healthCheck: { path: '/health' }, timeouts: { responseHeaders: 1 },
  servers: [{ addr: `http://127.0.0.1:${hp}` }, { addr: `http://127.0.0.1:${gp}` }] }));
const p = spawn(process.execPath, [`${dir}/dist/src/cli.js`, 'start', '--config', cfg], { stdio: ['ignore', 'pipe', 'inherit'] });
const logs = [];
let url;
await new Promise((r) => { let buf = ''; p.stdout.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); try { const j = JSON.parse(l); logs.push(j); if (j.addr && / listening on /.test(j.msg)) { url = j.addr; r(); } } catch {} } }); });
const end = Date.now() + secs * 1000; let total = 0, slow = 0;
await Promise.all(Array.from({ length: 4 }, async () => { while (Date.now() < end) { const t = Date.now(); const r = await request(`${url}/`); await r.body.text(); total++; if (Date.now() - t >= 900) slow++; } }));
p.kill('SIGTERM'); await new Promise((r) => p.once('exit', r));
const about = logs.filter((l) => String(l.msg).startsWith(`server http://127.0.0.1:${hp} `)).map((l) => String(l.msg));
console.log(`${secs} s: ${total} requests, ${slow} (${(100 * slow / total).toFixed(1)} %) waited the 1 s headers timeout; hung server down ${about.filter((m) => m.includes(' down: ')).length}x, up ${about.filter((m) => m.includes(' up: ')).length}x`);
for (const m of about.slice(0, 6)) console.log('  ', m);
hung.closeAllConnections(); hung.close(); good.close();
