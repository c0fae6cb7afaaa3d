import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { CipherContext, RTCDtlsTransport, RTCPeerConnection } from 'werift';
import { applyDtlsSpeedups, cacheFingerprints, x25519, x25519KeyPair } from '../../src/core/webrtc/dtls-speedups.ts';
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
