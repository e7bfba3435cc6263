import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ConfigError, configWarnings, parseConfig, type Config } from '../../src/config/load.js';
import { parseTcpAddress } from '../../src/config/tcp.js';
import { loadKeepingMode } from '../../src/engines/tcp/mode.js';
import { CLI, writeConfig } from '../helpers/cluster.js';

const parse = (o: Record<string, unknown>) => parseConfig(JSON.stringify(o), 'x.json');
function problems(o: Record<string, unknown>): string[] {
  try {
    parse(o);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  assert.fail('config accepted');
}

describe('"mode": "tcp" config', () => {
  test('tcp://host:port and host:port, in canonical form; PROXY protocol top level and per server; TCP check by default', () => {
    const c = parse({
      mode: 'tcp',
      proxyProtocol: 'v2',
      servers: [{ addr: 'DB1.example:5432', proxyProtocol: 'v1' }, { addr: 'tcp://[::1]:5432/' }, { addr: '10.0.0.3:5432', proxyProtocol: false }],
    });
    assert.deepEqual(c.servers.map((s) => s.addr), ['tcp://db1.example:5432', 'tcp://[::1]:5432', 'tcp://10.0.0.3:5432']);
    assert.deepEqual(c.tcp, { proxyProtocol: 'v2', serverProxyProtocol: { 'tcp://db1.example:5432': 'v1', 'tcp://10.0.0.3:5432': false } });
    assert.equal(c.health.active.type, 'tcp', 'a connect check unless the config says http');
    assert.equal(parse({ mode: 'tcp', healthCheck: { type: 'http', path: '/health' }, servers: [{ addr: 'h:1' }] }).health.active.type, 'http');
    // http mode: unchanged, no tcp settings, http checks by default.
    const h = parse({ servers: [{ addr: 'http://a.example' }] });
    assert.equal(h.tcp, undefined);
    assert.equal(h.health.active.type, 'http');
  });

  test('bad addresses and fields name the file and field and say what is allowed', () => {
    const p = problems({
      mode: 'tcp',
      servers: [
        { addr: 'http://127.0.0.1:9' },
        { addr: '127.0.0.1' },
        { addr: 'tcp://h:99999' },
        { addr: 'tcp://h:1/path' },
        { addr: 'h:2', proxyProtocol: 'v3' },
        { addr: 'tcp://H:2' },
      ],
    });
    assert.deepEqual(p, [
      'x.json: servers[0].addr: "http://127.0.0.1:9" is an http:// URL; in "mode": "tcp" a server is "tcp://host:port" or "host:port" (its health check can still be HTTP: healthCheck.type "http")',
      'x.json: servers[1].addr: "127.0.0.1" has no port (write it as "tcp://host:port")',
      'x.json: servers[2].addr: "tcp://h:99999" has port 99999, out of range (allowed: 1 to 65535)',
      'x.json: servers[3].addr: "tcp://h:1/path" is not a TCP address like "tcp://host:port" or "host:port" (no path, query or user info)',
      'x.json: servers[4].proxyProtocol: "v3" is not "v1", "v2" or false',
    ]);
    assert.deepEqual(problems({ mode: 'tcp', servers: [{ addr: 'tcp://h:2' }, { addr: 'H:2' }] }), ['x.json: servers[1].addr: "H:2" is a duplicate of servers[0].addr']);
    assert.deepEqual(problems({ mode: 'tcp', servers: [{ addr: 'h:2' }, { dns: 'db.example', port: 5432 }] }), [
      'x.json: servers[1].dns: "db.example" is a DNS entry; "mode": "tcp" takes "addr" entries ("tcp://host:port") only',
    ]);
    assert.deepEqual(problems({ mode: 'udp', servers: [{ addr: 'h:2' }] }).slice(0, 1), ['x.json: mode: "udp" is not a mode (allowed: "http", "tcp")']);
  });

  test('tcp mode refuses TLS termination and the HTTPS redirect (TLS passes through in tcp mode)', () => {
    const tls = { certificates: [{ cert: '/c.pem', key: '/k.pem' }] };
    assert.deepEqual(problems({ mode: 'tcp', tls, redirectHttp: ':80', servers: [{ addr: 'tcp://127.0.0.1:9' }] }), [
      'x.json: tls: an object is for "mode": "http" (in "mode": "tcp" TLS passes through to the servers untouched)',
      'x.json: redirectHttp: ":80" is for "mode": "http" (in "mode": "tcp" TLS passes through to the servers untouched)',
    ]);
  });

  test('http mode refuses the PROXY protocol settings and keeps its address message', () => {
    assert.deepEqual(problems({ proxyProtocol: 'v1', servers: [{ addr: 'http://a.example', proxyProtocol: 'v2' }] }), [
      'x.json: proxyProtocol: "v1" is only for "mode": "tcp" (PROXY protocol headers go to TCP servers)',
      'x.json: servers[0].proxyProtocol: "v2" is only for "mode": "tcp" (PROXY protocol headers go to TCP servers)',
    ]);
    assert.deepEqual(problems({ servers: [{ addr: 'localhost:9' }] }), ['x.json: servers[0].addr: "localhost:9" is not an http:// or https:// URL']);
  });

  test('HTTP-only settings in tcp mode are warned about (and ignored), defaults are not', () => {
    assert.deepEqual(configWarnings(parse({ mode: 'tcp', servers: [{ addr: 'h:1' }] })), []);
    const w = configWarnings(
      parse({
        mode: 'tcp',
        trustedProxies: ['10.0.0.0/8'],
        timeouts: { responseHeaders: 5, requestHead: 5, idle: 600 },
        limits: { maxHeaders: 50, minRequestBodyRate: false },
        accessLog: { format: 'json', path: '-' },
        servers: [{ addr: 'h:1' }],
      }),
    );
    assert.deepEqual(w.map((x) => x.split(': ')[1]), ['timeouts.responseHeaders', 'timeouts.requestHead', 'limits.maxHeaders', 'limits.minRequestBodyRate', 'trustedProxies', 'accessLog']);
    assert.ok(w.every((x) => x.startsWith('x.json: ') && x.includes('is ignored in "mode": "tcp"')));
  });

  test('a reload that changes the mode is refused (it needs a restart)', () => {
    const tcp = parse({ mode: 'tcp', servers: [{ addr: 'h:1' }] });
    const http = parse({ servers: [{ addr: 'http://h:1' }] });
    const load = (c: Config) => (): Config => c;
    assert.equal(loadKeepingMode(tcp, load(tcp))('f.json'), tcp);
    assert.throws(() => loadKeepingMode(tcp, load(http))('f.json'), (e: unknown) => e instanceof ConfigError && e.problems[0] === 'f.json: mode: "http" needs a restart (the balancer runs in "tcp" mode)');
    assert.throws(() => loadKeepingMode(http, load(tcp))('f.json'), /mode: "tcp" needs a restart/);
  });

  test('parseTcpAddress: IPv6 in brackets, names lower-cased, no user info', () => {
    assert.deepEqual(parseTcpAddress('[2001:db8::1]:443'), { host: '2001:db8::1', port: 443 });
    assert.deepEqual(parseTcpAddress('tcp://Example.COM:80'), { host: 'example.com', port: 80 });
    assert.equal(typeof parseTcpAddress('tcp://u@h:1'), 'string');
    assert.equal(typeof parseTcpAddress(':80'), 'string');
  });

  test('the CLI refuses a bad tcp config with exit 2, naming the file and field', () => {
    const file = writeConfig({ mode: 'tcp', addr: '127.0.0.1:0', servers: [{ addr: 'http://127.0.0.1:9' }] });
    const r = spawnSync(process.execPath, [CLI, 'start', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(`${file}: servers[0].addr: "http://127.0.0.1:9" is an http:// URL`), r.stderr);
    writeFileSync(file, JSON.stringify({ mode: 'tcp', servers: [{ addr: '127.0.0.1:9' }] }));
    const ok = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(ok.status, 0, ok.stderr);
  });
});
