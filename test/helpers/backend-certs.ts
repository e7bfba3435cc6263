// Certificates made by the tests with openssl in a temp folder: a CA, leaves it signed, a self-signed one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a fresh CA (EC P-256, one day) in a temp folder. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'balancer-pki-'));
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Balancer Test CA']);
  const leaf = (name: string, sans: string, opts: { selfSigned?: boolean } = {}): CertFiles => {
    const keyFile = join(dir, `${name}.key`);
    const certFile = join(dir, `${name}.pem`);
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
    if (opts.selfSigned) {
      openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${sans}`]);
    } else {
      openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', certFile, '-days', '1', '-extfile', ext]);
    }
    return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  };
  return { dir, caFile: join(dir, 'ca.pem'), leaf };
}
