import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChallengeResponder } from '../redirect-listener.js';
import { ensurePrivateDir, writeFileAtomic } from './storage.js';

// HTTP-01 key authorizations, answered at http://<domain>/.well-known/acme-challenge/<token> by the
// HTTP listener. Kept in memory and in the storage folder: with several balancers behind one
// name, the CA's request may reach an instance that did not place the order, and it answers from
// the shared folder (as Caddy does with shared storage).

/** What the redirect listener asks: the key authorization of a token, or undefined (answer 404). */
export type { ChallengeResponder };

/** ACME tokens are base64url (RFC 8555 section 8.1); anything else is not looked up at all. */
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

/** The HTTP-01 challenges in progress, this instance's and (through storage) its peers'. */
export class Http01Challenges implements ChallengeResponder {
  private readonly mine = new Map<string, string>();
  private readonly dir: string | undefined;

  /** `storageRoot`: the shared storage folder, or undefined to keep challenges in memory only. */
  constructor(storageRoot?: string) {
    this.dir = storageRoot === undefined ? undefined : join(storageRoot, 'challenges');
  }

  /** Starts answering `token` with `keyAuthorization`. */
  add(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token)) throw new Error(`the CA sent a challenge token that is not base64url: ${JSON.stringify(token.slice(0, 40))}`);
    this.mine.set(token, keyAuthorization);
    if (this.dir !== undefined) {
      ensurePrivateDir(this.dir);
      writeFileAtomic(join(this.dir, token), keyAuthorization, 0o600);
    }
  }

  /** Stops answering `token`. */
  remove(token: string): void {
    this.mine.delete(token);
    if (this.dir !== undefined && TOKEN.test(token)) rmSync(join(this.dir, token), { force: true });
  }

  /** The key authorization for `token`, from memory or the shared folder. */
  keyAuthorization(token: string): string | undefined {
    if (!TOKEN.test(token)) return undefined;
    const own = this.mine.get(token);
    if (own !== undefined || this.dir === undefined) return own;
    try {
      return readFileSync(join(this.dir, token), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Tokens this instance is answering now. */
  get pending(): number {
    return this.mine.size;
  }
}
