import { BlockList, isIP, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** Why an address or CIDR range is not valid, or undefined when it is. */
export function checkCidr(s: string): string | undefined {
  const [addr, bits, extra] = s.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || extra !== undefined) return 'is not an IP address or CIDR range like "10.0.0.0/8" or "::1"';
  if (bits === undefined) return undefined;
  const n = Number(bits);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || n > max) return `has a prefix length out of range (allowed: 0 to ${max})`;
  return undefined;
}

/** Client address without the IPv4-mapped IPv6 prefix. */
export function peerAddress(socket: Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * Finds the client's address: the socket peer, or, when the peer is a trusted proxy, the
 * rightmost X-Forwarded-For address that is not a trusted proxy (nginx's real_ip_recursive on,
 * Envoy's and Traefik's trusted hops). Not the first address: a trusted proxy appends what it
 * saw to what the client sent, so the first address is whatever the client wrote.
 */
export class ClientAddressResolver {
  private readonly trusted: BlockList | undefined;

  /** `trustedProxies`: addresses or CIDR ranges, already validated by the config. */
  constructor(trustedProxies: readonly string[]) {
    if (trustedProxies.length === 0) return;
    this.trusted = new BlockList();
    for (const t of trustedProxies) {
      const [addr = '', bits] = t.split('/');
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.trusted.addAddress(addr, type);
      else this.trusted.addSubnet(addr, Number(bits), type);
    }
  }

  /** True when `addr` (an IP address) is a trusted proxy. */
  trusts(addr: string): boolean {
    if (this.trusted === undefined) return false;
    const family = isIP(addr);
    return family !== 0 && this.trusted.check(addr, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** The client address for `req`. */
  resolve(req: IncomingMessage): string {
    const peer = peerAddress(req.socket);
    return this.trusts(peer) ? this.forwardedClient(req, peer) : peer;
  }

  /**
   * The client behind trusted proxy `peer`: walking X-Forwarded-For from the right, the first
   * address that is not a trusted proxy. All trusted: the leftmost. An entry that is not an IP
   * address stops the walk at the last address known good (nothing left of it can be believed).
   */
  forwardedClient(req: IncomingMessage, peer: string): string {
    return this.forwardedFor(req.headers['x-forwarded-for'], peer);
  }

  /** forwardedClient for an X-Forwarded-For value read by other means (the fast engine's raw headers). */
  forwardedFor(xff: string | string[] | undefined, peer: string): string {
    if (xff === undefined) return peer;
    const list = Array.isArray(xff) ? xff.join(',') : xff;
    let client = peer;
    let end = list.length;
    while (end >= 0) {
      const start = list.lastIndexOf(',', end - 1);
      const entry = list.slice(start + 1, end).trim();
      end = start;
      if (isIP(entry) === 0) return client;
      client = entry.startsWith('::ffff:') && isIP(entry.slice(7)) === 4 ? entry.slice(7) : entry;
      if (!this.trusts(client)) return client;
      if (start === -1) break;
    }
    return client;
  }
}
