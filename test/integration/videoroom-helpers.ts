/**
 * Helpers for the VideoRoom tests: a Portunus server, a Janus client per participant, werift
 * publishers that send tagged Opus/VP8 RTP and werift subscribers that count what they receive.
 */
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { PortunusConfig } from '../../src/config/types.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient, newTransaction, type JanusReply } from '../helpers/janus-client.ts';
import { answerTo, loopbackPeer, noStun, OPUS, offerWith, rtpPacket, VP8, waitConnected, waitGathered } from '../helpers/werift-peer.ts';
import {
  MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, useAudioLevelIndication, useSdesMid, useSdesRTPStreamId, type RtcpPacket,
} from 'werift';

export const VR = 'janus.plugin.videoroom';

/** Everything opened by these helpers, closed by closeAll() in each file's after(): a failed test must not leave the process alive. */
const opened: Array<{ close(): unknown }> = [];

export async function closeAll(): Promise<void> {
  for (const x of opened.splice(0).reverse()) {
    try {
      await x.close();
    } catch {
      // already closed
    }
  }
}

export function track<T extends { close(): unknown }>(x: T): T {
  opened.push(x);
  return x;
}

export async function startVideoRoomServer(mutate?: (c: PortunusConfig) => void): Promise<RunningServer> {
  return startServer(transportConfig(mutate), { logger: silentLogger() });
}

export async function until(cond: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One Janus session with one VideoRoom handle. */
export class Participant {
  private constructor(readonly client: JanusWsClient, readonly sid: number, readonly hid: number) {}

  static async attach(wsUrl: string): Promise<Participant> {
    const client = await JanusWsClient.connect(wsUrl);
    const sid = await client.createSession();
    const hid = await client.attach(sid, VR);
    return track(new Participant(client, sid, hid));
  }

  /** A synchronous request: the plugindata of the reply. */
  async sync(body: Record<string, unknown>): Promise<any> {
    const r = await this.client.request({ janus: 'message', session_id: this.sid, handle_id: this.hid, body });
    assert.equal(r.janus, 'success', JSON.stringify(r));
    return r.plugindata.data;
  }

  /** An asynchronous request: the event answering it (with its jsep, if any). */
  async async(body: Record<string, unknown>, jsep?: Record<string, unknown>, timeoutMs = 8000): Promise<JanusReply> {
    const transaction = newTransaction();
    const ev = this.client.waitFor((m) => m.janus === 'event' && m.transaction === transaction, timeoutMs);
    const ack = await this.client.request({ janus: 'message', session_id: this.sid, handle_id: this.hid, transaction, body, ...(jsep ? { jsep } : {}) });
    assert.equal(ack.janus, 'ack', JSON.stringify(ack));
    return ev;
  }

  /** Plugin events without a transaction (notifications), in arrival order. */
  notifications(pred: (d: any) => boolean = () => true): any[] {
    return this.client.messages.filter((m) => m.janus === 'event' && m.sender === this.hid && m.transaction === undefined).map((m) => m.plugindata.data).filter(pred);
  }

  async waitNotification(pred: (d: any) => boolean, ms = 8000): Promise<JanusReply> {
    return this.client.waitFor((m) => m.janus === 'event' && m.sender === this.hid && m.transaction === undefined && pred(m.plugindata?.data), ms);
  }

  close(): void {
    this.client.close();
  }
}

export interface Publishing {
  p: Participant;
  id: number;
  pc: RTCPeerConnection;
  tracks: MediaStreamTrack[];
  /** Send `n` tagged packets per track (audio PT 111, video PT 96), `gapMs` apart. */
  send(n: number, tag: string, gapMs?: number): Promise<void>;
  pli: number;
}

export async function publish(wsUrl: string, room: number, display: string, kinds: Array<'audio' | 'video'> = ['audio', 'video']): Promise<Publishing> {
  const p = await Participant.attach(wsUrl);
  const joined = await p.async({ request: 'join', room, ptype: 'publisher', display });
  assert.equal(joined.plugindata.data.videoroom, 'joined', JSON.stringify(joined.plugindata.data));
  const pc = track(loopbackPeer());
  const offer = await offerWith(pc, kinds, false);
  const conf = await p.async({ request: 'configure', audio: true, video: true }, { type: 'offer', sdp: offer.sdp });
  assert.equal(conf.plugindata.data.configured, 'ok', JSON.stringify(conf.plugindata.data));
  await pc.setRemoteDescription(conf.jsep);
  await waitConnected(pc);
  const pub: Publishing = {
    p, id: joined.plugindata.data.id, pc, tracks: offer.tracks, pli: 0,
    async send(n, tag, gapMs = 4) {
      for (let i = 0; i < n; i++) {
        seq++;
        offer.tracks.forEach((t, k) => t.writeRtp(rtpPacket(kinds[k] === 'audio' ? 111 : 96, (seq + k * 7000) & 0xffff, seq * 960, 1000 + k, `${tag}${kinds[k][0]}`, kinds[k] === 'video')));
        await sleep(gapMs);
      }
    },
  };
  let seq = 100;
  pc.getTransceivers().forEach((t) => t.sender.onRtcp.subscribe((r) => { if (r.type === 206) pub.pli++; }));
  return pub;
}

export interface Subscribing {
  p: Participant;
  pc: RTCPeerConnection;
  /** Received packets by subscriber mid. */
  received: Map<string, RtpPacket[]>;
  attached: any;
}

/** Join as a subscriber with the multistream API, answer, start, and wait for ICE/DTLS. */
export async function subscribe(wsUrl: string, room: number, streams: Array<Record<string, unknown>> | undefined, extra: Record<string, unknown> = {}, peer?: RTCPeerConnection): Promise<Subscribing> {
  const p = await Participant.attach(wsUrl);
  const ev = await p.async({ request: 'join', room, ptype: 'subscriber', ...(streams ? { streams } : {}), ...extra });
  const attached = ev.plugindata.data;
  assert.equal(attached.videoroom, 'attached', JSON.stringify(attached));
  assert.equal(ev.jsep?.type, 'offer');
  const pc = track(peer ?? loopbackPeer());
  const received = new Map<string, RtpPacket[]>();
  pc.onTrack.subscribe((track) => {
    const tr = pc.getTransceivers().find((t) => t.receiver.track === track || t.receiver.tracks?.includes?.(track));
    const mid = tr?.mid ?? '?';
    track.onReceiveRtp.subscribe((pkt) => {
      const list = received.get(mid) ?? [];
      list.push(pkt);
      received.set(mid, list);
    });
  });
  const answer = await answerTo(pc, ev.jsep);
  const started = await p.async({ request: 'start' }, { type: 'answer', sdp: answer });
  assert.equal(started.plugindata.data.started, 'ok', JSON.stringify(started.plugindata.data));
  await waitConnected(pc);
  return { p, pc, received, attached };
}

export function count(s: Subscribing, mid: string, tag?: string): number {
  const list = s.received.get(mid) ?? [];
  return tag === undefined ? list.length : list.filter((x) => x.payload.subarray(0, tag.length).toString() === tag).length;
}

/** A loopback werift peer with the given codecs (no STUN). */
export function peerWith(audio: RTCRtpCodecParameters[], video: RTCRtpCodecParameters[]): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' }, bundlePolicy: 'max-bundle', codecs: { audio, video },
  });
  assert.equal(pc.config.iceServers.length, 0);
  return track(pc);
}

/** A publisher that writes crafted RTP on its transport (header extensions, simulcast SSRCs). */
export interface RawPublisher {
  p: Participant;
  id: number;
  pc: RTCPeerConnection;
  /** Extension ids from our answer. */
  ext: { mid: number; rid: number; level: number };
  rtcp: RtcpPacket[];
  send(pt: number, seq: number, ts: number, ssrc: number, payload: Buffer, extensions?: Array<{ id: number; payload: Buffer }>): Promise<void>;
}

export async function rawPublisher(wsUrl: string, room: number, opts: { simulcast?: string[]; jsep?: Record<string, unknown>; video?: RTCRtpCodecParameters; munge?: (sdp: string) => string } = {}): Promise<RawPublisher> {
  const pc = new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' }, bundlePolicy: 'max-bundle', codecs: { audio: [OPUS], video: [opts.video ?? VP8] },
    headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication()], video: [useSdesMid(), useSdesRTPStreamId()] },
  });
  assert.equal(pc.config.iceServers.length, 0);
  track(pc);
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
  const simulcast = opts.simulcast?.map((rid) => ({ direction: 'send' as const, rid }));
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), simulcast ? { direction: 'sendonly', simulcast } : { direction: 'sendonly' });
  const offer = await pc.createOffer();
  noStun(pc);
  await pc.setLocalDescription(offer);
  await waitGathered(pc);
  const p = await Participant.attach(wsUrl);
  const ev = await p.async({ request: 'joinandconfigure', room, ptype: 'publisher', display: 'raw' }, { type: 'offer', sdp: opts.munge ? opts.munge(pc.localDescription!.sdp) : pc.localDescription!.sdp, ...(opts.jsep ?? {}) });
  assert.equal(ev.plugindata.data.videoroom, 'joined', JSON.stringify(ev.plugindata.data));
  await pc.setRemoteDescription(ev.jsep);
  await waitConnected(pc);
  const sdp: string = ev.jsep.sdp;
  const ext = (uri: string) => Number(sdp.split("\r\n").find((l) => l.startsWith("a=extmap:") && l.endsWith(` ${uri}`))?.slice(9).split(" ")[0] ?? 0);
  const rtcp: RtcpPacket[] = [];
  pc.dtlsTransports[0].onRtcp.subscribe((r) => rtcp.push(r));
  return {
    p, id: ev.plugindata.data.id, pc, rtcp,
    ext: { mid: ext('urn:ietf:params:rtp-hdrext:sdes:mid'), rid: ext('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'), level: ext('urn:ietf:params:rtp-hdrext:ssrc-audio-level') },
    async send(pt, seq, ts, ssrc, payload, extensions = []) {
      const h = new RtpHeader({ payloadType: pt, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc, marker: true, extensions });
      await pc.dtlsTransports[0].sendRtp(payload, h);
    },
  };
}

/**
 * One-packet VP8 frame (RFC 7741 descriptor with a 15-bit PictureID and, with `tid`, TL0PICIDX and
 * the temporal layer id; key frames with the start code) ending in `tag`.
 */
export function vp8Frame(keyframe: boolean, pictureId: number, tag: string, tid?: number): Buffer {
  const t = Buffer.from(tag);
  const size = 10 + t.length;
  const frame = [(keyframe ? 0 : 1) | 0x10 | ((size & 7) << 5), (size >> 3) & 0xff, (size >> 11) & 0xff];
  if (keyframe) frame.push(0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01);
  const desc = [0x90, tid === undefined ? 0x80 : 0xe0, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff];
  if (tid !== undefined) desc.push(pictureId & 0xff, (tid & 3) << 6);
  return Buffer.concat([Buffer.from(desc), Buffer.from(frame), t]);
}

/** The tag at the end of a vp8Frame payload. */
export function vp8Tag(p: Buffer): string {
  const at = 4 + (p[1] & 0x40 ? 1 : 0) + (p[1] & 0x20 ? 1 : 0);
  const key = (p[at] & 1) === 0;
  return p.subarray(at + (key ? 10 : 3)).toString();
}

export const VP9 = new RTCRtpCodecParameters({ mimeType: 'video/VP9', clockRate: 90000, payloadType: 98, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] });
/** Temporal layer of each picture in the usual three-layer pattern (L3T3). */
const VP9_TIDS = [0, 2, 1, 2];

/**
 * One VP9 SVC layer frame in one packet (RFC 9628 non-flexible mode: picture id, TID/U/SID/D,
 * TL0PICIDX) with the payload tag `s<sid>t<tid>p<pic>`.
 */
export function vp9Packet(pic: number, sid: number, tid: number, key: boolean): Buffer {
  // As libwebrtc, the first packet of a keyframe carries the scalability structure (V).
  const ss = key && sid === 0;
  const d0 = 0x80 | (key ? 0 : 0x40) | 0x20 | 0x08 | 0x04 | (ss ? 0x02 : 0); // I, P, L, B, E, V
  const layer = (tid << 5) | (tid > 0 ? 0x10 : 0) | (sid << 1) | (sid > 0 ? 1 : 0);
  const tl0 = Math.floor(pic / 4) & 0xff;
  // SS: N_S = 2 (three spatial layers), Y: 320x180, 640x360, 1280x720; no picture group.
  const structure = ss ? [(2 << 5) | 0x10, 1, 64, 0, 180, 2, 128, 1, 104, 5, 0, 2, 208] : [];
  return Buffer.concat([Buffer.from([d0, 0x80 | ((pic >> 8) & 0x7f), pic & 0xff, layer, tl0, ...structure]), Buffer.from(`s${sid}t${tid}p${pic}`), Buffer.alloc(30, 9)]);
}

let vp9Seq = 1000;
/** Picture `pic` of a 3x3 SVC stream from a raw publisher (video mid '1', PT 98): three packets, the marker on the last. */
export async function vp9Picture(pub: RawPublisher, pic: number, key: boolean): Promise<void> {
  const tid = key ? 0 : VP9_TIDS[pic % 4];
  for (let sid = 0; sid < 3; sid++) {
    vp9Seq++;
    const h = new RtpHeader({ payloadType: 98, sequenceNumber: vp9Seq & 0xffff, timestamp: (pic * 3000) >>> 0, ssrc: 0x5151, marker: sid === 2, extensions: [{ id: pub.ext.mid, payload: Buffer.from('1') }] });
    await pub.pc.dtlsTransports[0].sendRtp(vp9Packet(pic, sid, tid, key), h);
  }
  await sleep(3);
}
