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
 * Finds the client's address: the socket peer, or — when the peer is a trusted proxy — the first
 * address in X-Forwarded-For (the original client, as the proxy chain recorded it).
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

  /** The client address for `req`. */
  resolve(req: IncomingMessage): string {
    const peer = peerAddress(req.socket);
    if (this.trusted === undefined) return peer;
    if (!this.trusted.check(peer, isIP(peer) === 6 ? 'ipv6' : 'ipv4')) return peer;
    const xff = req.headers['x-forwarded-for'];
    if (xff === undefined) return peer;
    const first = (Array.isArray(xff) ? xff[0] ?? '' : xff).split(',', 1)[0]?.trim() ?? '';
    return isIP(first) !== 0 ? first : peer;
  }
}
