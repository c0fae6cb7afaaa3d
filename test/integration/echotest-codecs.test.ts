/**
 * EchoTest codec preferences with real werift peers: audiocodec / videocodec (one name or a comma
 * list in order of preference) and videoprofile (H.264 profile-level-id, VP9 profile-id) choose the
 * answered codec among those offered; media then flows in that codec and comes back with its payload
 * type.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { RtpHeader, RtpPacket } from 'werift';
import { C, EchoHandle, answeredFormats, connectEcho, mline, offerPeer, sleep, until, type PeerSpec } from './echotest-common.ts';

const server = await startServer(transportConfig(), { logger: silentLogger() });
after(() => server.close());
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

interface Case {
  name: string;
  body: Record<string, unknown>;
  spec: PeerSpec;
  audio?: { pt: number; rtpmap: RegExp; fmtp?: RegExp };
  video?: { pt: number; rtpmap: RegExp; fmtp?: RegExp };
}

const CASES: Case[] = [
  { name: 'audiocodec pcmu', body: { audiocodec: 'pcmu' }, spec: { audio: [C.OPUS, C.PCMU, C.PCMA] }, audio: { pt: 0, rtpmap: /^a=rtpmap:0 PCMU\/8000$/ } },
  { name: 'audiocodec "opus,pcma" with opus offered last', body: { audiocodec: 'opus,pcma' }, spec: { audio: [C.PCMU, C.PCMA, C.OPUS] }, audio: { pt: 111, rtpmap: /^a=rtpmap:111 opus\/48000\/2$/ } },
  { name: 'audiocodec "g722,pcma": the first one offered wins', body: { audiocodec: 'g722, PCMA' }, spec: { audio: [C.OPUS, C.PCMU, C.PCMA] }, audio: { pt: 8, rtpmap: /^a=rtpmap:8 PCMA\/8000$/ } },
  {
    name: 'videocodec h264 (first profile offered)', body: { videocodec: 'h264' }, spec: { audio: [C.OPUS], video: [C.VP8, C.H264_42, C.H264_64] },
    audio: { pt: 111, rtpmap: /opus/ }, video: { pt: 102, rtpmap: /^a=rtpmap:102 H264\/90000$/, fmtp: /^a=fmtp:102 .*packetization-mode=1.*profile-level-id=42e01f/ },
  },
  {
    name: 'videocodec h264 + videoprofile 640c1f', body: { videocodec: 'h264', videoprofile: '640c1f' }, spec: { video: [C.VP8, C.H264_42, C.H264_64] },
    video: { pt: 104, rtpmap: /^a=rtpmap:104 H264\/90000$/, fmtp: /profile-level-id=640c1f/ },
  },
  {
    name: 'videocodec vp9 + videoprofile 2', body: { videocodec: 'vp9', videoprofile: '2' }, spec: { video: [C.VP8, C.VP9_0, C.VP9_2] },
    video: { pt: 100, rtpmap: /^a=rtpmap:100 VP9\/90000$/, fmtp: /^a=fmtp:100 profile-id=2$/ },
  },
  { name: 'videocodec "vp8,h264" with h264 offered first', body: { videocodec: 'vp8,h264' }, spec: { video: [C.H264_42, C.VP8] }, video: { pt: 96, rtpmap: /^a=rtpmap:96 VP8\/90000$/ } },
  // As Janus: without a preference its own order (opus first, vp8 first) beats the offer's.
  { name: 'no preference: opus and vp8 even when offered last', body: { audio: true, video: true }, spec: { audio: [C.PCMA, C.OPUS], video: [C.VP9_2, C.VP8] }, audio: { pt: 111, rtpmap: /opus/ }, video: { pt: 96, rtpmap: /VP8/ } },
  { name: 'no preference, no opus: pcmu before pcma', body: { audio: true }, spec: { audio: [C.PCMA, C.PCMU] }, audio: { pt: 0, rtpmap: /PCMU/ } },
];

for (const c of CASES) {
  test(`${c.name}: answered, and echoed with that payload type`, async () => {
    const h = await EchoHandle.attach(wsUrl);
    const peer = await offerPeer(c.spec);
    try {
      const answer = await connectEcho(h, peer, c.body);
      for (const [kind, want] of [['audio', c.audio], ['video', c.video]] as const) {
        if (!want) continue;
        const m = mline(answer, kind);
        assert.deepEqual(answeredFormats(answer, kind).formats, [want.pt], m.join(' | '));
        assert.ok(m.some((l) => want.rtpmap.test(l)), m.join(' | '));
        if (want.fmtp) assert.ok(m.some((l) => want.fmtp!.test(l)), m.join(' | '));
        assert.equal(m.filter((l) => l.startsWith('a=rtpmap:')).length, 1, 'one codec per m-line');
      }
      // The client's senders now use the negotiated codec: whatever payload type we write is replaced.
      for (let i = 0; i < 30; i++) {
        if (c.audio) peer.audio!.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 127, sequenceNumber: 100 + i, timestamp: 160 * i, marker: false }), Buffer.alloc(40, i)));
        if (c.video) peer.video!.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 127, sequenceNumber: 500 + i, timestamp: 3000 * i, marker: true }), Buffer.alloc(60, i)));
        await sleep(3);
      }
      const count = (pt: number) => peer.rtp.filter((p) => p.header.payloadType === pt).length;
      await until(() => (!c.audio || count(c.audio.pt) >= 25) && (!c.video || count(c.video.pt) >= 25), 5000, 'echoed packets');
      const pts = new Set(peer.rtp.map((p) => p.header.payloadType));
      assert.deepEqual([...pts].sort(), [c.audio?.pt, c.video?.pt].filter((p) => p !== undefined).sort());
    } finally {
      await peer.pc.close();
      await h.close();
    }
  });
}
