import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { CipherContext, RTCDtlsTransport, RTCPeerConnection } from 'werift';
import { applyDtlsSpeedups, cacheFingerprints, speedUpHandshakeFragments, x25519, x25519KeyPair } from '../../src/core/webrtc/dtls-speedups.ts';
import { answerTo, loopbackPeer, offerWith, waitConnected } from '../helpers/werift-peer.ts';

interface Nacl {
  lowlevel: { crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): number; crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): number };
  scalarMult(n: Uint8Array, p: Uint8Array): Uint8Array;
  box: { keyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } };
}
// The tweetnacl instance werift uses; its lowlevel functions are never replaced.
const nacl = createRequire(createRequire(import.meta.url).resolve('werift'))('tweetnacl') as Nacl;

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

test('x25519 matches RFC 7748 s6.1 (Alice and Bob) and tweetnacl on random keys', () => {
  const aPriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const aPub = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  const bPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const bPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  assert.equal(Buffer.from(x25519(aPriv, bPub)).toString('hex'), shared);
  assert.equal(Buffer.from(x25519(bPriv, aPub)).toString('hex'), shared);
  for (let i = 0; i < 20; i++) {
    const n = new Uint8Array(randomBytes(32));
    const p = new Uint8Array(randomBytes(32));
    p[31] &= 0x7f;
    const want = new Uint8Array(32);
    nacl.lowlevel.crypto_scalarmult(want, n, p);
    assert.deepEqual(x25519(n, p), want);
  }
});

test('x25519KeyPair: public key is the base-point multiple of the secret, in 32-byte buffers', () => {
  for (let i = 0; i < 10; i++) {
    const kp = x25519KeyPair();
    assert.equal(kp.publicKey.buffer.byteLength, 32);
    assert.equal(kp.secretKey.buffer.byteLength, 32);
    const want = new Uint8Array(32);
    nacl.lowlevel.crypto_scalarmult_base(want, kp.secretKey);
    assert.deepEqual(kp.publicKey, want);
    // ECDH with a key pair of ours (its KeyObject is reused) agrees with tweetnacl.
    const other = new Uint8Array(randomBytes(32));
    const otherPub = new Uint8Array(32);
    nacl.lowlevel.crypto_scalarmult_base(otherPub, other);
    const shared = new Uint8Array(32);
    nacl.lowlevel.crypto_scalarmult(shared, other, kp.publicKey);
    assert.deepEqual(x25519(Buffer.from(kp.secretKey.buffer), otherPub), shared);
  }
});

test('x25519 refuses a low-order public key (all-zero shared secret, RFC 7748 s6.1)', () => {
  assert.throws(() => x25519(new Uint8Array(randomBytes(32)), new Uint8Array(32)));
});

test('with the speed-ups applied, werift peers still complete DTLS (x25519, signatures, cached certificate) and carry data', async () => {
  const patched = applyDtlsSpeedups();
  assert.deepEqual(patched, { x25519: true, signing: true, certificateParse: true });
  assert.equal(nacl.scalarMult, x25519, 'werift\'s tweetnacl now uses node:crypto');
  const cert = await RTCDtlsTransport.SetupCertificate();
  const fp = cert.getFingerprints();
  cacheFingerprints(cert);
  assert.deepEqual(cert.getFingerprints(), fp);

  // Count the native paths being taken during the handshakes.
  const proto = (CipherContext as unknown as { prototype: Record<string, (...a: unknown[]) => unknown> }).prototype;
  const counts = { signatureData: 0, generateKeySignature: 0, keyPair: 0 };
  const wrap = (name: 'signatureData' | 'generateKeySignature') => {
    const f = proto[name];
    proto[name] = function (this: unknown, ...a: unknown[]) {
      counts[name]++;
      return f.apply(this, a);
    };
    return () => { proto[name] = f; };
  };
  const unwrap = [wrap('signatureData'), wrap('generateKeySignature')];
  const keyPair = nacl.box.keyPair;
  nacl.box.keyPair = () => { counts.keyPair++; return keyPair(); };
  const pcs: RTCPeerConnection[] = [];
  try {
    for (let round = 0; round < 2; round++) {
      const a = loopbackPeer();
      const b = loopbackPeer();
      pcs.push(a, b);
      const { sdp, channel } = await offerWith(a, ['audio'], true);
      const answer = await answerTo(b, { type: 'offer', sdp });
      const got = new Promise<string>((ok) => b.onDataChannel.subscribe((ch) => ch.onMessage.subscribe((m) => ok(String(m)))));
      await a.setRemoteDescription({ type: 'answer', sdp: answer });
      await Promise.all([waitConnected(a), waitConnected(b)]);
      await new Promise<void>((ok) => {
        if (channel!.readyState === 'open') ok();
        else channel!.stateChange.subscribe((s) => { if (s === 'open') ok(); });
      });
      channel!.send(`hello ${round}`);
      assert.equal(await got, `hello ${round}`);
    }
  } finally {
    nacl.box.keyPair = keyPair;
    for (const u of unwrap) u();
    await Promise.all(pcs.map((pc) => pc.close()));
  }
  // Each handshake: both sides make an X25519 key pair, the server signs its key exchange and the
  // client (certificate requested in WebRTC) signs CertificateVerify.
  assert.equal(counts.keyPair, 4);
  assert.equal(counts.generateKeySignature, 2);
  assert.equal(counts.signatureData, 2);
});

interface Fragment { msg_type: number; length: number; message_seq: number; fragment_offset: number; fragment_length: number; fragment: Buffer; serialize(): Buffer }
interface FragmentClass { new (...a: unknown[]): Fragment; prototype: { serialize(this: Fragment): Buffer }; deSerialize(b: Buffer): Fragment }

test('handshake fragments: the direct codec gives werift\'s bytes and objects, and werift\'s errors on bad input', async () => {
  // A real handshake transcript, from two werift peers.
  const a = loopbackPeer();
  const b = loopbackPeer();
  let fragments: Fragment[] = [];
  try {
    const { sdp } = await offerWith(a, ['audio'], false);
    await a.setRemoteDescription({ type: 'answer', sdp: await answerTo(b, { type: 'offer', sdp }) });
    await Promise.all([waitConnected(a), waitConnected(b)]);
    const ctx = (a.dtlsTransports[0] as unknown as { dtls: { dtls: { sortedHandshakeCache: Fragment[] } } }).dtls.dtls;
    fragments = ctx.sortedHandshakeCache;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  assert.ok(fragments.length >= 8, `transcript has ${fragments.length} messages`);
  const cls = fragments[0].constructor as FragmentClass;
  const serialize = cls.prototype.serialize;
  const deSerialize = cls.deSerialize.bind(cls);
  const wire = fragments.map((f) => serialize.call(f));
  const random = Array.from({ length: 50 }, (_, i) => {
    const body = randomBytes(i * 13);
    return new cls(i % 256, body.length + i, i * 1000, i, body.length, body);
  });
  assert.ok(speedUpHandshakeFragments(fragments[0]));
  for (const [i, f] of [...fragments, ...random].entries()) {
    const want = serialize.call(f);
    assert.deepEqual(f.serialize(), want, `fragment ${i}`);
    const back = cls.deSerialize(want);
    assert.deepEqual({ ...back }, { ...deSerialize(want) });
    assert.ok(back instanceof cls);
    // Trailing bytes after the body are ignored by both.
    assert.deepEqual({ ...cls.deSerialize(Buffer.concat([want, Buffer.from([1, 2, 3])])) }, { ...deSerialize(Buffer.concat([want, Buffer.from([1, 2, 3])])) });
  }
  assert.deepEqual(wire, fragments.map((f) => f.serialize()));
  // Malformed: a body shorter than fragment_length, a short header, a field out of range.
  const bad = new cls(1, 10, 0, 0, 10, Buffer.alloc(4));
  assert.throws(() => serialize.call(bad));
  assert.throws(() => bad.serialize());
  for (const buf of [Buffer.alloc(5), Buffer.from('010000100000000000000010aabb', 'hex')]) {
    let want: unknown;
    let got: unknown;
    try { want = { ...deSerialize(buf) }; } catch (e) { want = 'throws'; }
    try { got = { ...cls.deSerialize(buf) }; } catch (e) { got = 'throws'; }
    assert.deepEqual(got, want);
  }
  const big = new cls(1, 2 ** 24, 0, 0, 0, Buffer.alloc(0));
  let want: unknown;
  try { want = serialize.call(big); } catch { want = 'throws'; }
  let got: unknown;
  try { got = big.serialize(); } catch { got = 'throws'; }
  assert.deepEqual(got, want);
});
