import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { compare, corpusRequests, fuzz, generator, runLlhttp, runOurs, type Msg } from './fuzz.js';

// Our codes for requests llhttp accepts: each is strictness we chose (README, "The fast engine's
// HTTP/1.1 parser"). A new code here means a new kind of difference: look at it before adding it.
const CHOSEN_STRICTNESS = new Set([
  'E_HTTP_BAD_HOST',
  'E_HTTP_DUP_HOST',
  'E_HTTP_BAD_TARGET',
  'E_HTTP_BAD_START_LINE',
  'E_HTTP_BARE_CR',
  'E_HTTP_BARE_LF',
  'E_HTTP_BAD_VERSION',
  'E_HTTP_BAD_TE',
  'E_HTTP_TE_NOT_IMPLEMENTED',
  'E_HTTP_CONNECT_BODY',
  'E_HTTP_BAD_CL',
  'E_HTTP_BAD_CHUNK',
  'E_HTTP_CHUNK_EXT',
  'E_HTTP_HEADER_SPACE',
]);

test('differential fuzz vs llhttp, seed 11, 5000 cases: no framing violation, no mismatch, strictness only where chosen', () => {
  const r = fuzz(11, 5000);
  assert.deepEqual(r.framingViolations, [], 'we accepted what llhttp rejects for framing');
  assert.deepEqual(r.mismatches, [], 'both accepted, but parsed differently');
  // The generator reaches every outcome, so the properties are tested on real cases, not vacuously.
  assert.ok(r.bothAccept > 500, `both accept: ${r.bothAccept}`);
  assert.ok(r.bothReject > 500, `both reject: ${r.bothReject}`);
  for (const code of Object.keys(r.oursStricter)) assert.ok(CHOSEN_STRICTNESS.has(code), `unexpected strictness ${code}: ${JSON.stringify(r.examples[code])}`);
  assert.ok(Object.keys(r.theirsStricter).every((c) => ['HPE_INVALID_METHOD', 'HPE_INVALID_URL', 'NODE_NO_HOST'].includes(c)), JSON.stringify(r.theirsStricter));
});

test('every request of the corpus (what curl, browsers, fetch, health checks send) is accepted by both and parsed the same, whole and in 1-byte pieces', () => {
  for (const raw of corpusRequests()) {
    const input = Buffer.from(raw, 'latin1');
    const theirs = runLlhttp(input);
    assert.equal(theirs.error, null, raw);
    for (const splits of [[], Array.from({ length: input.length }, (_, i) => i + 1)]) {
      const ours = runOurs(input, splits);
      assert.equal(ours.error, null, raw);
      assert.equal(ours.msgs.length, 1, raw);
      assert.deepEqual(compare(ours, theirs), { kind: 'both-accept' }, raw);
    }
  }
});

/** What a node:http server (insecureHTTPParser: false) made of one connection's bytes. */
async function throughServer(port: number, seen: Msg[][], input: Buffer): Promise<{ msgs: Msg[]; rejected: boolean }> {
  const msgs: Msg[] = [];
  seen.push(msgs);
  const answer = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(got) : reject(err)));
    s.on('close', () => resolve(got));
    s.end(input);
  });
  const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  return { msgs: msgs.filter((m) => m.hasBody !== undefined && (m as Msg & { done?: boolean }).done), rejected: statuses.some((s) => s !== 100 && s !== 200) };
}

test('the in-process llhttp oracle agrees with a real node:http server (insecureHTTPParser: false) on 250 generated cases', async () => {
  const seen: Msg[][] = [];
  const server = createServer({ insecureHTTPParser: false, maxHeaderSize: 32768 }, (req: IncomingMessage, res: ServerResponse) => {
    const msg: Msg & { done?: boolean } = { method: req.method!, target: req.url!, rawHeaders: req.rawHeaders, body: '', trailers: [], upgrade: false, hasBody: false, keepAlive: true };
    seen[seen.length - 1]!.push(msg);
    req.on('data', (d: Buffer) => (msg.body += d.toString('latin1')));
    req.on('end', () => {
      msg.trailers = req.rawTrailers;
      msg.done = true;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const next = generator(23);
    let compared = 0;
    let rejected = 0;
    while (compared < 250) {
      const c = next();
      const oracle = runLlhttp(c.input, true);
      // Upgrades and CONNECT need an 'upgrade'/'connect' listener; the parser side is what we compare.
      if (oracle.msgs.some((m) => m.upgrade) || /upgrade|CONNECT/i.test(c.input.toString('latin1'))) continue;
      const real = await throughServer(port, seen, c.input);
      compared++;
      const why = JSON.stringify(c.input.toString('latin1'));
      assert.equal(real.rejected, oracle.error !== null || oracle.dataAfterClose === true, `${why}: server ${real.rejected ? 'rejected' : 'accepted'}, oracle ${oracle.error}`);
      // node:http answers 400 to a request without Host but still serves requests that came in the same read.
      if (oracle.error !== 'NODE_NO_HOST')
        assert.deepEqual(
        real.msgs.map((m) => [m.method, m.target, m.rawHeaders, m.body, m.trailers]),
        oracle.msgs.map((m) => [m.method, m.target, m.rawHeaders, m.body, m.trailers]),
        why,
      );
      if (real.rejected) rejected++;
    }
    assert.ok(rejected > 50 && rejected < 225, `rejected ${rejected} of 250`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
