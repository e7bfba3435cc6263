import { z } from 'zod';

// The optional access log: one line per request. Off unless configured (as in HAProxy; nginx logs
// by default, but a proxy serving thousands of requests a second should not fill a disk unasked).

/** Formats of access log lines. */
export const ACCESS_LOG_FORMATS = ['json', 'combined'] as const;

/** `"accessLog": { "format": "json", "path": "/var/log/balancer/access.log" }`. */
export const accessLogSchema = z
  .strictObject({
    format: z
      .string()
      .refine((s) => (ACCESS_LOG_FORMATS as readonly string[]).includes(s), {
        message: `is not an access log format (allowed: ${ACCESS_LOG_FORMATS.map((f) => `"${f}"`).join(', ')})`,
      })
      .meta({
        description: 'Line format: "json" (one JSON object per line) or "combined" (Apache/nginx combined, plus duration, server and attempts)',
        enum: [...ACCESS_LOG_FORMATS],
      }),
    path: z
      .string()
      .min(1, { message: 'is empty (a file path, or "-" for standard output)' })
      .refine((s) => !s.includes('\0'), { message: 'has a NUL character, which no file path can hold' })
      .default('-')
      .meta({ description: 'File the lines are appended to (created if missing; reopened on SIGUSR1), or "-" for standard output (default "-")' }),
  })
  .optional()
  .meta({ description: 'Access log, one line per request (off unless set)' });

/** The `accessLog` section as validated from the file. */
export type AccessLogFile = z.output<typeof accessLogSchema>;

/** The access log as the balancer uses it. */
export interface AccessLogConfig {
  readonly format: (typeof ACCESS_LOG_FORMATS)[number];
  /** A file path, or "-" for standard output. */
  readonly path: string;
}

/** Resolves the validated `accessLog` section; undefined when the access log is off. */
export function resolveAccessLog(file: AccessLogFile): AccessLogConfig | undefined {
  // The schema allowed only ACCESS_LOG_FORMATS.
  return file === undefined ? undefined : { format: file.format as AccessLogConfig['format'], path: file.path };
}

/** True when a reload from `a` to `b` changes the access log (format, path, on or off). */
export function accessLogChanged(a: AccessLogConfig | undefined, b: AccessLogConfig | undefined): boolean {
  return a?.format !== b?.format || a?.path !== b?.path;
}
