// Real TCP peers for the tcp-mode tests: echo backends that greet with their name, and clients.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { get } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

/** A TCP echo backend: greets each connection with "<name>\n", echoes what it reads, says "bye <name>\n" and ends on the client's FIN. */
export interface EchoBackend {
  readonly name: string;
  readonly port: number;
  /** "tcp://host:port". */
  readonly addr: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** What each connection sent (all of it so far), in accept order. */
  readonly received: Buffer[][];
  /** Each connection's socket, in accept order. */
  readonly sockets: Socket[];
  /** Stops listening and resets every open connection (a crashed server). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** Starts an echo backend on `host`, port 0; `slowReads`: it pauses a moment after each read (the balancer's writes to it queue up). */
export async function echoBackend(name: string, host = '127.0.0.1', slowReads = false): Promise<EchoBackend> {
  const received: Buffer[][] = [];
  const sockets: Socket[] = [];
  let accepted = 0;
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    accepted++;
    const chunks: Buffer[] = [];
    received.push(chunks);
    sockets.push(s);
    s.on('error', () => undefined);
    s.write(`${name}\n`);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      s.write(d);
      if (slowReads) {
        s.pause();
        setTimeout(() => s.resume(), 1);
      }
    });
    s.on('end', () => s.end(`bye ${name}\n`));
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const { port } = server.address() as AddressInfo;
  const stop = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.resetAndDestroy();
    await closed;
  };
  return {
    name,
    port,
    addr: `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    get accepted() {
      return accepted;
    },
    received,
    sockets,
    kill: stop,
    close: async () => {
      if (server.listening) await stop();
    },
  };
}

/** A client connection and everything it has read. */
export interface TcpClient {
  readonly socket: Socket;
  /** Everything read so far, as text. */
  text(): string;
  /** Waits until what was read matches `re`. */
  waitFor(re: RegExp, what?: string, timeoutMs?: number): Promise<void>;
  /** Resolves when the server side ended the stream (FIN) or the socket closed. */
  readonly ended: Promise<void>;
  /** Resolves when the socket closed; true when it closed with an error (reset). */
  readonly closed: Promise<boolean>;
}

/** Connects to a balancer URL ("tcp://host:port"). */
export async function tcpClient(url: string, opts: { localAddress?: string } = {}): Promise<TcpClient> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  // Not half-open: a FIN from the balancer ends our side too, so `closed` follows.
  const socket = connect({ host, port: Number(u.port), ...opts });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  const closed = new Promise<boolean>((resolve) => socket.once('close', (hadError) => resolve(hadError)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    text: () => text,
    waitFor: (re, what = String(re), timeoutMs = 10_000) => waitFor(() => re.test(text), `${what} (read so far: ${JSON.stringify(text)})`, timeoutMs),
    ended,
    closed,
  };
}

/** Opens a connection, reads the backend's greeting line, closes; resolves with the backend's name ("" when the connection closed first). */
export async function greeting(url: string): Promise<string> {
  const c = await tcpClient(url);
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (c.text().includes('\n')) resolve();
    };
    c.socket.on('data', check);
    c.socket.once('close', () => resolve());
    check();
  });
  c.socket.destroy();
  return c.text().split('\n')[0] ?? '';
}

/** "127.0.0.1", port of a "tcp://127.0.0.1:port" URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** The admin token the tcp tests configure. */
export const TOKEN = 'tcp-test-token';
/** Request headers carrying TOKEN. */
export const auth = { authorization: `Bearer ${TOKEN}` };

/** A server as the admin API lists it (the fields the tcp tests read). */
export interface ServerView {
  name: string;
  addr: string;
  state: string;
  requests: number;
  failures: number;
  inflight: number;
}

/** The servers the admin API at `admin` lists. */
export async function servers(admin: string): Promise<ServerView[]> {
  const r = await get(`${admin}/api/servers`, { headers: auth });
  return (JSON.parse(r.body) as { servers: ServerView[] }).servers;
}
