/**
 * A mountpoint: its definition, its fan-out, and the source feeding it (RTP sockets, an RTSP
 * session or a file pacer), plus what list/info/create answer about it.
 */
import { performance } from 'node:perf_hooks';
import { Fanout } from './fanout.ts';
import { fmtpOf, offeredPt, rtpmapOf } from './offer.ts';
import type { BoundPorts } from './rtp-source.ts';
import type { MountpointSpec } from './spec.ts';

/** What feeds a mountpoint. */
export interface MountpointSource {
  /** Ports bound per stream (RTP sources). */
  readonly bound?: BoundPorts[];
  close(): void;
  /** Viewer count changed (on-demand RTSP connects on the first and leaves after the last). */
  viewersChanged?(count: number): void;
  info?(): Record<string, unknown>;
}

export class Mountpoint {
  readonly spec: MountpointSpec;
  readonly fanout: Fanout;
  source: MountpointSource | undefined;
  /** Permanent mountpoints: the section of janus.plugin.streaming.jcfg and its settings. */
  section: string | undefined;
  config: Record<string, unknown> | undefined;
  destroyed = false;
  readonly createdMs = performance.now();

  constructor(spec: MountpointSpec, fanout: Fanout) {
    this.spec = spec;
    this.fanout = fanout;
  }

  get id(): number | string {
    return this.spec.id;
  }

  get live(): boolean {
    return this.spec.source !== 'ondemand';
  }

  close(): void {
    this.destroyed = true;
    this.source?.close();
    this.source = undefined;
  }

  /** Janus' list entry. */
  listEntry(): Record<string, unknown> {
    const s = this.spec;
    const e: Record<string, unknown> = { id: s.id, type: this.live ? 'live' : 'on demand', description: s.description };
    if (s.metadata !== undefined) e.metadata = s.metadata;
    e.enabled = s.enabled;
    if (s.e2ee) e.e2ee = true;
    e.media = this.fanout.streams.map((st) => this.#mediaSummary(st.index));
    return e;
  }

  #mediaSummary(i: number): Record<string, unknown> {
    const st = this.fanout.streams[i];
    const m: Record<string, unknown> = { mid: st.spec.mid, type: st.spec.type, label: st.spec.label ?? st.spec.type };
    if (st.spec.msid !== undefined) m.msid = st.spec.msid;
    // As Janus: the age of the last packet, counted from creation until one arrives.
    m.age_ms = Math.round(performance.now() - (st.lastPacketMs || this.createdMs));
    return m;
  }

  /** Janus' info: codecs per stream and, for whoever knows the secret, secrets and ports. */
  info(privileged: boolean): Record<string, unknown> {
    const s = this.spec;
    const e: Record<string, unknown> = { id: s.id, name: s.name, description: s.description };
    if (s.metadata !== undefined) e.metadata = s.metadata;
    e.enabled = s.enabled;
    e.viewers = this.fanout.viewers.size;
    if (s.e2ee) e.e2ee = true;
    if (privileged) {
      if (s.secret !== undefined) e.secret = s.secret;
      if (s.pin !== undefined) e.pin = s.pin;
      e.is_private = s.isPrivate;
    }
    e.type = this.live ? 'live' : 'on demand';
    if (s.filename !== undefined && privileged) e.filename = s.filename;
    e.media = this.fanout.streams.map((st) => {
      const m: Record<string, unknown> = { mindex: st.index, ...this.#mediaSummary(st.index) };
      if (st.spec.type !== 'data') {
        if (st.codec) {
          m.pt = offeredPt(st);
          m.codec = st.codec;
          m.rtpmap = rtpmapOf(st);
          if (st.fmtp !== undefined && fmtpOf(st) !== undefined) m.fmtp = st.fmtp;
        }
      } else {
        m.datatype = st.codec;
      }
      if (st.simulcast > 0) m.videosimulcast = true;
      m.packets = st.packets;
      if (privileged) {
        const b = this.source?.bound?.[st.index];
        if (b) {
          m.port = b.port;
          if (b.rtcpPort !== undefined) m.rtcp_port = b.rtcpPort;
          b.simulcastPorts?.forEach((p, k) => { m[`port${k + 2}`] = p; });
        }
        if (st.spec.mcast) m.mcast = st.spec.mcast;
        if (st.recorder) m.recording = st.recorder.path;
      }
      return m;
    });
    if (s.threads > 0) e.threads = s.threads;
    const extra = privileged ? this.source?.info?.() : undefined;
    if (extra) Object.assign(e, extra);
    return e;
  }

  /** The `stream` object of a create reply: the bound ports. */
  createdEntry(): Record<string, unknown> {
    const s = this.spec;
    const e: Record<string, unknown> = { id: s.id, type: this.live ? 'live' : 'on demand', description: s.description, is_private: s.isPrivate };
    const bound = this.source?.bound;
    if (bound && s.legacy) {
      // Janus 1.1.2 answers the legacy syntax with audio_port/video_port/data_port.
      this.fanout.streams.forEach((st, i) => {
        e[`${st.spec.type}_port`] = bound[i].port;
        if (bound[i].rtcpPort !== undefined) e[`${st.spec.type}_rtcp_port`] = bound[i].rtcpPort;
        bound[i].simulcastPorts?.forEach((p, k) => { e[`${st.spec.type}_port_${k + 2}`] = p; });
      });
    } else if (bound) {
      e.ports = this.fanout.streams.map((st, i) => {
        const m: Record<string, unknown> = { type: st.spec.type, mid: st.spec.mid, port: bound[i].port };
        if (bound[i].rtcpPort !== undefined) m.rtcp_port = bound[i].rtcpPort;
        bound[i].simulcastPorts?.forEach((p, k) => { m[`port_${k + 2}`] = p; });
        return m;
      });
    }
    return e;
  }
}
