/**
 * Media hot-path micro-benchmark: CPU microseconds per packet (user + system, process.cpuUsage),
 * median of 5 runs, ours against werift where werift has the same operation.
 *
 *   npx tsx bench/media/run.ts            (RUNS=5 PACKETS=20000 by default)
 */
import { randomBytes } from 'node:crypto';
import { RtpHeader, RtpPacket, SrtpSession as WeriftSrtp, RtcpPacketConverter } from 'werift';
import { RtpView } from '../../src/media/rtp.ts';
import { SeqTsRewriter } from '../../src/media/rtp-rewriter.ts';
import { RtcpWalker, nackExpand, RtcpKind } from '../../src/media/rtcp.ts';
import { writeRr, writeSdesCname, writeNack } from '../../src/media/rtcp-build.ts';
import { NackBuffer } from '../../src/media/nack-buffer.ts';
import { SrtpContext, SrtpProfile, type SrtpProfileId } from '../../src/core/webrtc/srtp.ts';

const RUNS = Number(process.env.RUNS ?? 5);
const N = Number(process.env.PACKETS ?? 20000);

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Median over RUNS of CPU µs per iteration; `setup` runs outside the measurement. */
function measure(setup: () => (i: number) => void): number {
  const results: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const fn = setup();
    for (let i = 0; i < Math.min(2000, N); i++) fn(i); // warm-up
    const fn2 = setup();
    const t0 = cpuMicros();
    for (let i = 0; i < N; i++) fn2(i);
    results.push((cpuMicros() - t0) / N);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

function header(seq: number): RtpHeader {
  return new RtpHeader({
    payloadType: 96,
    sequenceNumber: seq & 0xffff,
    timestamp: (seq * 3000) >>> 0,
    ssrc: 0x1234,
    extension: true,
    extensionProfile: 0xbede,
    extensions: [{ id: 1, payload: Buffer.from([seq & 0xff]) }, { id: 3, payload: Buffer.from([1, 2, 3]) }],
  });
}

const rows: Array<[string, number]> = [];
const row = (name: string, us: number) => {
  rows.push([name, us]);
  console.log(`${name.padEnd(58)} ${us.toFixed(2).padStart(7)} us`);
};

// ---- RTP header parse + rewrite ----
const sample = new RtpPacket(header(1), randomBytes(1100)).serialize();
row('RTP parse+rewrite, ours (RtpView + SeqTsRewriter)', measure(() => {
  const v = new RtpView();
  const rw = new SeqTsRewriter({ ssrc: 99, clockRate: 90000 });
  const b = Buffer.from(sample);
  return (i) => {
    b[3] = i & 0xff;
    v.wrap(b, 0, b.length);
    v.findExtension(3);
    rw.rewrite(v, i);
  };
}));
row('RTP parse+rewrite+serialize, werift RtpPacket', measure(() => {
  const b = Buffer.from(sample);
  return (i) => {
    b[3] = i & 0xff;
    const p = RtpPacket.deSerialize(b);
    p.header.ssrc = 99;
    p.header.sequenceNumber = (p.header.sequenceNumber + 7) & 0xffff;
    p.header.timestamp = (p.header.timestamp + 90) >>> 0;
    p.serialize();
  };
}));

// ---- RTCP walk ----
const rtcpBuf = Buffer.alloc(200);
let rl = writeRr(rtcpBuf, 0, 1, [{ ssrc: 2, fractionLost: 1, cumulativeLost: 3, highestSeq: 4, jitter: 5, lastSr: 6, delaySinceLastSr: 7 }]);
rl += writeSdesCname(rtcpBuf, rl, 1, 'bench-cname');
rl += writeNack(rtcpBuf, rl, 1, 2, [10, 11, 15, 40]);
const compound = Buffer.from(rtcpBuf.subarray(0, rl));
row('RTCP RR+SDES+NACK walk, ours (RtcpWalker)', measure(() => {
  const w = new RtcpWalker();
  const lost = new Uint16Array(64);
  return () => {
    w.reset(compound);
    while (w.next()) if (w.kind === RtcpKind.NACK) nackExpand(w, lost);
  };
}));
row('RTCP RR+SDES+NACK parse, werift RtcpPacketConverter', measure(() => () => {
  RtcpPacketConverter.deSerialize(compound);
}));

// ---- NACK buffer ----
row('NACK buffer store (1200 B)', measure(() => {
  const nb = new NackBuffer({ minNackQueueMs: 200 });
  const b = Buffer.from(sample);
  return (i) => {
    b[2] = (i >> 8) & 0xff;
    b[3] = i & 0xff;
    nb.store(b, 0, b.length, i * 0.1);
  };
}));

// ---- SRTP ----
function srtpRows(label: string, profile: SrtpProfileId, payloadSize: number): void {
  const key = randomBytes(16);
  const salt = randomBytes(profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14);
  const keys = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };
  const payload = randomBytes(payloadSize);
  const plain = new RtpPacket(header(0), payload).serialize();
  // N protected packets with consecutive sequence numbers (the replay window refuses repeats)
  const gen = new SrtpContext(profile, key, salt);
  const wire: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const b = Buffer.alloc(plain.length + 16);
    plain.copy(b);
    b.writeUInt16BE(i & 0xffff, 2);
    wire.push(b.subarray(0, gen.protectRtp(b, 0, plain.length)));
  }
  row(`SRTP protect ${label} ${payloadSize} B, ours`, measure(() => {
    const c = new SrtpContext(profile, key, salt);
    const b = Buffer.alloc(plain.length + 16);
    return (i) => {
      plain.copy(b);
      b[2] = (i >> 8) & 0xff;
      b[3] = i & 0xff;
      c.protectRtp(b, 0, plain.length);
    };
  }));
  row(`SRTP protect ${label} ${payloadSize} B, werift`, measure(() => {
    const s = new WeriftSrtp({ profile: profile as 1 | 7, keys });
    const h = header(0);
    return (i) => {
      h.sequenceNumber = i & 0xffff;
      s.encrypt(payload, h);
    };
  }));
  row(`SRTP unprotect ${label} ${payloadSize} B, ours`, measure(() => {
    const c = new SrtpContext(profile, key, salt);
    const b = Buffer.alloc(plain.length + 16);
    return (i) => {
      const w = wire[i % N];
      w.copy(b);
      if (c.unprotectRtp(b, 0, w.length) < 0) throw new Error('unprotect failed');
    };
  }));
  row(`SRTP unprotect ${label} ${payloadSize} B, werift`, measure(() => {
    const s = new WeriftSrtp({ profile: profile as 1 | 7, keys });
    return (i) => {
      s.decrypt(wire[i % N]);
    };
  }));
}

for (const size of [100, 1100]) {
  srtpRows('AES_CM_HMAC_SHA1_80', SrtpProfile.AES128_CM_HMAC_SHA1_80, size);
  srtpRows('AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM, size);
}

console.log(`\n(CPU time per packet, median of ${RUNS} runs of ${N} packets; Node ${process.version})`);
