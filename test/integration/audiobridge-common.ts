/**
 * Helpers for the AudioBridge integration tests: a Portunus server with the plugin, and werift
 * participants that send a sine tone as Opus (20 ms frames at 48 kHz, like a browser) and decode
 * what they receive, so tests can measure which tones each one hears.
 */
import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket, type MediaStreamTrack, type RTCPeerConnection } from 'werift';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient, type JanusReply } from '../helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected } from '../helpers/werift-peer.ts';
import { opusscriptCodec, type OpusDecoder, type OpusEncoder } from '../../src/audiobridge/opus-codec.ts';
import { sineFrame, toneAmplitude } from '../helpers/audio-tones.ts';
import type { PortunusConfig } from '../../src/config/types.ts';

export const PLUGIN = 'janus.plugin.audiobridge';

export async function startAudioBridgeServer(pluginConfig: Record<string, unknown> = {}, mutate?: (c: PortunusConfig) => void): Promise<RunningServer> {
  return startServer(transportConfig((c) => {
    c.pluginConfigs = { ...(c.pluginConfigs ?? {}), [PLUGIN]: { general: { rtp_port_range: '40000-49999', local_ip: '127.0.0.1' }, ...pluginConfig } };
    mutate?.(c);
  }), { logger: silentLogger() });
}

export async function until(cond: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Janus API client attached to the AudioBridge. */
export class AbClient {
  private constructor(readonly ws: JanusWsClient, readonly sid: number, readonly hid: number) {}

  static async open(wsUrl: string): Promise<AbClient> {
    const ws = await JanusWsClient.connect(wsUrl);
    const sid = await ws.createSession();
    const hid = await ws.attach(sid, PLUGIN);
    return new AbClient(ws, sid, hid);
  }

  /** A synchronous request: the plugindata.data of the reply. */
  async sync(body: Record<string, unknown>): Promise<Record<string, any>> {
    const r = await this.ws.request({ janus: 'message', session_id: this.sid, handle_id: this.hid, body });
    assert.equal(r.janus, 'success', JSON.stringify(r));
    return r.plugindata.data;
  }

  /** An async request: the event answering it (with its jsep, if any). */
  async async(body: Record<string, unknown>, jsep?: Record<string, unknown>, timeoutMs = 8000): Promise<JanusReply> {
    const transaction = `ab-${Math.random().toString(36).slice(2)}`;
    this.ws.send({ janus: 'message', session_id: this.sid, handle_id: this.hid, transaction, body, ...(jsep ? { jsep } : {}) });
    return this.ws.waitFor((m) => m.janus === 'event' && m.transaction === transaction, timeoutMs);
  }

  /** Plugin events without a transaction (notifications), in arrival order. */
  notifications(): Array<Record<string, any>> {
    return this.ws.messages.filter((m) => m.janus === 'event' && !m.transaction && m.sender === this.hid).map((m) => m.plugindata.data);
  }

  waitNotification(pred: (d: Record<string, any>) => boolean, ms = 5000): Promise<JanusReply> {
    return this.ws.waitFor((m) => m.janus === 'event' && !m.transaction && m.sender === this.hid && pred(m.plugindata.data), ms);
  }

  async close(): Promise<void> {
    await this.ws.close();
  }
}

/** A werift participant that sends a tone and records the decoded audio it receives. */
export class ToneParticipant {
  readonly enc: OpusEncoder = opusscriptCodec.createEncoder(48000, 1);
  readonly dec: OpusDecoder = opusscriptCodec.createDecoder(48000, 1);
  readonly pcm = new Int16Array(960);
  readonly out = new Uint8Array(1500);
  readonly scratch = new Int16Array(5760);
  /** Decoded received audio, one Int16Array per packet, with its arrival time. */
  readonly received: Array<{ at: number; pcm: Int16Array }> = [];
  seq = 1;
  sample = 0;
  sending = false;
  amplitude = 8000;
  id: number | string = 0;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #t0 = 0;

  private constructor(readonly client: AbClient, readonly pc: RTCPeerConnection, readonly track: MediaStreamTrack, public freq: number) {}

  /** Joins `room` with a WebRTC offer (in the join, or in a configure after it when `viaConfigure`). */
  static async join(wsUrl: string, room: number | string, freq: number, extra: Record<string, unknown> = {}, viaConfigure = false): Promise<ToneParticipant> {
    const client = await AbClient.open(wsUrl);
    const pc = loopbackPeer();
    const { sdp, tracks } = await offerWith(pc, ['audio'], false);
    const p = new ToneParticipant(client, pc, tracks[0], freq);
    pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => p.#onRtp(rtp)));
    let ev: JanusReply;
    if (viaConfigure) {
      const joined = await client.async({ request: 'join', room, ...extra });
      assert.equal(joined.plugindata.data.audiobridge, 'joined', JSON.stringify(joined.plugindata.data));
      p.id = joined.plugindata.data.id;
      ev = await client.async({ request: 'configure', muted: false }, { type: 'offer', sdp });
      assert.equal(ev.plugindata.data.result, 'ok', JSON.stringify(ev.plugindata.data));
    } else {
      ev = await client.async({ request: 'join', room, ...extra }, { type: 'offer', sdp });
      assert.equal(ev.plugindata.data.audiobridge, 'joined', JSON.stringify(ev.plugindata.data));
      p.id = ev.plugindata.data.id;
    }
    assert.equal(ev.jsep?.type, 'answer');
    await pc.setRemoteDescription(ev.jsep);
    await waitConnected(pc);
    await client.ws.waitFor((m) => m.janus === 'webrtcup' && m.sender === client.hid);
    return p;
  }

  #onRtp(rtp: RtpPacket): void {
    const n = this.dec.decode(rtp.payload, 0, rtp.payload.length, this.scratch);
    if (n > 0) this.received.push({ at: performance.now(), pcm: this.scratch.slice(0, n) });
  }

  /** Sends one 20 ms tone frame per 20 ms of wall time, catching up after late timers. */
  start(): void {
    if (this.#timer) return;
    this.#t0 = performance.now();
    this.#sent = 0;
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - this.#t0) / 20) + 1;
      while (this.#sent < due) {
        this.#sendFrame();
        this.#sent++;
      }
    }, 10);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sendFrame(): void {
    sineFrame(this.pcm, 960, this.freq, 48000, this.sample, this.amplitude);
    this.sample += 960;
    const len = this.enc.encode(this.pcm, 960, this.out);
    const header = new RtpHeader({ payloadType: 111, sequenceNumber: this.seq & 0xffff, timestamp: (this.sample - 960) >>> 0, ssrc: 0x5000 + this.freq });
    this.seq++;
    this.track.writeRtp(new RtpPacket(header, Buffer.from(this.out.subarray(0, len))));
  }

  /** Resolves once `n` more frames have arrived (the mixer thread may still be starting). */
  async flowing(n = 25, ms = 20_000): Promise<void> {
    const target = this.received.length + n;
    await until(() => this.received.length >= target, ms, 'mixed audio arriving');
  }

  /** Received audio since `since` (performance.now() ms), skipping `skipMs` after it. */
  audioSince(since: number, skipMs = 300): Int16Array {
    return concatFrames(this.received.filter((f) => f.at >= since + skipMs));
  }

  /**
   * The median over received frames of `freq`'s amplitude in each frame: unlike one Goertzel over
   * the whole window, frames lost to a loaded machine do not pull it down.
   */
  medianAmplitude(freq: number, since: number, skipMs = 300): number {
    const amps = this.received.filter((f) => f.at >= since + skipMs).map((f) => toneAmplitude(f.pcm, freq, 48000)).sort((x, y) => x - y);
    return amps.length ? amps[amps.length >> 1] : 0;
  }

  /** Amplitudes of `freqs` in the audio received since `since`. */
  hears(freqs: number[], since: number, skipMs = 300): number[] {
    const a = this.audioSince(since, skipMs);
    return freqs.map((f) => toneAmplitude(a, f, 48000));
  }

  async close(): Promise<void> {
    this.stop();
    await this.pc.close();
    await this.client.close();
  }
}

/** The PCM of `frames`, one after the other. */
export function concatFrames(frames: Array<{ pcm: Int16Array }>): Int16Array {
  const out = new Int16Array(frames.reduce((a, f) => a + f.pcm.length, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f.pcm, o);
    o += f.pcm.length;
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One step of a request script run against both servers: a sync or async request, from client a or b. */
export type ScriptStep = { body: Record<string, unknown>; async?: boolean; second?: boolean };

/** Runs `script` with two clients against `wsUrl`: each reply's plugindata, then every notification. */
export async function runScript(wsUrl: string, script: readonly ScriptStep[]): Promise<{ replies: unknown[]; notes: unknown[] }> {
  const a = await AbClient.open(wsUrl);
  const b = await AbClient.open(wsUrl);
  const replies: unknown[] = [];
  for (const step of script) {
    const c = step.second ? b : a;
    if (step.async) replies.push((await c.async(step.body)).plugindata.data);
    else replies.push(await c.sync(step.body));
  }
  await new Promise((r) => setTimeout(r, 300));
  const notes = [...a.notifications().map((n) => ['a', n]), ...b.notifications().map((n) => ['b', n])];
  await a.close();
  await b.close();
  return { replies, notes };
}
