import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, configWarnings, parseConfig } from '../../src/config/load.js';
import { isDnsName, parseResolver } from '../../src/config/discovery.js';

const parse = (config: unknown) => parseConfig(JSON.stringify(config), 'balancer.json');
const dns = (extra: Record<string, unknown> = {}) => ({ dns: 'api.service.test', port: 8080, ...extra });

/** Bad configs and the message each must give (each prefixed by the file name). */
const BAD: [string, unknown, string[]][] = [
  ['no addr, dns or srv', { servers: [{ port: 8080 }] }, ['servers[0].addr: is required (or "dns" with "port", or "srv"']],
  ['addr and dns at once', { servers: [{ addr: 'http://a:1', dns: 'a.test', port: 1 }] }, ['servers[0]: has "addr" and "dns"; a server entry has exactly one of "addr", "dns" or "srv"']],
  ['dns and srv at once', { servers: [{ dns: 'a.test', srv: '_http._tcp.a.test' }] }, ['servers[0]: has "dns" and "srv"; a server entry has exactly one']],
  ['entry not an object', { servers: ['http://a:1'] }, ['servers[0]: "http://a:1" is not a server (an object like {"addr"']],
  ['dns without port', { servers: [{ dns: 'api.service.test' }] }, ['servers[0].port: is required']],
  ['port out of range', { servers: [dns({ port: 70000 })] }, ['servers[0].port: 70000 is not a port number (allowed: 1 to 65535)']],
  ['port zero', { servers: [dns({ port: 0 })] }, ['servers[0].port: 0 is not a port number']],
  ['port a string', { servers: [dns({ port: '8080' })] }, ['servers[0].port: "8080" is not a number (is not a port number']],
  ['dns name with a space', { servers: [dns({ dns: 'api service' })] }, ['servers[0].dns: "api service" is not a DNS name like "api.service.test"']],
  ['dns name with a scheme', { servers: [dns({ dns: 'http://api.test' })] }, ['servers[0].dns: "http://api.test" is not a DNS name']],
  ['dns name an IP address', { servers: [dns({ dns: '127.0.0.2' })] }, ['servers[0].dns: "127.0.0.2" is an IP address, not a name to look up; use "addr"']],
  ['bad scheme', { servers: [dns({ scheme: 'ftp' })] }, ['servers[0].scheme: "ftp" is not a scheme (allowed: "http", "https")']],
  ['dns weight zero', { servers: [dns({ weight: 0 })] }, ['servers[0].weight: 0 is not a positive number']],
  ['typo in a dns entry names the dns keys', { servers: [dns({ prot: 1 })] }, ['servers[0].prot: unknown key (did you mean "port"?); allowed: dns, port, scheme, name, weight, backup']],
  ['srv with a port', { servers: [{ srv: '_http._tcp.a.test', port: 80 }] }, ['servers[0].port: unknown key; allowed: srv, scheme, name, backup']],
  ['srv with a weight', { servers: [{ srv: '_http._tcp.a.test', weight: 2 }] }, ['servers[0].weight: unknown key']],
  ['empty name prefix', { servers: [dns({ name: '' })] }, ['servers[0].name: "" is empty (a name prefix)']],
  ['same dns name twice', { servers: [dns(), dns({ dns: 'API.service.test.', port: 9090 })] }, ['servers[1].dns: "API.service.test." is a duplicate of servers[0].dns (one entry per name; for several ports of one name, use SRV records)']],
  ['same srv name twice', { servers: [{ srv: '_a._tcp.x.test' }, { srv: '_a._tcp.x.test' }] }, ['servers[1].srv: "_a._tcp.x.test" is a duplicate of servers[0].srv']],
  ['resolver without address', { servers: [dns()], discovery: { resolvers: ['dns.example:53'] } }, ['discovery.resolvers[0]: "dns.example:53" is not a resolver address like "127.0.0.1"']],
  ['resolver port out of range', { servers: [dns()], discovery: { resolvers: ['127.0.0.1:0'] } }, ['discovery.resolvers[0]: "127.0.0.1:0" is not a resolver address']],
  ['resolvers empty', { servers: [dns()], discovery: { resolvers: [] } }, ['discovery.resolvers: is empty (leave "resolvers" out to use the system resolvers)']],
  ['refresh below a second', { servers: [dns()], discovery: { refresh: 0.5 } }, ['discovery.refresh: 0.5 is not a number of seconds of at least 1']],
  ['refresh a string', { servers: [dns()], discovery: { refresh: '30s' } }, ['discovery.refresh: "30s" is not a number']],
  ['unknown discovery key', { servers: [dns()], discovery: { ttl: 5 } }, ['discovery.ttl: unknown key']],
];

describe('discovery config: bad entries', () => {
  for (const [name, input, messages] of BAD) {
    test(name, () => {
      assert.throws(
        () => parse(input),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          for (const m of messages) {
            assert.ok(
              e.problems.some((p) => p.startsWith('balancer.json: ') && p.includes(m)),
              `expected "${m}" in:\n${e.problems.join('\n')}`,
            );
          }
          return true;
        },
      );
    });
  }

  test('an entry with two kinds is one problem, not one per kind', () => {
    assert.throws(
      () => parse({ servers: [{ addr: 'nope', dns: 'a.test', srv: 'b.test' }] }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && /has "addr" and "dns" and "srv"/.test(e.problems[0] ?? ''),
    );
  });
});

describe('discovery config: good entries', () => {
  test('a config whose only servers are found in DNS validates, with no static servers', () => {
    const c = parse({ servers: [dns(), { srv: '_http._tcp.api.service.test' }] });
    assert.deepEqual(c.servers, []);
    assert.deepEqual(c.dnsServers, [
      { kind: 'dns', lookup: 'api.service.test', port: 8080, scheme: 'http', name: undefined, weight: 1, backup: false },
      { kind: 'srv', lookup: '_http._tcp.api.service.test', scheme: 'http', name: undefined, backup: false },
    ]);
    assert.deepEqual(c.discovery, { resolvers: undefined, refreshMs: 30_000 });
  });

  test('static and DNS entries mix; static ones stay in config.servers', () => {
    const c = parse({
      servers: [{ addr: 'http://127.0.0.1:9000', weigth: 2 }, dns({ scheme: 'https', name: 'api', weight: 0.5, backup: true }), { srv: 'db.service.test', name: 'db', backup: true }],
      discovery: { resolvers: ['127.0.0.1:5353', '[::1]:5353', '10.0.0.2'], refresh: 2.5 },
    });
    assert.deepEqual(c.servers, [{ addr: 'http://127.0.0.1:9000', name: undefined, weight: 2, backup: false }]);
    assert.deepEqual(c.dnsServers, [
      { kind: 'dns', lookup: 'api.service.test', port: 8080, scheme: 'https', name: 'api', weight: 0.5, backup: true },
      { kind: 'srv', lookup: 'db.service.test', scheme: 'http', name: 'db', backup: true },
    ]);
    assert.deepEqual(c.discovery, { resolvers: ['127.0.0.1:5353', '[::1]:5353', '10.0.0.2'], refreshMs: 2500 });
  });

  test('DNS names are kept in one spelling: lower case, no final dot', () => {
    const c = parse({ servers: [dns({ dns: 'API.Service.Test.' }), { srv: '_HTTP._tcp.X.test.' }] });
    assert.deepEqual(c.dnsServers.map((e) => e.lookup), ['api.service.test', '_http._tcp.x.test']);
  });

  test('the same address twice is still refused among addr entries', () => {
    assert.throws(() => parse({ servers: [{ addr: 'http://a:1' }, dns(), { addr: 'http://a:1/' }] }), /servers\[2\]\.addr: "http:\/\/a:1\/" is a duplicate of servers\[0\]\.addr/);
  });

  test('a one-label name is a warning (no search domains), a full name is not', () => {
    assert.deepEqual(configWarnings(parse({ servers: [dns(), { srv: '_http._tcp.api.service.test' }] })), []);
    assert.deepEqual(configWarnings(parse({ servers: [dns({ dns: 'api' })] })), [
      'balancer.json: servers[].dns: "api" is a name of one label; DNS names are looked up as written, without search domains, so write the full name (e.g. "api.default.svc.cluster.local")',
    ]);
  });

  test('DNS names and resolver addresses', () => {
    for (const n of ['api.service.test', 'API.Service.Test.', '_http._tcp.api.service.test', 'localhost', 'a-1.b_2.c']) assert.ok(isDnsName(n), n);
    for (const n of ['', '.', 'a..b', '-a.b', 'a-.b', 'a b', 'a/b', `${'a'.repeat(64)}.test`, `${'a.'.repeat(127)}a`]) assert.ok(!isDnsName(n), n);
    assert.deepEqual(parseResolver('127.0.0.1'), { host: '127.0.0.1', port: undefined });
    assert.deepEqual(parseResolver('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseResolver('[::1]:5353'), { host: '::1', port: 5353 });
    assert.deepEqual(parseResolver('::1'), { host: '::1', port: undefined });
    assert.deepEqual(parseResolver('[::1]'), { host: '::1', port: undefined });
    for (const r of ['localhost', 'localhost:53', '127.0.0.1:', '127.0.0.1:65536', '1.2.3:53', '[127.0.0.1]x', '::1:53x']) assert.equal(parseResolver(r), undefined, r);
  });
});
