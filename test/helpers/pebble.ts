import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

// A real ACME server for tests: Let's Encrypt's pebble (Debian package `pebble`) on loopback.
// Its directory is HTTPS with a certificate for 127.0.0.1/localhost made here by openssl (the
// Debian package does not ship pebble's test minica); `caFile` is that CA, for the `ca` option.
// HTTP-01 validation goes to http://<domain>:<httpPort>/.well-known/acme-challenge/<token>:
// the domain `localhost` resolves to 127.0.0.1 with pebble's system resolver.

const BINARIES = ['/usr/bin/pebble', '/usr/local/bin/pebble'];

// Runs "$@" (pebble), prints its pid, and kills it when stdin reaches its end (this test process
// exited or was killed), so no pebble outlives a crashed test.
const WATCHDOG = `exec 3<&0
"$@" &
pid=$!
echo "pebble-pid $pid"
( while read -r _ <&3; do :; done; kill "$pid" 2>/dev/null ) &
watcher=$!
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"`;

/** True when pebble and openssl are installed (tests skip with a reason otherwise). */
export function pebbleAvailable(): boolean {
  return pebbleBinary() !== undefined && existsSync('/usr/bin/openssl');
}

function pebbleBinary(): string | undefined {
  return [process.env.PEBBLE, ...BINARIES].find((b) => b !== undefined && b !== '' && existsSync(b));
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
  const dir = mkdtempSync(join(tmpdir(), 'balancer-pebble-tls-'));
  const f = { dir, ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  const caKey = join(dir, 'ca.key');
  const csr = join(dir, 'req.csr');
  const ext = join(dir, 'ext.cnf');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', f.ca, '-days', '2', '-subj', '/CN=balancer test pebble directory CA'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', f.key, '-out', csr, '-subj', '/CN=localhost'], { stdio: 'ignore' });
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', f.ca, '-CAkey', caKey, '-CAcreateserial', '-out', f.cert, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
  tlsFiles = f;
  return f;
}

/** A running pebble. */
export class Pebble {
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private log = '';
  private static readonly live = new Set<Pebble>();

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
    return this.log;
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
      Pebble.live.add(p);
      try {
        await p.launch(bin, config);
        return p;
      } catch (e) {
        await p.close();
        if (attempt >= 5 || !/address already in use/i.test(p.log)) throw e;
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
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'pebble', bin, '-config', config], { stdio: ['pipe', 'pipe', 'pipe'], env, cwd: this.dir });
    this.child = child;
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    const collect = (b: Buffer): void => {
      this.log += b.toString();
      this.pid ??= Number(/^pebble-pid (\d+)$/m.exec(this.log)?.[1]) || undefined;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    await waitFor(() => exited || (this.log.includes('ACME directory available') && this.pid !== undefined), 'pebble to start', 15_000);
    if (exited) throw new Error(`pebble exited at start:\n${this.log}`);
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
    return this.log.split('\n').filter((l) => l.includes('Issued certificate serial')).length;
  }

  /** Stops pebble and removes its files. */
  async close(): Promise<void> {
    const child = this.child;
    const pid = this.pid;
    this.child = undefined;
    this.pid = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.ref();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      child.stdin?.end();
      await exited;
    }
    Pebble.live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills every pebble still running (a failed test must not leave one behind). */
  static killAll(): void {
    for (const p of Pebble.live) {
      try {
        if (p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

process.on('exit', () => {
  Pebble.killAll();
  if (tlsFiles !== undefined) rmSync(tlsFiles.dir, { recursive: true, force: true });
});
