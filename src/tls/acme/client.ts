import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import type { Http01Challenges } from './challenges.js';

// The ACME protocol is acme-client's (publishlab/node-acme-client, the common Node client): we
// give it an account key, a CSR and a way to publish key authorizations, it does the order.

/** Longest wait for one HTTP exchange with the CA (acme-client sets none). */
export const ACME_REQUEST_TIMEOUT_MS = 30_000;
/** First wait when polling a pending challenge or order; it doubles up to 10 s (acme-client's default starts at 5 s). */
export const ACME_POLL_MIN_MS = 1000;

// acme-client talks through one shared axios instance. Extra trust (`ca`) applies only to the
// directory's own origin, so trusting a test CA never widens trust for anything else.
const trusted = new Map<string, HttpsAgent>();
acme.axios.interceptors.request.use((config) => {
  config.timeout ??= ACME_REQUEST_TIMEOUT_MS;
  if (config.timeout === 0) config.timeout = ACME_REQUEST_TIMEOUT_MS;
  const agent = config.url === undefined ? undefined : trusted.get(originOf(config.url));
  if (agent !== undefined) config.httpsAgent = agent;
  return config;
});

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** Trusts the CA certificates in `caPem` (plus the system's) for HTTPS to `directory`'s origin. */
export function trustForDirectory(directory: string, caPem: string): void {
  trusted.set(new URL(directory).origin, new HttpsAgent({ ca: [...rootCertificates, caPem], keepAlive: true, timeout: ACME_REQUEST_TIMEOUT_MS }));
}

/** One certificate order. */
export interface OrderRequest {
  readonly directory: string;
  readonly email: string;
  /** PEM account key. */
  readonly accountKey: string;
  readonly domain: string;
  /** PEM private key of the certificate to be. */
  readonly key: string;
  /** Where key authorizations are published for the HTTP listener. */
  readonly challenges: Http01Challenges;
  /** First poll interval for pending challenges and orders (default ACME_POLL_MIN_MS). */
  readonly pollMinMs?: number;
}

/**
 * Orders a certificate for one domain with HTTP-01 and returns its PEM chain (leaf first).
 * Registers the account on first use (the same key finds the same account later), agreeing to
 * the CA's terms as Caddy and Traefik do when an e-mail is configured.
 */
export async function orderCertificate(r: OrderRequest): Promise<string> {
  // 12 polls from 1 s doubling to 10 s: about 1.5 min for the CA to validate and issue.
  const client = new acme.Client({ directoryUrl: r.directory, accountKey: r.accountKey, backoffMin: r.pollMinMs ?? ACME_POLL_MIN_MS, backoffMax: 10_000, backoffAttempts: 12 });
  const [, csr] = await acme.crypto.createCsr({ commonName: r.domain, altNames: [r.domain] }, r.key);
  return client.auto({
    csr,
    email: r.email,
    termsOfServiceAgreed: true,
    challengePriority: ['http-01'],
    // The self-check would fetch http://<domain>:80 from here, which a balancer behind NAT or a
    // port mapping may not reach; the CA's own validation is the one that counts.
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
      if (challenge.type !== 'http-01') throw new Error(`the CA offered no http-01 challenge (got ${challenge.type})`);
      r.challenges.add(challenge.token, keyAuthorization);
    },
    challengeRemoveFn: async (_authz, challenge) => {
      r.challenges.remove(challenge.token);
    },
  });
}
