// Size limits of one message head. Defaults follow nginx/HAProxy: 8 KiB request line, 32 KiB head,
// 100 header lines (HAProxy: 101), and a small chunk-extension budget (nobody sends extensions).

/** Size limits of one request head. */
export interface HeadLimits {
  /** Longest request line in bytes, CRLF excluded (414 above it). */
  readonly maxRequestLineBytes: number;
  /** Longest whole head (request line, fields, CRLFs) in bytes (431 above it); trailers get the same budget. */
  readonly maxHeaderBytes: number;
  /** Most field lines in one head (431 above it); trailers get the same budget. */
  readonly maxHeaders: number;
  /** Longest chunk-extension text per chunk in bytes (400 above it). */
  readonly maxChunkExtensionBytes: number;
}

/** The defaults: 8 KiB request line, 32 KiB head, 100 header lines, 256 bytes of chunk extensions. */
export const DEFAULT_HEAD_LIMITS: HeadLimits = Object.freeze({
  maxRequestLineBytes: 8192,
  maxHeaderBytes: 32768,
  maxHeaders: 100,
  maxChunkExtensionBytes: 256,
});
