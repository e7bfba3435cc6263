// The one error type of the HTTP/1.1 parsers: an HTTP status for the peer plus a stable code.

/** Every stable code an HTTP/1.x parse error carries. */
export type HttpParseErrorCode =
  /** Both Content-Length and Transfer-Encoding: the classic smuggling vector. */
  | 'E_HTTP_CL_AND_TE'
  /** A Transfer-Encoding other than one final `chunked` (or any Transfer-Encoding on HTTP/1.0). */
  | 'E_HTTP_BAD_TE'
  /** A transfer coding we do not implement before a final `chunked` (501). */
  | 'E_HTTP_TE_NOT_IMPLEMENTED'
  /** A Content-Length that is not 1*DIGIT or does not fit in 2^53 - 1. */
  | 'E_HTTP_BAD_CL'
  /** More than one Content-Length field (identical or not), or a comma list. */
  | 'E_HTTP_DUP_CL'
  /** A field line that starts with whitespace (obsolete line folding). */
  | 'E_HTTP_OBS_FOLD'
  /** Whitespace between a field name and its colon. */
  | 'E_HTTP_HEADER_SPACE'
  /** A field line without a colon, or with an empty name. */
  | 'E_HTTP_BAD_HEADER'
  /** A control character, NUL or other byte not allowed where it stands. */
  | 'E_HTTP_BAD_CHAR'
  /** A CR not followed by LF. */
  | 'E_HTTP_BARE_CR'
  /** A line ended by LF alone. */
  | 'E_HTTP_BARE_LF'
  /** Bad chunk framing: size not hex, too large, missing CRLF after the data, bad extension syntax. */
  | 'E_HTTP_BAD_CHUNK'
  /** Chunk extensions longer than the limit. */
  | 'E_HTTP_CHUNK_EXT'
  /** A trailer field that would change framing or routing (Content-Length, Transfer-Encoding, Host). */
  | 'E_HTTP_BAD_TRAILER'
  /** The request line is longer than the limit (414). */
  | 'E_HTTP_LINE_TOO_LONG'
  /** The head (or the trailers) is larger than the limit (431). */
  | 'E_HTTP_HEAD_TOO_LARGE'
  /** More header (or trailer) lines than the limit (431). */
  | 'E_HTTP_TOO_MANY_HEADERS'
  /** HTTP/1.1 request without Host. */
  | 'E_HTTP_NO_HOST'
  /** More than one Host field. */
  | 'E_HTTP_DUP_HOST'
  /** A Host value that is not uri-host [":" port]. */
  | 'E_HTTP_BAD_HOST'
  /** A well-formed HTTP version other than 1.0 and 1.1 (505). */
  | 'E_HTTP_BAD_VERSION'
  /** A request or status line that is not `token SP target SP HTTP/x.y` (or `HTTP/x.y SP 3DIGIT ...`). */
  | 'E_HTTP_BAD_START_LINE'
  /** A method that is not a token. */
  | 'E_HTTP_BAD_METHOD'
  /** A request-target that is empty, has bytes outside VCHAR/obs-text, or has the wrong form for its method. */
  | 'E_HTTP_BAD_TARGET'
  /** A CONNECT request that announces a body. */
  | 'E_HTTP_CONNECT_BODY'
  /** The upstream closed inside a response head or a framed body (response side). */
  | 'E_HTTP_TRUNCATED';

/** Why a message was rejected: an HTTP status for the client (400, 414, 431, 501, 505; 502 on the response side) and a stable code. */
export class HttpParseError extends Error {
  /** Creates a parse error; `status` is what the engine answers with. */
  constructor(
    readonly status: number,
    readonly code: HttpParseErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpParseError';
  }
}
