/**
 * A real WebRTC client peer for tests: werift's RTCPeerConnection gathering on 127.0.0.1 only, with
 * no STUN server (werift adds Google's by default; PITFALLS), so all traffic stays on loopback.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpPacket, RtpHeader, type RTCDataChannel } from 'werift';

export const OPUS = new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 });
export const VP8 = new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }] });

/**
 * werift's ICE agent falls back to Google's STUN server when it has none (PITFALLS); clear it on
 * every transport before gathering starts, so nothing but loopback is contacted.
 */
export function noStun(pc: RTCPeerConnection): void {
  for (const t of pc.iceTransports) {
    const conn = t.connection as unknown as { stunServer?: unknown };
    conn.stunServer = undefined;
  }
}

/** A loopback peer with Opus and VP8, or with the codecs given (e.g. RED or RTX added). */
export function loopbackPeer(codecs?: { audio?: RTCRtpCodecParameters[]; video?: RTCRtpCodecParameters[] }): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    bundlePolicy: 'max-bundle',
    codecs: { audio: codecs?.audio ?? [OPUS], video: codecs?.video ?? [VP8] },
  });
  if (pc.config.iceServers.length !== 0) throw new Error('werift client would contact a STUN server');
  return pc;
}

/** Offer with the given media, after gathering completed (no trickle needed). */
export async function offerWith(pc: RTCPeerConnection, kinds: Array<'audio' | 'video'>, data: boolean): Promise<{ sdp: string; tracks: MediaStreamTrack[]; channel?: RTCDataChannel }> {
  const tracks: MediaStreamTrack[] = [];
  for (const kind of kinds) {
    const track = new MediaStreamTrack({ kind });
    pc.addTransceiver(track, { direction: 'sendrecv' });
    tracks.push(track);
  }
  const channel = data ? pc.createDataChannel('echo') : undefined;
  const offer = await pc.createOffer();
  noStun(pc);
  await pc.setLocalDescription(offer);
  await waitGathered(pc);
  return { sdp: pc.localDescription!.sdp, tracks, channel };
}

/** Answer a remote offer, gathering on loopback only. */
export async function answerTo(pc: RTCPeerConnection, offer: { type: 'offer'; sdp: string }): Promise<string> {
  await pc.setRemoteDescription(offer);
  const answer = await pc.createAnswer();
  noStun(pc);
  await pc.setLocalDescription(answer);
  await waitGathered(pc);
  return pc.localDescription!.sdp;
}

export function waitGathered(pc: RTCPeerConnection, timeoutMs = 5000): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error('ICE gathering did not complete')), timeoutMs);
    pc.iceGatheringStateChange.subscribe((s) => { if (s === 'complete') { clearTimeout(t); ok(); } });
  });
}

export function waitConnected(pc: RTCPeerConnection, timeoutMs = 10000): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve();
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`not connected: ${pc.connectionState}`)), timeoutMs);
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') { clearTimeout(t); ok(); }
      if (s === 'failed') { clearTimeout(t); fail(new Error('connection failed')); }
    });
  });
}

/** An RTP packet with a recognisable payload: `tag` then the sequence number. */
export function rtpPacket(pt: number, seq: number, ts: number, ssrc: number, tag: string, marker = false): RtpPacket {
  const payload = Buffer.concat([Buffer.from(tag), Buffer.from([seq >> 8, seq & 0xff]), Buffer.alloc(40, 7)]);
  return new RtpPacket(new RtpHeader({ payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc, marker }), payload);
}
