import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${rawBody}`). */
export const SIGNATURE_HEADER = 'X-Balancer-Signature';
/** Header carrying the signing time, Unix seconds; part of the signed text so it cannot be replayed with a new time. */
export const TIMESTAMP_HEADER = 'X-Balancer-Timestamp';

/** Computes the signature header value for a raw body sent at `timestamp` (Unix seconds). */
export function sign(secret: string, timestamp: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

/**
 * Checks a received signature in constant time; also rejects timestamps further than
 * `toleranceS` from `nowS`, so a captured request cannot be replayed later.
 */
export function verifySignature(
  secret: string,
  rawBody: string,
  signatureHeader: string | undefined,
  timestampHeader: string | undefined,
  nowS: number = Math.floor(Date.now() / 1000),
  toleranceS = 300,
): boolean {
  if (signatureHeader === undefined || timestampHeader === undefined || !/^\d+$/.test(timestampHeader)) return false;
  const ts = Number(timestampHeader);
  if (Math.abs(nowS - ts) > toleranceS) return false;
  const want = Buffer.from(sign(secret, ts, rawBody));
  const got = Buffer.from(signatureHeader);
  return want.length === got.length && timingSafeEqual(want, got);
}
