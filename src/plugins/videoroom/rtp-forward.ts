/**
 * rtp_forward (JANUS-REFERENCE 2.2): a publisher stream sent as plain RTP to host:port, e.g. for
 * ffmpeg or another gateway. Each forwarder may rewrite SSRC and payload type. UDP sends in Node are
 * asynchronous and keep the buffer, so each packet is copied once (the core buffer is reused).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { PubStream } from './streams.ts';

export interface RtpForwardSpec {
  host: string;
  port: number;
  ssrc?: number;
  pt?: number;
}

export class RtpForward {
  readonly streamId: number;
  readonly stream: PubStream;
  readonly spec: RtpForwardSpec;
  packets = 0;
  readonly #socket: dgram.Socket;
  readonly #tap: (buf: Buffer) => void;
  #closed = false;

  constructor(streamId: number, stream: PubStream, spec: RtpForwardSpec) {
    this.streamId = streamId;
    this.stream = stream;
    this.spec = spec;
    this.#socket = dgram.createSocket(isIP(spec.host) === 6 ? 'udp6' : 'udp4');
    this.#socket.on('error', () => {}); // an unreachable port must not take the gateway down
    this.#tap = (buf) => this.#send(buf);
    stream.taps.push(this.#tap);
  }

  #send(buf: Buffer): void {
    if (this.#closed || buf.length < 12) return;
    const out = Buffer.allocUnsafe(buf.length);
    buf.copy(out);
    if (this.spec.ssrc !== undefined) out.writeUInt32BE(this.spec.ssrc >>> 0, 8);
    if (this.spec.pt !== undefined) out[1] = (out[1] & 0x80) | (this.spec.pt & 0x7f);
    this.packets++;
    this.#socket.send(out, this.spec.port, this.spec.host);
  }

  describe(): Record<string, unknown> {
    const d: Record<string, unknown> = { stream_id: this.streamId, type: this.stream.type, mid: this.stream.mid, host: this.spec.host, port: this.spec.port };
    if (this.spec.ssrc !== undefined) d.ssrc = this.spec.ssrc;
    if (this.spec.pt !== undefined) d.pt = this.spec.pt;
    return d;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const i = this.stream.taps.indexOf(this.#tap);
    if (i >= 0) this.stream.taps.splice(i, 1);
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}
