// Certificates made by the tests with openssl in temp folders, all EC P-256 (fast): self-signed ones
// (makeCert, for the TLS listener) and a CA with leaves it signed (makeTestPki, for https servers).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new key at `keyFile` and a certificate for it at `certFile`, self-signed, valid `days` (> 0) from now. */
function selfSigned(dir: string, keyFile: string, certFile: string, subject: string, days: number, extra: readonly string[] = []): void {
  openssl(dir, ['req', '-x509', ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-days', String(days), '-subj', subject, ...extra]);
}

/** A new key at `keyFile` and a certificate signing request for it at `csrFile`. */
function signingRequest(dir: string, keyFile: string, csrFile: string, subject: string): void {
  openssl(dir, ['req', '-new', ...EC_KEY, '-keyout', keyFile, '-out', csrFile, '-subj', subject]);
}

/** A certificate and key written to files. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint, as node's X509Certificate and TLS peer certificates show it. */
  readonly fingerprint: string;
}

/** A fresh temp dir for certificate files. */
export function certDir(): string {
  return mkdtempSync(join(tmpdir(), 'balancer-tls-'));
}

/**
 * A self-signed certificate for `names` (SAN DNS entries; the first is also the CN), valid for
 * `days` from now; `days` -1 makes one that expired yesterday; `san: false` leaves SAN out (CN only).
 */
export function makeCert(dir: string, file: string, names: readonly string[], opts: { days?: number; san?: boolean } = {}): TestCert {
  const cert = join(dir, `${file}.crt`);
  const key = join(dir, `${file}.key`);
  const days = opts.days ?? 30;
  const subject = `/CN=${names[0] ?? 'localhost'}`;
  if (days > 0) {
    const san = opts.san === false ? [] : ['-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`];
    selfSigned(dir, key, cert, subject, days, san);
  } else {
    // `req -x509` refuses a validity in the past; `x509 -req` signs one.
    const csr = join(dir, `${file}.csr`);
    signingRequest(dir, key, csr, subject);
    openssl(dir, ['x509', '-req', '-in', csr, '-signkey', key, '-days', String(days), '-out', cert]);
  }
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

/** A key and certificate, as paths and PEM text. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** A test CA and what it signed. */
export interface TestPki {
  readonly dir: string;
  /** The CA certificate (PEM file): what `upstreamTls.ca` points at. */
  readonly caFile: string;
  /** Makes a leaf certificate for `sans` ("DNS:localhost,IP:127.0.0.1"); signed by the CA unless `selfSigned`. */
  leaf(name: string, sans: string, opts?: { selfSigned?: boolean }): CertFiles;
}

/** Makes a fresh CA (one day) in a temp folder. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'balancer-pki-'));
  selfSigned(dir, 'ca.key', 'ca.pem', '/CN=Balancer Test CA', 1);
  const leaf = (name: string, sans: string, opts: { selfSigned?: boolean } = {}): CertFiles => {
    const keyFile = join(dir, `${name}.key`);
    const certFile = join(dir, `${name}.pem`);
    if (opts.selfSigned) {
      selfSigned(dir, keyFile, certFile, `/CN=${name}`, 1, ['-addext', `subjectAltName=${sans}`]);
    } else {
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
      signingRequest(dir, keyFile, `${name}.csr`, `/CN=${name}`);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', certFile, '-days', '1', '-extfile', ext]);
    }
    return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  };
  return { dir, caFile: join(dir, 'ca.pem'), leaf };
}
