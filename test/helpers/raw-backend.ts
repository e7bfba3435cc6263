import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A node:http backend on a free loopback port, for cases the test servers do not cover. */
export interface RawBackend {
  readonly server: Server;
  readonly url: string;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Starts a node:http backend with `handler` on 127.0.0.1, port 0. */
export async function rawBackend(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<RawBackend> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** One request as a backend's HTTP parser saw it. */
export interface RecordedRequest {
  /** "METHOD target HTTP/x.y", as the backend parsed it. */
  readonly line: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Body bytes received; complete is false while it lasts and when it was cut. */
  body: number;
  complete: boolean;
}

/** A backend that logs every request it parses, and every request it could not parse. */
export interface RecordingBackend extends RawBackend {
  readonly requests: RecordedRequest[];
  /** Requests the backend's parser refused (what a proxy must never send). */
  readonly parseErrors: string[];
  /** Connections closed in the middle of a request (a proxy cancelling it: not a parse error). */
  cutRequests: number;
}

/** Starts a backend that records every request line it receives and answers 200 "ok" once the body is in. */
export async function recordingBackend(): Promise<RecordingBackend> {
  const requests: RecordedRequest[] = [];
  const parseErrors: string[] = [];
  const raw = await rawBackend((req, res) => {
    const r: RecordedRequest = { line: `${req.method} ${req.url} HTTP/${req.httpVersion}`, headers: req.headers, body: 0, complete: false };
    requests.push(r);
    req.on('data', (d: Buffer) => (r.body += d.length));
    req.on('end', () => {
      r.complete = true;
      res.end('ok');
    });
  });
  const rec: RecordingBackend = { ...raw, requests, parseErrors, cutRequests: 0 };
  raw.server.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, socket) => {
    if (err.code === 'HPE_INVALID_EOF_STATE') rec.cutRequests++;
    else parseErrors.push(`${err.code ?? err.message}: ${JSON.stringify(err.rawPacket?.toString('latin1').slice(0, 200) ?? '')}`);
    socket.destroy();
  });
  return rec;
}
