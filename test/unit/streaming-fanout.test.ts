/**
 * The Streaming fan-out and mountpoint definitions without the network: every live viewer gets the
 * packet with its own payload type and continuous sequence numbers, the source buffer comes back
 * unchanged (the keyframe buffer keeps it), paused and unstarted viewers get nothing, video waits
 * for a keyframe; spec parsing of both syntaxes and of .jcfg strings, with Janus' error codes.
 * The gateway here is a recording stand-in for the core (a test double: only relayRtp is used).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayFacade, MediaPacket, PluginHandle } from '../../src/core/plugin.ts';
import { Fanout, newViewerStream, resetSimulcast, type Viewer } from '../../src/plugins/streaming/fanout.ts';
import { parseMountpoint } from '../../src/plugins/streaming/spec.ts';
import { StreamingError } from '../../src/plugins/streaming/errors.ts';

function recordingGateway(): { gw: GatewayFacade; sent: Array<{ handle: number; mid: string; bytes: Buffer }>; events: Array<{ handle: number; data: Record<string, unknown> }> } {
  const sent: Array<{ handle: number; mid: string; bytes: Buffer }> = [];
  const events: Array<{ handle: number; data: Record<string, unknown> }> = [];
  const gw = {
    relayRtp: (h: PluginHandle, p: MediaPacket) => sent.push({ handle: h.handleId, mid: p.mid, bytes: Buffer.from(p.buffer) }),
    relayData: () => {},
    pushEvent: (h: PluginHandle, data: Record<string, unknown>) => events.push({ handle: h.handleId, data }),
  } as unknown as GatewayFacade;
  return { gw, sent, events };
}

function rtp(pt: number, seq: number, ts: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(0xabcdef, 8);
  payload.copy(b, 12);
  return b;
}
const key = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3]);
const inter = Buffer.from([0x10, 0x01, 0x00, 0x00, 9, 9, 9, 9]);

function viewer(f: Fanout, id: number, pt: number, live = true): Viewer {
  return { handle: { sessionId: 1, handleId: id, opaqueId: undefined, pluginState: undefined }, streams: [newViewerStream(f.streams[0], `v${id}`, pt)], live, dataReady: false };
}

test('fan-out: per-viewer payload type and sequence, source buffer intact, keyframe buffer primes late viewers', () => {
  const { gw, sent } = recordingGateway();
  const spec = parseMountpoint({ type: 'rtp', media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', videobufferkf: true }] }, 1, false);
  const f = new Fanout(gw, spec.streams);
  const a = viewer(f, 1, 96);
  const b = viewer(f, 2, 98);
  const paused = viewer(f, 3, 96, false);
  f.viewers.add(a);
  f.viewers.add(b);
  f.viewers.add(paused);
  const p1 = rtp(100, 500, 9000, inter);
  const copy1 = Buffer.from(p1);
  f.deliverRtp(0, p1);
  assert.equal(sent.length, 0, 'video waits for a keyframe');
  assert.deepEqual(p1, copy1, 'header restored');
  const p2 = rtp(100, 501, 12000, key);
  const copy2 = Buffer.from(p2);
  f.deliverRtp(0, p2);
  f.deliverRtp(0, rtp(100, 502, 15000, inter));
  assert.deepEqual(p2, copy2);
  assert.deepEqual(sent.map((s) => [s.handle, s.mid, s.bytes[1] & 0x7f]), [[1, 'v1', 96], [2, 'v2', 98], [1, 'v1', 96], [2, 'v2', 98]]);
  assert.equal(sent[0].bytes.readUInt16BE(2) + 1, sent[2].bytes.readUInt16BE(2));
  assert.deepEqual(sent[0].bytes.subarray(12), key);
  // A late viewer is primed from the buffer (keyframe + what followed), in order.
  sent.length = 0;
  const late = viewer(f, 4, 97);
  f.viewers.add(late);
  f.primeViewer(late);
  assert.deepEqual(sent.map((s) => [s.handle, s.bytes.subarray(12)[1]]), [[4, 0x00], [4, 0x01]]);
  assert.deepEqual(p2, copy2, 'buffered packet intact after priming');
  assert.equal(f.forwarded, 6);
  // Removal keeps the index list in step.
  f.viewers.delete(a);
  assert.deepEqual(f.viewers.list.map((v) => v.handle.handleId), [2, 3, 4]);
});

/** VP8 with a 15-bit PictureID descriptor (X, I, M), keyframe or not, `size` bytes, filled with `fill`. */
function vp8WithPicture(keyframe: boolean, picture: number, size: number, fill: number): Buffer {
  const p = Buffer.alloc(size, fill);
  p[0] = 0x90; // X, S
  p[1] = 0x80; // I
  p[2] = 0x80 | ((picture >> 8) & 0x7f);
  p[3] = picture & 0xff;
  p[4] = keyframe ? 0x00 : 0x01;
  if (keyframe) p.set([0x00, 0x00, 0x9d, 0x01, 0x2a], 5);
  return p;
}

test('simulcast fan-out: each viewer gets its substream from a keyframe on, continuous seq and PictureID, source buffers intact', () => {
  const { gw, sent, events } = recordingGateway();
  const spec = parseMountpoint({ type: 'rtp', media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', simulcast: true, port2: 0, port3: 0 }] }, 1, false);
  const f = new Fanout(gw, spec.streams);
  const high = viewer(f, 1, 96);
  const low = viewer(f, 2, 96);
  low.streams[0]!.substreamTarget = 0;
  resetSimulcast(low.streams[0]!, f.streams[0]);
  f.viewers.add(high);
  f.viewers.add(low);
  const sizes = [100, 200, 300];
  const seqs = [1000, 20000, 40000];
  for (let frame = 0; frame < 6; frame++) {
    for (let layer = 0; layer < 3; layer++) {
      // Substream 1 and 2 start on an interframe: nobody may get it.
      const keyframe = frame === 0 ? layer === 0 : frame === 2;
      const pkt = rtp(100, seqs[layer] + frame, 90000 + frame * 3000, vp8WithPicture(keyframe, 300 * layer + frame, sizes[layer], 0x10 + layer));
      const copy = Buffer.from(pkt);
      f.deliverRtp(0, pkt, layer);
      assert.deepEqual(pkt, copy, `source packet of substream ${layer} intact`);
    }
  }
  const got = (h: number): Buffer[] => sent.filter((s) => s.handle === h).map((s) => s.bytes);
  // The high viewer starts on substream 0's keyframe, then climbs on frame 2's keyframes (which
  // arrive 0, 1, 2): one step per keyframe, as Janus' selector does.
  assert.deepEqual(got(1).map((b) => b.length - 12), [100, 100, 100, 200, 300, 300, 300, 300]);
  assert.deepEqual(got(2).map((b) => b.length - 12), [100, 100, 100, 100, 100, 100]);
  for (const h of [1, 2]) {
    const b = got(h);
    for (let i = 1; i < b.length; i++) {
      assert.equal((b[i].readUInt16BE(2) - b[i - 1].readUInt16BE(2)) & 0xffff, 1, `viewer ${h} seq continuous at ${i}`);
      const pic = (x: Buffer): number => ((x[14] & 0x7f) << 8) | x[15];
      assert.equal((pic(b[i]) - pic(b[i - 1])) & 0x7fff, 1, `viewer ${h} PictureID continuous at ${i}`);
      assert.equal(b[i][1] & 0x7f, 96, 'viewer payload type');
    }
  }
  assert.deepEqual(events.map((e) => [e.handle, e.data]), [
    [1, { streaming: 'event', result: { mid: 'v1', substream: 0 } }],
    [2, { streaming: 'event', result: { mid: 'v2', substream: 0 } }],
    [1, { streaming: 'event', result: { mid: 'v1', substream: 1 } }],
    [1, { streaming: 'event', result: { mid: 'v1', substream: 2 } }],
  ]);
});

test('simulcast fan-out, VP8 temporal layers: a viewer at temporal 0 gets layer 0 only, gap-free; raising the target adds the others', () => {
  const { gw, sent, events } = recordingGateway();
  const spec = parseMountpoint({ type: 'rtp', media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', simulcast: true, port2: 0 }] }, 1, false);
  const f = new Fanout(gw, spec.streams);
  const v = viewer(f, 1, 96);
  const vs = v.streams[0]!;
  vs.substreamTarget = 0;
  vs.temporalTarget = 0;
  resetSimulcast(vs, f.streams[0]);
  f.viewers.add(v);
  // VP8 with X, I (15-bit PictureID) and T: the T/K byte carries the temporal layer id.
  const packet = (seq: number, tid: number, keyframe: boolean): Buffer => {
    const p = Buffer.alloc(60, 0x33);
    p.set([0x90, 0xa0, 0x80, seq & 0xff, tid << 6, keyframe ? 0x00 : 0x01]);
    if (keyframe) p.set([0x00, 0x00, 0x9d, 0x01, 0x2a], 6);
    return rtp(100, seq, seq * 3000, p);
  };
  const tids = [0, 2, 1, 2, 0, 2, 1, 2, 0];
  tids.forEach((tid, i) => f.deliverRtp(0, packet(100 + i, tid, i === 0), 0));
  assert.deepEqual(sent.map((s) => s.bytes[16] >> 6), [0, 0, 0], 'temporal layer 0 only');
  const seqs = sent.map((s) => s.bytes.readUInt16BE(2));
  assert.deepEqual(seqs.map((q) => (q - seqs[0]) & 0xffff), [0, 1, 2], 'dropped layers leave no sequence gap');
  // Raise the target: from the first layer-2 packet on, the viewer gets every layer.
  vs.sim!.setTemporalTarget(2);
  sent.length = 0;
  tids.forEach((tid, i) => f.deliverRtp(0, packet(200 + i, tid, false), 0));
  assert.deepEqual(sent.map((s) => s.bytes[16] >> 6), tids);
  assert.ok(events.some((e) => (e.data.result as Record<string, unknown>).temporal === 2), JSON.stringify(events));
});

test('mountpoint specs: legacy and media syntax, .jcfg strings, Janus error codes', () => {
  const legacy = parseMountpoint({ type: 'rtp', audio: true, audioport: 0, audiopt: 111, audiortpmap: 'opus/48000/2', video: true, videoport: 5004, videopt: 100, videocodec: 'vp8' }, 5, false);
  assert.deepEqual(legacy.streams.map((s) => [s.mid, s.type, s.codec, s.pt, s.port]), [['a', 'audio', 'opus', 111, 0], ['v', 'video', 'vp8', 100, 5004]]);
  assert.equal(legacy.name, 'mp-5');
  const jcfg = parseMountpoint({ type: 'rtp', audio: 'yes', audioport: '5002', audiopt: '0', video: 'no' }, 6, true, 'from-file');
  assert.deepEqual(jcfg.streams.map((s) => [s.codec, s.pt, s.port]), [['pcmu', 0, 5002]]);
  assert.equal(jcfg.name, 'from-file');
  const code = (f: () => unknown): number => {
    try { f(); } catch (e) { return (e as StreamingError).code; }
    return 0;
  };
  assert.equal(code(() => parseMountpoint({ type: 'rtp', media: [{ type: 'audio', port: 0 }] }, 1, false)), 453);
  assert.equal(code(() => parseMountpoint({ type: 'rtp', media: [{ type: 'video', mid: 'v', port: 0, pt: 96, codec: 'mpeg2' }] }, 1, false)), 454);
  assert.equal(code(() => parseMountpoint({ type: 'rtp', audio: true, audioport: 70000, audiopt: 0 }, 1, false)), 454);
  assert.equal(code(() => parseMountpoint({ type: 'rtp' }, 1, false)), 456);
  assert.equal(code(() => parseMountpoint({ type: 'live', filename: '/etc/passwd' }, 1, false)), 456);
  assert.equal(code(() => parseMountpoint({ type: 'rtsp', audio: true, url: 'http://x/' }, 1, false)), 454);
  assert.equal(code(() => parseMountpoint({ type: 'rtp', media: [{ type: 'audio', mid: 'a', port: 0, pt: 0, fmtp: 1 }] }, 1, false)), 454);
});
