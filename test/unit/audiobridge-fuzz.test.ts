/**
 * The mixer's network-facing parsers fed random and mutated packets: RTP headers, Opus payloads,
 * G.711, audio-level extensions, sequence jumps. Nothing may throw, and a clean participant's
 * frames keep coming.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomMixer } from '../../src/audiobridge/room-mixer.ts';
import { SpscRing } from '../../src/audiobridge/spsc-ring.ts';
import { opusscriptCodec } from '../../src/audiobridge/opus-codec.ts';
import { sineFrame } from '../helpers/audio-tones.ts';
import { prng, fuzzSeed } from '../helpers/prng.ts';

test('random and mutated packets never throw, and others keep 50 frames per second', () => {
  const seed = fuzzSeed();
  const rnd = prng(seed);
  const counts = new Map<number, number>();
  const mixer = new RoomMixer(opusscriptCodec, { rate: 16000, talkWindow: 5 }, {
    audio: (id) => counts.set(id, (counts.get(id) ?? 0) + 1),
  });
  mixer.addParticipant(1, { codec: 'opus', prebuffer: 1 });
  mixer.addParticipant(2, { codec: 'opus', prebuffer: 1, audioLevelExt: 1 });
  mixer.addParticipant(3, { codec: 'pcma', prebuffer: 1 });
  const enc = opusscriptCodec.createEncoder(48000, 1);
  const pcm = new Int16Array(960);
  const out = new Uint8Array(1500);
  let goodSeq = 0;
  const good = (): Buffer => {
    sineFrame(pcm, 960, 440, 48000, goodSeq * 960);
    const n = enc.encode(pcm, 960, out);
    const b = Buffer.alloc(12 + n);
    b[0] = 0x80;
    b[1] = 111;
    b.writeUInt16BE(goodSeq++ & 0xffff, 2);
    b.set(out.subarray(0, n), 12);
    return b;
  };
  const ticks = 300;
  try {
    for (let t = 0; t < ticks; t++) {
      const g = good();
      mixer.pushRtp(1, g, 0, g.length);
      const k = Math.floor(rnd() * 6);
      for (let i = 0; i < k; i++) {
        let b: Buffer;
        if (rnd() < 0.4) {
          b = Buffer.alloc(Math.floor(rnd() * 300));
          for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
          if (b.length > 0 && rnd() < 0.7) b[0] = 0x80 | (b[0] & 0x3f); // valid version, random rest
        } else {
          b = Buffer.from(good()); // a mutated copy of a real frame
          const flips = 1 + Math.floor(rnd() * 8);
          for (let f = 0; f < flips; f++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        }
        const who = 2 + Math.floor(rnd() * 2);
        const off = Math.floor(rnd() * 3);
        mixer.pushRtp(who, b, Math.min(off, b.length), Math.max(0, b.length - off - Math.floor(rnd() * 3)));
      }
      mixer.tick();
    }
  } catch (err) {
    assert.fail(`seed ${seed}: ${(err as Error).stack}`);
  }
  assert.equal(counts.get(1), ticks, `seed ${seed}: the clean participant got every frame`);
  assert.equal(counts.get(2), ticks);
  mixer.destroy();
});

test('the shared ring carries records intact across wrap-around and refuses when full', () => {
  const rnd = prng(fuzzSeed());
  const ring = new SpscRing(SpscRing.allocate(4096));
  const sent: Buffer[] = [];
  const got: Buffer[] = [];
  for (let round = 0; round < 200; round++) {
    const n = Math.floor(rnd() * 8);
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(1 + Math.floor(rnd() * 400));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      if (ring.write(sent.length, b, 0, b.length, b.length & 0xffff)) sent.push(b);
    }
    if (rnd() < 0.6) {
      ring.drain((id, buf, off, len, aux) => {
        assert.equal(id, got.length);
        assert.equal(aux, len);
        got.push(Buffer.from(buf.subarray(off, off + len)));
      });
    }
  }
  ring.drain((_id, buf, off, len) => got.push(Buffer.from(buf.subarray(off, off + len))));
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i], sent[i]);
  // Filled without draining: it refuses rather than overwriting, and what it took drains intact.
  const big = Buffer.alloc(500, 9);
  let taken = 0;
  while (ring.write(1, big, 0, big.length)) taken++;
  assert.ok(ring.overflows > 0 && taken > 0);
  let drained = 0;
  ring.drain((_id, buf, off, len) => {
    assert.deepEqual(Buffer.from(buf.subarray(off, off + len)), big);
    drained++;
  });
  assert.equal(drained, taken);
});
