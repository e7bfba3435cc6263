// How the CLI's live commands (status, drain, disable, enable, weight, reload) find and call the
// admin API: `--admin URL`, or the `admin.addr` of the config file; the token from `--token`,
// BALANCER_ADMIN_TOKEN, or the config's token after ${VAR} substitution. A refused or unreachable
// API is one line on stderr and exit status 1.
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { adminSchema } from '../config/admin.js';
import { formatHostPort, parseListenAddress } from '../config/listen.js';
import { ConfigError, parseJson } from '../config/load.js';
import { substituteEnv } from '../control/notify/env.js';
import { die, EXIT_BAD_INPUT, EXIT_FAILURE } from './exit.js';
import { DEFAULT_CONFIG_FILE } from './start.js';

/** The environment variable the CLI reads the admin token from. */
export const TOKEN_ENV = 'BALANCER_ADMIN_TOKEN';

/** Options every admin command takes. */
export interface AdminOptions {
  config?: string;
  admin?: string;
  token?: string;
}

/** Where the admin API is and how to authenticate. */
export interface AdminTarget {
  /** Base URL without a trailing slash. */
  readonly url: string;
  readonly token: string | undefined;
  /** Where the URL came from, for messages: "--admin" or the config file. */
  readonly from: string;
}

/** "127.0.0.1:9901" or "http://host:9901/" → "http://127.0.0.1:9901"; undefined when not a URL. */
export function adminBaseUrl(s: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`;
  try {
    const u = new URL(withScheme);
    if (u.protocol !== 'http:' || u.hostname === '' || u.search !== '' || u.hash !== '') return undefined;
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

/** The URL that reaches an admin listen address from this machine (every interface → loopback). */
export function urlForListenAddress(addr: string): string | undefined {
  const l = parseListenAddress(addr);
  if (typeof l === 'string' || l.port === 0) return undefined;
  const host = l.host === undefined || l.host === '' || l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
  return `http://${formatHostPort(host, l.port)}`;
}

/**
 * Finds the admin API from the options; with `required` false, undefined when the config has no
 * admin listener (or no config file exists and none was named), so `reload` can fall back to a pid.
 */
export function resolveAdminTarget(o: AdminOptions, required?: true): AdminTarget;
/** As above; undefined when there is no admin API to find and `required` is false. */
export function resolveAdminTarget(o: AdminOptions, required: boolean): AdminTarget | undefined;
export function resolveAdminTarget(o: AdminOptions, required = true): AdminTarget | undefined {
  const envToken = process.env[TOKEN_ENV] === '' ? undefined : process.env[TOKEN_ENV];
  if (o.admin !== undefined) {
    const url = adminBaseUrl(o.admin);
    if (url === undefined) die(`--admin ${JSON.stringify(o.admin)} is not an http:// URL like http://127.0.0.1:9901`, EXIT_BAD_INPUT);
    return { url, token: o.token ?? envToken ?? (o.config !== undefined ? configToken(o.config) : undefined), from: '--admin' };
  }
  const file = o.config ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (!required && o.config === undefined) return undefined;
    const code = (e as NodeJS.ErrnoException).code;
    die(`cannot read ${file} to find the admin API: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}; give --config FILE or --admin URL`, EXIT_BAD_INPUT);
  }
  const admin = adminSection(text, file);
  if (admin === undefined) {
    if (!required) return undefined;
    die(`${file} has no admin listener ("admin": {"addr": "127.0.0.1:9901", ...}); turn it on, or give --admin URL`, EXIT_BAD_INPUT);
  }
  const url = urlForListenAddress(admin.addr);
  if (url === undefined) die(`${file}: admin.addr ${JSON.stringify(admin.addr)} names no fixed port; give --admin URL`, EXIT_BAD_INPUT);
  return { url, token: o.token ?? envToken ?? admin.token, from: file };
}

/** The admin section of a config file's text: addr and the token after ${VAR} substitution (when it can be). */
function adminSection(text: string, file: string): { addr: string; token: string | undefined } | undefined {
  let raw: unknown;
  try {
    raw = parseJson(text, file);
  } catch (e) {
    if (e instanceof ConfigError) die(e.problems.join('; '), EXIT_BAD_INPUT);
    throw e;
  }
  const section = raw !== null && typeof raw === 'object' ? (raw as { admin?: unknown }).admin : undefined;
  if (section === undefined) return undefined;
  const addr = section !== null && typeof section === 'object' ? (section as { addr?: unknown }).addr : undefined;
  if (typeof addr !== 'string') die(`${file}: admin.addr: is required (the admin API's address, e.g. "127.0.0.1:9901")`, EXIT_BAD_INPUT);
  const sub = substituteEnv(section, process.env);
  // A token naming an unset variable is no token here; the API then says a token is needed.
  const parsed = sub.problems.length === 0 ? adminSchema.safeParse(sub.value) : undefined;
  return { addr, token: parsed?.success === true ? parsed.data?.token : undefined };
}

function configToken(file: string): string | undefined {
  try {
    return adminSection(readFileSync(file, 'utf8'), file)?.token;
  } catch {
    return undefined;
  }
}

/** A JSON answer of the admin API. */
export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The error object of an admin API error answer. */
export interface AdminErrorBody {
  readonly code: string;
  readonly message: string;
  readonly problems?: readonly string[];
}

/** The `error` of an error answer, when it has one. */
export function errorOf(body: unknown): AdminErrorBody | undefined {
  const e = body !== null && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  if (e === null || typeof e !== 'object') return undefined;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return typeof code === 'string' && typeof message === 'string' ? (e as AdminErrorBody) : undefined;
}

/**
 * Calls the admin API. Unreachable: one line, exit 1. A 2xx answer (and, when `accept` lets it
 * through, an error answer the caller handles) is returned; any other error is one line, exit 1.
 */
export async function callAdmin(
  target: AdminTarget,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  opts: { body?: unknown; timeoutMs?: number; accept?: (status: number) => boolean } = {},
): Promise<AdminAnswer> {
  const headers: Record<string, string> = {};
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let status: number;
  let text: string;
  try {
    const r = await request(`${target.url}${path}`, { method, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    status = r.statusCode;
    text = await r.body.text();
  } catch (e) {
    die(`cannot reach the admin API at ${target.url}: ${unreachableReason(e, timeoutMs)}`, EXIT_FAILURE);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    die(`${target.url} answered ${status} with something that is not the admin API's JSON (is it the admin address?)`, EXIT_FAILURE);
  }
  if ((status >= 200 && status < 300) || opts.accept?.(status) === true) return { status, body: parsed };
  const err = errorOf(parsed);
  const what = err === undefined ? `status ${status}` : `${err.message} (${err.code})`;
  const hint =
    status === 401 ? (target.token === undefined ? `; give --token or set ${TOKEN_ENV}` : `; check --token or ${TOKEN_ENV}`) : '';
  die(`admin API refused ${method} ${path}: ${what}${hint}`, EXIT_FAILURE);
}

function unreachableReason(e: unknown, timeoutMs: number): string {
  const err = e as { code?: string; cause?: { code?: string }; message?: string };
  const code = err.code ?? err.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is the balancer running, with "admin" in its config?)';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `no answer within ${timeoutMs / 1000} s`;
  if (code === 'ENOTFOUND') return 'no such host';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the connection was closed without an answer';
  return code ?? err.message ?? String(e);
}
