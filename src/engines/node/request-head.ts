import type { IncomingMessage } from 'node:http';

// host = IP-literal / IPv4address / reg-name, then an optional port (RFC 9110 §7.2, RFC 3986 §3.2.2).
// reg-name may be empty: RFC 9112 §3.2 has a client send an empty Host when the target has no authority.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/** Why a request head is refused, as the status and detail the client gets. */
export interface HeadRefusal {
  readonly status: 400 | 431;
  readonly detail: string;
}

/**
 * Checks what the parser lets through but a proxy must refuse: more than `maxHeaders` header
 * lines (431, as HAProxy), and a missing (HTTP/1.1), repeated or malformed Host (400, RFC 9112 §3.2).
 * The parser keeps at most maxHeaders + 1 lines (server.maxHeadersCount), enough to tell.
 */
export function checkRequestHead(req: IncomingMessage, maxHeaders: number): HeadRefusal | undefined {
  const raw = req.rawHeaders;
  // HTTP/2 requests carry pseudo-headers (:method, :path, :scheme, :authority), not counted as lines.
  const h2 = req.httpVersionMajor === 2;
  if (raw.length > (h2 ? maxHeaders + 4 : maxHeaders) * 2) return { status: 431, detail: `more than ${maxHeaders} header lines` };
  let hosts = 0;
  let host = '';
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      hosts++;
      host = raw[i + 1] as string;
    } else if (h2 && name === ':authority') authority = raw[i + 1] as string;
  }
  if (hosts > 1) return { status: 400, detail: 'more than one Host header' };
  // HTTP/2: :authority stands for Host (RFC 9113 §8.3.1), and wins over a Host header.
  if (authority !== undefined) {
    hosts = 1;
    host = authority;
  }
  if (hosts === 0) {
    // HTTP/1.0 has no Host requirement; HTTP/1.1 does (node:http already answers those 400).
    return req.httpVersionMajor === 1 && req.httpVersionMinor === 0 ? undefined : { status: 400, detail: 'no Host header' };
  }
  if (!HOST.test(host)) return { status: 400, detail: 'Host is not a valid host[:port]' };
  return undefined;
}
