/**
 * The mixer pool: rooms mixed on worker threads in real time, RTP in and frames out through the
 * shared rings; and a 40-participant room keeping 50 mixed frames per second for every listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MixerPool, type ThreadStats } from '../../src/audiobridge/mixer-pool.ts';
import { opusscriptCodec } from '../../src/audiobridge/opus-codec.ts';
import type { MixerEvent } from '../../src/audiobridge/mixer-core.ts';
import { sineFrame, toneAmplitude } from '../helpers/audio-tones.ts';

const TONES = [440, 1000, 1700];

/** Pre-encoded RTP packets of a tone (20 ms Opus at 48 kHz), `count` of them. */
function tonePackets(freq: number, count: number, amplitude = 8000): Buffer[] {
  const enc = opusscriptCodec.createEncoder(48000, 1);
  const pcm = new Int16Array(960);
  const out = new Uint8Array(1500);
  const pkts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    sineFrame(pcm, 960, freq, 48000, i * 960, amplitude);
    const len = enc.encode(pcm, 960, out);
    const b = Buffer.alloc(12 + len);
    b[0] = 0x80;
    b[1] = 111;
    b.writeUInt16BE(i & 0xffff, 2);
    b.writeUInt32BE((i * 960) >>> 0, 4);
    b.set(out.subarray(0, len), 12);
    pkts.push(b);
  }
  enc.destroy();
  return pkts;
}

function collector() {
  const frames = new Map<number, Buffer[]>();
  const events: MixerEvent[] = [];
  const stats: ThreadStats[] = [];
  return {
    frames, events, stats,
    cb: {
      onAudio: (id: number, buf: Buffer, off: number, len: number) => {
        let l = frames.get(id);
        if (!l) frames.set(id, (l = []));
        l.push(Buffer.from(buf.subarray(off, off + len)));
      },
      onEvent: (e: MixerEvent) => events.push(e),
      onStats: (_t: number, s: ThreadStats) => stats.push(s),
    },
  };
}

function decodeAll(pkts: Buffer[]): Int16Array {
  const dec = opusscriptCodec.createDecoder(48000, 1);
  const out = new Int16Array(pkts.length * 960);
  const tmp = new Int16Array(5760);
  let o = 0;
  for (const p of pkts) {
    const n = dec.decode(p, 0, p.length, tmp);
    if (n > 0) {
      out.set(tmp.subarray(0, n), o);
      o += n;
    }
  }
  dec.destroy();
  return out.subarray(0, o);
}

/**
 * Participant `id` got a frame about every 20 ms of 1.5 s, and its last second holds every tone of
 * TONES except its own (participant n sends TONES[n - 1]; ids above 3 send silence).
 */
function assertMixMinus(got: Buffer[], id: number): void {
  assert.ok(got.length >= 60, `participant ${id} got ${got.length} frames in 1.5 s`);
  const pcm = decodeAll(got.slice(-50, -5));
  const amp = TONES.map((f) => toneAmplitude(pcm, f, 48000));
  amp.forEach((a, i) => {
    if (i === id - 1) assert.ok(a < 400, `participant ${id} does not hear itself: ${amp.map((x) => x.toFixed(0))}`);
    else assert.ok(a > 2000, `participant ${id} hears ${TONES[i]} Hz: ${amp.map((x) => x.toFixed(0))}`);
  });
}

/** Sends each participant's packets every 20 ms (as a peer would) for `ms`. */
async function feed(pool: MixerPool, ids: number[], packets: Buffer[][], ms: number): Promise<void> {
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / 20);
      while (sent <= due && sent < packets[0].length) {
        ids.forEach((id, i) => {
          const p = packets[i][sent];
          pool.pushRtp(id, p, 0, p.length);
        });
        sent++;
      }
      if (performance.now() - t0 >= ms) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
}

for (const threads of [1, 0]) {
  test(`mix-minus on ${threads ? 'a worker thread' : 'the main thread'}, in real time`, async () => {
    // Encoded first: on a loaded machine this takes a while, and the room would tick in silence.
    const packets = TONES.map((f) => tonePackets(f, 100));
    const c = collector();
    const pool = new MixerPool({ threads, statsEveryTicks: 25 }, c.cb);
    await pool.ready();
    pool.createRoom(1, { rate: 16000 });
    for (let i = 1; i <= 3; i++) pool.addParticipant(1, i, { codec: 'opus', prebuffer: 2 });
    await feed(pool, [1, 2, 3], packets, 1500);
    await pool.stop();
    for (let p = 1; p <= 3; p++) assertMixMinus(c.frames.get(p) ?? [], p);
    assert.ok(c.stats.length > 0, 'the thread reports its tick stats');
    assert.ok(c.stats.every((s) => s.lateMaxMs >= 0 && s.ticks > 0));
  });
}

test('a 40-participant room keeps 50 mixed frames per second per listener', async () => {
  // Three speak, the rest send silence (as in a real conference); encoded before the room starts.
  const speaking = TONES.map((f) => tonePackets(f, 200));
  const silent = tonePackets(440, 200, 0);
  const c = collector();
  const pool = new MixerPool({ threads: 1, statsEveryTicks: 50 }, c.cb);
  await pool.ready();
  pool.createRoom(7, { rate: 16000 });
  const P = 40;
  const ids = Array.from({ length: P }, (_, i) => 100 + i);
  for (const id of ids) pool.addParticipant(7, id, { codec: 'opus', prebuffer: 3 });
  const packets = ids.map((_, i) => (i < 3 ? speaking[i] : silent));
  const start = performance.now();
  await feed(pool, ids, packets, 3000);
  const seconds = (performance.now() - start) / 1000;
  await pool.stop();
  const rates = ids.map((id) => (c.frames.get(id)?.length ?? 0) / seconds);
  const min = Math.min(...rates);
  // Prebuffering costs the first few ticks; the rest must keep pace with real time.
  assert.ok(min >= 44, `every listener gets about 50 frames/s: min ${min.toFixed(1)}, stats ${JSON.stringify(c.stats.at(-1))}`);
  const pcm = decodeAll((c.frames.get(ids[10]) ?? []).slice(-110, -10));
  for (const f of TONES) assert.ok(toneAmplitude(pcm, f, 48000) > 1500, `a silent listener hears ${f} Hz`);
});

test('a room split over two threads: every listener hears the mix-minus, one set of talking and file events', async () => {
  // Six participants, split above three listeners per shard: the last three are encoded for by a
  // second thread, which decodes everyone too. Participants 1-3 speak, 4-6 are silent.
  const speaking = TONES.map((f) => tonePackets(f, 100));
  const silent = tonePackets(440, 100, 0);
  const c = collector();
  const pool = new MixerPool({ threads: 2, statsEveryTicks: 25, splitAbove: 3 }, c.cb);
  await pool.ready();
  pool.createRoom(3, { rate: 16000, talkWindow: 10, talkThreshold: 40 });
  const ids = [1, 2, 3, 4, 5, 6];
  for (const id of ids) pool.addParticipant(3, id, { codec: 'opus', prebuffer: 2 });
  assert.equal(pool.shards, 1, 'one extra shard opened');
  // A short announcement, heard on both shards, reported ended once.
  const note = tonePackets(2500, 20);
  pool.playFile(3, 99, note.map((p) => p.subarray(12)), false);
  await feed(pool, ids, ids.map((id) => (id <= 3 ? speaking[id - 1] : silent)), 1500);
  await pool.stop();
  for (const id of ids) assertMixMinus(c.frames.get(id) ?? [], id);
  // Both threads did work: each reported stats with participants.
  const threads = new Set(c.stats.map((s) => s.participants));
  assert.ok(c.stats.length > 0 && [...threads].every((n) => n === 6), `both shards hold every participant: ${[...threads]}`);
  assert.equal(c.events.filter((e) => e.ev === 'fileEnded').length, 1, 'the file end reported once');
  const talking = c.events.filter((e) => e.ev === 'talking' && e.talking);
  assert.deepEqual([...new Set(talking.map((e) => (e as { id: number }).id))].sort(), [1, 2, 3], 'talking events once per speaker');
  assert.equal(talking.length, 3);
});

for (const threads of [1, 0]) {
  test(`a room nobody is in does not tick (${threads ? 'worker thread' : 'main thread'}); a participant starts the clock, leaving stops it`, async (t) => {
    const c = collector();
    const pool = new MixerPool({ threads, statsEveryTicks: 2 }, c.cb);
    t.after(() => pool.stop());
    await pool.ready();
    pool.createRoom(1, { rate: 16000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.stats.length, 0, 'no ticks (and so no stats) for an empty room');
    pool.addParticipant(1, 1, { codec: 'opus', prebuffer: 2 });
    const deadline = Date.now() + 5000;
    while (c.stats.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(c.stats.length >= 3, `ticking with a participant: ${c.stats.length} stats reports`);
    pool.removeParticipant(1);
    await new Promise((r) => setTimeout(r, 200));
    const settled = c.stats.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.stats.length, settled, 'the clock stopped once the room was empty again');
  });
}
