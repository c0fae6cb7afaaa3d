import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket } from 'werift';
import { RtpView, rtpHeaderLength, seqNewer, EXT_PROFILE_ONE_BYTE, EXT_PROFILE_TWO_BYTE } from '../../src/media/rtp.ts';
import { SeqTsRewriter } from '../../src/media/rtp-rewriter.ts';

/** Build an RTP packet by hand (independent of the code under test). */
function rtp(opts: {
  pt?: number;
  marker?: boolean;
  seq?: number;
  ts?: number;
  ssrc?: number;
  csrcs?: number[];
  ext?: { profile: number; data: Buffer };
  payload?: Buffer;
  padding?: number;
}): Buffer {
  const csrcs = opts.csrcs ?? [];
  const payload = opts.payload ?? Buffer.from([1, 2, 3, 4]);
  const extLen = opts.ext ? 4 + opts.ext.data.length : 0;
  const pad = opts.padding ?? 0;
  const b = Buffer.alloc(12 + 4 * csrcs.length + extLen + payload.length + pad);
  b[0] = 0x80 | (pad ? 0x20 : 0) | (opts.ext ? 0x10 : 0) | csrcs.length;
  b[1] = (opts.marker ? 0x80 : 0) | (opts.pt ?? 96);
  b.writeUInt16BE(opts.seq ?? 1000, 2);
  b.writeUInt32BE(opts.ts ?? 123456, 4);
  b.writeUInt32BE(opts.ssrc ?? 0xdeadbeef, 8);
  let o = 12;
  for (const c of csrcs) {
    b.writeUInt32BE(c, o);
    o += 4;
  }
  if (opts.ext) {
    b.writeUInt16BE(opts.ext.profile, o);
    b.writeUInt16BE(opts.ext.data.length / 4, o + 2);
    opts.ext.data.copy(b, o + 4);
    o += 4 + opts.ext.data.length;
  }
  payload.copy(b, o);
  o += payload.length;
  if (pad) b[b.length - 1] = pad;
  return b;
}

test('parses the fixed header, CSRCs and payload bounds', () => {
  const v = new RtpView();
  const b = rtp({ pt: 111, marker: true, seq: 65535, ts: 0xfffffff0, ssrc: 0x80000001, csrcs: [7, 8], payload: Buffer.alloc(20, 9) });
  assert.equal(v.wrap(b), true);
  assert.equal(v.payloadType, 111);
  assert.equal(v.marker, true);
  assert.equal(v.sequenceNumber, 65535);
  assert.equal(v.timestamp, 0xfffffff0);
  assert.equal(v.ssrc, 0x80000001);
  assert.equal(v.csrcCount, 2);
  assert.equal(v.csrc(1), 8);
  assert.equal(v.headerLength, 20);
  assert.equal(v.payloadOffset, 20);
  assert.equal(v.payloadLength, 20);
  assert.equal(v.hasExtension, false);
  assert.equal(v.findExtension(1), -1);
});

test('view at an offset inside a larger buffer, padding excluded from the payload', () => {
  const inner = rtp({ payload: Buffer.alloc(10, 7), padding: 4 });
  const big = Buffer.concat([Buffer.alloc(5, 0xff), inner, Buffer.alloc(3, 0xee)]);
  const v = new RtpView();
  assert.equal(v.wrap(big, 5, inner.length), true);
  assert.equal(v.paddingLength, 4);
  assert.equal(v.payloadLength, 10);
  assert.equal(v.payloadOffset, 17);
  assert.equal(big[v.payloadOffset], 7);
});

test('rejects garbage without throwing', () => {
  const v = new RtpView();
  assert.equal(v.wrap(Buffer.alloc(0)), false);
  assert.equal(v.wrap(Buffer.alloc(11, 0x80)), false);
  const ver1 = rtp({});
  ver1[0] = 0x40;
  assert.equal(v.wrap(ver1), false);
  const cc = rtp({ payload: Buffer.alloc(0) });
  cc[0] |= 0x0f; // 15 CSRCs do not fit
  assert.equal(v.wrap(cc), false);
  const ext = rtp({ ext: { profile: EXT_PROFILE_ONE_BYTE, data: Buffer.alloc(4) }, payload: Buffer.alloc(0) });
  ext.writeUInt16BE(200, 14); // extension length beyond the packet
  assert.equal(v.wrap(ext), false);
  const pad0 = rtp({ padding: 1 });
  pad0[pad0.length - 1] = 0; // padding count 0
  assert.equal(v.wrap(pad0), false);
  const padBig = rtp({ padding: 1 });
  padBig[padBig.length - 1] = 200; // padding longer than the payload
  assert.equal(v.wrap(padBig), false);
  assert.equal(v.wrap(rtp({}), 4, 100), false); // out of the buffer
  assert.equal(rtpHeaderLength(Buffer.alloc(12, 0x80), -1, 12), -1);
});

test('one-byte header extensions (RFC 8285 s4.2): padding, lookup, ID 15 stops', () => {
  // id 1 len 1 [0xaa], padding 0, id 3 len 3 [1,2,3], id 15 => stop, id 4 hidden after it
  const data = Buffer.from([0x10, 0xaa, 0x00, 0x32, 1, 2, 3, 0xf0, 0x40, 0x55, 0, 0]);
  const b = rtp({ ext: { profile: EXT_PROFILE_ONE_BYTE, data } });
  const v = new RtpView();
  assert.equal(v.wrap(b), true);
  assert.equal(v.extensionProfile, 0xbede);
  let o = v.findExtension(1);
  assert.equal(o, 12 + 4 + 1);
  assert.equal(v.foundExtLength, 1);
  assert.equal(b[o], 0xaa);
  o = v.findExtension(3);
  assert.equal(v.foundExtLength, 3);
  assert.deepEqual([...b.subarray(o, o + 3)], [1, 2, 3]);
  assert.equal(v.findExtension(4), -1);
  assert.equal(v.findExtension(2), -1);
  assert.equal(v.findExtension(15), -1);
  assert.equal(v.findExtension(0), -1);
});

test('two-byte header extensions (RFC 8285 s4.3), zero-length element, truncated element', () => {
  const data = Buffer.from([0x05, 0x00, 0x00, 0x20, 0x02, 0xbe, 0xef, 0x00]);
  const b = rtp({ ext: { profile: EXT_PROFILE_TWO_BYTE | 0x3, data } });
  const v = new RtpView();
  assert.equal(v.wrap(b), true);
  assert.equal(v.findExtension(5), 12 + 4 + 2);
  assert.equal(v.foundExtLength, 0);
  const o = v.findExtension(0x20);
  assert.equal(v.foundExtLength, 2);
  assert.equal(b.readUInt16BE(o), 0xbeef);
  const bad = rtp({ ext: { profile: EXT_PROFILE_TWO_BYTE, data: Buffer.from([0x07, 0x09, 1, 2]) } });
  assert.equal(v.wrap(bad), true);
  assert.equal(v.findExtension(7), -1); // claims 9 bytes, block has 2
});

test('agrees with werift RtpPacket on header fields and extensions', () => {
  const header = new RtpHeader({
    payloadType: 100,
    marker: true,
    sequenceNumber: 4242,
    timestamp: 99999,
    ssrc: 0x12345678,
    extension: true,
    extensionProfile: 0xbede,
    extensions: [
      { id: 1, payload: Buffer.from([0x11]) },
      { id: 9, payload: Buffer.from([1, 2, 3, 4, 5]) },
    ],
  });
  const pkt = new RtpPacket(header, Buffer.from('hello world')).serialize();
  const v = new RtpView();
  assert.equal(v.wrap(pkt), true);
  const w = RtpPacket.deSerialize(pkt);
  assert.equal(v.sequenceNumber, w.header.sequenceNumber);
  assert.equal(v.timestamp, w.header.timestamp);
  assert.equal(v.ssrc, w.header.ssrc);
  assert.equal(v.payloadType, w.header.payloadType);
  assert.equal(v.marker, w.header.marker);
  assert.equal(pkt.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength).toString(), w.payload.toString());
  for (const e of w.header.extensions) {
    const o = v.findExtension(e.id);
    assert.ok(o >= 0);
    assert.deepEqual(pkt.subarray(o, o + v.foundExtLength), e.payload);
  }
});

test('setters and in-place rewrite touch only their fields', () => {
  const b = rtp({ pt: 96, seq: 1, ts: 2, ssrc: 3, payload: Buffer.from('payload!') });
  const v = new RtpView();
  v.wrap(b);
  v.payloadType = 111;
  v.marker = true;
  assert.equal(v.payloadType, 111);
  assert.equal(v.marker, true);
  v.marker = false;
  assert.equal(v.payloadType, 111);
  v.sequenceNumber = 0xabcd;
  v.timestamp = 0xfedcba98;
  v.ssrc = 0x01020304;
  assert.equal(b.readUInt16BE(2), 0xabcd);
  assert.equal(b.readUInt32BE(4), 0xfedcba98);
  assert.equal(b.readUInt32BE(8), 0x01020304);
  v.rewrite(0xffffffff, 65535, 0);
  assert.equal(v.ssrc, 0xffffffff);
  assert.equal(v.sequenceNumber, 65535);
  assert.equal(v.timestamp, 0);
  assert.equal(b.subarray(12).toString(), 'payload!');
  const w = RtpPacket.deSerialize(b);
  assert.equal(w.header.ssrc, 0xffffffff);
  assert.equal(w.header.payloadType, 111);
});

test('seqNewer follows serial-number arithmetic across the wrap', () => {
  assert.equal(seqNewer(1, 0), true);
  assert.equal(seqNewer(0, 65535), true);
  assert.equal(seqNewer(65535, 0), false);
  assert.equal(seqNewer(5, 5), false);
  assert.equal(seqNewer(40000, 1), false);
});

test('SeqTsRewriter: one continuous stream across source switches, reordering preserved', () => {
  const r = new SeqTsRewriter({ ssrc: 0xaaaa, clockRate: 90000, initialSeq: 65534, initialTimestamp: 1000 });
  const v = new RtpView();
  const out: Array<[number, number, number]> = [];
  const send = (ssrc: number, seq: number, ts: number, now: number) => {
    const b = rtp({ ssrc, seq, ts });
    v.wrap(b);
    r.rewrite(v, now);
    out.push([v.ssrc, v.sequenceNumber, v.timestamp]);
  };
  send(1, 500, 9000, 0);
  send(1, 501, 12000, 33);
  send(1, 503, 18000, 66); // gap kept
  send(1, 502, 15000, 70); // late packet: mapped with the same offset
  // switch to source 2 at t=100 ms: continue after the highest seq (503 -> 65534+3 = 1), ts + 100 ms - (66) ... elapsed since highest
  send(2, 40000, 777777, 100);
  send(2, 40001, 780777, 133);
  assert.deepEqual(
    out.map((o) => o[0]),
    [0xaaaa, 0xaaaa, 0xaaaa, 0xaaaa, 0xaaaa, 0xaaaa],
  );
  assert.deepEqual(
    out.map((o) => o[1]),
    [65534, 65535, 1, 0, 2, 3],
  );
  const ts = out.map((o) => o[2]);
  assert.deepEqual(ts.slice(0, 4), [1000, 4000, 10000, 7000]);
  // 34 ms after the highest packet (t=66) at 90 kHz = 3060 ticks
  assert.equal(ts[4], 10000 + 3060);
  assert.equal(ts[5], 10000 + 3060 + 3000);
  assert.equal(r.switches, 1);
  // forced re-base with the same SSRC (resume after pause): never repeats a timestamp
  r.switchSource();
  send(2, 10, 5, 133);
  assert.equal(out[6][1], 4);
  assert.equal(out[6][2], ts[5] + 1);
});

test('SeqTsRewriter: default keeps the first source untouched; offsets wrap at 2^16 and 2^32', () => {
  const v = new RtpView();
  const r = new SeqTsRewriter({ ssrc: 7, clockRate: 48000 });
  v.wrap(rtp({ ssrc: 1, seq: 65535, ts: 0xffffff00 }));
  r.rewrite(v, 0);
  assert.equal(v.sequenceNumber, 65535);
  assert.equal(v.timestamp, 0xffffff00);
  v.wrap(rtp({ ssrc: 1, seq: 0, ts: (0xffffff00 + 960) >>> 0 }));
  r.rewrite(v, 20);
  assert.equal(v.sequenceNumber, 0);
  assert.equal(v.timestamp, 0x2c0);
  assert.equal(r.lastSeq, 0);

  const r2 = new SeqTsRewriter({ ssrc: 7, clockRate: 48000, initialSeq: 0, initialTimestamp: 0xffffffff });
  v.wrap(rtp({ ssrc: 1, seq: 30000, ts: 10 }));
  r2.rewrite(v, 0);
  assert.equal(v.timestamp, 0xffffffff);
  assert.equal(v.sequenceNumber, 0);
  v.wrap(rtp({ ssrc: 1, seq: 30001, ts: 970 }));
  r2.rewrite(v, 20);
  assert.equal(v.timestamp, 959);
  assert.equal(v.sequenceNumber, 1);
});
