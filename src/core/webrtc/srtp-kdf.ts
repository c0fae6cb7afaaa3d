/**
 * SRTP key derivation (RFC 3711 s4.3) with the AES-CM PRF (s4.3.3), key derivation rate 0.
 *
 *   key_id = label (8 bits) || r (48 bits), r = index DIV kdr = 0 when kdr = 0
 *   x      = key_id XOR master_salt          (key_id aligned to the low end of the 112-bit salt)
 *   out    = first n bits of AES-CM(master_key, IV = x * 2^16)
 *
 * Labels (s4.3.1, s4.3.2): 0 SRTP encryption key, 1 SRTP auth key, 2 SRTP salt, 3 SRTCP encryption
 * key, 4 SRTCP auth key, 5 SRTCP salt. AEAD_AES_128_GCM (RFC 7714 s11) uses the same KDF with a
 * 96-bit master salt, zero-padded at the end to 112 bits (as libsrtp does).
 */
import { createCipheriv } from 'node:crypto';

export interface SrtpSessionKeys {
  rtpKey: Buffer;
  rtpSalt: Buffer;
  /** HMAC-SHA1 key (20 bytes) for the AES-CM profiles; empty for GCM. */
  rtpAuthKey: Buffer;
  rtcpKey: Buffer;
  rtcpSalt: Buffer;
  rtcpAuthKey: Buffer;
}

/** First `n` bytes of the AES-CM PRF output for `label` (s4.3.3). */
export function srtpPrf(masterKey: Buffer, masterSalt: Buffer, label: number, n: number): Buffer {
  if (masterKey.length !== 16) throw new RangeError('SRTP master key must be 16 bytes');
  if (masterSalt.length !== 14 && masterSalt.length !== 12) throw new RangeError('SRTP master salt must be 14 or 12 bytes');
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  iv[7] ^= label; // byte 7 of the 14-byte salt field is the label's place (56-bit key_id at the low end)
  // r = 0 (kdr = 0): bytes 8-13 unchanged; bytes 14-15 are the block counter (x * 2^16).
  const c = createCipheriv('aes-128-ctr', masterKey, iv);
  return c.update(Buffer.alloc(n));
}

/** Derive the six session keys. `saltLength` 14 for AES-CM profiles, 12 for AEAD_AES_128_GCM. */
export function deriveSrtpKeys(masterKey: Buffer, masterSalt: Buffer, authKeyLength: number): SrtpSessionKeys {
  const sl = masterSalt.length;
  return {
    rtpKey: srtpPrf(masterKey, masterSalt, 0, 16),
    rtpAuthKey: authKeyLength > 0 ? srtpPrf(masterKey, masterSalt, 1, authKeyLength) : Buffer.alloc(0),
    rtpSalt: srtpPrf(masterKey, masterSalt, 2, sl),
    rtcpKey: srtpPrf(masterKey, masterSalt, 3, 16),
    rtcpAuthKey: authKeyLength > 0 ? srtpPrf(masterKey, masterSalt, 4, authKeyLength) : Buffer.alloc(0),
    rtcpSalt: srtpPrf(masterKey, masterSalt, 5, sl),
  };
}
