// End to end: the real CLI with `tls.acme` gets a certificate from pebble (HTTP-01 answered by its
// redirect listener), serves HTTPS with it, renews it while running, and reuses it after a restart.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { backends, closeAll, startBalancer, type BalancerProcess } from '../../helpers/cluster.js';
import { Pebble, pebbleAvailable } from '../../helpers/pebble.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import type { TestServer } from '../../../src/testservers/server.js';

const skip = pebbleAvailable() ? false : 'pebble is not installed (apt-get install pebble)';
// Short enough to see a renewal (due when a third of the life remains: 6 s after issue).
const VALIDITY_S = 9;

/** GET over HTTPS to 127.0.0.1:port as `localhost`, trusting only `ca`; the status, body and the served certificate's serial. */
function httpsGet(port: number, ca: string, path = '/'): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: 'localhost', ca, agent: false, timeout: 10_000 }, (res) => {
      const socket = res.socket as TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function logged(bp: BalancerProcess, start: string): Record<string, unknown> | undefined {
  return bp.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith(start));
}

describe('balancer CLI with tls.acme against pebble', { skip }, () => {
  let pebble: Pebble;
  let servers: TestServer[];
  let challengePort: number;
  const storage = mkdtempSync(join(tmpdir(), 'balancer-acme-cli-'));
  const running: BalancerProcess[] = [];

  before(async () => {
    challengePort = await freePort();
    pebble = await Pebble.start({ httpPort: challengePort, validitySeconds: VALIDITY_S });
    servers = await backends(1);
  });
  after(async () => {
    await Promise.all(running.map((b) => b.stop()));
    await pebble?.close();
    await closeAll(servers ?? []);
    rmSync(storage, { recursive: true, force: true });
  });

  const config = () => ({
    redirectHttp: `127.0.0.1:${challengePort}`,
    tls: { acme: { email: 'ops@example.com', domains: ['localhost'], directory: pebble.directory, ca: pebble.caFile, storage } },
    servers: [{ addr: servers[0]?.url }],
  });

  test('gets a certificate, serves HTTPS with it (trusted through pebble\'s root), renews it without a restart, and reuses it after one', async (t) => {
    const root = await pebble.root();
    const bp = await startBalancer(config());
    running.push(bp);
    const port = Number(new URL(bp.url).port);
    assert.match(bp.url, /^https:/);

    await waitFor(() => logged(bp, 'obtained a certificate for localhost') !== undefined, 'the first certificate', 20_000);
    const stored = new X509Certificate(readFileSync(join(storage, 'localhost', 'cert.pem')));
    const first = await httpsGet(port, root);
    assert.equal(first.status, 200);
    assert.equal(first.serial, stored.serialNumber, 'the listener serves the certificate just obtained');
    assert.equal(pebble.issued, 1);

    // Renewal while running: a new serial on new connections, no restart.
    await waitFor(() => logged(bp, 'renewed the certificate for localhost') !== undefined, 'the renewal', 20_000);
    const renewed = await httpsGet(port, root);
    assert.equal(renewed.status, 200);
    assert.notEqual(renewed.serial, first.serial);
    assert.equal(renewed.serial, new X509Certificate(readFileSync(join(storage, 'localhost', 'cert.pem'))).serialNumber);
    assert.equal(bp.proc.exitCode, null);

    // A reload that changes the TLS options (the listener drops run-time certificates) and the
    // ACME settings (which need a restart): the ACME certificate is still served, and the log says
    // what was kept.
    const changed = config();
    writeFileSync(bp.file, JSON.stringify({ addr: `127.0.0.1:${port}`, ...changed, tls: { minVersion: 'TLSv1.3', acme: { ...changed.tls.acme, email: 'other@example.com' } } }));
    bp.proc.kill('SIGHUP');
    await waitFor(() => bp.logs.some((l) => Array.isArray(l.kept) && l.kept.includes('tls.acme (still as at start)')), 'the reload', 10_000);
    const afterReload = await httpsGet(port, root);
    assert.equal(afterReload.status, 200);
    assert.equal(afterReload.serial, renewed.serial, 'the ACME certificate survives the reload');
    await bp.stop();
    running.pop();

    // A restart within the certificate's first two thirds: served from storage, no order.
    const issued = pebble.issued;
    const again = await startBalancer(config());
    running.push(again);
    const loaded = logged(again, 'certificate for localhost loaded from storage');
    const orderedAgain = logged(again, 'obtained a certificate') ?? logged(again, 'renewed the certificate');
    t.diagnostic(loaded !== undefined ? 'restart: loaded from storage, no order' : 'restart: the stored certificate was already due')
    if (loaded !== undefined) {
      const served = await httpsGet(Number(new URL(again.url).port), root);
      assert.equal(served.status, 200);
      assert.equal(served.serial, renewed.serial);
      assert.equal(pebble.issued, issued, 'no new order');
      assert.equal(orderedAgain, undefined);
    } else {
      // On a slow machine the 9 s certificate may already be due: then the log must say so.
      assert.ok(again.logs.some((l) => typeof l.msg === 'string' && /due for renewal|expired on/.test(l.msg)), 'a stored certificate is either loaded or said to be due');
    }
  });
});

test('a storage folder that cannot be created is a config error naming the field (exit 2)', async () => {
  const servers = await backends(1);
  try {
    await assert.rejects(
      startBalancer({
        redirectHttp: '127.0.0.1:0',
        tls: { acme: { email: 'ops@example.com', domains: ['localhost'], directory: 'https://127.0.0.1:1/dir', storage: '/dev/null/certs' } },
        servers: [{ addr: servers[0]?.url }],
      }),
      /balancer exited \(2\) before listening: .*tls\.acme\.storage: "\/dev\/null\/certs" cannot be used: ENOTDIR/s,
    );
  } finally {
    await closeAll(servers);
  }
});
