import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyUpstreamError, failureKind, UPSTREAM_ERRORS } from '../../src/control/upstream-errors.js';

const err = (code: string | undefined, cause?: unknown): Error => Object.assign(new Error(code ?? 'x'), code === undefined ? {} : { code }, cause === undefined ? {} : { cause });

test('one table: each error code gives the status, reason and retry kind', () => {
  const brief = (e: Error, started = false) => {
    const f = classifyUpstreamError(e, started);
    return `${f.status} ${f.reason} ${f.kind}`;
  };
  assert.equal(brief(err('ECONNREFUSED')), '502 ECONNREFUSED connect');
  assert.equal(brief(err('UND_ERR_CONNECT_TIMEOUT')), '504 connect timeout connect');
  assert.equal(brief(err('UND_ERR_HEADERS_TIMEOUT')), '504 response headers timeout timeout');
  assert.equal(brief(err('UND_ERR_BODY_TIMEOUT'), true), '504 response body idle timeout response');
  assert.equal(brief(err('UND_ERR_CLOSED')), '502 cut by the balancer cut');
  assert.equal(brief(err('UND_ERR_DESTROYED')), '502 cut by the balancer cut');
  // undici wraps socket errors: named by the system error inside, retried as a reset.
  assert.equal(brief(err('UND_ERR_SOCKET', err('ECONNRESET'))), '502 ECONNRESET reset');
  assert.equal(brief(err(undefined, err('ECONNREFUSED'))), '502 ECONNREFUSED connect');
  // TLS failures say what failed, in OpenSSL's words (node's message), and are retried as connect failures.
  const selfSigned = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  assert.equal(brief(selfSigned), '502 certificate verify failed: self-signed certificate connect');
  const plain = Object.assign(new Error('C0B7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:354:'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
  assert.equal(brief(plain), '502 TLS handshake failed: wrong version number connect');
  assert.equal(brief(err('EMFILE')), '503 balancer EMFILE reset', "our own fd limit: 503, no server blamed");
  assert.equal(classifyUpstreamError(err('EMFILE')).local, 'EMFILE');
  // Retry kinds come from the same rows.
  for (const [code, row] of UPSTREAM_ERRORS) {
    if (row.kind !== 'cut') assert.equal(failureKind(err(code), { responseStarted: false }), row.kind, code);
  }
  assert.equal(failureKind(err('ECONNREFUSED'), { responseStarted: true }), 'response');
});
