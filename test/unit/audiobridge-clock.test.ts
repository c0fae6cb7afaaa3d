/**
 * The mixer's clock and load shedding: the tick catches up after a late wake-up, skips a backlog
 * after a stall instead of bursting through it, and reports its lateness; a room with capped
 * encoder complexity still produces audio the listeners decode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TickClock } from '../../src/audiobridge/tick-clock.ts';
import { RoomMixer } from '../../src/audiobridge/room-mixer.ts';
import { opusscriptCodec } from '../../src/audiobridge/opus-codec.ts';
import { sineFrame, toneAmplitude } from '../helpers/audio-tones.ts';

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* stall the thread */ }
}

test('the tick keeps real time, skips after a stall and reports lateness', async () => {
  let n = 0;
  const clock = new TickClock(() => {
    n++;
    if (n === 5) busyWait(400); // a 400 ms stall: 20 periods, more than the 10 it may catch up here
  }, 20, 10);
  const t0 = performance.now();
  clock.start();
  await new Promise((r) => setTimeout(r, 1000));
  clock.stop();
  const elapsed = performance.now() - t0;
  const s = clock.report();
  assert.ok(s.skipped >= 5, `a backlog after the stall is skipped: ${JSON.stringify(s)}`);
  assert.ok(s.lateMaxMs >= 200, `the stall shows as lateness: ${s.lateMaxMs}`);
  // Ticks run + ticks skipped account for the elapsed periods (within timer slack).
  const periods = elapsed / 20;
  assert.ok(Math.abs(s.ticks + s.skipped - periods) <= 4, `ticks ${s.ticks} + skipped ${s.skipped} ~ ${periods.toFixed(1)} periods`);
});

test('encoders with complexity capped to 0 still carry the mix', () => {
  const got: Buffer[] = [];
  const mixer = new RoomMixer(opusscriptCodec, { rate: 16000 }, { audio: (id, p, len) => { if (id === 2) got.push(Buffer.from(p.subarray(0, len))); } });
  mixer.addParticipant(1, { codec: 'opus', prebuffer: 1, complexity: 4 });
  mixer.addParticipant(2, { codec: 'opus', prebuffer: 1, complexity: 4 });
  mixer.complexityCap = 0;
  assert.equal(mixer.complexityCap, 0);
  const enc = opusscriptCodec.createEncoder(48000, 1);
  const pcm = new Int16Array(960);
  const out = new Uint8Array(1500);
  for (let t = 0; t < 40; t++) {
    sineFrame(pcm, 960, 700, 48000, t * 960);
    const len = enc.encode(pcm, 960, out);
    const b = Buffer.alloc(12 + len);
    b[0] = 0x80;
    b[1] = 111;
    b.writeUInt16BE(t, 2);
    b.set(out.subarray(0, len), 12);
    mixer.pushRtp(1, b, 0, b.length);
    mixer.tick();
  }
  const dec = opusscriptCodec.createDecoder(48000, 1);
  const all = new Int16Array(30 * 960);
  const tmp = new Int16Array(5760);
  got.slice(10).forEach((p, i) => {
    const n = dec.decode(p, 0, p.length, tmp);
    all.set(tmp.subarray(0, Math.min(n, 960)), i * 960);
  });
  assert.ok(toneAmplitude(all, 700, 48000) > 2000, 'participant 2 hears participant 1 at complexity 0');
  mixer.destroy();
});
