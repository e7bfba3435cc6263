import { Socket } from 'node:net';

/** Called with the bytes of each read; they are only valid during the call (the buffer is reused). */
export type ReadSink = (bytes: Buffer) => void;

interface WithHandle {
  _handle: { readStart?: unknown } | null;
}

// One read buffer for every client socket of the process (node's own per-read allocation is
// 64 KiB): a read is handed to its sink and done with before node reads into it again.
const SHARED = Buffer.allocUnsafeSlow(64 * 1024);
const shared = (): Buffer => SHARED;

/**
 * Makes an accepted socket (from a server with `pauseOnConnect`; `paused`: not read until
 * resume()) hand its reads to `sink` from one shared buffer with node's `onread`, instead of a
 * fresh 64 KiB allocation and a Readable push per read: net.Server has no `onread` option, so the
 * accepted handle is re-wrapped in a Socket made with one (the `handle` option, as node's cluster
 * and child_process adopt handles). `raw` stays open, handle-less, until the new socket closes,
 * so the server's connection count (maxConnections, close) still holds it. Returns the socket to
 * use from then on: the new one, or `raw` itself with `'data'` events when the handle cannot be
 * taken (node changed).
 */
export function readInto(raw: Socket, sink: ReadSink, allowHalfOpen: boolean, paused = false): Socket {
  const socket = rewrap(raw, sink, allowHalfOpen, paused);
  if (socket !== undefined) return socket;
  raw.on('data', sink);
  if (!paused) raw.resume();
  return raw;
}

function rewrap(raw: Socket, sink: ReadSink, allowHalfOpen: boolean, paused: boolean): Socket | undefined {
  const r = raw as unknown as WithHandle;
  const handle = r._handle;
  if (handle === null || typeof handle.readStart !== 'function' || raw.destroyed) return undefined;
  let socket: Socket;
  try {
    r._handle = null;
    socket = new Socket({
      handle,
      allowHalfOpen,
      pauseOnCreate: paused,
      onread: {
        buffer: shared,
        callback: (n: number, buf: Uint8Array): boolean => {
          sink((buf as Buffer).subarray(0, n));
          // Paused during the call (backpressure): node stops reading too.
          return !socket.isPaused();
        },
      },
    } as unknown as ConstructorParameters<typeof Socket>[0]);
  } catch {
    r._handle = handle;
    return undefined;
  }
  socket.once('close', () => raw.destroy());
  return socket;
}
