import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

// A set of certificates the TLS listener serves, chosen by SNI. Immutable: a reload or a renewed
// ACME certificate builds a new set and the listener swaps it in, so a handshake always sees one
// whole set (as Caddy's and Traefik's certificate caches do).

/** TLS settings every secure context of a set is built with. */
export interface ContextOptions {
  /** Lowest protocol version accepted: "TLSv1.2" or "TLSv1.3". */
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (TLS 1.2 names and TLS 1.3 suites). */
  readonly ciphers: string;
}

/** A CertificateSet as plain data (CertificateSet.toWire): secure contexts cannot cross processes. */
export interface WireCertificates {
  readonly options: ContextOptions;
  readonly pems: readonly PemPair[];
}

/** One certificate and key in PEM, with where they came from (for messages and the admin API). */
export interface PemPair {
  /** The certificate, followed by its chain (fullchain.pem). */
  readonly cert: string;
  /** The private key, unencrypted. */
  readonly key: string;
  /** Where it came from, e.g. the cert file's path or "acme:example.com". */
  readonly source: string;
  /** Config path of the cert, e.g. "tls.certificates[1].cert"; defaults to `source`. */
  readonly certField?: string;
  /** Config path of the key, e.g. "tls.certificates[1].key"; defaults to `source`. */
  readonly keyField?: string;
  /** Shown for the key in messages (its file); defaults to `source`. */
  readonly keySource?: string;
}

/** What the admin API and the metrics show of one certificate. */
export interface CertificateInfo {
  /** DNS names it serves (SAN entries, or the CN when it has none); wildcards as "*.example.com". */
  readonly names: readonly string[];
  readonly subject: string;
  readonly issuer: string;
  /** ISO 8601 times. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days until notAfter (negative once expired). */
  readonly daysLeft: number;
  /** The cert file, or where the certificate came from (ACME). */
  readonly source: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint: string;
  /** True for the certificate served to clients without SNI or with an unknown name. */
  readonly default: boolean;
}

/** One problem with one certificate entry: the config field and what is wrong. */
export interface CertificateProblem {
  /** Config path, e.g. "tls.certificates[1].key". */
  readonly field: string;
  /** A phrase naming the file and the problem. */
  readonly message: string;
}

/** Thrown by the builders when some pair cannot be used; lists every problem found. */
export class CertificateError extends Error {
  /** Builds the error from its problems. */
  constructor(readonly problems: readonly CertificateProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('\n'));
    this.name = 'CertificateError';
  }
}

/** A certificate the set serves, with its secure context. */
interface Entry {
  readonly x509: X509Certificate;
  readonly names: readonly string[];
  readonly source: string;
  readonly context: SecureContext;
  /** PEM texts, for the listener's default context (setSecureContext takes options, not a context). */
  readonly cert: string;
  readonly key: string;
}

const DAY_MS = 86_400_000;

/** DNS names a certificate is for: SAN DNS entries, or its CN when it has no SAN (RFC 6125), lower-cased. */
export function certificateNames(x509: X509Certificate): string[] {
  const san = x509.subjectAltName;
  if (san !== undefined && san !== '') {
    const names: string[] = [];
    for (const part of san.split(', ')) {
      if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase());
    }
    if (names.length > 0) return names;
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject);
  return cn?.[1] !== undefined ? [cn[1].toLowerCase()] : [];
}

/** The name a client asked for, as looked up: lower case, no trailing dot. */
function normalise(servername: string): string {
  const s = servername.toLowerCase();
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

/** Reads a file for a certificate entry, or says why it cannot be read. */
function readPem(path: string): string | { readonly why: string } {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(e);
    return { why };
  }
}

/** Entries of a certificate set as the config file lists them. */
export interface CertificateFileEntry {
  readonly cert: string;
  readonly key: string;
}

/**
 * The certificates a TLS listener serves: looked up by SNI name (exact, then a wildcard one label
 * deep), the first one being the default for clients that send no name or an unknown one.
 */
export class CertificateSet {
  private readonly exact = new Map<string, Entry>();
  // "*.example.com" is kept under "example.com": a name's parent domain finds it.
  private readonly wildcard = new Map<string, Entry>();

  private constructor(
    private readonly entries: readonly Entry[],
    /** The options every context of the set was built with. */
    readonly options: ContextOptions,
  ) {
    // Earlier entries win a name both serve: the config's order is the priority.
    for (const e of entries) {
      for (const n of e.names) {
        if (n.startsWith('*.')) {
          const parent = n.slice(2);
          if (!this.wildcard.has(parent)) this.wildcard.set(parent, e);
        } else if (!this.exact.has(n)) this.exact.set(n, e);
      }
    }
  }

  /**
   * Reads and checks the config's certificate files (paths relative to the working directory);
   * throws CertificateError naming each field and file that cannot be used.
   */
  static load(files: readonly CertificateFileEntry[], options: ContextOptions, now = Date.now()): CertificateSet {
    const problems: CertificateProblem[] = [];
    const pairs: PemPair[] = [];
    files.forEach((f, i) => {
      const certField = `tls.certificates[${i}].cert`;
      const keyField = `tls.certificates[${i}].key`;
      const cert = readPem(f.cert);
      const key = readPem(f.key);
      if (typeof cert !== 'string') problems.push({ field: certField, message: `${JSON.stringify(f.cert)} cannot be read: ${cert.why}` });
      if (typeof key !== 'string') problems.push({ field: keyField, message: `${JSON.stringify(f.key)} cannot be read: ${key.why}` });
      if (typeof cert === 'string' && typeof key === 'string') pairs.push({ cert, key, source: f.cert, certField, keyField, keySource: f.key });
    });
    const built = buildEntries(pairs, options, now);
    problems.push(...built.problems);
    if (problems.length > 0) throw new CertificateError(problems);
    return new CertificateSet(built.entries, options);
  }

  /**
   * Builds a set from PEM texts (certificates obtained at run time, e.g. by ACME); throws
   * CertificateError as `load` does, with each pair's `source` in the messages.
   */
  static fromPem(pairs: readonly PemPair[], options: ContextOptions, now = Date.now()): CertificateSet {
    const built = buildEntries(pairs, options, now);
    if (built.problems.length > 0) throw new CertificateError(built.problems);
    return new CertificateSet(built.entries, options);
  }

  /** An empty set (no certificate yet: e.g. ACME has not obtained one). */
  static empty(options: ContextOptions): CertificateSet {
    return new CertificateSet([], options);
  }

  /**
   * A new set serving this set's certificates first and then `extra`'s for the names this one
   * does not serve; this set's first certificate stays the default (extra's first when this one
   * is empty). Both sets must have been built with the same options.
   */
  withExtra(extra: CertificateSet): CertificateSet {
    return new CertificateSet([...this.entries, ...extra.entries], this.options);
  }

  /** The set as data that crosses a process boundary (workers' IPC): its PEM texts and options; fromWire() builds it again. */
  toWire(): WireCertificates {
    return { options: this.options, pems: this.entries.map((e) => ({ cert: e.cert, key: e.key, source: e.source })) };
  }

  /** The set toWire() described, its secure contexts made in this process. */
  static fromWire(w: WireCertificates): CertificateSet {
    return CertificateSet.fromPem(w.pems, w.options);
  }

  /** Number of certificates. */
  get size(): number {
    return this.entries.length;
  }

  /** The secure context for a client that asked for `servername`: exact name, then wildcard, then the default. */
  contextFor(servername: string | undefined): SecureContext | undefined {
    return this.entryFor(servername)?.context;
  }

  /** Source of the certificate served for `servername` (tests and logs). */
  sourceFor(servername: string | undefined): string | undefined {
    return this.entryFor(servername)?.source;
  }

  /** The PEM texts of the default certificate, for the listener's default context; undefined when empty. */
  defaultPem(): { readonly cert: string; readonly key: string } | undefined {
    const e = this.entries[0];
    return e === undefined ? undefined : { cert: e.cert, key: e.key };
  }

  private entryFor(servername: string | undefined): Entry | undefined {
    if (servername !== undefined && servername !== '') {
      const name = normalise(servername);
      const exact = this.exact.get(name);
      if (exact !== undefined) return exact;
      const dot = name.indexOf('.');
      if (dot > 0) {
        const wild = this.wildcard.get(name.slice(dot + 1));
        if (wild !== undefined) return wild;
      }
    }
    return this.entries[0];
  }

  /** JSON (the admin API's config view): what each certificate is, never its key. */
  toJSON(): CertificateInfo[] {
    return this.list();
  }

  /** What each certificate is, in priority order (the first is the default). */
  list(now = Date.now()): CertificateInfo[] {
    return this.entries.map((e, i) => {
      const notAfter = e.x509.validToDate;
      return {
        names: e.names,
        subject: e.x509.subject.replaceAll('\n', ', '),
        issuer: e.x509.issuer.replaceAll('\n', ', '),
        notBefore: e.x509.validFromDate.toISOString(),
        notAfter: notAfter.toISOString(),
        daysLeft: Math.floor((notAfter.getTime() - now) / DAY_MS),
        source: e.source,
        fingerprint: e.x509.fingerprint256,
        default: i === 0,
      };
    });
  }
}

/** Checks each pair (certificate, key, match, validity) and builds its context. */
function buildEntries(pairs: readonly PemPair[], options: ContextOptions, now: number): { entries: Entry[]; problems: CertificateProblem[] } {
  const entries: Entry[] = [];
  const problems: CertificateProblem[] = [];
  for (const p of pairs) {
    const certField = p.certField ?? p.source;
    const keyField = p.keyField ?? p.source;
    const certFile = JSON.stringify(p.source);
    const keyFile = JSON.stringify(p.keySource ?? p.source);
    let x509: X509Certificate | undefined;
    let key: KeyObject | undefined;
    if (!p.cert.includes('-----BEGIN CERTIFICATE-----')) {
      problems.push({ field: certField, message: `${certFile} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block)` });
    } else {
      try {
        x509 = new X509Certificate(p.cert);
      } catch (e) {
        problems.push({ field: certField, message: `${certFile} is not a valid PEM certificate (${(e as Error).message})` });
      }
    }
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(p.key)) {
      problems.push({ field: keyField, message: `${keyFile} is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" block)` });
    } else if (p.key.includes('ENCRYPTED')) {
      problems.push({ field: keyField, message: `${keyFile} is an encrypted private key (a key with a passphrase is not supported; decrypt it with openssl pkey)` });
    } else {
      try {
        key = createPrivateKey(p.key);
      } catch (e) {
        problems.push({ field: keyField, message: `${keyFile} is not a valid PEM private key (${(e as Error).message})` });
      }
    }
    if (x509 === undefined || key === undefined) continue;
    if (!x509.checkPrivateKey(key)) {
      problems.push({ field: keyField, message: `${keyFile} does not match the certificate ${certFile} (a key from another certificate?)` });
      continue;
    }
    if (x509.validToDate.getTime() <= now) {
      problems.push({ field: certField, message: `${certFile} expired on ${x509.validToDate.toISOString()} (renew it)` });
      continue;
    }
    if (x509.validFromDate.getTime() > now) {
      problems.push({ field: certField, message: `${certFile} is not valid before ${x509.validFromDate.toISOString()} (check the clock)` });
      continue;
    }
    const names = certificateNames(x509);
    if (names.length === 0) {
      problems.push({ field: certField, message: `${certFile} names no DNS name (no subjectAltName DNS entry and no CN)` });
      continue;
    }
    let context: SecureContext;
    try {
      context = createSecureContext({ cert: p.cert, key: p.key, minVersion: options.minVersion, ciphers: options.ciphers });
    } catch (e) {
      problems.push({ field: certField, message: `${certFile} cannot be used by TLS: ${(e as Error).message}` });
      continue;
    }
    entries.push({ x509, names, source: p.source, context, cert: p.cert, key: p.key });
  }
  return { entries, problems };
}
