/** An inclusive range of HTTP status codes. */
export interface StatusRange {
  /** Lowest matching status. */
  readonly min: number;
  /** Highest matching status. */
  readonly max: number;
}

/** How users write expected statuses: 200, "200-399", "2xx", "200,204", or a list of those. */
export type StatusSpec = number | string | readonly (number | string)[];

const PHRASE = 'is not a status, range or list like 200, "200-399", "2xx" or ["200", "301-302"]';

function parsePart(part: number | string): StatusRange | undefined {
  const s = String(part).trim();
  let m: RegExpExecArray | null;
  let r: StatusRange | undefined;
  if ((m = /^(\d{3})$/.exec(s))) r = { min: Number(m[1]), max: Number(m[1]) };
  else if ((m = /^(\d{3})\s*-\s*(\d{3})$/.exec(s))) r = { min: Number(m[1]), max: Number(m[2]) };
  else if ((m = /^([1-5])xx$/i.exec(s))) r = { min: Number(m[1]) * 100, max: Number(m[1]) * 100 + 99 };
  if (r === undefined || r.min < 100 || r.max > 599 || r.min > r.max) return undefined;
  return r;
}

/**
 * Parses a status spec into ranges; returns a predicate phrase saying what is wrong instead
 * (the config formatter prints it after the offending value).
 */
export function parseStatusSpec(spec: StatusSpec): StatusRange[] | string {
  const list: readonly (number | string)[] = typeof spec === 'object' ? spec : [spec];
  const parts = list.flatMap((p): (number | string)[] => (typeof p === 'string' ? p.split(',') : [p]));
  if (parts.length === 0) return PHRASE;
  const out: StatusRange[] = [];
  for (const p of parts) {
    const r = parsePart(p);
    if (r === undefined) return PHRASE;
    out.push(r);
  }
  return out;
}

/** True when `status` falls in any of the ranges. */
export function statusMatches(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => status >= r.min && status <= r.max);
}

/** Formats ranges back for logs: "200-399", "200,204". */
export function formatStatusRanges(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`)).join(',');
}
