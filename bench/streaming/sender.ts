/**
 * The RTP source of bench/streaming, in its own process so that the viewers' receive load cannot
 * starve its timers: about 1.5 Mbit/s of VP8 (30 frames/s, 6 packets of ~1 KB, a keyframe every
 * second) and Opus at 50 packets/s to the mountpoint's ports on 127.0.0.1. Paced by due time, so a
 * late timer sends what is owed. On IPC 'reset' it zeroes its counters; on 'report' it answers them.
 *
 *   argv[2] = audio port, argv[3] = video port
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';

const audioPort = Number(process.argv[2]);
const videoPort = Number(process.argv[3]);
const PACKETS_PER_FRAME = 6;
const VIDEO_PAYLOAD = 1050;
const KEYFRAME_EVERY = 30;
const sock = dgram.createSocket('udp4');
const sent = { audio: 0, video: 0 };
let aseq = 1;
let vseq = 1;
let frame = 0;
let audioFrames = 0;
const t0 = performance.now();

function packet(pt: number, seq: number, ts: number, ssrc: number, marker: boolean, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(12 + payload.length);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  payload.copy(b, 12);
  return b;
}

const opus = Buffer.alloc(120, 0x5a);
opus[0] = 0xfc;
const vp8Key = Buffer.alloc(VIDEO_PAYLOAD, 0x33);
vp8Key.set([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]);
const vp8Inter = Buffer.alloc(VIDEO_PAYLOAD, 0x33);
vp8Inter.set([0x10, 0x11]);
const vp8Cont = Buffer.alloc(VIDEO_PAYLOAD, 0x33);
vp8Cont[0] = 0x00;

function tick(): void {
  const elapsed = performance.now() - t0;
  while (frame < (elapsed * 30) / 1000) {
    const first = frame % KEYFRAME_EVERY === 0 ? vp8Key : vp8Inter;
    for (let i = 0; i < PACKETS_PER_FRAME; i++) {
      sock.send(packet(100, vseq++, frame * 3000, 0x2222, i === PACKETS_PER_FRAME - 1, i === 0 ? first : vp8Cont), videoPort, '127.0.0.1');
      sent.video++;
    }
    frame++;
  }
  while (audioFrames < elapsed / 20) {
    sock.send(packet(111, aseq++, audioFrames * 960, 0x1111, false, opus), audioPort, '127.0.0.1');
    audioFrames++;
    sent.audio++;
  }
}

const timer = setInterval(tick, 5);
process.on('message', (m: string) => {
  if (m === 'reset') sent.audio = sent.video = 0;
  else if (m === 'report') process.send!({ ...sent });
  else if (m === 'stop') {
    clearInterval(timer);
    sock.close();
    process.exit(0);
  }
});
