// Certificates made by the tests with openssl, in a temp dir: self-signed, EC P-256 (fast).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const subj = `/CN=${names[0] ?? 'localhost'}`;
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key];
  if (days > 0) {
    const san = opts.san === false ? [] : ['-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`];
    execFileSync('openssl', ['req', '-x509', ...ec, '-out', cert, '-days', String(days), '-subj', subj, ...san], { stdio: 'ignore' });
  } else {
    const csr = join(dir, `${file}.csr`);
    execFileSync('openssl', ['req', '-new', ...ec, '-out', csr, '-subj', subj], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-signkey', key, '-days', String(days), '-out', cert], { stdio: 'ignore' });
  }
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}
