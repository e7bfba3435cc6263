import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Http01Challenges } from '../../../src/tls/acme/challenges.js';
import { CertificateStorage, newPrivateKey } from '../../../src/tls/acme/storage.js';

const root = mkdtempSync(join(tmpdir(), 'balancer-acme-storage-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the account key is made once, mode 0600 in 0700 folders, and the same key is read back', () => {
  const s = new CertificateStorage(join(root, 'a'));
  const k1 = s.accountKey('https://acme.example:14000/dir');
  const k2 = new CertificateStorage(join(root, 'a')).accountKey('https://acme.example:14000/dir');
  assert.equal(k1, k2);
  const dir = join(root, 'a', 'accounts', 'acme.example_14000');
  assert.equal(statSync(join(dir, 'account.key')).mode & 0o777, 0o600);
  for (const d of [join(root, 'a'), join(root, 'a', 'accounts'), dir]) assert.equal(statSync(d).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(dir), ['account.key'], 'no temporary file left behind');
  assert.notEqual(s.accountKey('https://other.example/dir'), k1, 'one account per CA');
});

test('a stored certificate that is missing, unreadable or mismatched is reported, not served', () => {
  const s = new CertificateStorage(join(root, 'b'));
  assert.equal(s.read('x.test'), undefined);
  s.prepare('x.test');
  writeFileSync(join(s.dir('x.test'), 'cert.pem'), 'not a certificate');
  writeFileSync(join(s.dir('x.test'), 'key.pem'), newPrivateKey());
  const r = s.read('x.test');
  assert.ok(r !== undefined && 'problem' in r);
});

test('challenges: answered from memory, and by peers from the shared folder; odd tokens are never looked up', () => {
  const storage = join(root, 'c');
  const mine = new Http01Challenges(storage);
  const peer = new Http01Challenges(storage);
  const token = 'abcdefghijklmnop_-0123456789';
  mine.add(token, `${token}.thumb`);
  assert.equal(mine.keyAuthorization(token), `${token}.thumb`);
  assert.equal(peer.keyAuthorization(token), `${token}.thumb`);
  assert.equal(statSync(join(storage, 'challenges', token)).mode & 0o777, 0o600);
  assert.equal(peer.keyAuthorization('../../etc/passwd'), undefined);
  assert.equal(peer.keyAuthorization('short'), undefined);
  mine.remove(token);
  assert.equal(peer.keyAuthorization(token), undefined);
  assert.equal(mine.pending, 0);
  assert.throws(() => mine.add('../escape/aaaaaaaaaaaaaaa', 'x'), /not base64url/);
});
