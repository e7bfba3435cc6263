import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Daemon, findBinary } from './daemon.js';
import { waitFor } from './wait.js';

// A real DNS server for discovery tests: dnsmasq (Debian's dnsmasq-base) on a free loopback
// port, answering only from a hosts file and --srv-host records. It never reads
// /etc/dnsmasq.conf, /etc/hosts or /etc/resolv.conf, never binds port 53, writes no pid file.

/** One SRV record: `--srv-host=name,target,port,priority,weight`. */
export interface SrvHost {
  readonly name: string;
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** Names and their addresses, for the hosts file. */
export type Hosts = Readonly<Record<string, readonly string[]>>;

const BINARIES = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'];

function dnsmasqBinary(): string {
  const found = findBinary([process.env.DNSMASQ, ...BINARIES]);
  if (found === undefined) throw new Error('dnsmasq is not installed (Debian: apt-get install dnsmasq-base; or set DNSMASQ=/path/to/dnsmasq)');
  return found;
}

/** A loopback port free for both UDP and TCP right now (dnsmasq listens on both). */
async function freeDnsPort(): Promise<number> {
  for (;;) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcp = createServer();
    const tcpFree = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (tcpFree) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
}

/** A running dnsmasq; `resolver` is what `discovery.resolvers` takes. */
export class Dnsmasq {
  private readonly daemon = new Daemon('dnsmasq');
  private readonly dir = mkdtempSync(join(tmpdir(), 'balancer-dnsmasq-'));
  private readonly hostsFile = join(this.dir, 'hosts');

  private constructor(
    private hosts: Hosts,
    private readonly srv: readonly SrvHost[],
    /** The UDP/TCP port on 127.0.0.1. */
    public port: number,
  ) {}

  /** Starts dnsmasq on a free port with these names and SRV records; resolves once it answers. */
  static async start(hosts: Hosts, srv: readonly SrvHost[] = []): Promise<Dnsmasq> {
    const d = new Dnsmasq(hosts, srv, 0);
    // Another process may take the port between our check and dnsmasq's bind: try a new one.
    for (let attempt = 1; ; attempt++) {
      d.port = await freeDnsPort();
      try {
        await d.launch();
        return d;
      } catch (e) {
        if (attempt >= 5 || !/Address already in use/i.test(d.output)) {
          await d.stop();
          throw e;
        }
      }
    }
  }

  /** "127.0.0.1:PORT", for `discovery.resolvers`. */
  get resolver(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Everything dnsmasq logged. */
  get output(): string {
    return this.daemon.output;
  }

  private writeHosts(): void {
    const lines = Object.entries(this.hosts).flatMap(([name, addrs]) => addrs.map((a) => `${a} ${name}`));
    writeFileSync(this.hostsFile, `${lines.join('\n')}\n`);
  }

  /** How many times the running dnsmasq has (re)read the hosts file so far. */
  private reads(): number {
    return this.daemon.runOutput.split('\n').filter((l) => l.includes(`read ${this.hostsFile}`)).length;
  }

  private async launch(): Promise<void> {
    this.writeHosts();
    const args = [
      '--keep-in-foreground', // no fork, no debug mode
      '--conf-file=/dev/null', // not /etc/dnsmasq.conf
      `--port=${this.port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces', // bind 127.0.0.1:PORT only, nothing else
      '--no-resolv', // no upstream servers from /etc/resolv.conf
      '--no-hosts', // not /etc/hosts
      `--addn-hosts=${this.hostsFile}`,
      '--local=/test/', // unknown *.test names: NXDOMAIN, not REFUSED
      '--local-ttl=1', // short TTLs, so lookups see changes within a second
      '--neg-ttl=1',
      '--pid-file=', // no pid file
      '--log-facility=-', // log to stderr
      // Stay the user we are (root in CI containers): as "nobody", dnsmasq could not reread
      // the hosts file in our private temporary directory on SIGHUP.
      `--user=${userInfo().username}`,
      ...this.srv.map((s) => `--srv-host=${s.name},${s.target},${s.port},${s.priority},${s.weight}`),
    ];
    await this.daemon.start({ bin: dnsmasqBinary(), args, timeoutMs: 10_000, ready: () => this.reads() > 0 });
  }

  /** Replaces the names and addresses, and has dnsmasq reread them (SIGHUP); resolves once it has. */
  async setHosts(hosts: Hosts): Promise<void> {
    this.hosts = hosts;
    this.writeHosts();
    const before = this.reads();
    this.daemon.signal('SIGHUP');
    await waitFor(() => this.reads() > before, 'dnsmasq to reread its hosts file', 10_000);
  }

  /** Stops dnsmasq (SIGTERM) and waits for it to exit; the port is free afterwards. */
  stop(): Promise<void> {
    return this.daemon.stop();
  }

  /** Starts dnsmasq again on the same port with the same records (after `stop`). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops dnsmasq and removes its files. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
