/**
 * janus.plugin.echotest (JANUS-REFERENCE 2.1): sends back what the peer sends, audio, video and data.
 * One async request with optional audio/video toggles, bitrate (REMB), record + filename (MJR),
 * audiocodec/videocodec/videoprofile preferences, substream/temporal, and a JSEP offer to answer.
 * Events: {echotest:"event", result:"ok"}, {result:"done"} when the PeerConnection goes away,
 * errors as {error_code 411-414, error}.
 */
import path from 'node:path';
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parseSdp, SdpError, type SessionDescription } from '../../core/webrtc/sdp.ts';
import { answerFor, negotiatedCodecs, AUDIO_CODECS, VIDEO_CODECS } from '../../core/webrtc/sdp-negotiation.ts';
import { writeSdp } from '../../core/webrtc/sdp.ts';
import { RtcpWalker, RtcpKind } from '../../media/rtcp.ts';
import { MjrRecorder } from '../../media/mjr.ts';

export const ECHOTEST_ERROR = {
  NO_MESSAGE: 411,
  INVALID_JSON: 412,
  INVALID_ELEMENT: 413,
  INVALID_SDP: 414,
} as const;

interface Recorders {
  audio?: MjrRecorder;
  video?: MjrRecorder;
  data?: MjrRecorder;
}

interface EchoState {
  audioActive: boolean;
  videoActive: boolean;
  bitrate: number;
  substream: number;
  temporal: number;
  negotiated: SessionDescription | undefined;
  recorders: Recorders;
  recordingPending: boolean;
  /** A PeerConnection was negotiated and not yet reported gone. */
  mediaLive: boolean;
  lastRemb: number;
  destroyed: boolean;
}

type Rule = { name: string; type: 'boolean' | 'string' | 'uint' | 'layer' };
const RULES: Rule[] = [
  { name: 'audio', type: 'boolean' },
  { name: 'video', type: 'boolean' },
  { name: 'bitrate', type: 'uint' },
  { name: 'record', type: 'boolean' },
  { name: 'filename', type: 'string' },
  { name: 'audiocodec', type: 'string' },
  { name: 'videocodec', type: 'string' },
  { name: 'videoprofile', type: 'string' },
  { name: 'substream', type: 'layer' },
  { name: 'temporal', type: 'layer' },
];

function checkBody(body: Record<string, unknown>): string | undefined {
  for (const r of RULES) {
    const v = body[r.name];
    if (v === undefined || v === null) continue;
    const ok = r.type === 'boolean' ? typeof v === 'boolean'
      : r.type === 'string' ? typeof v === 'string'
      : r.type === 'uint' ? typeof v === 'number' && Number.isInteger(v) && v >= 0
      : typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2;
    if (!ok) {
      const what = r.type === 'boolean' ? 'a boolean' : r.type === 'string' ? 'a string' : r.type === 'uint' ? 'a positive integer' : 'an integer between 0 and 2';
      return `Invalid element (${r.name} should be ${what})`;
    }
  }
  return undefined;
}

function codecList(v: unknown, known: readonly string[]): string[] | undefined {
  if (typeof v !== 'string') return undefined;
  const list = v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => known.includes(s));
  return list.length ? list : undefined;
}

export class EchoTestPlugin implements Plugin {
  readonly package = 'janus.plugin.echotest';
  readonly name = 'JANUS EchoTest plugin';
  readonly description = 'Sends back the audio, video and data a peer sends (Portunus).';
  readonly author = 'Portunus developers';
  readonly version = 8;
  readonly versionString = '0.0.8';
  #gw!: GatewayFacade;
  #recordBase = process.cwd();
  #protected: string[] = [];
  #tmpExt: string | undefined;
  readonly #walker = new RtcpWalker();

  init(gateway: GatewayFacade, _config: Record<string, unknown>, global: PortunusConfig): void {
    this.#gw = gateway;
    this.#protected = global.general.protected_folders.map((p) => path.resolve(p));
    this.#tmpExt = global.general.recordings_tmp_ext || undefined;
  }

  destroy(): void {}

  createSession(handle: PluginHandle): void {
    const state: EchoState = {
      audioActive: true, videoActive: true, bitrate: 0, substream: 2, temporal: 2, negotiated: undefined,
      recorders: {}, recordingPending: false, mediaLive: false, lastRemb: 0, destroyed: false,
    };
    handle.pluginState = state;
  }

  handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): PluginResult {
    // Everything is answered asynchronously, as Janus' EchoTest does.
    setImmediate(() => void this.#process(handle, transaction, body, jsep));
    return { kind: 'ack', hint: 'Processing the request' };
  }

  async #process(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<void> {
    const state = handle.pluginState as EchoState | undefined;
    if (!state || state.destroyed) return;
    const fail = (code: number, error: string) => this.#gw.pushEvent(handle, { echotest: 'event', error_code: code, error }, { transaction });
    const problem = checkBody(body);
    if (problem) return void fail(ECHOTEST_ERROR.INVALID_ELEMENT, problem);
    if (typeof body.audio === 'boolean') state.audioActive = body.audio;
    if (typeof body.video === 'boolean') state.videoActive = body.video;
    if (typeof body.substream === 'number') state.substream = body.substream;
    if (typeof body.temporal === 'number') state.temporal = body.temporal;
    if (typeof body.bitrate === 'number') {
      state.bitrate = body.bitrate;
      if (state.bitrate > 0) this.#gw.sendRemb(handle, state.bitrate);
    }
    let answer: Jsep | undefined;
    if (jsep?.type === 'offer') {
      let offer: SessionDescription;
      try {
        offer = parseSdp(jsep.sdp);
      } catch (err) {
        return void fail(ECHOTEST_ERROR.INVALID_SDP, `Error parsing offer: ${err instanceof SdpError ? err.message : String(err)}`);
      }
      const desc = answerFor(offer, {
        audioCodecs: codecList(body.audiocodec, AUDIO_CODECS),
        videoCodecs: codecList(body.videocodec, VIDEO_CODECS),
        videoProfile: typeof body.videoprofile === 'string' ? body.videoprofile : undefined,
      });
      if (desc.media.every((m) => m.port === 0)) return void fail(ECHOTEST_ERROR.INVALID_SDP, 'No media we can echo in the offer');
      state.negotiated = desc;
      state.mediaLive = true;
      answer = { type: 'answer', sdp: writeSdp(desc) };
    }
    if (body.record === true) {
      await this.#startRecording(handle, state, typeof body.filename === 'string' ? body.filename : undefined);
    } else if (body.record === false) {
      await this.#stopRecording(state);
    }
    this.#gw.pushEvent(handle, { echotest: 'event', result: 'ok' }, answer ? { transaction, jsep: answer } : { transaction });
  }

  async #startRecording(handle: PluginHandle, state: EchoState, filename: string | undefined): Promise<void> {
    if (!state.negotiated || state.recorders.audio || state.recorders.video || state.recorders.data) return;
    const base = filename ?? `echotest-${handle.sessionId}-${Date.now()}`;
    const open = (suffix: string, codec: string, fmtp?: string) => MjrRecorder.open({
      baseDir: this.#recordBase, allowedBases: ['/'], protectedFolders: this.#protected,
      filename: `${base}-${suffix}`, codec, ...(fmtp ? { fmtp } : {}), ...(this.#tmpExt ? { tmpExt: this.#tmpExt } : {}),
    });
    try {
      for (const n of negotiatedCodecs(state.negotiated)) {
        if (n.kind === 'audio' && n.codec && !state.recorders.audio) state.recorders.audio = await open('audio', n.codec.name.toLowerCase(), n.codec.fmtp);
        else if (n.kind === 'video' && n.codec && !state.recorders.video) state.recorders.video = await open('video', n.codec.name.toLowerCase(), n.codec.fmtp);
        else if (n.kind === 'application' && !state.recorders.data && n.direction !== 'inactive') state.recorders.data = await open('data', 'text');
      }
    } catch (err) {
      this.#gw.log.warn(`echotest: could not start recording: ${(err as Error).message}`);
      await this.#stopRecording(state);
    }
  }

  async #stopRecording(state: EchoState): Promise<void> {
    const r = state.recorders;
    state.recorders = {};
    await Promise.all([r.audio?.close(), r.video?.close(), r.data?.close()].map((p) => p?.catch(() => undefined)));
  }

  setupMedia(): void {}

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    const state = handle.pluginState as EchoState;
    if (packet.video ? !state.videoActive : !state.audioActive) return;
    const rec = packet.video ? state.recorders.video : state.recorders.audio;
    if (rec) rec.saveRtp(packet.buffer);
    this.#gw.relayRtp(handle, packet);
  }

  incomingRtcp(handle: PluginHandle, packet: MediaPacket): void {
    const state = handle.pluginState as EchoState;
    const w = this.#walker.reset(packet.buffer);
    let wantKeyframe = false;
    while (w.next()) if (w.kind === RtcpKind.PLI || w.kind === RtcpKind.FIR) wantKeyframe = true;
    // The peer's receiver lost our echo: ask its sender for a keyframe (the echo is its own stream).
    if (wantKeyframe && state.videoActive) this.#gw.sendPli(handle);
    const now = Date.now();
    if (state.bitrate > 0 && now - state.lastRemb > 1000) {
      state.lastRemb = now;
      this.#gw.sendRemb(handle, state.bitrate);
    }
  }

  incomingData(handle: PluginHandle, label: string, data: Buffer | string, binary: boolean): void {
    const state = handle.pluginState as EchoState;
    state.recorders.data?.saveData(data);
    if (binary) this.#gw.relayData(handle, label, data);
    else this.#gw.relayData(handle, label, `Janus EchoTest here! You wrote: ${data.toString()}`);
  }

  hangupMedia(handle: PluginHandle): void {
    const state = handle.pluginState as EchoState | undefined;
    if (!state || !state.mediaLive) return;
    state.mediaLive = false;
    state.negotiated = undefined;
    state.audioActive = true;
    state.videoActive = true;
    state.bitrate = 0;
    void this.#stopRecording(state);
    if (!state.destroyed) this.#gw.pushEvent(handle, { echotest: 'event', result: 'done' });
  }

  destroySession(handle: PluginHandle): void {
    const state = handle.pluginState as EchoState | undefined;
    if (!state) return;
    state.destroyed = true;
    void this.#stopRecording(state);
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as EchoState;
    return {
      audio_active: s.audioActive, video_active: s.videoActive, bitrate: s.bitrate, substream: s.substream, temporal: s.temporal,
      recording: Boolean(s.recorders.audio || s.recorders.video || s.recorders.data), destroyed: s.destroyed ? 1 : 0,
    };
  }
}

export default (): Plugin => new EchoTestPlugin();
