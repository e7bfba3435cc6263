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
