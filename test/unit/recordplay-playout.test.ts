/**
 * Record&Play playback of Opus RED recordings (playout.ts, src/core/sdp-red.ts, src/media/red.ts): the offer names RED with
 * the recorded payload type (and Opus moves to 112 when RED took 111), and the packets a viewer
 * gets are the RED packets as recorded, or their primary Opus block when RED was not accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Playout, audioPt, playbackOffer } from '../../src/plugins/recordplay/playout.ts';
import type { Recording } from '../../src/plugins/recordplay/library.ts';
import type { MjrFrame } from '../../src/media/mjr-reader.ts';

const rec = (redPt: number): Recording => ({
  id: 77, name: 'r', date: 'd', audioFile: 'a', acodec: 'opus', opusRedPt: redPt, textdata: true, audioLevelExt: 0, videoOrientExt: 0, completed: true,
});

/** RTP (payload type `pt`) around a RED payload: one redundant block "old", the primary "NEW-i". */
function redPacket(pt: number, i: number): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = pt;
  header.writeUInt16BE(i, 2);
  header.writeUInt32BE(960 * i, 4);
  header.writeUInt32BE(0x1234, 8);
  const old = Buffer.from('old');
  // F=1 | block PT 111 | timestamp offset 960 (14 bits) | block length (10 bits); then F=0 | PT 111.
  const blockHeader = Buffer.from([0x80 | 111, (960 >> 6) & 0xff, ((960 & 0x3f) << 2) | (old.length >> 8), old.length & 0xff, 111]);
  return Buffer.concat([header, blockHeader, old, Buffer.from(`NEW-${i}`)]);
}

test('the playback offer of a RED recording: RED first, Opus on 111 or 112 when RED took 111', () => {
  assert.equal(audioPt('opus', 63), 111);
  assert.equal(audioPt('opus', 111), 112);
  assert.equal(audioPt('pcmu', 111), 0);
  const offer = playbackOffer(rec(63), false);
  assert.match(offer, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 63 111\r$/m);
  assert.match(offer, /^a=rtpmap:63 red\/48000\/2\r$/m);
  assert.match(offer, /^a=fmtp:63 111\/111\r$/m);
  const clash = playbackOffer(rec(111), false);
  assert.match(clash, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111 112\r$/m);
  assert.match(clash, /^a=fmtp:111 112\/112\r$/m);
  assert.doesNotMatch(playbackOffer({ ...rec(0), opusRedPt: undefined }, false), /red/);
});

async function play(keepRed: boolean): Promise<Array<{ pt: number; payload: string }>> {
  const frames: MjrFrame[] = [];
  for (let i = 0; i < 4; i++) frames.push({ data: redPacket(63, i), time: 20 * i, seq: i, ts: 960 * i });
  // A plain Opus packet in between (recorded with its own payload type) goes out as Opus.
  const plain = Buffer.concat([redPacket(111, 9).subarray(0, 12), Buffer.from('PLAIN')]);
  frames.push({ data: plain, time: 100, seq: 9, ts: 960 * 5 });
  const got: Array<{ pt: number; payload: string }> = [];
  await new Promise<void>((done) => {
    const p = new Playout(rec(63), { audio: frames }, { audio: '0' }, {
      rtp: (m) => got.push({ pt: m.buffer[1] & 0x7f, payload: m.buffer.subarray(12).toString('latin1') }),
      data: () => undefined,
      end: done,
    }, keepRed);
    p.start();
  });
  return got;
}

test('a viewer that accepted RED gets the RED packets as recorded', async () => {
  const got = await play(true);
  assert.deepEqual(got.map((g) => g.pt), [63, 63, 63, 63, 111]);
  assert.ok(got.slice(0, 4).every((g, i) => g.payload.endsWith(`oldNEW-${i}`)));
  assert.equal(got[4].payload, 'PLAIN');
});

test('a viewer without RED gets the primary Opus block of each RED packet', async () => {
  const got = await play(false);
  assert.deepEqual(got, [0, 1, 2, 3].map((i) => ({ pt: 111, payload: `NEW-${i}` })).concat([{ pt: 111, payload: 'PLAIN' }]));
});
