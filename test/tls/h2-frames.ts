// A raw HTTP/2 client speaking frames, for what node's client will not do (floods).
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Frame types and error codes used here (RFC 9113). */
export const FRAME = { HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, CONTINUATION: 9 } as const;
/** RFC 9113 error codes by name. */
export const ERROR_CODE = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

/** One frame's bytes. */
export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK block for GET `path` at `authority`: static-table entries and literals without indexing. */
export function getHeaderBlock(authority: string, path = '/'): Buffer {
  const literal = (index: number, value: string): Buffer => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(0x04, path), literal(0x01, authority)]);
}

/** A raw HTTP/2 connection: frames out, and what the server sent back (GOAWAY, close). */
export interface RawH2 {
  readonly socket: TLSSocket;
  /** The error codes of the GOAWAY frames the server sent, in order. */
  readonly goaways: number[];
  /** Frames received, by type. */
  readonly received: Map<number, number>;
  closed: boolean;
  send(b: Buffer): boolean;
}

/** Connects with ALPN h2 and sends the preface and an empty SETTINGS frame. */
export function rawH2(port: number, servername: string): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
      resolve(c);
    });
    const c: RawH2 = {
      socket,
      goaways: [],
      received: new Map(),
      closed: false,
      send: (b) => !socket.destroyed && socket.write(b),
    };
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3] as number;
        c.received.set(type, (c.received.get(type) ?? 0) + 1);
        if (type === FRAME.GOAWAY) c.goaways.push(buf.readUInt32BE(9 + 4));
        if (type === FRAME.SETTINGS && ((buf[4] as number) & 1) === 0) socket.write(frame(FRAME.SETTINGS, 1, 0, Buffer.alloc(0)));
        buf = buf.subarray(9 + len);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (c.closed = true));
    socket.once('error', reject);
  });
}
