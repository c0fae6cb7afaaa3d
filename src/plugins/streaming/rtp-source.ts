/**
 * The UDP side of an `rtp` mountpoint: one socket per stream (RTP, or text for a data stream), on
 * the configured port or, for port 0, one picked from the plugin's rtp_port_range; an optional RTCP
 * socket whose sender address, once learnt, receives our PLIs (RFC 4585 s6.3.1) when a viewer
 * needs a keyframe; multicast groups joined when `mcast` is set.
 */
import type dgram from 'node:dgram';
import { writePli } from '../../media/rtcp-build.ts';
import { bindUdpSocket, closeQuietly, type PortRange } from '../../media/udp-ports.ts';
import { SrtpContext, SrtpProfile } from '../../core/webrtc/srtp.ts';
import { STREAMING_ERROR, StreamingError } from './errors.ts';
import type { Fanout } from './fanout.ts';

export interface BoundPorts {
  port: number;
  rtcpPort?: number;
  /** Simulcast: the ports of substreams 1 and 2. */
  simulcastPorts?: number[];
}

const MAX_DATA_MESSAGE = 64 * 1024;

export class RtpSource {
  readonly #sockets: dgram.Socket[] = [];
  readonly bound: BoundPorts[] = [];
  #closed = false;

  private constructor(private readonly fanout: Fanout) {}

  /** SRTP sources: the key and salt all streams are protected with. */
  #srtp: { suite: 32 | 80; key: Buffer; salt: Buffer } | undefined;

  static async open(fanout: Fanout, range: PortRange | undefined, defaultIface: string, srtp?: { suite: 32 | 80; key: Buffer; salt: Buffer }): Promise<RtpSource> {
    const src = new RtpSource(fanout);
    src.#srtp = srtp;
    try {
      for (const s of fanout.streams) src.bound.push(await src.#bindStream(s.index, range, defaultIface));
    } catch (err) {
      src.close();
      if (err instanceof StreamingError) throw err;
      throw new StreamingError(STREAMING_ERROR.CANT_CREATE, `Can't create mountpoint: ${(err as Error).message}`);
    }
    return src;
  }

  async #bind(port: number, address: string, range: PortRange | undefined, mcast: string | undefined): Promise<dgram.Socket> {
    const sock = await bindUdpSocket({ address: mcast ? '0.0.0.0' : address, range: port === 0 ? range : [port, port], recvBufferSize: 4 * 1024 * 1024 });
    this.#sockets.push(sock);
    if (mcast) {
      try {
        sock.addMembership(mcast, address === '0.0.0.0' ? undefined : address);
      } catch (err) {
        throw new StreamingError(STREAMING_ERROR.CANT_CREATE, `Can't join multicast group ${mcast}: ${(err as Error).message}`);
      }
    }
    return sock;
  }

  async #bindStream(index: number, range: PortRange | undefined, defaultIface: string): Promise<BoundPorts> {
    const s = this.fanout.streams[index];
    const spec = s.spec;
    const address = spec.iface ?? defaultIface;
    const sock = await this.#bind(spec.port, address, range, spec.mcast);
    const port = sock.address().port;
    if (spec.type === 'data') {
      sock.on('message', (msg) => {
        if (this.#closed || msg.length === 0 || msg.length > MAX_DATA_MESSAGE) return;
        this.fanout.deliverData(index, msg.toString('utf8'));
      });
      return { port };
    }
    this.#onRtp(sock, index, 0);
    const bound: BoundPorts = { port };
    if (spec.simulcastPorts) {
      // Substreams 1 and 2 on their own sockets, same address and multicast group.
      bound.simulcastPorts = [];
      for (const [i, p] of spec.simulcastPorts.entries()) {
        const layer = await this.#bind(p, address, range, spec.mcast);
        this.#onRtp(layer, index, i + 1);
        bound.simulcastPorts.push(layer.address().port);
      }
    }
    if (spec.rtcpPort === undefined) return bound;
    const rtcp = await this.#bind(spec.rtcpPort, address, range, spec.mcast);
    let peer: { address: string; port: number } | undefined;
    rtcp.on('message', (_msg, rinfo) => {
      peer = { address: rinfo.address, port: rinfo.port };
    });
    const pli = Buffer.alloc(12);
    s.requestKeyframe = (): void => {
      if (!peer || this.#closed || s.ssrc < 0) return;
      writePli(pli, 0, 1, s.ssrc >>> 0);
      rtcp.send(pli, peer.port, peer.address);
    };
    bound.rtcpPort = rtcp.address().port;
    return bound;
  }

  /** RTP of stream `index`, substream `layer`, from `sock` into the fan-out. */
  #onRtp(sock: dgram.Socket, index: number, layer: number): void {
    // Each 'message' gets a fresh Buffer from Node, so the fan-out may keep it (keyframe buffer).
    const keys = this.#srtp;
    if (keys) {
      // RFC 3711 s3.3: authenticate (replay window included) and decrypt in place.
      const ctx = new SrtpContext(keys.suite === 32 ? SrtpProfile.AES128_CM_HMAC_SHA1_32 : SrtpProfile.AES128_CM_HMAC_SHA1_80, keys.key, keys.salt, { maxSsrcs: 8 });
      sock.on('message', (msg) => {
        if (this.#closed || msg.length < 12 || (msg[0] & 0xc0) !== 0x80) return;
        const n = ctx.unprotectRtp(msg, 0, msg.length);
        if (n >= 12) this.fanout.deliverRtp(index, msg.subarray(0, n), layer);
      });
    } else {
      sock.on('message', (msg) => {
        if (!this.#closed && msg.length >= 12 && (msg[0] & 0xc0) === 0x80) this.fanout.deliverRtp(index, msg, layer);
      });
    }
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sockets) closeQuietly(s);
    this.#sockets.length = 0;
  }
}
