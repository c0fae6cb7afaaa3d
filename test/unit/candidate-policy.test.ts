/** ICE candidate policy: interface choice, NAT 1:1 rewriting, port ranges. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { selectHostAddresses, parseNatMapping, parsePortRange, mapCandidate } from '../../src/core/webrtc/candidate-policy.ts';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: null });
const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: 'ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal, cidr: null, scopeid: 0 });
const interfaces = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v4('192.168.1.10'), v6('fe80::1'), v6('2001:db8::10')],
  vmnet8: [v4('172.16.5.1')],
  docker0: [v4('10.0.0.1')],
};
const pick = (enforce: string, ignore: string, ipv6 = false) => selectHostAddresses(enforce, ignore, { ipv6, interfaces }).map((a) => a.address);

test('without lists: every external address, loopback never', () => {
  assert.deepEqual(pick('', ''), ['192.168.1.10', '172.16.5.1', '10.0.0.1']);
});

test('ignore list by name and by address prefix', () => {
  assert.deepEqual(pick('', 'vmnet'), ['192.168.1.10', '10.0.0.1'], 'the Janus default "vmnet" covers vmnet8');
  assert.deepEqual(pick('', 'vmnet8, 10.'), ['192.168.1.10']);
});

test('enforce list wins over ignore, and is the only way to loopback', () => {
  assert.deepEqual(pick('lo', ''), ['127.0.0.1']);
  assert.deepEqual(pick('eth0', 'eth0'), ['192.168.1.10']);
  assert.deepEqual(pick('192.168.', ''), ['192.168.1.10']);
  assert.deepEqual(pick('nothing-here', ''), [], 'no silent fallback to all addresses');
});

test('IPv6 only when enabled, link-local only when asked', () => {
  assert.deepEqual(pick('eth0', '', true), ['192.168.1.10', '2001:db8::10']);
  assert.deepEqual(selectHostAddresses('eth0', '', { ipv6: true, ipv6LinkLocal: true, interfaces }).map((a) => a.address), ['192.168.1.10', 'fe80::1', '2001:db8::10']);
});

test('nat_1_1_mapping parsing', () => {
  assert.deepEqual(parseNatMapping(''), []);
  assert.deepEqual(parseNatMapping('203.0.113.5, 198.51.100.7'), ['203.0.113.5', '198.51.100.7']);
  assert.throws(() => parseNatMapping('example.com'), /not an IP/);
});

test('rtp_port_range parsing', () => {
  assert.equal(parsePortRange(''), undefined);
  assert.deepEqual(parsePortRange('20000-40000'), [20000, 40000]);
  assert.deepEqual(parsePortRange(' 5000 - 5000 '), [5000, 5000]);
  for (const bad of ['abc', '0-10', '10-5', '1-70000', '5000']) assert.throws(() => parsePortRange(bad), bad);
});

test('mapCandidate: host candidates get the public address; keep_private_host keeps both', () => {
  const host = '1 1 udp 2130706431 192.168.1.10 40000 typ host';
  assert.deepEqual(mapCandidate(host, [], false), [host]);
  assert.deepEqual(mapCandidate(host, ['203.0.113.5'], false), ['1 1 udp 2130706431 203.0.113.5 40000 typ host']);
  assert.deepEqual(mapCandidate(host, ['203.0.113.5'], true), [host, '11 1 udp 2130706431 203.0.113.5 40000 typ host']);
  assert.deepEqual(mapCandidate(host, ['203.0.113.5', '198.51.100.7'], false), ['1 1 udp 2130706431 203.0.113.5 40000 typ host', '12 1 udp 2130706431 198.51.100.7 40000 typ host']);
  const srflx = '2 1 udp 1694498815 203.0.113.9 40000 typ srflx raddr 192.168.1.10 rport 40000';
  assert.deepEqual(mapCandidate(srflx, ['203.0.113.5'], false), [srflx]);
});
