import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOggOpus, OggOpusWriter, OggFormatError, opusPacketSamples } from '../../src/media/ogg.js';
import { prng, fuzzSeed } from '../helpers/prng.js';

const dir = mkdtempSync(join(tmpdir(), 'portunus-ogg-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A one-second 440 Hz tone encoded by ffmpeg's libopus: a file we did not write ourselves. */
function ffmpegOpus(channels: number): Buffer {
  const out = join(dir, `tone${channels}.opus`);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1:sample_rate=48000',
    '-ac', String(channels), '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20', out]);
  return readFileSync(out);
}

test('reads the header and every 20 ms packet of an ffmpeg-made Ogg Opus file', () => {
  for (const channels of [1, 2]) {
    const f = readOggOpus(ffmpegOpus(channels));
    assert.equal(f.head.channels, channels);
    assert.equal(f.head.inputSampleRate, 48000);
    assert.ok(f.head.preSkip > 0);
    // One second of 20 ms frames (the encoder may pad one frame for the pre-skip).
    assert.ok(f.packets.length >= 50 && f.packets.length <= 52, `packets ${f.packets.length}`);
    for (const p of f.packets) assert.equal(opusPacketSamples(p), 960);
  }
});

test('a file written by OggOpusWriter is decoded by ffmpeg to the same duration', () => {
  const src = readOggOpus(ffmpegOpus(1));
  const w = new OggOpusWriter(1, 48000);
  for (const p of src.packets) w.add(p);
  const file = w.finish();
  assert.deepEqual(readOggOpus(file).packets, src.packets);
  const path = join(dir, 'ours.opus');
  writeFileSync(path, file);
  const wav = join(dir, 'ours.wav');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', path, '-ac', '1', '-ar', '48000', wav]);
  const samples = (readFileSync(wav).length - 44) / 2;
  assert.ok(Math.abs(samples - 48000) < 960 * 2, `decoded ${samples} samples`);
});

test('packets larger than 255 bytes span lacing segments and survive a round trip', () => {
  const w = new OggOpusWriter(2, 48000, 7);
  const big = Buffer.alloc(700, 0x5a);
  big[0] = 0xfc; // CELT 20 ms, code 0
  w.add(big);
  w.add(Buffer.from([0xfc, 1, 2, 3]));
  const f = readOggOpus(w.finish());
  assert.equal(f.head.channels, 2);
  assert.deepEqual(f.packets, [big, Buffer.from([0xfc, 1, 2, 3])]);
});

test('corrupt files throw OggFormatError and nothing else (fuzz)', () => {
  const seed = fuzzSeed();
  const rnd = prng(seed);
  const good = ffmpegOpus(1);
  let errors = 0;
  for (let i = 0; i < 2000; i++) {
    let f: Buffer;
    if (i % 4 === 0) {
      f = Buffer.alloc(Math.floor(rnd() * 300));
      for (let j = 0; j < f.length; j++) f[j] = Math.floor(rnd() * 256);
      if (rnd() < 0.5 && f.length > 4) f.write('OggS', 0, 'latin1');
    } else {
      f = Buffer.from(good.subarray(0, Math.floor(rnd() * good.length) + 1));
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
    }
    try {
      readOggOpus(f);
    } catch (err) {
      if (!(err instanceof OggFormatError)) assert.fail(`seed ${seed} case ${i}: ${(err as Error).stack}`);
      errors++;
    }
  }
  assert.ok(errors > 1900, `CRC checks catch mutations (seed ${seed}, ${errors} errors)`);
});
