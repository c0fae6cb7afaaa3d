/**
 * Native crypto for werift's DTLS handshake (werift 0.24.4 is pinned), applied once at start-up by
 * the media core. Profiling bench/echo showed most of a peer's set-up CPU in JavaScript crypto that
 * node:crypto (OpenSSL) does in a fraction of the time:
 *  - X25519 (RFC 7748) key generation and ECDH from tweetnacl, about 4 ms per handshake: werift
 *    calls `nacl.box.keyPair()` and `nacl.scalarMult()` on the tweetnacl module it imports; both are
 *    replaced on that same module object by node:crypto X25519, with identical inputs and outputs
 *    (32-byte little-endian u-coordinates and scalars, clamping done by the primitive);
 *  - CertificateVerify / ServerKeyExchange signing, which re-encoded the private key to PEM and had
 *    OpenSSL parse it again on every handshake: the key is imported once as a KeyObject;
 *  - parsing our own certificate and key (ASN.1 in JavaScript) for every DTLS socket: done once per
 *    certificate, and its fingerprint computed once.
 * Each replacement keeps werift's behaviour; anything it does not recognise goes to the original.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { CipherContext, type RTCCertificate, type RTCDtlsFingerprint, type RTCDtlsTransport } from 'werift';

/** DER prefix of an X25519 private key (RFC 8410 s7 OneAsymmetricKey). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

interface NaclLike {
  scalarMult: (n: Uint8Array, p: Uint8Array) => Uint8Array;
  box: { keyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array } };
}

/** What werift's CipherContext holds of our own key (a @fidm/x509 PrivateKey). */
interface FidmPrivateKey {
  toPEM(): string;
  sign(data: Buffer, hash: string): Buffer;
}
interface CipherContextParts {
  localCert?: Buffer;
  localPrivateKey?: FidmPrivateKey;
  signatureHashAlgorithm?: unknown;
  parseX509(certPem: string, keyPem: string, signatureHash: unknown): void;
  signatureData(data: Buffer, hash: string): Buffer;
  generateKeySignature(hash: string): Buffer;
}

/**
 * Private KeyObjects of the key pairs made by x25519KeyPair, by the secret's ArrayBuffer (werift
 * keeps a Buffer over that same memory and hands it back to scalarMult), with a copy of the bytes
 * to confirm it is unchanged. Importing a raw X25519 private key costs OpenSSL about 0.35 ms.
 */
const ownKeys = new WeakMap<ArrayBufferLike, { key: KeyObject; bytes: Buffer }>();

/** X25519 key pair through OpenSSL: the raw 32-byte public and secret keys, in their own buffers. */
export function x25519KeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('x25519');
  // JWK (RFC 8037): d = the raw scalar, x = the raw public u-coordinate, base64url.
  const jwk = privateKey.export({ format: 'jwk' });
  // Fresh arrays, so `.buffer` is exactly 32 bytes (werift does Buffer.from(key.buffer)).
  const secretKey = new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url'));
  const publicKey = new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
  if (secretKey.length !== 32 || publicKey.length !== 32) throw new Error('X25519 key export failed');
  ownKeys.set(secretKey.buffer, { key: privateKey, bytes: Buffer.from(secretKey) });
  return { publicKey, secretKey };
}

function privateKeyOf(n: Uint8Array): KeyObject {
  const own = ownKeys.get(n.buffer);
  if (own && n.byteOffset === 0 && own.bytes.equals(n)) return own.key;
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, n]), format: 'der', type: 'pkcs8' });
}

/**
 * X25519(n, p) (RFC 7748 s5) through OpenSSL. Throws when the result is all zeros (a low-order
 * public key, RFC 7748 s6.1), where tweetnacl would return the zeros.
 */
export function x25519(n: Uint8Array, p: Uint8Array): Uint8Array {
  if (n.length !== 32 || p.length !== 32) throw new RangeError('X25519 needs 32-byte keys');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(p.buffer, p.byteOffset, 32).toString('base64url') }, format: 'jwk' });
  return new Uint8Array(diffieHellman({ privateKey: privateKeyOf(n), publicKey }));
}

/** The tweetnacl module werift imports (the same instance: resolved from werift's own location). */
function weriftNacl(): NaclLike | undefined {
  try {
    const req = createRequire(createRequire(import.meta.url).resolve('werift'));
    return req('tweetnacl') as NaclLike;
  } catch {
    return undefined;
  }
}

let applied = false;

/** Install the replacements (idempotent). Returns what was patched, for the log and the tests. */
export function applyDtlsSpeedups(): { x25519: boolean; signing: boolean; certificateParse: boolean } {
  const result = { x25519: false, signing: false, certificateParse: false };
  if (applied) return { x25519: true, signing: true, certificateParse: true };
  applied = true;

  const nacl = weriftNacl();
  if (nacl && typeof nacl.scalarMult === 'function' && typeof nacl.box?.keyPair === 'function') {
    nacl.box.keyPair = x25519KeyPair;
    nacl.scalarMult = x25519;
    result.x25519 = true;
  }

  const proto = (CipherContext as unknown as { prototype: CipherContextParts }).prototype;
  if (typeof proto.parseX509 === 'function') {
    const parse = proto.parseX509;
    // certPem + keyPem -> what parseX509 sets; the objects are only read afterwards.
    const parsed = new Map<string, { localCert: Buffer | undefined; localPrivateKey: FidmPrivateKey | undefined }>();
    proto.parseX509 = function (this: CipherContextParts, certPem: string, keyPem: string, signatureHash: unknown) {
      const key = `${certPem}\n${keyPem}`;
      const hit = parsed.get(key);
      if (hit) {
        this.localCert = hit.localCert;
        this.localPrivateKey = hit.localPrivateKey;
        this.signatureHashAlgorithm = signatureHash;
        return;
      }
      parse.call(this, certPem, keyPem, signatureHash);
      if (parsed.size < 8) parsed.set(key, { localCert: this.localCert, localPrivateKey: this.localPrivateKey });
    };
    result.certificateParse = true;
  }

  if (typeof proto.signatureData === 'function' && typeof proto.generateKeySignature === 'function') {
    const keys = new WeakMap<FidmPrivateKey, KeyObject | null>();
    const keyObject = (k: FidmPrivateKey | undefined): KeyObject | null => {
      if (!k) return null;
      let o = keys.get(k);
      if (o === undefined) {
        try {
          const imported = createPrivateKey(k.toPEM());
          // ECDSA and RSA PKCS#1 v1.5 are what createSign(hash).sign(pem) did; others keep werift's path.
          o = imported.asymmetricKeyType === 'ec' || imported.asymmetricKeyType === 'rsa' ? imported : null;
        } catch {
          o = null;
        }
        keys.set(k, o);
      }
      return o;
    };
    const signData = proto.signatureData;
    proto.signatureData = function (this: CipherContextParts, data: Buffer, hash: string) {
      const k = keyObject(this.localPrivateKey);
      return k ? sign(hash, data, k) : signData.call(this, data, hash);
    };
    // generateKeySignature signs through localPrivateKey.sign (PEM again): give that object a
    // KeyObject-backed sign for the ServerKeyExchange (RFC 8422 s5.4).
    const keySignature = proto.generateKeySignature;
    proto.generateKeySignature = function (this: CipherContextParts, hash: string) {
      const own = this.localPrivateKey;
      const k = keyObject(own);
      if (!own || !k) return keySignature.call(this, hash);
      const fast: FidmPrivateKey = { toPEM: () => own.toPEM(), sign: (data, h) => sign(h, data, k) };
      this.localPrivateKey = fast;
      try {
        return keySignature.call(this, hash);
      } finally {
        this.localPrivateKey = own;
      }
    };
    result.signing = true;
  }
  return result;
}

/** Compute the certificate's fingerprints once (werift re-parses the certificate on every call). */
export function cacheFingerprints(certificate: RTCCertificate): void {
  const fingerprints: RTCDtlsFingerprint[] = certificate.getFingerprints();
  certificate.getFingerprints = () => fingerprints.slice();
}

/** werift's FragmentedHandshake (not exported): handshake header fields and body (RFC 6347 s4.2.2). */
interface HandshakeFragment {
  msg_type: number;
  length: number;
  message_seq: number;
  fragment_offset: number;
  fragment_length: number;
  fragment: Buffer;
}
interface HandshakeFragmentClass {
  new (msgType: number, length: number, seq: number, offset: number, fragmentLength: number, fragment: Buffer): HandshakeFragment;
  prototype: { serialize(this: HandshakeFragment): Buffer };
  deSerialize(buf: Buffer): HandshakeFragment;
  spec?: Record<string, unknown>;
}

const FRAGMENT_FIELDS = 'msg_type,length,message_seq,fragment_offset,fragment_length,fragment';
const HANDSHAKE_HEADER = 12;
let fragmentClass: HandshakeFragmentClass | undefined;

const uint = (v: unknown, bits: number): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** bits;

/**
 * Encode and decode werift's handshake fragments directly: msg_type(1) length(3) message_seq(2)
 * fragment_offset(3) fragment_length(3) body. werift goes through a generic schema codec that cost
 * about 1 ms per handshake, mostly re-encoding the handshake transcript (certificates included) for
 * the key exchange, CertificateVerify and both Finished messages. Anything unusual (a field out of
 * range, a body whose size disagrees with fragment_length, a short record) takes werift's codec,
 * with its errors. `sample` is any fragment instance (its class is not exported); patched once.
 */
export function speedUpHandshakeFragments(sample: unknown): boolean {
  if (fragmentClass) return true;
  const cls = (sample as { constructor?: unknown } | undefined)?.constructor as HandshakeFragmentClass | undefined;
  if (!cls || typeof cls.deSerialize !== 'function' || typeof cls.prototype?.serialize !== 'function') return false;
  if (Object.keys(cls.spec ?? {}).join(',') !== FRAGMENT_FIELDS) return false;
  fragmentClass = cls;
  const serialize = cls.prototype.serialize;
  cls.prototype.serialize = function (this: HandshakeFragment): Buffer {
    const f = this.fragment;
    if (!Buffer.isBuffer(f) || f.length !== this.fragment_length || !uint(this.msg_type, 8) || !uint(this.length, 24) ||
      !uint(this.message_seq, 16) || !uint(this.fragment_offset, 24) || !uint(this.fragment_length, 24)) {
      return serialize.call(this);
    }
    const out = Buffer.allocUnsafe(HANDSHAKE_HEADER + f.length);
    out[0] = this.msg_type;
    out.writeUIntBE(this.length, 1, 3);
    out.writeUInt16BE(this.message_seq, 4);
    out.writeUIntBE(this.fragment_offset, 6, 3);
    out.writeUIntBE(this.fragment_length, 9, 3);
    f.copy(out, HANDSHAKE_HEADER);
    return out;
  };
  const deSerialize = cls.deSerialize;
  cls.deSerialize = (buf: Buffer): HandshakeFragment => {
    if (!Buffer.isBuffer(buf) || buf.length < HANDSHAKE_HEADER) return deSerialize.call(cls, buf);
    const fragmentLength = buf.readUIntBE(9, 3);
    if (buf.length < HANDSHAKE_HEADER + fragmentLength) return deSerialize.call(cls, buf);
    const body = Buffer.from(buf.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + fragmentLength));
    return new cls(buf[0], buf.readUIntBE(1, 3), buf.readUInt16BE(4), buf.readUIntBE(6, 3), fragmentLength, body);
  };
  return true;
}

/**
 * Apply speedUpHandshakeFragments with the first handshake messages a DTLS socket assembles
 * (before the key exchange needs the transcript). No-op once patched.
 */
export function speedUpFragmentsOnFirstHandshake(dtls: RTCDtlsTransport): void {
  if (fragmentClass) return;
  type Handle = (assembled: unknown[]) => Promise<void>;
  const socket = dtls.dtls as unknown as { onHandleHandshakes?: Handle } | undefined;
  const handle = socket?.onHandleHandshakes;
  if (!socket || !handle) return;
  socket.onHandleHandshakes = (assembled: unknown[]) => {
    if (assembled.length > 0) speedUpHandshakeFragments(assembled[0]);
    socket.onHandleHandshakes = handle;
    return handle(assembled);
  };
}
