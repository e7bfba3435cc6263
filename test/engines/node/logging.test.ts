import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { request } from 'undici';
import { CLI, writeConfig } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

test('a log reader that stops reading does not stall the proxy (lines are dropped instead)', async () => {
  const [port, dead] = [await freePort(), await freePort()];
  const file = writeConfig({
    addr: `127.0.0.1:${port}`,
    healthCheck: { enabled: false, passive: { maxFails: 0 } },
    // Failures are rate-limited in the log now; the per-request "not retried" debug lines still fill the pipe.
    retries: { attempts: 2 },
    servers: [{ addr: `http://127.0.0.1:${dead}` }],
  });
  const proc = spawn(process.execPath, [CLI, 'start', '--config', file, '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  try {
    let listening = false;
    proc.stdout.once('data', () => (listening = true));
    await waitFor(() => listening, 'balancer to start');
    proc.stdout.pause(); // nobody reads the log from now on: the pipe fills up
    // Every request fails upstream and logs debug lines: far more than a pipe buffer holds.
    for (let i = 0; i < 3000; i++) {
      const r = await request(`http://127.0.0.1:${port}/`, { headersTimeout: 5000, bodyTimeout: 5000 });
      await r.body.text();
      assert.equal(r.statusCode, 503); // the server refuses: none could be reached
    }
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});
