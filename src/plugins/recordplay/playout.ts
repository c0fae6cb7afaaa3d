/**
 * Playback of a recording to one viewer: the SDP offer matching the recorded media (payload types as
 * Janus uses them: audio 111, or 0/8/9 for PCMU/PCMA/G.722, video 100) and the paced sending of
 * the recorded frames, each stream on its own RTP clock (frame time = timestamp distance from the
 * first packet / clock rate), data messages on the recorder's millisecond clock.
 *
 * Frames are prepared once when a playout is created (header extensions of the recording dropped:
 * their ids mean nothing on the viewer's PeerConnection); sending rewrites payload type, sequence
 * number and timestamp in place and allocates nothing per packet.
 */
import { randomInt } from 'node:crypto';
import type { MediaPacket } from '../../core/plugin.ts';
import type { MjrFrame } from '../../media/mjr-reader.ts';
import type { Recording } from './library.ts';
import { RedUnwrapper, primaryOf } from '../../media/red.ts';

const RTPMAP: Record<string, string> = {
  opus: 'opus/48000/2', pcmu: 'PCMU/8000', pcma: 'PCMA/8000', g722: 'G722/8000',
  vp8: 'VP8/90000', vp9: 'VP9/90000', h264: 'H264/90000', av1: 'AV1/90000', h265: 'H265/90000',
};

/** The audio payload type of a playback: the static ones of G.711/G.722, else 111 (112 if RED took 111). */
export function audioPt(codec: string, opusRedPt = 0): number {
  if (codec === 'pcmu') return 0;
  if (codec === 'pcma') return 8;
  if (codec === 'g722') return 9;
  return opusRedPt === 111 ? 112 : 111;
}
export const VIDEO_PT = 100;

/** RTP clock of a recorded codec (G.722 keeps the 8000 Hz RTP clock of RFC 3551). */
export function clockOf(codec: string): number {
  if (codec === 'opus') return 48000;
  if (codec === 'pcmu' || codec === 'pcma' || codec === 'g722') return 8000;
  return 90000;
}

export function playable(codec: string | undefined): codec is string {
  return codec !== undefined && RTPMAP[codec] !== undefined;
}

/** The offer a viewer gets: sendonly audio/video (and a data channel) as recorded. */
export function playbackOffer(r: Recording, withData: boolean): string {
  const lines = ['v=0', `o=- ${Date.now()} 1 IN IP4 127.0.0.1`, `s=Recording ${r.id}`, 't=0 0'];
  let mid = 0;
  if (playable(r.acodec) && r.audioFile) {
    const red = r.acodec === 'opus' && r.opusRedPt ? r.opusRedPt : 0;
    const pt = audioPt(r.acodec, red);
    lines.push(`m=audio 9 UDP/TLS/RTP/SAVPF ${red ? `${red} ` : ''}${pt}`, 'c=IN IP4 1.1.1.1', `a=mid:${mid++}`, 'a=sendonly', 'a=rtcp-mux');
    // RED (RFC 2198) as recorded: its payload type first, wrapping the Opus one.
    if (red) lines.push(`a=rtpmap:${red} red/48000/2`);
    lines.push(`a=rtpmap:${pt} ${RTPMAP[r.acodec]}`);
    if (red) lines.push(`a=fmtp:${red} ${pt}/${pt}`);
    if (r.afmtp) lines.push(`a=fmtp:${pt} ${r.afmtp}`);
  }
  if (playable(r.vcodec) && r.videoFile) {
    lines.push(`m=video 9 UDP/TLS/RTP/SAVPF ${VIDEO_PT}`, 'c=IN IP4 1.1.1.1', `a=mid:${mid++}`, 'a=sendonly', 'a=rtcp-mux', `a=rtpmap:${VIDEO_PT} ${RTPMAP[r.vcodec]}`);
    const fmtp = r.vfmtp ?? (r.vcodec === 'h264' ? 'profile-level-id=42e01f;packetization-mode=1' : undefined);
    if (fmtp) lines.push(`a=fmtp:${VIDEO_PT} ${fmtp}`);
    for (const fb of ['ccm fir', 'nack', 'nack pli', 'goog-remb']) lines.push(`a=rtcp-fb:${VIDEO_PT} ${fb}`);
  }
  if (withData) lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 1.1.1.1', `a=mid:${mid++}`, 'a=sctp-port:5000');
  return `${lines.join('\r\n')}\r\n`;
}

/** A copy of an RTP packet without its header extension (X bit cleared). */
function withoutExtensions(p: Buffer): Buffer | undefined {
  const cc = p[0] & 0x0f;
  let off = 12 + cc * 4;
  if (p.length < off) return undefined;
  if ((p[0] & 0x10) === 0) return Buffer.from(p);
  if (p.length < off + 4) return undefined;
  const extEnd = off + 4 + p.readUInt16BE(off + 2) * 4;
  if (extEnd > p.length) return undefined;
  const out = Buffer.allocUnsafe(p.length - (extEnd - off));
  p.copy(out, 0, 0, off);
  p.copy(out, off, extEnd);
  out[0] &= ~0x10;
  return out;
}

interface Stream {
  packets: Buffer[];
  /** Due time of each packet, ms after the start. */
  due: Float64Array;
  next: number;
  /** Payload type of each packet. */
  pts: Uint8Array;
  seq: number;
  tsBase: number;
  ts: Uint32Array;
  view: MediaPacket;
}

export interface PlayoutSinks {
  rtp(packet: MediaPacket): void;
  data(text: Buffer | string): void;
  /** Everything was sent. */
  end(): void;
}

const TICK_MS = 10;

export class Playout {
  readonly #streams: Stream[] = [];
  readonly #data: Array<{ at: number; payload: Buffer | string }> = [];
  #dataNext = 0;
  readonly #sinks: PlayoutSinks;
  #timer: NodeJS.Timeout | undefined;
  #start = 0;
  #pausedAt = 0;
  #done = false;
  sent = 0;

  /**
   * `keepRed`: the viewer accepted RED, so RED packets of a recording made with it go out as they
   * are; otherwise each one is cut down to its primary Opus block.
   */
  constructor(r: Recording, frames: { audio?: MjrFrame[]; video?: MjrFrame[]; data?: MjrFrame[] }, mids: { audio?: string; video?: string }, sinks: PlayoutSinks, keepRed = false) {
    this.#sinks = sinks;
    if (frames.audio && r.acodec && mids.audio !== undefined) {
      const red = r.acodec === 'opus' && r.opusRedPt ? { pt: r.opusRedPt, keep: keepRed } : undefined;
      this.#add(frames.audio, audioPt(r.acodec, red?.pt), clockOf(r.acodec), mids.audio, false, red);
    }
    if (frames.video && r.vcodec && mids.video !== undefined) this.#add(frames.video, VIDEO_PT, 90000, mids.video, true);
    if (frames.data) {
      for (const f of frames.data) this.#data.push({ at: f.time, payload: r.textdata ? f.data.toString('utf8') : Buffer.from(f.data) });
    }
  }

  #add(frames: MjrFrame[], pt: number, clock: number, mid: string, video: boolean, red?: { pt: number; keep: boolean }): void {
    const packets: Buffer[] = [];
    const pts: number[] = [];
    const times: number[] = [];
    const stamps: number[] = [];
    const unwrapper = red && !red.keep ? new RedUnwrapper() : undefined;
    const ts0 = frames.length ? frames[0].ts : 0;
    let tsMin = ts0;
    for (const f of frames) tsMin = Math.min(tsMin, f.ts);
    for (const f of frames) {
      let p = withoutExtensions(f.data);
      if (!p) continue;
      let out = pt;
      if (red && (p[1] & 0x7f) === red.pt) {
        // As Janus: RED stays RED for a viewer that accepted it; else its primary block, as Opus.
        // A RED packet that does not parse goes out unchanged.
        const primary = unwrapper ? primaryOf(p, unwrapper) : undefined;
        if (primary) p = primary;
        else out = red.pt;
      }
      packets.push(p);
      pts.push(out);
      times.push(Math.max(0, ((f.ts - tsMin) / clock) * 1000));
      stamps.push((f.ts - tsMin) >>> 0);
    }
    if (packets.length === 0) return;
    this.#streams.push({
      packets, due: Float64Array.from(times), next: 0, pts: Uint8Array.from(pts), seq: randomInt(0, 0x8000), tsBase: randomInt(0, 0x7fffffff),
      ts: Uint32Array.from(stamps), view: { buffer: packets[0], mid, video },
    });
  }

  get streams(): number {
    return this.#streams.length + (this.#data.length ? 1 : 0);
  }

  start(): void {
    if (this.#timer || this.#done) return;
    this.#start = performance.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  pause(): void {
    if (this.#pausedAt === 0 && this.#timer) this.#pausedAt = performance.now();
  }

  resume(): void {
    if (this.#pausedAt === 0) return;
    // The paused time does not count: everything due later stays later by as much.
    this.#start += performance.now() - this.#pausedAt;
    this.#pausedAt = 0;
  }

  get paused(): boolean {
    return this.#pausedAt !== 0;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#done = true;
  }

  #tick(): void {
    if (this.#pausedAt !== 0) return;
    const elapsed = performance.now() - this.#start;
    let pending = false;
    for (const s of this.#streams) {
      while (s.next < s.packets.length && s.due[s.next] <= elapsed) {
        const p = s.packets[s.next];
        p[1] = (p[1] & 0x80) | s.pts[s.next];
        p.writeUInt16BE(s.seq, 2);
        s.seq = (s.seq + 1) & 0xffff;
        p.writeUInt32BE((s.tsBase + s.ts[s.next]) >>> 0, 4);
        s.view.buffer = p;
        this.#sinks.rtp(s.view);
        this.sent++;
        s.next++;
      }
      if (s.next < s.packets.length) pending = true;
    }
    while (this.#dataNext < this.#data.length && this.#data[this.#dataNext].at <= elapsed) {
      this.#sinks.data(this.#data[this.#dataNext++].payload);
    }
    if (this.#dataNext < this.#data.length) pending = true;
    if (!pending) {
      this.stop();
      this.#sinks.end();
    }
  }
}
