import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vp9RtpPayload, H264RtpPayload } from 'werift';
import { isVp8Keyframe, isVp9Keyframe, isH264Keyframe, isKeyframe } from '../../src/media/keyframe.ts';

const b = (...bytes: number[]) => Buffer.from(bytes);
const all = (buf: Buffer) => [buf, 0, buf.length] as const;

// VP8 frame tag (RFC 6386 s9.1): bit 0 = !key_frame, then version, show_frame, first_part_size;
// a key frame continues with 9d 01 2a and 14-bit width / height.
const VP8_KEY = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
const VP8_DELTA = [0x11, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00];

test('VP8 (RFC 7741): S=1, PID=0, P=0 and the start code', () => {
  assert.equal(isVp8Keyframe(...all(b(0x10, ...VP8_KEY))), true); // minimal descriptor
  // X with I (15-bit picture id), L, T/K
  assert.equal(isVp8Keyframe(...all(b(0x90, 0xf0, 0x81, 0x23, 0x05, 0x40, ...VP8_KEY))), true);
  // X with I (7-bit picture id) only
  assert.equal(isVp8Keyframe(...all(b(0x90, 0x80, 0x12, ...VP8_KEY))), true);
  assert.equal(isVp8Keyframe(...all(b(0x10, ...VP8_DELTA))), false); // P=1
  assert.equal(isVp8Keyframe(...all(b(0x00, ...VP8_KEY))), false); // S=0: continuation
  assert.equal(isVp8Keyframe(...all(b(0x11, ...VP8_KEY))), false); // PID=1
  const badStart = b(0x10, ...VP8_KEY);
  badStart[5] = 0x9c;
  assert.equal(isVp8Keyframe(...all(badStart)), false);
  assert.equal(isVp8Keyframe(...all(b(0x90))), false); // truncated descriptor
  assert.equal(isVp8Keyframe(...all(b(0x90, 0x80))), false);
  assert.equal(isVp8Keyframe(...all(b(0x10, 0x10, 0x02))), false); // truncated frame header
  // payload at an offset, and a length that cuts the start code
  const inPacket = Buffer.concat([Buffer.alloc(12, 0xff), b(0x10, ...VP8_KEY)]);
  assert.equal(isVp8Keyframe(inPacket, 12, inPacket.length - 12), true);
  assert.equal(isVp8Keyframe(inPacket, 12, 5), false);
  assert.equal(isVp8Keyframe(inPacket, 12, 100), false);
});

// VP9 uncompressed header byte 0: frame_marker(2)=10, profile_low, profile_high, show_existing,
// frame_type (0 = key), ...
const VP9_KEY_P0 = 0b10_0_0_0_0_00;
const VP9_INTER_P0 = 0b10_0_0_0_1_00;
const VP9_KEY_P3 = 0b10_1_1_0_0_0_0; // profile 3: reserved bit, show_existing, frame_type
const VP9_SHOW_EXISTING = 0b10_0_0_1_0_00;

test('VP9 (RFC 9628): B=1, P=0, SID=0, and frame_type KEY_FRAME when the header is there', () => {
  // I, B, V set: picture id (15 bit), SS with N_S=0, Y, G (N_G=1, one group with R=1)
  const ss = [0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04 | 0x00, 0x01];
  const withSs = b(0x8a, 0x80, 0x01, ...ss, VP9_KEY_P0, 0x00);
  assert.equal(isVp9Keyframe(...all(withSs)), true);
  assert.equal(isVp9Keyframe(...all(b(0x08, VP9_KEY_P0))), true); // B only
  assert.equal(isVp9Keyframe(...all(b(0x08))), true); // descriptor only
  assert.equal(isVp9Keyframe(...all(b(0x48, VP9_KEY_P0))), false); // P=1
  assert.equal(isVp9Keyframe(...all(b(0x00, VP9_KEY_P0))), false); // B=0
  assert.equal(isVp9Keyframe(...all(b(0x08, VP9_INTER_P0))), false);
  assert.equal(isVp9Keyframe(...all(b(0x08, VP9_SHOW_EXISTING))), false);
  assert.equal(isVp9Keyframe(...all(b(0x08, VP9_KEY_P3))), true);
  assert.equal(isVp9Keyframe(...all(b(0x08, 0x00))), false); // bad frame marker
  // L (non-flexible): layer byte + TL0PICIDX; SID=1 is not the base layer
  assert.equal(isVp9Keyframe(...all(b(0x28, 0x00, 0x07, VP9_KEY_P0))), true);
  assert.equal(isVp9Keyframe(...all(b(0x28, 0x02, 0x07, VP9_KEY_P0))), false);
  // flexible mode: no TL0PICIDX
  assert.equal(isVp9Keyframe(...all(b(0x38, 0x00, VP9_KEY_P0))), true);
  // truncated SS
  assert.equal(isVp9Keyframe(...all(b(0x0a, 0x18, 0x02))), false);
  assert.equal(isVp9Keyframe(...all(b(0x0a, 0x08, 0x03, 0x00))), false);
  assert.equal(isVp9Keyframe(...all(b(0x88))), false);
  // werift agrees on descriptor-level cases
  for (const p of [b(0x08, VP9_KEY_P0), b(0x48, VP9_KEY_P0), b(0x28, 0x00, 0x07, VP9_KEY_P0), b(0x28, 0x02, 0x07, VP9_KEY_P0), b(0x00, 0)]) {
    assert.equal(isVp9Keyframe(...all(p)), Vp9RtpPayload.deSerialize(p).isKeyframe, p.toString('hex'));
  }
});

test('H.264 (RFC 6184): IDR/SPS single NAL, STAP-A/B, FU-A/B start', () => {
  assert.equal(isH264Keyframe(...all(b(0x65, 0x88, 0x80))), true); // IDR
  assert.equal(isH264Keyframe(...all(b(0x67, 0x42, 0x00))), true); // SPS
  assert.equal(isH264Keyframe(...all(b(0x41, 0x9a))), false); // non-IDR slice
  assert.equal(isH264Keyframe(...all(b(0x68, 0xce))), false); // PPS alone
  // STAP-A with SPS + PPS
  assert.equal(isH264Keyframe(...all(b(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce))), true);
  // STAP-A with two non-IDR slices
  assert.equal(isH264Keyframe(...all(b(0x78, 0x00, 0x01, 0x41, 0x00, 0x01, 0x41))), false);
  // STAP-A whose size runs past the end
  assert.equal(isH264Keyframe(...all(b(0x78, 0x00, 0x09, 0x67, 0x42))), false);
  // STAP-B: DON first
  assert.equal(isH264Keyframe(...all(b(0x79, 0x12, 0x34, 0x00, 0x01, 0x65))), true);
  // FU-A start of an IDR, continuation, start of a non-IDR
  assert.equal(isH264Keyframe(...all(b(0x7c, 0x85, 0x88))), true);
  assert.equal(isH264Keyframe(...all(b(0x7c, 0x05, 0x88))), false);
  assert.equal(isH264Keyframe(...all(b(0x7c, 0x81, 0x88))), false);
  assert.equal(isH264Keyframe(...all(b(0x7d, 0x87, 0x00, 0x01))), true); // FU-B start of SPS
  assert.equal(isH264Keyframe(...all(b(0x7c))), false);
  assert.equal(isH264Keyframe(Buffer.alloc(0), 0, 0), false);
  // werift agrees on IDR detection (it does not count SPS)
  for (const p of [b(0x65, 0x88), b(0x41, 0x9a), b(0x7c, 0x85, 0x88)]) {
    assert.equal(isH264Keyframe(...all(p)), H264RtpPayload.deSerialize(p).isKeyframe, p.toString('hex'));
  }
});

test('dispatch by codec name', () => {
  assert.equal(isKeyframe('VP8', ...all(b(0x10, ...VP8_KEY))), true);
  assert.equal(isKeyframe('Vp9', ...all(b(0x08))), true);
  assert.equal(isKeyframe('h264', ...all(b(0x65))), true);
  assert.equal(isKeyframe('opus', ...all(b(0x65))), false);
});
