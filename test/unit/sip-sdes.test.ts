/**
 * SDES (RFC 4568) for the SIP side: a=crypto parsing and writing, which lines are skipped (MKI,
 * unknown suites, wrong key sizes), the SDP edits (RTP/SAVP, one a=crypto per line), and SRTP
 * contexts built from two peers' attributes interoperating (the cipher itself is the core's
 * SrtpContext, checked against the RFC 3711 appendix B vectors in srtp.test.ts). Parser fuzzed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answeringCrypto, formatCrypto, newCrypto, parseCrypto, sdesContexts, sdpCryptos, withCrypto } from '../../src/interop/sip/sdes.ts';
import { prng } from '../helpers/prng.ts';

// RFC 4568 section 9.1's example key (30 bytes after base64 decoding).
const KEY = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';

test('a=crypto values: parsed, written back, bad ones refused', () => {
  const c = parseCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:32`);
  assert.equal(c, undefined, 'an MKI is not supported');
  const ok = parseCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20`)!;
  assert.equal(ok.tag, 1);
  assert.equal(ok.suite, 'AES_CM_128_HMAC_SHA1_80');
  assert.equal(ok.key.length, 16);
  assert.equal(ok.salt.length, 14);
  assert.equal(formatCrypto(ok), `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`);
  assert.equal(parseCrypto(`2 AES_CM_128_HMAC_SHA1_32 inline:${KEY}`)!.suite, 'AES_CM_128_HMAC_SHA1_32');
  assert.equal(parseCrypto(`1 F8_128_HMAC_SHA1_80 inline:${KEY}`), undefined, 'unknown suite');
  assert.equal(parseCrypto('1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ='), undefined, 'key too short');
  assert.equal(parseCrypto(`x AES_CM_128_HMAC_SHA1_80 inline:${KEY}`), undefined);
  const fresh = newCrypto(3, 'AES_CM_128_HMAC_SHA1_32');
  assert.deepEqual(parseCrypto(formatCrypto(fresh)), fresh);
  assert.notDeepEqual(newCrypto(3, 'AES_CM_128_HMAC_SHA1_32').key, fresh.key);
});

const OFFER = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  'm=audio 4000 RTP/SAVP 0', 'a=rtpmap:0 PCMU/8000', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1:4`, `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${KEY}`,
  'm=video 0 RTP/AVP 96', '',
].join('\r\n');

test('SDP: the supported a=crypto of each active line, RTP/SAVP seen; our lines rewritten', () => {
  const lines = sdpCryptos(OFFER);
  assert.equal(lines.size, 1, 'the rejected video line is not listed');
  const audio = lines.get(0)!;
  assert.equal(audio.savp, true);
  assert.equal(audio.offered, 2);
  assert.deepEqual(audio.cryptos.map((c) => c.tag), [2], 'the MKI line is skipped');
  const ours = newCrypto(2, 'AES_CM_128_HMAC_SHA1_32');
  const answer = withCrypto(OFFER, new Map([[0, { crypto: ours, savp: true }]]));
  assert.match(answer, /^m=audio 4000 RTP\/SAVP 0$/m);
  assert.equal(answer.match(/a=crypto:/g)!.length, 1, 'one a=crypto: ours');
  assert.ok(answer.includes(`a=crypto:${formatCrypto(ours)}`));
  const plain = withCrypto(OFFER, new Map([[0, { crypto: ours, savp: false }]]));
  assert.match(plain, /^m=audio 4000 RTP\/AVP 0$/m);
  // The answer to our offered tag 2: same tag and suite, else none.
  assert.equal(answeringCrypto(ours, sdpCryptos(answer).get(0))?.tag, 2);
  assert.equal(answeringCrypto(newCrypto(1, 'AES_CM_128_HMAC_SHA1_80'), sdpCryptos(answer).get(0)), undefined);
});

test('contexts from both sides interoperate: SRTP and SRTCP protected by one, unprotected by the other; tampering refused', () => {
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    const a = newCrypto(1, suite);
    const b = newCrypto(1, suite);
    const alice = sdesContexts(a, b);
    const bob = sdesContexts(b, a);
    const rtp = Buffer.alloc(200);
    rtp[0] = 0x80; rtp[1] = 0; rtp.writeUInt16BE(7, 2); rtp.writeUInt32BE(160, 4); rtp.writeUInt32BE(0x1234, 8);
    rtp.fill(0x55, 12, 172);
    const clear = Buffer.from(rtp.subarray(0, 172));
    const n = alice.tx.protectRtp(rtp, 0, 172);
    assert.equal(n, 172 + (suite.endsWith('80') ? 10 : 4));
    assert.notDeepEqual(rtp.subarray(12, 172), clear.subarray(12));
    const wire = Buffer.from(rtp.subarray(0, n));
    const tampered = Buffer.from(wire);
    tampered[20] ^= 1;
    assert.ok(bob.rx.unprotectRtp(tampered, 0, tampered.length) < 0, 'a flipped bit fails authentication');
    assert.equal(bob.rx.unprotectRtp(wire, 0, wire.length), 172);
    assert.deepEqual(wire.subarray(0, 172), clear);
    assert.ok(bob.rx.unprotectRtp(Buffer.from(rtp.subarray(0, n)), 0, n) < 0, 'a replay is refused');
    const rtcp = Buffer.alloc(100);
    rtcp[0] = 0x80; rtcp[1] = 200; rtcp.writeUInt16BE(6, 2); rtcp.writeUInt32BE(0x1234, 4);
    const m = bob.tx.protectRtcp(rtcp, 0, 28);
    assert.equal(m, 28 + 4 + 10, 'SRTCP index and an 80-bit tag, whatever the suite (RFC 4568 section 6.2.1)');
    assert.equal(alice.rx.unprotectRtcp(rtcp, 0, m), 28);
  }
});

test('fuzz: a=crypto values and SDP with random crypto lines never throw out of sdes', () => {
  const r = prng(4568);
  const alphabet = 'AES_CM_128_HMAC_SHA1_8032inline:|^=+/ 0123456789abcdefXYZ';
  for (let i = 0; i < 3000; i++) {
    let v = '';
    const len = Math.floor(r() * 90);
    for (let j = 0; j < len; j++) v += alphabet[Math.floor(r() * alphabet.length)];
    if (r() < 0.3) v = `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY.slice(0, Math.floor(r() * KEY.length))}${v.slice(0, 8)}`;
    const c = parseCrypto(v);
    if (c) assert.equal(c.key.length + c.salt.length, 30);
    const sdp = OFFER.replace(`inline:${KEY}`, `inline:${v}`);
    try {
      sdpCryptos(sdp);
    } catch (err) {
      assert.equal((err as Error).name, 'SdpError', String(err));
    }
  }
});

test('a far re-offer with a new key: the bridge decrypts with it from then on, our answer names their tag', async () => {
  const { RtpBridge } = await import('../../src/interop/sip/rtp-bridge.ts');
  const { sipMediaLines } = await import('../../src/interop/sip/sdp-translate.ts');
  const { answerWithSdes, sdesForOffer, sdesReoffer } = await import('../../src/plugins/sip/srtp.ts');
  const dgram = await import('node:dgram');
  const { srtpContext } = await import('../../src/interop/sip/sdes.ts');
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const bridge = await RtpBridge.open({ localIp: '127.0.0.1' }, [{ index: 0, mid: '0', video: false }]);
  const got: Buffer[] = [];
  bridge.attach({ rtp: (p) => got.push(Buffer.from(p.buffer)), rtcp: () => undefined });
  try {
    const first = newCrypto(1, 'AES_CM_128_HMAC_SHA1_80');
    const offer = (c: { tag: number; crypto: string }) => [
      'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
      `m=audio ${peer.address().port} RTP/SAVP 0`, 'a=rtpmap:0 PCMU/8000', `a=crypto:${c.tag} ${c.crypto}`, '',
    ].join('\r\n');
    const firstOffer = offer({ tag: 1, crypto: formatCrypto(first).replace(/^1 /, '') });
    const { sdes } = sdesForOffer(firstOffer, false);
    assert.ok(sdes);
    bridge.setRemote(sipMediaLines(firstOffer));
    const ours = answerWithSdes(firstOffer.replace(/a=crypto:.*\r\n/, ''), sdes, bridge);
    let seq = 1;
    const send = async (key: ReturnType<typeof newCrypto>, ctx = srtpContext(key)) => {
      const b = Buffer.alloc(200);
      b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq++, 2); b.writeUInt32BE(seq * 160, 4); b.writeUInt32BE(0xabc, 8);
      b.write('srtp', 12);
      const n = ctx.protectRtp(b, 0, 60);
      await new Promise<void>((r) => peer.send(b.subarray(0, n), bridge.rtpPort(0), '127.0.0.1', () => r()));
      await new Promise((r) => setTimeout(r, 50));
      return ctx;
    };
    const before = await send(first);
    assert.equal(got.length, 1);
    assert.equal(got[0].subarray(12, 16).toString(), 'srtp');
    // The far side re-keys with tag 5 (RFC 4568 section 7.1.4).
    const second = newCrypto(5, 'AES_CM_128_HMAC_SHA1_80');
    const answer = sdesReoffer(sdes, offer({ tag: 5, crypto: formatCrypto(second).replace(/^5 /, '') }), ours, bridge);
    assert.match(answer, /a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:/);
    assert.equal(sdpCryptos(answer).get(0)!.cryptos[0].key.toString('hex'), sdes.local.get(0)!.crypto.key.toString('hex'), 'our key unchanged');
    await send(first, before);
    assert.equal(got.length, 1, 'the old key no longer authenticates');
    await send(second);
    assert.equal(got.length, 2);
    assert.equal(got[1].subarray(12, 16).toString(), 'srtp');
  } finally {
    bridge.close();
    peer.close();
  }
});
