import { createServer, type AddressInfo } from 'node:net';

/** A loopback port nothing listens on (bound, then released): for servers to start on, or as a dead address. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
