/**
 * /janus/info reports the NAT 1:1 address(es) the way Janus 1.1.2 does (checked against the reference
 * Janus with --nat-1-1): "public-ip" is the first address; "public-ips" lists them all only when there
 * are several; neither without a mapping. The appliance's boot test reads "public-ip".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';

async function infoWith(mapping: string): Promise<Record<string, unknown>> {
  const server = await startServer(transportConfig((c) => { c.nat.nat_1_1_mapping = mapping; }), { logger: silentLogger() });
  try {
    return (await (await fetch(`http://127.0.0.1:${server.ports.http}/janus/info`)).json()) as Record<string, unknown>;
  } finally {
    await server.close();
  }
}

test('public-ip and public-ips follow nat_1_1_mapping as in Janus', async () => {
  const none = await infoWith('');
  assert.equal('public-ip' in none, false);
  assert.equal('public-ips' in none, false);
  const one = await infoWith('203.0.113.7');
  assert.equal(one['public-ip'], '203.0.113.7');
  assert.equal('public-ips' in one, false);
  const two = await infoWith('203.0.113.7, 198.51.100.1');
  assert.equal(two['public-ip'], '203.0.113.7');
  assert.deepEqual(two['public-ips'], ['203.0.113.7', '198.51.100.1']);
});
