import assert from 'node:assert/strict';
import { test } from 'node:test';
import { get, startBalancer } from './helpers/cluster.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

const N = 500;

/** The log lines whose message starts with `prefix`, and the requests they stand for (`repeated`). */
function linesAbout(logs: readonly Record<string, unknown>[], prefix: string) {
  const lines = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix));
  return { lines, total: lines.reduce((s, l) => s + Number(l.repeated), 0) };
}

test('with every server down, 503s write a bounded number of log lines whose counts add up', async () => {
  const dead = [await freePort(), await freePort()];
  const b = await startBalancer({
    healthCheckDelay: 0.2,
    healthCheck: { fall: 1, timeout: 0.5, jitter: 0 },
    servers: dead.map((p) => ({ addr: `http://127.0.0.1:${p}` })),
  });
  try {
    // The first 503 shows both servers are down; its own line is counted below with the rest.
    await waitFor(async () => (await get(`${b.url}/`)).status === 503, 'every server to be down');
    const started = performance.now();
    for (let i = 0; i < N; i++) assert.equal((await get(`${b.url}/`)).status, 503);
    const seconds = (performance.now() - started) / 1000;
    // The last summary comes within a second.
    await waitFor(() => linesAbout(b.logs, 'no server available').total >= N + 1, 'the counts to add up', 5000).catch(() => undefined);
    const { lines, total } = linesAbout(b.logs, 'no server available');
    assert.equal(total, N + 1, lines.map((l) => l.msg).join('\n'));
    // One line per second at most (plus the first, and the last summary).
    assert.ok(lines.length <= Math.ceil(seconds) + 2, `${lines.length} lines in ${seconds.toFixed(1)} s`);
    assert.ok(
      lines.slice(1).some((l) => /^no server available: [\d,]+ requests answered 503 in the last [\d.]+ s$/.test(String(l.msg))),
      lines.map((l) => l.msg).join('\n'),
    );
  } finally {
    await b.stop();
  }
});

test('repeated failures of one server write a bounded number of lines per reason whose counts add up', async () => {
  const dead = await freePort();
  const b = await startBalancer({
    healthCheck: { enabled: false, passive: { maxFails: 0 } },
    retries: { attempts: 1 },
    servers: [{ addr: `http://127.0.0.1:${dead}` }],
  });
  try {
    const started = performance.now();
    for (let i = 0; i < N; i++) assert.equal((await get(`${b.url}/`)).status, 503); // refused: no attempt reached a server
    const seconds = (performance.now() - started) / 1000;
    const about = `upstream http://127.0.0.1:${dead} failed: ECONNREFUSED`;
    await waitFor(() => linesAbout(b.logs, about).total >= N, 'the counts to add up', 5000).catch(() => undefined);
    const { lines, total } = linesAbout(b.logs, about);
    assert.equal(total, N, lines.map((l) => l.msg).join('\n'));
    assert.ok(lines.length <= Math.ceil(seconds) + 2, `${lines.length} lines in ${seconds.toFixed(1)} s`);
  } finally {
    await b.stop();
  }
});
