import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Acl, parseAddress } from '../../src/transports/acl.ts';
import { ConfigError } from '../../src/core/errors.ts';

test('empty ACL allows everybody', () => {
  for (const list of ['', '  ', ',', undefined]) {
    const acl = Acl.parse(list);
    assert.equal(acl.empty, true);
    assert.equal(acl.allows('8.8.8.8'), true);
    assert.equal(acl.allows('::1'), true);
  }
});

test('Janus-style IPv4 prefixes match by octets, never by substring', () => {
  const acl = Acl.parse('127.,192.168.0.');
  assert.equal(acl.allows('127.0.0.1'), true);
  assert.equal(acl.allows('127.255.1.2'), true);
  assert.equal(acl.allows('192.168.0.42'), true);
  assert.equal(acl.allows('192.168.1.42'), false);
  assert.equal(acl.allows('10.127.0.1'), false, 'substring in the middle must not match');
  assert.equal(acl.allows('1.127.0.0'), false);
});

test('the substring trap: "1.2.3." does not admit 11.2.3.4', () => {
  const acl = Acl.parse('1.2.3.');
  assert.equal(acl.allows('1.2.3.4'), true);
  assert.equal(acl.allows('11.2.3.4'), false);
  assert.equal(acl.allows('101.2.3.4'), false);
  assert.equal(acl.allows('::ffff:11.2.3.4'), false);
});

test('a prefix without trailing dot is still octet-aligned', () => {
  const acl = Acl.parse('192.168,10.0.0.1');
  assert.equal(acl.allows('192.168.7.7'), true);
  assert.equal(acl.allows('192.16.8.1'), false);
  assert.equal(acl.allows('10.0.0.1'), true);
  assert.equal(acl.allows('10.0.0.10'), false, 'a full address is a /32');
  assert.equal(acl.allows('10.0.0.100'), false);
});

test('CIDR entries, IPv4 and IPv6', () => {
  const acl = Acl.parse('10.0.0.0/8, 172.16.0.0/12, ::1/128, fd00::/8');
  assert.equal(acl.allows('10.200.3.4'), true);
  assert.equal(acl.allows('11.0.0.1'), false);
  assert.equal(acl.allows('172.31.255.255'), true);
  assert.equal(acl.allows('172.32.0.1'), false);
  assert.equal(acl.allows('::1'), true);
  assert.equal(acl.allows('::2'), false);
  assert.equal(acl.allows('fd12:3456::1'), true);
  assert.equal(acl.allows('fe80::1'), false);
  assert.equal(acl.allows('fe80::1%eth0'), false);
});

test('odd prefix lengths', () => {
  const acl = Acl.parse('192.168.0.0/23,0.0.0.0/0');
  assert.equal(acl.allows('1.1.1.1'), true, '/0 matches all IPv4');
  const narrow = Acl.parse('192.168.0.0/23');
  assert.equal(narrow.allows('192.168.1.255'), true);
  assert.equal(narrow.allows('192.168.2.0'), false);
  assert.equal(narrow.allows('::1'), false, 'IPv4 rules never admit a native IPv6 address');
});

test('IPv4-mapped IPv6 clients match IPv4 rules', () => {
  const acl = Acl.parse('127.');
  assert.equal(acl.allows('::ffff:127.0.0.1'), true);
  assert.equal(acl.allows('::FFFF:127.0.0.1'), true);
  assert.equal(acl.allows('::ffff:7f00:1'), true);
  assert.equal(acl.allows('::ffff:128.0.0.1'), false);
  const cidr = Acl.parse('192.168.0.0/16');
  assert.equal(cidr.allows('::ffff:192.168.3.4'), true);
});

test('Janus-style IPv6 group prefixes', () => {
  const acl = Acl.parse('fd00:,2001:db8:');
  assert.equal(acl.allows('fd00::5'), true);
  assert.equal(acl.allows('fd00:1::5'), true);
  assert.equal(acl.allows('fd01::5'), false);
  assert.equal(acl.allows('2001:db8:1::1'), true);
  assert.equal(acl.allows('2001:db9::1'), false);
  const exact = Acl.parse('::1');
  assert.equal(exact.allows('::1'), true);
  assert.equal(exact.allows('0:0:0:0:0:0:0:1'), true);
  assert.equal(exact.allows('::10'), false);
});

test('invalid entries are configuration errors', () => {
  for (const bad of ['256.', '1.2.3.4.5', 'abc', '10.0.0.0/33', '::1/129', '1:2:3:4:5:6:7:8:9', '10.0.0.0/', '1..2', 'fe80:::1']) {
    assert.throws(() => Acl.parse(bad, 'ws_acl'), (e: unknown) => e instanceof ConfigError && e.message.includes('ws_acl'), bad);
  }
});

test('garbage client addresses are refused when an ACL is set', () => {
  const acl = Acl.parse('127.');
  assert.equal(acl.allows(''), false);
  assert.equal(acl.allows(undefined), false);
  assert.equal(acl.allows('localhost'), false);
});

test('parseAddress', () => {
  assert.deepEqual([...parseAddress('1.2.3.4')!], [1, 2, 3, 4]);
  assert.deepEqual([...parseAddress('::ffff:1.2.3.4')!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
  assert.deepEqual([...parseAddress('[2001:db8::1]')!].slice(0, 4), [0x20, 0x01, 0x0d, 0xb8]);
  assert.equal(parseAddress('1.2.3'), undefined);
  assert.equal(parseAddress('1::2::3'), undefined);
  assert.equal(parseAddress('12345::'), undefined);
});
