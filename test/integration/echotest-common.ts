/**
 * Shared pieces of the EchoTest integration tests (echotest-*.test.ts): werift client peers offering
 * chosen codecs, header extensions and rid simulcast on loopback (no STUN: PITFALLS), a Janus API
 * session on the EchoTest, and RTP payload builders (Opus, VP8 with a real payload descriptor and key
 * frame header) that janus-pp-rec accepts.
 */
import assert from 'node:assert/strict';
import {
  RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpHeader, RtpPacket, useSdesMid, useSdesRTPStreamId,
  type RTCDataChannel, type RTCRtpHeaderExtensionParameters, type RtcpPacket,
} from 'werift';
import { JanusWsClient, newTransaction, type JanusReply } from '../helpers/janus-client.ts';
import { noStun, waitConnected, waitGathered } from '../helpers/werift-peer.ts';

export const ECHOTEST = 'janus.plugin.echotest';

export function codec(mimeType: string, clockRate: number, payloadType: number, parameters?: string, channels?: number): RTCRtpCodecParameters {
  const rtcpFeedback = mimeType.startsWith('video/') ? [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }] : [];
  return new RTCRtpCodecParameters({ mimeType, clockRate, payloadType, channels, parameters, rtcpFeedback });
}

export const C = {
  OPUS: codec('audio/opus', 48000, 111, undefined, 2),
  PCMU: codec('audio/PCMU', 8000, 0),
  PCMA: codec('audio/PCMA', 8000, 8),
  G729: codec('audio/G729', 8000, 18),
  RED: codec('audio/red', 48000, 63, '111/111', 2),
  VP8: codec('video/VP8', 90000, 96),
  VP9_0: codec('video/VP9', 90000, 98, 'profile-id=0'),
  VP9_2: codec('video/VP9', 90000, 100, 'profile-id=2'),
  H264_42: codec('video/H264', 90000, 102, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'),
  H264_64: codec('video/H264', 90000, 104, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f'),
} as const;

export interface PeerSpec {
  audio?: RTCRtpCodecParameters[];
  video?: RTCRtpCodecParameters[];
  data?: boolean;
  /** rids to send as simulcast, in the order of a=simulcast (janus.js: h;m;l). */
  simulcast?: string[];
}

export interface ClientPeer {
  pc: RTCPeerConnection;
  sdp: string;
  audio?: MediaStreamTrack;
  video?: MediaStreamTrack;
  channel?: RTCDataChannel;
  /** Every RTP packet received, whatever its SSRC (raw, from the DTLS transport). */
  rtp: RtpPacket[];
  rtcp: RtcpPacket[];
}

/** A werift peer on 127.0.0.1 offering exactly the given codecs (mid and rid header extensions). */
export async function offerPeer(spec: PeerSpec): Promise<ClientPeer> {
  const headerExtensions: { audio: RTCRtpHeaderExtensionParameters[]; video: RTCRtpHeaderExtensionParameters[] } = {
    audio: [useSdesMid()],
    video: [useSdesMid(), useSdesRTPStreamId()],
  };
  const pc = new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' }, bundlePolicy: 'max-bundle',
    codecs: { audio: spec.audio ?? [], video: spec.video ?? [] }, headerExtensions,
  });
  assert.equal(pc.config.iceServers.length, 0);
  const peer: ClientPeer = { pc, sdp: '', rtp: [], rtcp: [] };
  if (spec.audio?.length) {
    peer.audio = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(peer.audio, { direction: 'sendrecv' });
  }
  if (spec.video?.length) {
    peer.video = new MediaStreamTrack({ kind: 'video' });
    const simulcast = spec.simulcast?.map((rid) => ({ direction: 'send' as const, rid }));
    pc.addTransceiver(peer.video, simulcast ? { direction: 'sendrecv', simulcast } : { direction: 'sendrecv' });
  }
  if (spec.data) peer.channel = pc.createDataChannel('echo');
  const offer = await pc.createOffer();
  noStun(pc);
  await pc.setLocalDescription(offer);
  await waitGathered(pc);
  peer.sdp = pc.localDescription!.sdp;
  return peer;
}

/** Listen to every RTP/RTCP packet the peer's transport receives (call once connected). */
export function capture(peer: ClientPeer): void {
  const dtls = peer.pc.dtlsTransports[0];
  dtls.onRtp.subscribe((p) => peer.rtp.push(p));
  dtls.onRtcp.subscribe((p) => peer.rtcp.push(p));
}

export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One EchoTest handle over WebSocket. */
export class EchoHandle {
  constructor(readonly client: JanusWsClient, readonly sessionId: number, readonly handleId: number) {}

  static async attach(wsUrl: string): Promise<EchoHandle> {
    const client = await JanusWsClient.connect(wsUrl);
    const sid = await client.createSession();
    const hid = await client.attach(sid, ECHOTEST);
    return new EchoHandle(client, sid, hid);
  }

  /** Send a message (optionally with a JSEP) and resolve with its plugin event (after the ack). */
  async message(body: unknown, jsep?: Record<string, unknown>, timeoutMs = 5000): Promise<{ ack: JanusReply; event: JanusReply; data: Record<string, unknown> }> {
    const transaction = newTransaction();
    const ack = await this.client.request({ janus: 'message', session_id: this.sessionId, handle_id: this.handleId, transaction, body, ...(jsep ? { jsep } : {}) }, timeoutMs);
    assert.equal(ack.janus, 'ack', JSON.stringify(ack));
    const event = await this.client.waitFor((m) => m.janus === 'event' && m.transaction === transaction, timeoutMs);
    return { ack, event, data: event.plugindata?.data as Record<string, unknown> };
  }

  /** Plugin events without a transaction (simulcast switches, done, slow_link). */
  unsolicited(): Array<Record<string, unknown>> {
    return this.client.messages.filter((m) => m.janus === 'event' && m.sender === this.handleId && m.transaction === undefined).map((m) => m.plugindata?.data);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Offer, get the answer, connect; the answer SDP is returned. */
export async function connectEcho(h: EchoHandle, peer: ClientPeer, body: Record<string, unknown>, jsepExtra: Record<string, unknown> = {}): Promise<string> {
  const { data, event } = await h.message(body, { type: 'offer', sdp: peer.sdp, ...jsepExtra });
  assert.deepEqual(data, { echotest: 'event', result: 'ok' });
  assert.equal(event.jsep?.type, 'answer');
  await peer.pc.setRemoteDescription(event.jsep);
  await waitConnected(peer.pc);
  capture(peer);
  await h.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === h.handleId);
  return event.jsep.sdp as string;
}

/** The m-line (and its attributes) of a kind in an SDP. */
export function mline(sdp: string, kind: string): string[] {
  const lines = sdp.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith(`m=${kind} `));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('m='));
  return lines.slice(start, end < 0 ? undefined : end).filter((l) => l !== '');
}

/** Payload types of the m= line of a kind (empty when missing). */
export function answeredFormats(sdp: string, kind: string): { port: number; formats: number[]; direction: string | undefined } {
  const m = mline(sdp, kind);
  if (m.length === 0) return { port: -1, formats: [], direction: undefined };
  const [, port, , ...formats] = m[0].split(' ');
  const direction = m.find((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l))?.slice(2);
  return { port: Number(port), formats: formats.map(Number), direction };
}

// ---- RTP payloads ----

/** An Opus packet payload: TOC 0xFC (config 31, CELT FB 20 ms, stereo, one frame) + filler. */
export function opusPayload(seq: number): Buffer {
  const b = Buffer.alloc(60);
  b[0] = 0xfc;
  for (let i = 1; i < b.length; i++) b[i] = (seq * 7 + i) & 0xff;
  return b;
}

export interface Vp8Options {
  keyframe: boolean;
  /** 15-bit PictureID (always written, M=1). */
  pictureId: number;
  /** Temporal layer id: written with TL0PICIDX and Y=0 when given. */
  tid?: number;
  tl0picidx?: number;
  /** Payload bytes after the VP8 header, to recognise the packet when echoed. */
  tag: Buffer;
}

/**
 * One-packet VP8 frame (RFC 7741): descriptor X=1, S=1, PID=0 with I (M=1) and optionally L/T, then
 * the VP8 frame tag (key frame: P=0, show_frame, first partition size) and for key frames the start
 * code 9d 01 2a and a 640x480 size, then the tag bytes.
 */
export function vp8Payload(o: Vp8Options): Buffer {
  const x = 0x80 | (o.tid !== undefined ? 0x60 : 0);
  const desc = [0x90, x, 0x80 | ((o.pictureId >> 8) & 0x7f), o.pictureId & 0xff];
  if (o.tid !== undefined) desc.push((o.tl0picidx ?? 0) & 0xff, (o.tid & 3) << 6);
  const size = 10 + o.tag.length;
  // frame tag: bit0 = inverse key frame flag, bits1-3 version 0, bit4 show_frame, bits5-23 first part size
  const tag0 = (o.keyframe ? 0 : 1) | 0x10 | ((size & 0x7) << 5);
  const frame = [tag0, (size >> 3) & 0xff, (size >> 11) & 0xff];
  if (o.keyframe) frame.push(0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01); // 640 x 480, no scaling
  return Buffer.concat([Buffer.from(desc), Buffer.from(frame), o.tag]);
}

/** Read back the PictureID, TID and tag of a VP8 payload built by vp8Payload. */
export function parseVp8(p: Buffer): { pictureId: number; tid: number; tl0: number; keyframe: boolean; tag: Buffer } {
  const x = p[1];
  const pictureId = ((p[2] & 0x7f) << 8) | p[3];
  let at = 4;
  let tid = -1;
  let tl0 = -1;
  if (x & 0x40) tl0 = p[at++];
  if (x & 0x20) tid = p[at++] >> 6;
  const keyframe = (p[at] & 1) === 0;
  at += keyframe ? 10 : 3;
  return { pictureId, tid, tl0, keyframe, tag: p.subarray(at) };
}

/** An RTP packet with the given fields and one-byte header extensions. */
export function rtp(pt: number, seq: number, ts: number, ssrc: number, payload: Buffer, extensions: Array<{ id: number; payload: Buffer }> = [], marker = true): RtpPacket {
  return new RtpPacket(new RtpHeader({ payloadType: pt, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc, marker, extensions }), payload);
}

/** Send a crafted RTP packet on the peer's transport as is (SSRC, header extensions and all). */
export async function sendRaw(peer: ClientPeer, p: RtpPacket): Promise<void> {
  await peer.pc.dtlsTransports[0].sendRtp(p.payload, p.header);
}
