/**
 * The media model of a room: a publisher's streams (one per m-line it sends) and a subscriber's
 * streams (one per m-line of the offer we made it), and the fan-out between them.
 *
 * Hot path (PubStream.forward): one incoming packet, already decrypted in a core buffer, goes to
 * every sink with no allocation: the header (and a VP8 descriptor's first bytes) are saved once in a
 * preallocated scratch, each sink rewrites SSRC/sequence/timestamp in place (SeqTsRewriter, or the
 * simulcast selector which also picks the layer) and relays, then the saved bytes are put back for
 * the next sink. The core's SRTP copies into its own output buffer, so relaying does not keep ours.
 */
import type { GatewayFacade, MediaPacket, PluginHandle } from '../../core/plugin.ts';
import { RtpView } from '../../media/rtp.ts';
import { SeqTsRewriter } from '../../media/rtp-rewriter.ts';
import { SimulcastSelector, type SimulcastLayout } from '../../media/simulcast.ts';
import { Vp9SvcSelector } from '../../media/vp9-svc.ts';
import type { Extmap } from '../../core/webrtc/sdp.ts';

export type StreamType = 'audio' | 'video' | 'data';

/** Bytes saved per packet for restoring between sinks: header up to 60 bytes + VP8 descriptor. */
const HEAD_SCRATCH = 128;
const DESCRIPTOR_BYTES = 8;

export interface PubStream {
  mindex: number;
  mid: string;
  type: StreamType;
  codec: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  rtcpFb: string[];
  description?: string;
  /** Extensions negotiated with the publisher (ids as the publisher writes them). */
  extmaps: Extmap[];
  audioLevelExtId: number;
  simulcast?: SimulcastLayout;
  /** VP9 SVC layers are selected per subscriber (room video_svc with VP9). */
  svc?: boolean;
  disabled: boolean;
  /** Muted by a moderator: nothing is relayed. */
  muted: boolean;
  sinks: SubStream[];
  packets: number;
  bytes: number;
  /** Extra consumers of the raw packet (recorder, RTP forwarders), called before the fan-out. */
  taps: Array<(buf: Buffer) => void>;
  /**
   * Simulcast SSRCs learned from the rid extension (lowest substream first, 0 = not yet), shared by
   * the stream's subscribers: browsers send the rid only on the first packets, possibly before a
   * subscriber exists. `simEpoch` changes when one is learned.
   */
  simSsrcs: number[];
  simEpoch: number;
  ridBytes: Buffer[];
}

export function newPubStream(init: Omit<PubStream, 'sinks' | 'packets' | 'bytes' | 'taps' | 'disabled' | 'muted' | 'simSsrcs' | 'simEpoch' | 'ridBytes'>): PubStream {
  const sim = init.simulcast;
  return {
    ...init, disabled: false, muted: false, sinks: [], packets: 0, bytes: 0, taps: [],
    simSsrcs: sim ? [0, 1, 2].map((i) => sim.ssrcs[i] ?? 0) : [], simEpoch: 0, ridBytes: sim ? sim.rids.map((r) => Buffer.from(r, 'latin1')) : [],
  };
}

/** The layout a new selector starts from: the SDP's, with the SSRCs learned so far. */
function learnedLayout(s: PubStream): SimulcastLayout {
  const l = s.simulcast!;
  return { ...l, ssrcs: s.simSsrcs.slice() };
}

/** Learn a simulcast SSRC from the rid extension of the packet in `view` (RFC 8852). */
function learnRid(s: PubStream, view: RtpView): void {
  const ssrc = view.ssrc;
  const known = s.simSsrcs;
  if (ssrc === known[0] || ssrc === known[1] || ssrc === known[2]) return;
  const id = s.simulcast!.ridExtId;
  const at = id > 0 ? view.findExtension(id) : -1;
  if (at < 0) return;
  let n = view.foundExtLength;
  const b = view.buf;
  while (n > 0 && b[at + n - 1] === 0) n--;
  const rids = s.ridBytes;
  for (let i = 0; i < rids.length; i++) {
    if (rids[i].length === n && rids[i].compare(b, at, at + n) === 0) {
      known[i] = ssrc;
      s.simEpoch++;
      return;
    }
  }
}

/** What a subscriber stream needs to know of its owner, without a cycle of imports. */
export interface SinkOwner {
  readonly handle: PluginHandle;
  /** The PeerConnection is up and the subscriber has not paused. */
  flowing: boolean;
  /** A data channel of the subscriber is open. */
  dataReady: boolean;
  onLayerChange(stream: SubStream, substream: boolean): void;
  /** The VP9 SVC layers forwarded on `stream` changed. */
  onSvcChange(stream: SubStream): void;
  /** Ask the publisher of `stream` for a keyframe (rate-limited there). */
  wantKeyframe(stream: SubStream): void;
}

export class SubStream {
  readonly mindex: number;
  readonly mid: string;
  readonly type: StreamType;
  readonly owner: SinkOwner;
  /** The feed (publisher id) and its stream; undefined once the feed went away (inactive). */
  feedId: number | string | undefined;
  source: PubStream | undefined;
  /** Per-stream `send` toggle (configure with mid + send). */
  send = true;
  /** Codec and payload type offered for this m-line (kept when the source goes). */
  codec: string;
  payloadType: number;
  rewriter: SeqTsRewriter;
  sim: SimulcastSelector | null = null;
  /** The source's simEpoch the selector was built with. */
  simEpoch = -1;
  substreamTarget = 2;
  temporalTarget = 2;
  /** VP9 SVC selection, for a source with svc; its targets are kept across sources. */
  svc: Vp9SvcSelector | null = null;
  /** Packets (data: messages) relayed. */
  packets = 0;
  /** The publishers' data streams feeding a data m-line (source is the first of them). */
  readonly dataSources: PubStream[] = [];
  readonly packet: MediaPacket;

  constructor(owner: SinkOwner, mindex: number, source: PubStream, feedId: number | string) {
    this.owner = owner;
    this.mindex = mindex;
    this.mid = String(mindex);
    this.type = source.type;
    this.codec = source.codec;
    this.payloadType = source.payloadType;
    this.feedId = feedId;
    this.rewriter = new SeqTsRewriter({ ssrc: 1, clockRate: source.clockRate });
    this.packet = { buffer: Buffer.alloc(0), mid: this.mid, video: source.type === 'video' };
    this.attach(source);
  }

  /** Start taking packets from `source` (join, switch). */
  attach(source: PubStream): void {
    if (this.type === 'data') {
      this.addDataSource(source);
      return;
    }
    this.detach();
    this.source = source;
    source.sinks.push(this);
    this.rewriter.switchSource();
    this.sim = null;
    this.refreshSimulcast();
    if (source.svc) {
      this.svc ??= new Vp9SvcSelector();
      this.svc.reset();
    } else this.svc = null;
  }

  /** (Re)build the simulcast selector with the SSRCs the source learned (on attach, or when one is learned). */
  refreshSimulcast(): void {
    const source = this.source;
    if (!source?.simulcast) return;
    const sim = new SimulcastSelector(learnedLayout(source));
    const old = this.sim;
    sim.setTarget(this.substreamTarget);
    sim.setTemporalTarget(this.temporalTarget);
    if (old) {
      sim.fallbackMs = old.fallbackMs;
    }
    this.sim = sim;
    this.simEpoch = source.simEpoch;
  }

  /** Stop taking packets (unsubscribe, the feed unpublished, the subscriber left). */
  detach(): void {
    if (this.type === 'data') {
      for (const s of this.dataSources) unlink(s, this);
      this.dataSources.length = 0;
      this.source = undefined;
      return;
    }
    const s = this.source;
    if (!s) return;
    unlink(s, this);
    this.source = undefined;
    this.sim = null;
  }

  /**
   * Janus gives a subscriber one data m-line fed by any number of publishers' data streams: add one
   * more source (attach() for data keeps the others).
   */
  addDataSource(source: PubStream): void {
    if (this.dataSources.includes(source)) return;
    this.dataSources.push(source);
    source.sinks.push(this);
    this.source ??= source;
  }

  /** The publisher renegotiated: the same m-line goes on as a new stream object. */
  replaceSource(old: PubStream, now: PubStream): void {
    const i = this.dataSources.indexOf(old);
    if (i >= 0) this.dataSources[i] = now;
    if (this.source === old) this.source = now;
  }

  /** Stop taking packets from one source (for data, the others stay). */
  detachFrom(source: PubStream): void {
    if (this.type !== 'data') {
      if (this.source === source) this.detach();
      return;
    }
    const i = this.dataSources.indexOf(source);
    if (i < 0) return;
    this.dataSources.splice(i, 1);
    unlink(source, this);
    this.source = this.dataSources[0];
  }

  get active(): boolean {
    return this.source !== undefined;
  }
}

function unlink(source: PubStream, sink: SubStream): void {
  const i = source.sinks.indexOf(sink);
  if (i >= 0) source.sinks.splice(i, 1);
}

/** Forwarding state shared by one plugin instance (one view and one scratch: Node runs one packet at a time). */
export class Forwarder {
  readonly #view = new RtpView();
  readonly #head = Buffer.alloc(HEAD_SCRATCH);
  constructor(private readonly gw: GatewayFacade) {}

  /** Relay one publisher packet to every sink of `stream`. Returns false for a packet that is not RTP. */
  forward(stream: PubStream, buf: Buffer, nowMs: number): boolean {
    const view = this.#view;
    if (!view.wrap(buf)) return false;
    stream.packets++;
    stream.bytes += view.payloadLength;
    if (stream.simulcast !== undefined) learnRid(stream, view);
    const taps = stream.taps;
    for (let i = 0; i < taps.length; i++) taps[i](buf);
    const sinks = stream.sinks;
    if (sinks.length === 0 || stream.muted || stream.disabled) return true;
    const headLen = Math.min(buf.length, view.headerLength + DESCRIPTOR_BYTES, HEAD_SCRATCH);
    buf.copy(this.#head, 0, 0, headLen);
    let dirty = false;
    for (let i = 0; i < sinks.length; i++) {
      const sink = sinks[i];
      if (!sink.send || !sink.owner.flowing) continue;
      if (dirty) this.#head.copy(buf, 0, 0, headLen);
      dirty = true;
      // A selector that forwards nothing yet starts again from what the stream learned; one that
      // forwards has been seeing the rids itself.
      if (sink.sim !== null && sink.simEpoch !== stream.simEpoch && sink.sim.substream < 0) sink.refreshSimulcast();
      const sim = sink.sim;
      if (sim !== null) {
        const keep = sim.process(buf, nowMs);
        if (sim.needPli) sink.owner.wantKeyframe(sink);
        if (sim.changedSubstream) sink.owner.onLayerChange(sink, true);
        if (sim.changedTemporal) sink.owner.onLayerChange(sink, false);
        if (!keep) continue;
      } else if (sink.svc !== null) {
        const svc = sink.svc;
        view.wrap(buf);
        const keep = svc.process(view, sink.rewriter, nowMs);
        if (svc.needPli) sink.owner.wantKeyframe(sink);
        if (svc.changedSpatial || svc.changedTemporal) sink.owner.onSvcChange(sink);
        if (!keep) continue;
      } else {
        view.wrap(buf);
        sink.rewriter.rewrite(view, nowMs);
      }
      sink.packets++;
      const p = sink.packet;
      p.buffer = buf;
      this.gw.relayRtp(sink.owner.handle, p);
    }
    if (dirty) this.#head.copy(buf, 0, 0, headLen);
    return true;
  }

  /** Relay one data-channel message of a publisher to every subscriber of its data stream, same label. */
  forwardData(stream: PubStream, label: string, data: Buffer | string): void {
    stream.packets++;
    stream.bytes += data.length;
    const sinks = stream.sinks;
    if (stream.muted || stream.disabled) return;
    for (let i = 0; i < sinks.length; i++) {
      const sink = sinks[i];
      if (!sink.send || !sink.owner.flowing || !sink.owner.dataReady) continue;
      sink.packets++;
      this.gw.relayData(sink.owner.handle, label, data);
    }
  }
}
