import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The storage folder, shared by every balancer that points at it:
//   <storage>/accounts/<directory host>/account.key   the ACME account key (0600), made once
//   <storage>/<domain>/cert.pem                      certificate chain, leaf first (0644)
//   <storage>/<domain>/key.pem                       its private key (0600)
//   <storage>/<domain>/lock                          held while one instance orders (lock.ts)
// Folders are 0700. Files are written to a temporary name and renamed, so a reader sees a whole
// old file or a whole new one; a reader that catches a new key beside the old certificate sees
// that they do not match and tries again later.

/** Mode of folders in storage. */
export const DIR_MODE = 0o700;
/** Mode of private key files. */
export const KEY_MODE = 0o600;
/** Mode of certificate files (public data, but inside a 0700 folder). */
export const CERT_MODE = 0o644;

/** A certificate and its key, with what the balancer needs to know about them. */
export interface StoredCertificate {
  readonly domain: string;
  /** PEM chain, leaf first. */
  readonly cert: string;
  /** PEM private key of the leaf. */
  readonly key: string;
  /** Validity start and end, epoch ms. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** Leaf serial number, hex upper case (as node prints it). */
  readonly serial: string;
  /** The leaf's issuer, one line. */
  readonly issuer: string;
  /** True when the leaf is valid for `domain`. */
  readonly covers: boolean;
}

/** Why a stored certificate cannot be used (absent is not a problem: `undefined`). */
export interface StoredProblem {
  readonly problem: string;
}

/** Creates `dir` (and parents) with mode 0700 and makes sure it has that mode. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  chmodSync(dir, DIR_MODE);
}

/** Writes `data` to `path` through a temporary file and a rename, with `mode`. */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx', flush: true });
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Parses a PEM chain and key into a StoredCertificate; throws with a reason when they are unusable. */
export function describeCertificate(domain: string, cert: string, key: string): StoredCertificate {
  const leaf = new X509Certificate(cert); // the first certificate of the chain
  const privateKey = createPrivateKey(key);
  if (!leaf.checkPrivateKey(privateKey)) throw new Error('key.pem does not match cert.pem');
  return {
    domain,
    cert,
    key,
    notBefore: leaf.validFromDate.getTime(),
    notAfter: leaf.validToDate.getTime(),
    serial: leaf.serialNumber,
    issuer: leaf.issuer.replace(/\n/g, ', '),
    covers: leaf.checkHost(domain) !== undefined,
  };
}

/** A new ECDSA P-256 private key, PKCS#8 PEM (what Caddy and certbot use by default). */
export function newPrivateKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The storage folder of one ACME setup. */
export class CertificateStorage {
  /** Uses (and creates, mode 0700) the folder `root`. */
  constructor(readonly root: string) {}

  /** Folder of one domain's files. */
  dir(domain: string): string {
    return join(this.root, domain);
  }

  /** Creates the root folder and a domain's folder, mode 0700. */
  prepare(domain: string): void {
    ensurePrivateDir(this.root);
    ensurePrivateDir(this.dir(domain));
  }

  /** The stored certificate of `domain`; undefined when there is none, a problem when it is unusable. */
  read(domain: string): StoredCertificate | StoredProblem | undefined {
    let cert: string;
    let key: string;
    try {
      cert = readFileSync(join(this.dir(domain), 'cert.pem'), 'utf8');
      key = readFileSync(join(this.dir(domain), 'key.pem'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { problem: `cannot read: ${(e as Error).message}` };
    }
    try {
      return describeCertificate(domain, cert, key);
    } catch (e) {
      return { problem: (e as Error).message };
    }
  }

  /** Stores a certificate: key first, then the chain, each atomically. */
  write(c: StoredCertificate): void {
    this.prepare(c.domain);
    writeFileAtomic(join(this.dir(c.domain), 'key.pem'), c.key, KEY_MODE);
    writeFileAtomic(join(this.dir(c.domain), 'cert.pem'), c.cert, CERT_MODE);
  }

  /**
   * The account key for `directory`, created on first use. Made by linking a complete temporary
   * file to its name, so two instances starting together agree on one key (the second link fails
   * and that instance reads the first one's key).
   */
  accountKey(directory: string): string {
    const dir = join(this.root, 'accounts', accountFolder(directory));
    ensurePrivateDir(this.root);
    ensurePrivateDir(join(this.root, 'accounts'));
    ensurePrivateDir(dir);
    const path = join(dir, 'account.key');
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, newPrivateKey(), { mode: KEY_MODE, flag: 'wx', flush: true });
      try {
        linkSync(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    } finally {
      rmSync(tmp, { force: true });
    }
    return readFileSync(path, 'utf8');
  }
}

/** True when `r` is a usable certificate (not absent, not a problem). */
export function isCertificate(r: StoredCertificate | StoredProblem | undefined): r is StoredCertificate {
  return r !== undefined && !('problem' in r);
}

// One account per CA: "acme-v02.api.letsencrypt.org", "127.0.0.1_14000" (a port is not allowed
// in every file system's names as ":").
function accountFolder(directory: string): string {
  return new URL(directory).host.replace(/[^A-Za-z0-9.-]/g, '_');
}
