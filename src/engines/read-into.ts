import { Socket } from 'node:net';

/** Bytes of the engine's one read buffer for client connections (node's own per-read allocation is 64 KiB). */
export const CLIENT_READ_BYTES = 64 * 1024;

/** Called with the bytes of each read; they are only valid during the call (the buffer is reused). */
export type ReadSink = (bytes: Buffer) => void;

interface WithHandle {
  _handle: { readStart?: unknown } | null;
}

/**
 * Makes an accepted socket (`paused`: not read until resume()) (from a server with `pauseOnConnect`) read into `buffer()` with node's
 * `onread` instead of a fresh 64 KiB allocation and a Readable push per read: net.Server has no
 * `onread` option, so the accepted handle is re-wrapped in a Socket made with one (the `handle`
 * option, as node's cluster and child_process adopt handles). `raw` stays open, handle-less, until
 * the new socket closes, so the server's connection count (maxConnections, close) still holds it.
 * Returns undefined when the handle cannot be taken (node changed): the caller reads `raw` itself.
 */
export function readInto(raw: Socket, buffer: () => Buffer, sink: ReadSink, allowHalfOpen: boolean, paused = false): Socket | undefined {
  const r = raw as unknown as WithHandle;
  const handle = r._handle;
  if (handle === null || typeof handle.readStart !== 'function' || raw.destroyed) return undefined;
  let socket: Socket;
  try {
    r._handle = null;
    socket = new Socket({
      handle,
      allowHalfOpen,
      // Nothing read until resume() (tcp mode connects to a server first).
      pauseOnCreate: paused,
      onread: {
        buffer,
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
