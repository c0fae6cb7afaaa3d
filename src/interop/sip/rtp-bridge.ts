/**
 * The media bridge of one SIP call: plain RTP/RTCP socket pairs (one per m-line, from the plugin's
 * rtp_port_range on local_media_ip) relaying between the browser's PeerEndpoint and the SIP peer,
 * without transcoding. Payload numbers are mapped through fixed tables; the peer's address comes
 * from its SDP and is replaced by the source of the first packet it sends (symmetric RTP latching,
 * for peers behind NAT); RTCP goes both ways. No allocation per packet: packets to the SIP side are
 * copied into a small ring of preallocated buffers (the core reuses its buffer after the call) and
 * packets from the SIP side are handed up in one reused view object.
 */
import type dgram from 'node:dgram';
import os from 'node:os';
import { parseSdp } from '../../core/webrtc/sdp.ts';
import { bindUdpPair, closeQuietly, type PortRange } from '../../media/udp-ports.ts';
import { RtpView } from '../../media/rtp.ts';
import { SeqTsRewriter } from '../../media/rtp-rewriter.ts';
import { identityPtMap, type PtMap, type SipMediaLine } from './sdp-translate.ts';
import type { SdesContexts } from './sdes.ts';

/**
 * A packet as the bridge reads and writes it: the bytes, its media line, audio or video. The same
 * shape as the plugin contract's packet, declared here so the engine needs nothing of the plugin API.
 */
export interface MediaPacket {
  buffer: Buffer;
  mid: string;
  video: boolean;
}

const RING = 16;
const MTU = 1500;
/** Room after a packet for the SRTP tag, or the SRTCP index and tag (RFC 3711 sections 3.1, 3.4). */
const SRTP_ROOM = 32;

export interface BridgeSink {
  /** RTP from the SIP peer, payload numbers already mapped to the browser's. */
  rtp(packet: MediaPacket): void;
  rtcp(packet: MediaPacket): void;
}

class BridgeLine {
  readonly rtpSock: dgram.Socket;
  readonly rtcpSock: dgram.Socket;
  readonly view: MediaPacket;
  readonly rtcpView: MediaPacket;
  host = '';
  port = 0;
  rtcpHost = '';
  rtcpPort = 0;
  latched = false;
  rtcpLatched = false;
  /** Send nothing (hold from the peer with inactive/recvonly on its side). */
  sending = true;
  packetsIn = 0;
  packetsOut = 0;
  /** SDES-SRTP on this line (sdes.ts), else plain RTP. */
  srtp: SdesContexts | undefined;
  /** Packets from the peer dropped by SRTP (authentication, replay). */
  srtpDropped = 0;
  /**
   * The peer may switch sources (a PBX playing a prompt, then bridging a phone; sipp playing a file
   * while echoing): one continuous stream towards the browser, as Janus' janus_rtp_header_update.
   */
  rewriter: SeqTsRewriter;

  constructor(readonly index: number, mid: string, video: boolean, pair: { rtp: dgram.Socket; rtcp: dgram.Socket }) {
    this.rtpSock = pair.rtp;
    this.rtcpSock = pair.rtcp;
    this.view = { buffer: Buffer.alloc(0), mid, video };
    this.rtcpView = { buffer: Buffer.alloc(0), mid, video };
    this.rewriter = new SeqTsRewriter({ ssrc: (Math.random() * 0xffffffff) >>> 0, clockRate: video ? 90000 : 48000 });
  }

  get localPort(): number {
    return this.rtpSock.address().port;
  }
}

export interface RtpBridgeOptions {
  localIp: string;
  range?: PortRange;
}

export class RtpBridge {
  readonly #lines = new Map<number, BridgeLine>();
  readonly #byMid = new Map<string, BridgeLine>();
  #toSip: PtMap = identityPtMap();
  #toWebrtc: PtMap = identityPtMap();
  readonly #ring: Buffer[] = Array.from({ length: RING }, () => Buffer.allocUnsafe(MTU + SRTP_ROOM));
  #ringAt = 0;
  #sink: BridgeSink | undefined;
  readonly #view = new RtpView();
  #closed = false;
  /** Called with each packet the SIP peer sends, before mapping (recording of the peer's side). */
  onPeerRtp: ((buf: Buffer, video: boolean) => void) | undefined;

  private constructor() {}

  /** Bind a socket pair for each m-line index that carries audio or video. */
  static async open(opts: RtpBridgeOptions, lines: Array<{ index: number; mid: string; video: boolean }>): Promise<RtpBridge> {
    const b = new RtpBridge();
    try {
      for (const l of lines) {
        const pair = await bindUdpPair({ address: opts.localIp, range: opts.range });
        const line = new BridgeLine(l.index, l.mid, l.video, pair);
        b.#lines.set(l.index, line);
        b.#byMid.set(l.mid, line);
        pair.rtp.on('message', (msg, rinfo) => b.#fromPeerRtp(line, msg, rinfo));
        pair.rtcp.on('message', (msg, rinfo) => b.#fromPeerRtcp(line, msg, rinfo));
        pair.rtp.on('error', () => {});
        pair.rtcp.on('error', () => {});
      }
    } catch (err) {
      b.close();
      throw err;
    }
    return b;
  }

  rtpPort(index: number): number {
    return this.#lines.get(index)?.localPort ?? 0;
  }

  attach(sink: BridgeSink): void {
    this.#sink = sink;
  }

  /** Where the SIP peer said it wants media (its SDP); a latched source wins until this changes it. */
  setRemote(lines: SipMediaLine[], toSip?: PtMap, toWebrtc?: PtMap): void {
    if (toSip) this.#toSip = toSip;
    if (toWebrtc) this.#toWebrtc = toWebrtc;
    for (const l of lines) {
      const line = this.#lines.get(l.index);
      if (!line) continue;
      if (line.host !== l.host || line.port !== l.port) {
        line.host = l.host;
        line.port = l.port;
        line.rtcpHost = l.host;
        line.rtcpPort = l.rtcpPort;
        line.latched = false;
        line.rtcpLatched = false;
      }
      line.sending = l.direction === 'sendrecv' || l.direction === 'recvonly';
      const main = l.codecs.find((c) => c.name.toLowerCase() !== 'telephone-event');
      if (main && main.clockRate !== line.rewriter.clockRate && line.packetsIn === 0) {
        line.rewriter = new SeqTsRewriter({ ssrc: line.rewriter.ssrc, clockRate: main.name.toLowerCase() === 'g722' ? 8000 : main.clockRate });
      }
    }
  }

  /** SDES-SRTP keys of one m-line (undefined: plain RTP). */
  setSrtp(index: number, contexts: SdesContexts | undefined): void {
    const line = this.#lines.get(index);
    if (line) line.srtp = contexts;
  }

  /** RTP from the browser towards the SIP peer. */
  fromWebrtcRtp(packet: MediaPacket): void {
    const line = this.#byMid.get(packet.mid);
    if (!line || !line.sending || line.port === 0 || this.#closed) return;
    const src = packet.buffer;
    if (src.length < 12 || src.length > MTU) return;
    const out = this.#ring[this.#ringAt];
    this.#ringAt = (this.#ringAt + 1) % RING;
    src.copy(out, 0, 0, src.length);
    out[1] = (out[1] & 0x80) | this.#toSip[out[1] & 0x7f];
    let len = src.length;
    if (line.srtp) {
      len = line.srtp.tx.protectRtp(out, 0, len);
      if (len < 0) return;
    }
    line.packetsOut++;
    line.rtpSock.send(out, 0, len, line.port, line.host);
  }

  fromWebrtcRtcp(packet: MediaPacket): void {
    const line = this.#byMid.get(packet.mid);
    if (!line || line.rtcpPort === 0 || this.#closed) return;
    const src = packet.buffer;
    if (src.length > MTU) return;
    const out = this.#ring[this.#ringAt];
    this.#ringAt = (this.#ringAt + 1) % RING;
    src.copy(out, 0, 0, src.length);
    let len = src.length;
    if (line.srtp) {
      len = line.srtp.tx.protectRtcp(out, 0, len);
      if (len < 0) return;
    }
    line.rtcpSock.send(out, 0, len, line.rtcpPort, line.rtcpHost);
  }

  #fromPeerRtp(line: BridgeLine, packet: Buffer, rinfo: dgram.RemoteInfo): void {
    if (packet.length < 12 || (packet[0] & 0xc0) !== 0x80 || this.#closed) return;
    let msg = packet;
    if (line.srtp) {
      // Authenticated before anything else: an unauthenticated source must not move the latch.
      const len = line.srtp.rx.unprotectRtp(packet, 0, packet.length);
      if (len < 0) {
        line.srtpDropped++;
        return;
      }
      msg = packet.subarray(0, len);
    }
    if (!line.latched) {
      // Symmetric RTP: answer where the peer really sends from.
      line.latched = true;
      line.host = rinfo.address;
      line.port = rinfo.port;
    }
    line.packetsIn++;
    this.onPeerRtp?.(msg, line.view.video);
    msg[1] = (msg[1] & 0x80) | this.#toWebrtc[msg[1] & 0x7f];
    if (this.#view.wrap(msg)) line.rewriter.rewrite(this.#view, performance.now());
    line.view.buffer = msg;
    this.#sink?.rtp(line.view);
  }

  #fromPeerRtcp(line: BridgeLine, packet: Buffer, rinfo: dgram.RemoteInfo): void {
    if (packet.length < 8 || (packet[0] & 0xc0) !== 0x80 || this.#closed) return;
    let msg = packet;
    if (line.srtp) {
      const len = line.srtp.rx.unprotectRtcp(packet, 0, packet.length);
      if (len < 0) {
        line.srtpDropped++;
        return;
      }
      msg = packet.subarray(0, len);
    }
    if (!line.rtcpLatched) {
      line.rtcpLatched = true;
      line.rtcpHost = rinfo.address;
      line.rtcpPort = rinfo.port;
    }
    line.rtcpView.buffer = msg;
    this.#sink?.rtcp(line.rtcpView);
  }

  stats(): Array<{ index: number; local_port: number; remote: string; packets_in: number; packets_out: number; srtp?: boolean; srtp_dropped?: number }> {
    return [...this.#lines.values()].map((l) => ({
      index: l.index, local_port: l.localPort, remote: `${l.host}:${l.port}`, packets_in: l.packetsIn, packets_out: l.packetsOut,
      ...(l.srtp ? { srtp: true, srtp_dropped: l.srtpDropped } : {}),
    }));
  }

  close(): void {
    this.#closed = true;
    for (const l of this.#lines.values()) {
      closeQuietly(l.rtpSock);
      closeQuietly(l.rtcpSock);
    }
    this.#lines.clear();
    this.#byMid.clear();
    this.#sink = undefined;
  }
}

/** The m-lines of a description that the bridge carries (audio and video, not rejected). */
export function bridgedLines(sdp: string): Array<{ index: number; mid: string; video: boolean }> {
  return parseSdp(sdp).media
    .map((m, i) => ({ index: i, mid: m.mid ?? String(i), video: m.kind === 'video', ok: m.port !== 0 && (m.kind === 'audio' || m.kind === 'video') }))
    .filter((l) => l.ok)
    .map(({ index, mid, video }) => ({ index, mid, video }));
}

/** Janus' default local_ip: the first non-loopback IPv4 address (loopback when there is none). */
export function defaultLocalIp(): string {
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}
