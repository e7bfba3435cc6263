// PROXY protocol headers as a server receives them, read by a parser written here from the spec
// (haproxy's doc/proxy-protocol.txt), independent of the code that writes them.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { startBalancer, writeConfig } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { ipv6Bytes, proxyV1, proxyV2 } from '../../../src/engines/tcp/proxy-protocol.js';
import { echoBackend, tcpClient } from './tcp-helpers.js';

/** What a PROXY header says. */
interface Parsed {
  readonly version: 1 | 2;
  readonly family: 'TCP4' | 'TCP6' | 'UNKNOWN';
  readonly src?: string;
  readonly dst?: string;
  readonly sport?: number;
  readonly dport?: number;
  /** Header length in bytes: the server's own data starts after it. */
  readonly length: number;
}

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

// IPv6 text from 16 bytes, compressed per RFC 5952 enough to compare with node's addresses.
function v6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  // Longest run of two or more zero groups becomes "::".
  const runs = [...`:${text}:`.matchAll(/:(?:0:){2,}/g)].sort((x, y) => y[0].length - x[0].length);
  if (runs.length === 0) return text;
  const r = runs[0] as RegExpMatchArray;
  const s = `:${text}:`;
  const out = `${s.slice(0, r.index)}::${s.slice((r.index as number) + r[0].length)}`;
  return out.replace(/^:(?!:)/, '').replace(/(?<!:):$/, '');
}

/** Parses one PROXY header (v1 or v2) at the start of `b`. */
function parseProxy(b: Buffer): Parsed {
  if (b.length >= 16 && SIG.every((x, i) => b[i] === x)) {
    assert.equal(b[12], 0x21, 'version 2, command PROXY');
    const fam = b[13];
    const len = b.readUInt16BE(14);
    const body = b.subarray(16, 16 + len);
    if (fam === 0x11) {
      assert.equal(len, 12);
      return { version: 2, family: 'TCP4', src: [...body.subarray(0, 4)].join('.'), dst: [...body.subarray(4, 8)].join('.'), sport: body.readUInt16BE(8), dport: body.readUInt16BE(10), length: 16 + len };
    }
    if (fam === 0x21) {
      assert.equal(len, 36);
      return { version: 2, family: 'TCP6', src: v6Text(body.subarray(0, 16)), dst: v6Text(body.subarray(16, 32)), sport: body.readUInt16BE(32), dport: body.readUInt16BE(34), length: 16 + len };
    }
    assert.equal(fam, 0x00, 'UNSPEC');
    return { version: 2, family: 'UNKNOWN', length: 16 + len };
  }
  const end = b.indexOf('\r\n');
  assert.ok(end > 0 && end <= 105, 'a v1 line ends with CRLF within 107 bytes');
  const parts = b.subarray(0, end).toString('latin1').split(' ');
  assert.equal(parts[0], 'PROXY');
  if (parts[1] === 'UNKNOWN') return { version: 1, family: 'UNKNOWN', length: end + 2 };
  assert.equal(parts.length, 6);
  assert.ok(parts[1] === 'TCP4' || parts[1] === 'TCP6');
  for (const p of [parts[4], parts[5]]) assert.match(String(p), /^(0|[1-9]\d{0,4})$/, 'ports in decimal, no leading zeros');
  return { version: 1, family: parts[1], src: parts[2], dst: parts[3], sport: Number(parts[4]), dport: Number(parts[5]), length: end + 2 };
}

test('v1 and v2 headers by the spec: IPv4, IPv6, IPv4-mapped, unknown', () => {
  const v4 = { sourceAddress: '192.168.1.20', sourcePort: 51234, destAddress: '10.0.0.1', destPort: 5432 };
  assert.equal(proxyV1(v4).toString(), 'PROXY TCP4 192.168.1.20 10.0.0.1 51234 5432\r\n');
  assert.deepEqual(parseProxy(proxyV2(v4)), { version: 2, family: 'TCP4', src: '192.168.1.20', dst: '10.0.0.1', sport: 51234, dport: 5432, length: 28 });
  // The spec's own byte layout, written out.
  assert.equal(proxyV2(v4).toString('hex'), '0d0a0d0a000d0a515549540a' + '21' + '11' + '000c' + 'c0a80114' + '0a000001' + 'c822' + '1538');
  const v6 = { sourceAddress: '2001:db8::1', sourcePort: 1, destAddress: '::1', destPort: 65535 };
  assert.equal(proxyV1(v6).toString(), 'PROXY TCP6 2001:db8::1 ::1 1 65535\r\n');
  assert.deepEqual(parseProxy(proxyV2(v6)), { version: 2, family: 'TCP6', src: '2001:db8::1', dst: '::1', sport: 1, dport: 65535, length: 52 });
  // A dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d: they are IPv4 clients.
  const mapped = { sourceAddress: '::ffff:127.0.0.1', sourcePort: 4000, destAddress: '::ffff:127.0.0.1', destPort: 80 };
  assert.equal(proxyV1(mapped).toString(), 'PROXY TCP4 127.0.0.1 127.0.0.1 4000 80\r\n');
  assert.equal(parseProxy(proxyV2(mapped)).family, 'TCP4');
  const unknown = { sourceAddress: undefined, sourcePort: undefined, destAddress: '::1', destPort: 80 };
  assert.equal(proxyV1(unknown).toString(), 'PROXY UNKNOWN\r\n');
  assert.deepEqual(parseProxy(proxyV2(unknown)), { version: 2, family: 'UNKNOWN', length: 16 });
  assert.equal(ipv6Bytes('::ffff:1.2.3.4')?.toString('hex'), '00000000000000000000ffff01020304');
  assert.equal(ipv6Bytes('fe80::1%eth0')?.toString('hex'), 'fe800000000000000000000000000001');
  assert.equal(ipv6Bytes('1:2:3:4:5:6:7:8')?.toString('hex'), '00010002000300040005000600070008');
  assert.equal(ipv6Bytes('1.2.3.4'), undefined);
});

// The first bytes each connection of `b` received with data in them.
function firstData(received: Buffer[][]): Buffer[] {
  return received.map((r) => Buffer.concat(r)).filter((x) => x.length > 0);
}

test('the server receives the PROXY header first, with the client\'s address and port (v1 top level, v2 per server, false for none)', async () => {
  const [v1, v2, none] = await Promise.all(['v1', 'v2', 'none'].map((n) => echoBackend(n)));
  assert.ok(v1 !== undefined && v2 !== undefined && none !== undefined);
  const bp = await startBalancer({
    mode: 'tcp',
    proxyProtocol: 'v1',
    healthCheck: { enabled: false },
    servers: [{ addr: v1.addr }, { addr: v2.addr, proxyProtocol: 'v2' }, { addr: none.addr, proxyProtocol: false }],
  });
  try {
    const balancerPort = Number(new URL(bp.url).port);
    for (const b of [v1, v2, none]) {
      const c = await tcpClient(bp.url);
      c.socket.write('payload');
      await c.waitFor(/payload$/, `${b.name} echo`);
      const [data] = firstData(b.received);
      assert.ok(data !== undefined);
      if (b === none) {
        assert.equal(data.toString(), 'payload', 'no header for proxyProtocol false');
      } else {
        const h = parseProxy(data);
        assert.deepEqual(
          { ...h, length: 0 },
          { version: b === v1 ? 1 : 2, family: 'TCP4', src: '127.0.0.1', sport: c.socket.localPort, dst: '127.0.0.1', dport: balancerPort, length: 0 },
          `${b.name}: the client's address and port, and where it connected`,
        );
        assert.equal(data.subarray(h.length).toString(), 'payload', 'then the client\'s bytes, untouched');
      }
      c.socket.destroy();
    }
  } finally {
    await bp.stop();
    await Promise.all([v1, v2, none].map((b) => b.close()));
  }
});

const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6' && i.address === '::1'));

test('IPv6 clients: TCP6 headers with the client\'s IPv6 address (v1 and v2)', { skip: hasIpv6Loopback ? false : 'no ::1 on this machine' }, async () => {
  const [v1, v2] = await Promise.all(['v1', 'v2'].map((n) => echoBackend(n)));
  assert.ok(v1 !== undefined && v2 !== undefined);
  const bp = await startBalancer({ mode: 'tcp', addr: '[::1]:0', healthCheck: { enabled: false }, servers: [{ addr: v1.addr, proxyProtocol: 'v1' }, { addr: v2.addr, proxyProtocol: 'v2' }] });
  try {
    assert.match(bp.url, /^tcp:\/\/\[::1\]:\d+$/);
    for (const b of [v1, v2]) {
      const c = await tcpClient(bp.url);
      c.socket.write('six');
      await c.waitFor(/six$/);
      const [data] = firstData(b.received);
      assert.ok(data !== undefined);
      const h = parseProxy(data);
      assert.deepEqual({ ...h, length: 0 }, { version: b === v1 ? 1 : 2, family: 'TCP6', src: '::1', sport: c.socket.localPort, dst: '::1', dport: Number(new URL(bp.url).port), length: 0 });
      c.socket.destroy();
    }
  } finally {
    await bp.stop();
    await Promise.all([v1, v2].map((b) => b.close()));
  }
});

const haproxy = spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).status === 0;

test('a real peer: HAProxy with accept-proxy (v1 and v2) sees the client\'s address and port', { skip: haproxy ? false : 'haproxy not installed' }, async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const cfg = writeConfig(
    [
      'global',
      '  maxconn 100',
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 10s',
      '  timeout server 10s',
      ...[p1, p2].flatMap((p) => [
        `frontend f${p}`,
        `  bind 127.0.0.1:${p} accept-proxy`,
        '  http-request return status 200 content-type text/plain lf-string "src=%[src]:%[src_port] dst=%[dst]:%[dst_port]"',
      ]),
      '',
    ].join('\n'),
    'haproxy.cfg',
  );
  const hap = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
  const bp = await startBalancer({ mode: 'tcp', healthCheck: { enabled: false }, servers: [{ addr: `127.0.0.1:${p1}`, proxyProtocol: 'v1' }, { addr: `127.0.0.1:${p2}`, proxyProtocol: 'v2' }] });
  try {
    const balancerPort = Number(new URL(bp.url).port);
    // HAProxy listens once its ports accept.
    await waitFor(async () => (await Promise.all([p1, p2].map((p) => tcpClient(`tcp://127.0.0.1:${p}`).then((c) => (c.socket.destroy(), true), () => false)))).every(Boolean), 'haproxy listening');
    for (let i = 0; i < 2; i++) {
      const c = await tcpClient(bp.url);
      const localPort = c.socket.localPort;
      c.socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await c.closed;
      assert.match(c.text(), /^HTTP\/1\.1 200/, c.text());
      assert.ok(c.text().endsWith(`src=127.0.0.1:${localPort} dst=127.0.0.1:${balancerPort}`), c.text());
    }
  } finally {
    await bp.stop();
    hap.kill();
  }
});
