import type { Socket, SocketConstructorOpts } from 'node:net';

// One read buffer for every server socket: `onread` hands us each read synchronously and we copy
// it out at once, so a single buffer serves all connections (no 64 KiB allocation per read, and no
// Readable-stream machinery). Client sockets read the same way, into the engine's buffer for them
// (../read-into.ts).
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Where a server socket's reads go; set once the connection is made. */
export interface ReadTarget {
  /** Bytes read from the server; return false to stop reading until resumed (backpressure). */
  onServerData(chunk: Buffer): boolean;
  /** Bytes read from the client, valid during the call only (a shared buffer). */
  onClientData(bytes: Buffer): void;
}

/** `connect` options that send a server socket's reads to `target.onServerData`. */
export function serverReadOptions(target: Pick<ReadTarget, 'onServerData'>): Pick<SocketConstructorOpts, 'onread'> {
  return {
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array): boolean => {
        const chunk = Buffer.allocUnsafe(n);
        chunk.set(buf.subarray(0, n));
        return target.onServerData(chunk);
      },
    },
  };
}

/**
 * Relays bytes both ways between `client` and `server` (whose reads arrive through
 * serverReadOptions, the client's through the returned target's onClientData) with backpressure: a side whose peer's write buffer is full stops reading
 * until the peer drains. Each side's end (FIN) ends the other's writable side; the other
 * direction keeps flowing (half-close).
 */
export function relay(client: Socket, server: Socket): ReadTarget {
  server.on('drain', () => client.resume());
  client.on('end', () => server.end());
  client.on('drain', () => server.resume());
  server.on('end', () => client.end());
  client.resume();
  return {
    onServerData: (chunk) => client.write(chunk),
    onClientData: (bytes) => {
      if (!server.write(Buffer.from(bytes))) client.pause();
    },
  };
}
