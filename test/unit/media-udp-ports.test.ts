import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { bindUdpSocket, bindUdpPair, parsePortRangeString, PortRangeExhaustedError, closeQuietly } from '../../src/media/udp-ports.js';

async function freeBase(n: number): Promise<number> {
  // Find n consecutive free ports above 40000 by binding them all (then releasing).
  for (let base = 40000 + Math.floor(Math.random() * 20000) & ~1; ; base = (base + 64) & ~1) {
    const socks: dgram.Socket[] = [];
    let ok = true;
    for (let p = base; p < base + n && ok; p++) {
      try { socks.push(await bindUdpSocket({ address: '127.0.0.1', range: [p, p] })); } catch { ok = false; }
    }
    socks.forEach((s) => s.close());
    if (ok) return base;
  }
}

test('parses port ranges and rejects bad ones', () => {
  assert.deepEqual(parsePortRangeString('10000-10010'), [10000, 10010]);
  assert.equal(parsePortRangeString(''), undefined);
  assert.equal(parsePortRangeString(undefined), undefined);
  for (const bad of ['10', '2-1', '0-5', '1-70000', 'a-b']) assert.throws(() => parsePortRangeString(bad));
});

test('binds inside the range until it is exhausted, then says so', async () => {
  const base = await freeBase(3);
  const range = [base, base + 2] as const;
  const socks = [];
  for (let i = 0; i < 3; i++) socks.push(await bindUdpSocket({ address: '127.0.0.1', range }));
  const ports = socks.map((s) => s.address().port).sort();
  assert.deepEqual(ports, [base, base + 1, base + 2]);
  await assert.rejects(bindUdpSocket({ address: '127.0.0.1', range }), PortRangeExhaustedError);
  socks.forEach(closeQuietly);
  closeQuietly(socks[0]); // twice: quiet
});

test('an RTP/RTCP pair is an even port and the next one, and passes packets', async () => {
  const base = await freeBase(4);
  const { rtp, rtcp } = await bindUdpPair({ address: '127.0.0.1', range: [base, base + 3] });
  assert.equal(rtp.address().port % 2, 0);
  assert.equal(rtcp.address().port, rtp.address().port + 1);
  const got = new Promise<Buffer>((r) => rtcp.once('message', r));
  rtp.send(Buffer.from('hi'), rtcp.address().port, '127.0.0.1');
  assert.equal((await got).toString(), 'hi');
  rtp.close();
  rtcp.close();
});

test('an ephemeral socket without a range', async () => {
  const s = await bindUdpSocket({ address: '127.0.0.1' });
  assert.ok(s.address().port > 0);
  s.close();
});
