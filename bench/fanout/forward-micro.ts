/**
 * Micro-benchmark of the VideoRoom fan-out alone (src/plugins/videoroom/streams.ts): one 1200-byte
 * VP8 packet to N subscriber streams, with the core's relayRtp replaced by a counter, so only the
 * plugin's share is measured (header save/restore, SeqTsRewriter or simulcast selector per sink).
 * Also reports heap growth over the run (the path should allocate nothing per packet).
 *
 *   npx tsx bench/fanout/forward-micro.ts [N=100] [packets=20000]
 */
import { performance } from 'node:perf_hooks';
import type { GatewayFacade, PluginHandle } from '../../src/core/plugin.ts';
import { Forwarder, newPubStream, SubStream, type SinkOwner } from '../../src/plugins/videoroom/streams.ts';

const n = Number(process.argv[2] ?? 100);
const packets = Number(process.argv[3] ?? 20000);
let relayed = 0;
const gw = { relayRtp: () => { relayed++; } } as unknown as GatewayFacade;
const fw = new Forwarder(gw);
for (const simulcast of [false, true]) {
  const stream = newPubStream({
    mindex: 1, mid: '1', type: 'video', codec: 'vp8', payloadType: 96, clockRate: 90000, rtcpFb: [], extmaps: [], audioLevelExtId: 0,
    ...(simulcast ? { simulcast: { rids: [], ssrcs: [1, 2, 3], ridExtId: 0, codec: 'vp8' as const } } : {}),
  });
  const owner: SinkOwner = { handle: {} as PluginHandle, flowing: true, dataReady: false, onLayerChange: () => {}, onSvcChange: () => {}, wantKeyframe: () => {} };
  for (let i = 0; i < n; i++) new SubStream(owner, 0, stream, 1);
  const buf = Buffer.alloc(1200, 0x33);
  buf[0] = 0x80;
  buf[1] = 96;
  buf.writeUInt32BE(simulcast ? 3 : 2222, 8);
  buf[12] = 0x90; buf[13] = 0x80; buf[14] = 0x80; buf[15] = 1; buf[16] = 0x10; buf[17] = 0x02; buf[18] = 0; // VP8 keyframe
  buf.set([0x9d, 0x01, 0x2a], 19);
  relayed = 0;
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < packets; i++) {
    buf.writeUInt16BE(i & 0xffff, 2);
    buf.writeUInt32BE(i * 3000, 4);
    fw.forward(stream, buf, t0 + i * 5);
  }
  const ms = performance.now() - t0;
  const heap1 = process.memoryUsage().heapUsed;
  process.stdout.write(`${simulcast ? 'simulcast' : 'plain    '} N=${n}: ${((ms * 1000) / relayed).toFixed(3)} us per forwarded packet (${relayed} relayed), heap ${(heap1 - heap0) >= 0 ? '+' : ''}${((heap1 - heap0) / 1024).toFixed(0)} KB\n`);
}
