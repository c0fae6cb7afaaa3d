/**
 * Keeps a camera feed alive for as long as it is wanted: starts an RtspClient, and when the session
 * fails (connection lost, camera silent for `silenceMs`) starts a new one after a backoff (doubling
 * from `reconnectDelayMs` up to 30 s, reset once media flows). With transport 'udp' and no packet
 * within `udpFallbackMs`, it switches to TCP-interleaved for good ('udp-only' never does). On-demand
 * use: `want(true)` when the first viewer arrives, `want(false)` after the last leaves (the caller
 * applies its grace period).
 */
import type { PortRange } from '../../media/udp-ports.ts';
import type { Credentials } from './auth.ts';
import { RtspClient, RtspError, type RtspTransport } from './client.ts';
import type { CameraSdp } from './sdp.ts';

export interface RtspIngestOptions {
  url: string;
  credentials?: Credentials;
  transport: RtspTransport | 'udp-only';
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  reconnectDelayMs: number;
  /** No RTP for this long: reconnect. */
  silenceMs: number;
  /** UDP: no RTP for this long after PLAY: retry over TCP. */
  udpFallbackMs: number;
  portRange?: PortRange;
  bindAddress: string;
  quirk?: boolean;
}

export interface RtspIngestEvents {
  /** A session is playing (first time and after every reconnect). */
  playing(sdp: CameraSdp, transport: RtspTransport, reconnect: boolean): void;
  rtp(index: number, packet: Buffer): void;
  /** A session failed; another attempt follows unless stopped. */
  failed(reason: string): void;
}

const MAX_BACKOFF_MS = 30_000;

export class RtspIngest {
  #client: RtspClient | undefined;
  #wanted = false;
  #transport: RtspTransport;
  #backoff: number;
  #retry: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #lastPackets = 0;
  #sessions = 0;
  #lastError: string | undefined;
  state: 'idle' | 'connecting' | 'playing' | 'waiting' = 'idle';

  constructor(readonly opts: RtspIngestOptions, private readonly events: RtspIngestEvents) {
    this.#transport = opts.transport === 'tcp' ? 'tcp' : 'udp';
    this.#backoff = opts.reconnectDelayMs;
  }

  get transport(): RtspTransport {
    return this.#transport;
  }

  get reconnects(): number {
    return Math.max(0, this.#sessions - 1);
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  want(on: boolean): void {
    if (on === this.#wanted) return;
    this.#wanted = on;
    if (on) void this.#attempt();
    else this.#stop();
  }

  async #attempt(): Promise<void> {
    if (!this.#wanted || this.#client) return;
    this.state = 'connecting';
    const client = new RtspClient({
      url: this.opts.url, transport: this.#transport, connectTimeoutMs: this.opts.connectTimeoutMs, requestTimeoutMs: this.opts.requestTimeoutMs,
      bindAddress: this.opts.bindAddress, ...(this.opts.portRange ? { portRange: this.opts.portRange } : {}), ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
      ...(this.opts.quirk ? { quirk: true } : {}),
    }, {
      rtp: (i, p) => { if (this.#client === client) this.events.rtp(i, p); },
      closed: (reason) => { if (this.#client === client) this.#failed(reason); },
    });
    this.#client = client;
    let sdp: CameraSdp;
    try {
      sdp = await client.start();
    } catch (err) {
      if (this.#client !== client) {
        void client.close();
        return;
      }
      if (err instanceof RtspError && err.status === 461 && this.#transport === 'udp' && this.opts.transport === 'udp') {
        // 461 Unsupported Transport: the server wants TCP-interleaved.
        this.#transport = 'tcp';
        this.#failed(`${err.message}: trying TCP-interleaved`, 0);
        return;
      }
      this.#failed((err as Error).message);
      return;
    }
    if (this.#client !== client) {
      void client.close();
      return;
    }
    this.state = 'playing';
    this.#sessions++;
    this.#lastPackets = client.packets;
    this.events.playing(sdp, this.#transport, this.#sessions > 1);
    const started = Date.now();
    let flowing = false;
    const check = Math.max(200, Math.min(this.opts.silenceMs, this.opts.udpFallbackMs) / 4);
    this.#watchdog = setInterval(() => {
      if (this.#client !== client) return;
      const now = Date.now();
      if (client.packets !== this.#lastPackets) {
        this.#lastPackets = client.packets;
        this.#lastPacketAt = now;
        if (!flowing) {
          flowing = true;
          this.#backoff = this.opts.reconnectDelayMs;
        }
        return;
      }
      if (!flowing && client.transport === 'udp' && this.opts.transport === 'udp' && now - started > this.opts.udpFallbackMs) {
        // RFC 2326 s10.12 as the way out of a UDP path that never delivers (NAT, firewall).
        this.#transport = 'tcp';
        this.#failed('no RTP over UDP: falling back to TCP-interleaved', 0);
        return;
      }
      const since = flowing ? now - this.#lastPacketAt : now - started;
      if (since > this.opts.silenceMs) this.#failed('camera went silent');
    }, check);
    this.#watchdog.unref();
  }

  #lastPacketAt = 0;

  #failed(reason: string, delay = this.#backoff): void {
    this.#lastError = reason;
    const client = this.#client;
    this.#client = undefined;
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    void client?.close();
    this.events.failed(reason);
    if (!this.#wanted) {
      this.state = 'idle';
      return;
    }
    this.state = 'waiting';
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#attempt();
    }, delay);
    this.#retry.unref();
  }

  #stop(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    const client = this.#client;
    this.#client = undefined;
    this.state = 'idle';
    void client?.close();
  }

  close(): void {
    this.#wanted = false;
    this.#stop();
  }
}
