import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki } from './certs.js';
import { Daemon, findBinary } from './daemon.js';
import { freePort } from './ports.js';

// A real ACME server for tests: Let's Encrypt's pebble (Debian package `pebble`) on loopback.
// Its directory is HTTPS with a certificate for 127.0.0.1/localhost made here by openssl (the
// Debian package does not ship pebble's test minica); `caFile` is that CA, for the `ca` option.
// HTTP-01 validation goes to http://<domain>:<httpPort>/.well-known/acme-challenge/<token>:
// the domain `localhost` resolves to 127.0.0.1 with pebble's system resolver.

const BINARIES = ['/usr/bin/pebble', '/usr/local/bin/pebble'];

/** True when pebble and openssl are installed (tests skip with a reason otherwise). */
export function pebbleAvailable(): boolean {
  return pebbleBinary() !== undefined && existsSync('/usr/bin/openssl');
}

function pebbleBinary(): string | undefined {
  return findBinary([process.env.PEBBLE, ...BINARIES]);
}

/** What to start pebble with. */
export interface PebbleOptions {
  /** Port HTTP-01 validation connects to (the balancer's challenge listener). */
  readonly httpPort: number;
  /** Lifetime of issued certificates, seconds (pebble's `certificateValidityPeriod`; default 1 h). */
  readonly validitySeconds?: number;
}

// One CA and directory certificate per test process.
let tlsFiles: { dir: string; ca: string; cert: string; key: string } | undefined;

function directoryTls(): { dir: string; ca: string; cert: string; key: string } {
  if (tlsFiles !== undefined) return tlsFiles;
  const pki = makeTestPki();
  const leaf = pki.leaf('localhost', 'DNS:localhost,IP:127.0.0.1');
  tlsFiles = { dir: pki.dir, ca: pki.caFile, cert: leaf.certFile, key: leaf.keyFile };
  return tlsFiles;
}

/** A running pebble. */
export class Pebble {
  private readonly daemon = new Daemon('pebble');

  private constructor(
    private readonly dir: string,
    /** ACME directory URL, e.g. https://127.0.0.1:PORT/dir. */
    readonly directory: string,
    /** Management API base URL (roots, cert status). */
    readonly management: string,
  ) {}

  /** PEM file of the CA that signed pebble's own HTTPS certificate: give it as the `ca` option. */
  get caFile(): string {
    return directoryTls().ca;
  }

  /** Everything pebble logged. */
  get output(): string {
    return this.daemon.output;
  }

  /** Starts pebble on free loopback ports; resolves once its directory answers. */
  static async start(o: PebbleOptions): Promise<Pebble> {
    const bin = pebbleBinary();
    if (bin === undefined) throw new Error('pebble is not installed (Debian: apt-get install pebble; or set PEBBLE=/path/to/pebble)');
    const tls = directoryTls();
    for (let attempt = 1; ; attempt++) {
      const [port, mgmt, tlsPort] = [await freePort(), await freePort(), await freePort()];
      const dir = mkdtempSync(join(tmpdir(), 'balancer-pebble-'));
      const config = join(dir, 'pebble-config.json');
      writeFileSync(
        config,
        JSON.stringify({
          pebble: {
            listenAddress: `127.0.0.1:${port}`,
            managementListenAddress: `127.0.0.1:${mgmt}`,
            certificate: tls.cert,
            privateKey: tls.key,
            httpPort: o.httpPort,
            tlsPort,
            ocspResponderURL: '',
            externalAccountBindingRequired: false,
            certificateValidityPeriod: o.validitySeconds ?? 3600,
          },
        }),
      );
      const p = new Pebble(dir, `https://127.0.0.1:${port}/dir`, `https://127.0.0.1:${mgmt}`);
      try {
        await p.launch(bin, config);
        return p;
      } catch (e) {
        await p.close();
        if (attempt >= 5 || !/address already in use/i.test(p.output)) throw e;
      }
    }
  }

  private async launch(bin: string, config: string): Promise<void> {
    const env = {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1', // validate at once, not after a random sleep
      PEBBLE_WFE_NONCEREJECT: '0', // no random badNonce rejections
      PEBBLE_AUTHZREUSE: '0', // every order proves control again: renewals go through the challenge too
    };
    await this.daemon.start({ bin, args: ['-config', config], env, cwd: this.dir, timeoutMs: 15_000, ready: (out) => out.includes('ACME directory available') });
  }

  /** GET on the management API (trusting the directory CA). */
  async get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.management}${path}`, { ca: readFileSync(this.caFile), timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`pebble ${path}: HTTP ${res.statusCode}: ${body}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`pebble ${path}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** The root certificate pebble issues under (regenerated at each start), PEM. */
  root(): Promise<string> {
    return this.get('/roots/0');
  }

  /** Certificates issued so far (from pebble's log). */
  get issued(): number {
    return this.output.split('\n').filter((l) => l.includes('Issued certificate serial')).length;
  }

  /** Stops pebble and removes its files. */
  async close(): Promise<void> {
    await this.daemon.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

process.on('exit', () => {
  if (tlsFiles !== undefined) rmSync(tlsFiles.dir, { recursive: true, force: true });
});
