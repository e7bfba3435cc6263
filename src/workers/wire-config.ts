import type { Config } from '../config/load.js';
import type { TlsSettings } from '../config/tls.js';
import { CertificateSet, type WireCertificates } from '../tls/certificates.js';

/** A Config as it crosses to a worker over IPC: the certificates as PEM data (secure contexts do not clone). */
export type WireConfig = Omit<Config, 'tls'> & { readonly tls?: Omit<TlsSettings, 'certificates'> & { readonly certificates: WireCertificates } };

/** `config` for a worker (the primary's side). */
export function toWire(config: Config): WireConfig {
  const { tls, ...rest } = config;
  return tls === undefined ? rest : { ...rest, tls: { ...tls, certificates: tls.certificates.toWire() } };
}

/** The worker's Config from what the primary sent: certificates rebuilt here. */
export function fromWire(wire: WireConfig): Config {
  const { tls, ...rest } = wire;
  return tls === undefined ? rest : { ...rest, tls: { ...tls, certificates: CertificateSet.fromWire(tls.certificates) } };
}
