/**
 * One mountpoint's media path: every source packet (RTP from a socket, an RTSP session or a file
 * pacer) enters `deliverRtp`, which keeps the stream's statistics, its keyframe buffer and its
 * recording, then writes the packet to each started viewer with that viewer's SSRC, sequence number,
 * timestamp and payload type, restoring the header afterwards.
 *
 * Hot path rules: the packet buffer is the one the source handed in (no copy), the RtpView and the
 * MediaPacket are reused, and nothing is allocated per packet or per viewer. The keyframe buffer
 * keeps references to source buffers, which stay intact because every rewrite is undone.
 */
import { performance } from 'node:perf_hooks';
import type { GatewayFacade, MediaPacket, PluginHandle } from '../../core/plugin.ts';
import { isKeyframe } from '../../media/keyframe.ts';
import { RtpView } from '../../media/rtp.ts';
import { SeqTsRewriter } from '../../media/rtp-rewriter.ts';
import type { MjrRecorder } from '../../media/mjr.ts';
import { SimulcastSelector } from '../../media/simulcast.ts';
import type { StreamSpec } from './spec.ts';

/** Longest run of packets kept from the last keyframe (a 1 s GOP at ~3 Mbit/s). */
const MAX_KEYFRAME_PACKETS = 1024;
/** Simulcast: RTP header plus the VP8 descriptor bytes a selector may rewrite, restored per viewer. */
const HEAD_SCRATCH = 128;
const DESCRIPTOR_BYTES = 8;

/** A viewer's view of one mountpoint stream. */
export interface ViewerStream {
  mid: string;
  /** Payload type the viewer negotiated for this stream. */
  pt: number;
  /** Per-mid `send` (configure). */
  send: boolean;
  /** Video: drop until a keyframe starts the picture. */
  waitKeyframe: boolean;
  rewriter: SeqTsRewriter;
  /** Simulcast streams: this viewer's substream/temporal choice and its own seq/ts/descriptor space. */
  sim: SimulcastSelector | null;
  /** Wished substream and temporal layer, kept when the selector is rebuilt (switch, restart). */
  substreamTarget: number;
  temporalTarget: number;
}

export interface Viewer {
  handle: PluginHandle;
  /** Indexed like the mountpoint's streams; undefined = not watched. */
  streams: Array<ViewerStream | undefined>;
  /** Started, connected and not paused. */
  live: boolean;
  /** Data channel usable. */
  dataReady: boolean;
}

/** Runtime state of one mountpoint stream. */
export class LiveStream {
  readonly spec: StreamSpec;
  readonly index: number;
  readonly video: boolean;
  /** Codec as currently known (RTSP sources learn it from the camera). */
  codec: string;
  clockRate: number;
  fmtp: string | undefined;
  /** performance.now() of the last packet, 0 = none yet. */
  lastPacketMs = 0;
  packets = 0;
  bytes = 0;
  /** SSRC currently accepted (collision handling), -1 = any. */
  ssrc = -1;
  readonly keyframe: Buffer[] = [];
  keyframeTs = -1;
  lastMessage: string | undefined;
  recorder: MjrRecorder | undefined;
  /** Ask the source for a keyframe (RTCP PLI to an RTP sender that told us its RTCP address). */
  requestKeyframe: (() => void) | undefined;
  /** Simulcast: number of substreams (2 or 3), 0 = none. */
  readonly simulcast: number;
  /**
   * Video whose keyframes can be seen: not for e2ee mountpoints, whose payloads are opaque
   * (a viewer waiting for a keyframe would wait forever).
   */
  readonly waitsForKeyframes: boolean;

  constructor(spec: StreamSpec, index: number, e2ee: boolean) {
    this.spec = spec;
    this.index = index;
    this.video = spec.type === 'video';
    this.codec = spec.codec;
    this.clockRate = spec.clockRate;
    this.fmtp = spec.fmtp;
    this.simulcast = spec.simulcastPorts ? spec.simulcastPorts.length + 1 : 0;
    this.waitsForKeyframes = this.video && !e2ee;
  }
}

/**
 * The viewers of a fan-out: a Set for membership, mirrored in an array so the per-packet loop
 * indexes instead of allocating a Set iterator.
 */
export class ViewerList extends Set<Viewer> {
  readonly list: Viewer[] = [];

  override add(v: Viewer): this {
    if (!this.has(v)) {
      super.add(v);
      this.list.push(v);
    }
    return this;
  }

  override delete(v: Viewer): boolean {
    if (!super.delete(v)) return false;
    this.list.splice(this.list.indexOf(v), 1);
    return true;
  }

  override clear(): void {
    super.clear();
    this.list.length = 0;
  }
}

export class Fanout {
  readonly streams: LiveStream[];
  readonly viewers = new ViewerList();
  readonly #gw: GatewayFacade;
  readonly #view = new RtpView();
  readonly #packet: MediaPacket = { buffer: Buffer.alloc(0), mid: '', video: false };
  readonly #head = Buffer.alloc(HEAD_SCRATCH);
  /** Packets relayed to viewers (all streams). */
  forwarded = 0;

  constructor(gw: GatewayFacade, streams: StreamSpec[], e2ee = false) {
    this.#gw = gw;
    this.streams = streams.map((s, i) => new LiveStream(s, i, e2ee));
  }

  /**
   * An RTP packet from the source of stream `index` (`layer`: its simulcast substream, 0 without
   * simulcast). The buffer must not be reused by the caller while kept in the keyframe buffer.
   */
  deliverRtp(index: number, buf: Buffer, layer = 0): void {
    const s = this.streams[index];
    const view = this.#view;
    if (s === undefined || !view.wrap(buf)) return;
    const now = performance.now();
    const ssrc = view.ssrc;
    if (layer === 0 && s.ssrc !== ssrc) {
      // RFC 3550 s8.2-style collision guard: a second sender is ignored while the first is alive.
      if (s.spec.collision > 0 && s.ssrc !== -1 && now - s.lastPacketMs < s.spec.collision) return;
      s.ssrc = ssrc;
    }
    s.lastPacketMs = now;
    s.packets++;
    s.bytes += buf.length;
    if (s.simulcast > 0) {
      if (layer === 0) s.recorder?.saveRtp(buf);
      if (this.viewers.size !== 0) this.#deliverSimulcast(s, buf, layer, now);
      return;
    }
    let key = false;
    if (s.video) {
      key = isKeyframe(s.codec, buf, view.payloadOffset, view.payloadLength);
      if (s.spec.bufferKeyframe) this.#keep(s, buf, key, view.timestamp);
    }
    s.recorder?.saveRtp(buf);
    if (this.viewers.size === 0) return;
    const seq = view.sequenceNumber;
    const ts = view.timestamp;
    const pt = view.payloadType;
    const list = this.viewers.list;
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (!v.live) continue;
      const vs = v.streams[index];
      if (vs === undefined || !vs.send) continue;
      if (vs.waitKeyframe) {
        if (!key) continue;
        vs.waitKeyframe = false;
      }
      this.#send(v, vs, s.video, now);
      view.rewrite(ssrc, seq, ts);
      view.payloadType = pt;
    }
  }

  /**
   * Simulcast: each viewer's selector decides whether this substream's packet is the one it
   * forwards, rewriting seq/ts (and the VP8 descriptor) into the viewer's continuous stream; the
   * header and descriptor are restored from a scratch copy before the next viewer.
   */
  #deliverSimulcast(s: LiveStream, buf: Buffer, layer: number, now: number): void {
    const view = this.#view;
    const headLen = Math.min(buf.length, view.headerLength + DESCRIPTOR_BYTES, HEAD_SCRATCH);
    const head = this.#head;
    buf.copy(head, 0, 0, headLen);
    const list = this.viewers.list;
    let dirty = false;
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (!v.live) continue;
      const vs = v.streams[s.index];
      if (vs === undefined || !vs.send || vs.sim === null) continue;
      if (dirty) head.copy(buf, 0, 0, headLen);
      dirty = true;
      const sim = vs.sim;
      const keep = sim.process(buf, now, layer);
      if (sim.needPli) s.requestKeyframe?.();
      if (sim.changedSubstream) this.#gw.pushEvent(v.handle, { streaming: 'event', result: { mid: vs.mid, substream: sim.substream } });
      if (sim.changedTemporal) this.#gw.pushEvent(v.handle, { streaming: 'event', result: { mid: vs.mid, temporal: sim.templayer } });
      if (!keep) continue;
      view.wrap(buf);
      view.payloadType = vs.pt;
      const p = this.#packet;
      p.buffer = buf;
      p.mid = vs.mid;
      p.video = true;
      this.forwarded++;
      this.#gw.relayRtp(v.handle, p);
    }
    if (dirty) head.copy(buf, 0, 0, headLen);
  }

  #send(v: Viewer, vs: ViewerStream, video: boolean, now: number): void {
    const view = this.#view;
    vs.rewriter.rewrite(view, now);
    view.payloadType = vs.pt;
    const p = this.#packet;
    p.buffer = view.buf;
    p.mid = vs.mid;
    p.video = video;
    this.forwarded++;
    this.#gw.relayRtp(v.handle, p);
  }

  /** Keep the packets from the start of the last keyframe (same RTP timestamp starts a picture). */
  #keep(s: LiveStream, buf: Buffer, key: boolean, ts: number): void {
    const kf = s.keyframe;
    if (key && ts !== s.keyframeTs) {
      kf.length = 0;
      s.keyframeTs = ts;
      kf.push(buf);
      return;
    }
    if (kf.length === 0) return;
    if (kf.length >= MAX_KEYFRAME_PACKETS) {
      kf.length = 0;
      s.keyframeTs = -1;
      return;
    }
    kf.push(buf);
  }

  /**
   * A viewer just became live: send each video stream's buffered GOP so its picture starts at once
   * (videobufferkf), or ask the source for a keyframe.
   */
  primeViewer(v: Viewer): void {
    const now = performance.now();
    const view = this.#view;
    for (const s of this.streams) {
      const vs = v.streams[s.index];
      if (!vs || !s.video) continue;
      if (vs.sim !== null || !s.waitsForKeyframes) {
        // The selector starts on a keyframe of a substream it may forward.
        s.requestKeyframe?.();
        continue;
      }
      vs.waitKeyframe = true;
      if (s.keyframe.length === 0) {
        s.requestKeyframe?.();
        continue;
      }
      vs.waitKeyframe = false;
      for (const buf of s.keyframe) {
        if (!view.wrap(buf)) continue;
        const ssrc = view.ssrc;
        const seq = view.sequenceNumber;
        const ts = view.timestamp;
        const pt = view.payloadType;
        this.#send(v, vs, true, now);
        view.rewrite(ssrc, seq, ts);
        view.payloadType = pt;
      }
    }
  }

  /** A text message from a data source, relayed to viewers with a data channel. */
  deliverData(index: number, text: string): void {
    const s = this.streams[index];
    if (!s) return;
    s.lastPacketMs = performance.now();
    s.packets++;
    s.bytes += text.length;
    if (s.spec.bufferMessage) s.lastMessage = text;
    for (const v of this.viewers) {
      if (!v.live) continue;
      const vs = v.streams[index];
      if (vs && vs.send) this.#gw.relayData(v.handle, 'JanusDataChannel', text);
    }
  }

  /** The source restarted (RTSP reconnect, file loop): forget the GOP; viewers continue seamlessly. */
  sourceRestarted(): void {
    for (const s of this.streams) {
      s.keyframe.length = 0;
      s.keyframeTs = -1;
      s.ssrc = -1;
      for (const v of this.viewers) {
        const vs = v.streams[s.index];
        if (!vs) continue;
        vs.rewriter.switchSource();
        resetSimulcast(vs, s);
        if (s.waitsForKeyframes) vs.waitKeyframe = true;
      }
    }
  }
}

export function newViewerStream(s: LiveStream, mid: string, pt: number): ViewerStream {
  const vs: ViewerStream = {
    mid, pt, send: true, waitKeyframe: s.waitsForKeyframes, rewriter: new SeqTsRewriter({ ssrc: 0, clockRate: s.clockRate || 48000 }), sim: null, substreamTarget: 2, temporalTarget: 2,
  };
  resetSimulcast(vs, s);
  return vs;
}

/**
 * A fresh selector for a simulcast stream (new viewer, source restart, switch), keeping the
 * viewer's targets; null for a stream without simulcast. Substreams are known by port, so the
 * layout carries no rids or SSRCs.
 */
export function resetSimulcast(vs: ViewerStream, s: LiveStream): void {
  if (s.simulcast === 0) {
    vs.sim = null;
    return;
  }
  const sim = new SimulcastSelector({ rids: [], ssrcs: new Array<number>(s.simulcast).fill(0), ridExtId: 0, codec: s.codec === 'h264' ? 'h264' : 'vp8' });
  sim.setTarget(vs.substreamTarget);
  sim.setTemporalTarget(vs.temporalTarget);
  vs.sim = sim;
}
