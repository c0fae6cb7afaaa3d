/**
 * The SDP offer a viewer gets on `watch`: one sendonly m-line per watched stream with the
 * mountpoint's codec, payload type and fmtp (H.264 sprop-parameter-sets from a camera included),
 * video with NACK/PLI/FIR/REMB feedback, and an SCTP m-line for a data stream. The core adds ICE,
 * DTLS, BUNDLE and our SSRCs (handle-media.ts prepareLocal).
 */
import type { LiveStream } from './fanout.ts';

const RTPMAP_NAMES: Record<string, string> = {
  opus: 'opus', multiopus: 'multiopus', pcmu: 'PCMU', pcma: 'PCMA', g722: 'G722', isac16: 'ISAC', isac32: 'ISAC', l16: 'L16',
  vp8: 'VP8', vp9: 'VP9', h264: 'H264', av1: 'AV1', h265: 'H265',
};
const DEFAULT_FMTP: Record<string, string> = {
  h264: 'profile-level-id=42e01f;packetization-mode=1',
  opus: 'minptime=10;useinbandfec=1',
};

/** Characters an fmtp from a config or a camera may not carry into our SDP (line injection). */
const SAFE_FMTP = /^[\x21-\x7e ]{1,1024}$/;

export function rtpmapOf(s: LiveStream): string {
  const name = RTPMAP_NAMES[s.codec] ?? s.codec.toUpperCase();
  const channels = s.spec.channels ?? (s.codec === 'opus' ? 2 : undefined);
  return `${name}/${s.clockRate}${channels && s.spec.type === 'audio' ? `/${channels}` : ''}`;
}

export function fmtpOf(s: LiveStream): string | undefined {
  const f = s.fmtp ?? DEFAULT_FMTP[s.codec];
  return f !== undefined && SAFE_FMTP.test(f) ? f : undefined;
}

/** Payload type offered for a stream (the source's own; dynamic defaults when a camera gave none). */
export function offeredPt(s: LiveStream): number {
  if (s.spec.pt > 0 || s.codec === 'pcmu') return s.spec.pt;
  return s.video ? 96 : 111;
}

export function buildOffer(name: string, sessionVersion: number, streams: LiveStream[]): string {
  const lines = ['v=0', `o=- ${Date.now()} ${sessionVersion} IN IP4 127.0.0.1`, `s=${name.replace(/[\r\n]/g, ' ').slice(0, 128) || 'Mountpoint'}`, 't=0 0'];
  for (const s of streams) {
    if (s.spec.type === 'data') {
      lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 127.0.0.1', `a=mid:${s.spec.mid}`, 'a=sctp-port:5000');
      continue;
    }
    const pt = offeredPt(s);
    lines.push(`m=${s.spec.type} 9 UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 127.0.0.1', `a=mid:${s.spec.mid}`, 'a=sendonly', `a=rtpmap:${pt} ${rtpmapOf(s)}`);
    const fmtp = fmtpOf(s);
    if (fmtp) lines.push(`a=fmtp:${pt} ${fmtp}`);
    if (s.video) lines.push(`a=rtcp-fb:${pt} nack`, `a=rtcp-fb:${pt} nack pli`, `a=rtcp-fb:${pt} ccm fir`, `a=rtcp-fb:${pt} goog-remb`);
  }
  return lines.join('\r\n') + '\r\n';
}
