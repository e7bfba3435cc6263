// PROXY protocol headers (HAProxy's spec, proxy-protocol.txt), sent first on a connection to a
// server so it sees the client's address: v1 is one text line, v2 a binary block with a signature.
import { isIPv4, isIPv6 } from 'node:net';
import type { ProxyProtocolVersion } from '../../config/tcp.js';

/** The 12 bytes every v2 header starts with. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** The two ends of the client's connection to the balancer. */
export interface ConnectionEnds {
  /** The client's address and port. */
  readonly sourceAddress: string | undefined;
  readonly sourcePort: number | undefined;
  /** The balancer's address and port the client connected to. */
  readonly destAddress: string | undefined;
  readonly destPort: number | undefined;
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

// An IPv4 client of a dual-stack listener shows as "::ffff:a.b.c.d": it is an IPv4 client (HAProxy says TCP4 too).
function unmap(a: string): string {
  const m = MAPPED.exec(a);
  return m === null ? a : (m[1] as string);
}

/** 16 bytes of an IPv6 address (with "::" and a dotted IPv4 tail allowed), or undefined. */
export function ipv6Bytes(addr: string): Buffer | undefined {
  const a = addr.replace(/%.*$/, ''); // zone id ("fe80::1%eth0") is local to this host
  if (!isIPv6(a)) return undefined;
  let text = a;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    tail.push(...(v4[1] as string).split('.').map(Number));
    text = text.slice(0, -(v4[1] as string).length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  if (tail.length === 4) tail.forEach((b, i) => (out[12 + i] = b));
  return out;
}

function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

// Both ends as one family: IPv4 when both are (or map to) IPv4, else IPv6 (an IPv4 end as ::ffff:a.b.c.d).
function family(e: ConnectionEnds): { readonly v: 4 | 6; readonly src: string; readonly dst: string; readonly sport: number; readonly dport: number } | undefined {
  if (e.sourceAddress === undefined || e.destAddress === undefined || e.sourcePort === undefined || e.destPort === undefined) return undefined;
  const src = unmap(e.sourceAddress);
  const dst = unmap(e.destAddress);
  if (isIPv4(src) && isIPv4(dst)) return { v: 4, src, dst, sport: e.sourcePort, dport: e.destPort };
  const six = (a: string): string | undefined => (isIPv4(a) ? `::ffff:${a}` : isIPv6(a) ? a.replace(/%.*$/, '') : undefined);
  const s6 = six(src);
  const d6 = six(dst);
  if (s6 === undefined || d6 === undefined) return undefined;
  return { v: 6, src: s6, dst: d6, sport: e.sourcePort, dport: e.destPort };
}

/** The v1 line: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" ("PROXY UNKNOWN\r\n" when an end is unknown). */
export function proxyV1(e: ConnectionEnds): Buffer {
  const f = family(e);
  if (f === undefined) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  return Buffer.from(`PROXY TCP${f.v} ${f.src} ${f.dst} ${f.sport} ${f.dport}\r\n`, 'latin1');
}

/** The v2 block: signature, version 2 + PROXY command, TCP over IPv4 or IPv6, addresses and ports (UNSPEC when an end is unknown). */
export function proxyV2(e: ConnectionEnds): Buffer {
  const f = family(e);
  if (f === undefined) {
    const b = Buffer.alloc(16);
    V2_SIGNATURE.copy(b, 0);
    b[12] = 0x21; // version 2, PROXY
    b[13] = 0x00; // AF_UNSPEC: the server uses the connection's own addresses
    b.writeUInt16BE(0, 14);
    return b;
  }
  const addrLen = f.v === 4 ? 12 : 36;
  const b = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(b, 0);
  b[12] = 0x21; // version 2, PROXY
  b[13] = f.v === 4 ? 0x11 : 0x21; // AF_INET or AF_INET6, STREAM
  b.writeUInt16BE(addrLen, 14);
  const size = f.v === 4 ? 4 : 16;
  const bytes = (a: string): Buffer => (f.v === 4 ? ipv4Bytes(a) : (ipv6Bytes(a) as Buffer));
  bytes(f.src).copy(b, 16);
  bytes(f.dst).copy(b, 16 + size);
  b.writeUInt16BE(f.sport, 16 + 2 * size);
  b.writeUInt16BE(f.dport, 18 + 2 * size);
  return b;
}

/** The header of `version` for a connection's ends. */
export function proxyHeader(version: ProxyProtocolVersion, e: ConnectionEnds): Buffer {
  return version === 'v1' ? proxyV1(e) : proxyV2(e);
}
