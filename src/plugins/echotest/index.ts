/**
 * janus.plugin.echotest (JANUS-REFERENCE 2.1): sends back what the peer sends, audio, video and data,
 * with the request set and events of Janus 1.1.2's EchoTest:
 *
 * - one async request (requests.ts): audio/video toggles, bitrate (REMB cap), record + filename (MJR,
 *   recording.ts), audiocodec/videocodec/videoprofile (negotiate.ts), substream/temporal/fallback
 *   (simulcast.ts), opusred (RED answered; recordings keep the primary Opus, red.ts), min_delay/
 *   max_delay (accepted and reported in querySession; the core writes no playout-delay yet), and a
 *   JSEP offer to answer (first or renegotiation; toggles survive until the PeerConnection goes);
 * - events: {echotest:"event", result:"ok"} per request, {result:"done"} when the PeerConnection
 *   goes away, {videocodec, substream} / {videocodec, temporal} when simulcast switches, slow_link,
 *   and errors {error_code 411-414, error}.
 *
 * Requests of one handle are processed in order, one at a time. The media path (incomingRtp) only
 * reads views and numbers: no allocation, no JSON per packet.
 */
import { performance } from 'node:perf_hooks';
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parseSdp, SdpError, writeSdp, type SessionDescription } from '../../core/webrtc/sdp.ts';
import { RtcpWalker, RtcpKind, rembBitrate } from '../../media/rtcp.ts';
import { ECHOTEST_ERROR, parseRequest, type EchoRequest } from './requests.ts';
import { negotiate, type Negotiated } from './negotiate.ts';
import { EchoRecording, refusedName, type RecordingPolicy } from './recording.ts';
import { DEFAULT_FALLBACK_US, SimulcastSelector, sameLayout } from '../../media/simulcast.ts';
import { coarseNow, holdClock, releaseClock } from './clock.ts';
import { RedUnwrapper } from '../../media/red.ts';

export { ECHOTEST_ERROR } from './requests.ts';

/** Janus' "no limit" REMB value. */
const NO_BITRATE_CAP = 10_000_000;

interface EchoSession {
  audioActive: boolean;
  videoActive: boolean;
  /** Bitrate cap asked for (0 = none) and the last REMB the peer sent. */
  bitrate: number;
  peerBitrate: number;
  lastRemb: number;
  negotiated: Negotiated | undefined;
  simulcast: SimulcastSelector | null;
  /** Simulcast wishes, kept across renegotiations until the PeerConnection goes. */
  substreamTarget: number;
  temporalTarget: number;
  fallbackUs: number;
  minDelay: number;
  maxDelay: number;
  opusred: boolean;
  e2ee: boolean;
  recording: EchoRecording | undefined;
  slowlinkCount: number;
  /** A PeerConnection was negotiated and not yet reported gone. */
  mediaLive: boolean;
  /** Bumped when the PeerConnection goes: work started before is stale. */
  generation: number;
  destroyed: boolean;
  /** Requests run one after the other. */
  queue: Promise<void>;
}

function newSession(): EchoSession {
  return {
    audioActive: true, videoActive: true, bitrate: 0, peerBitrate: 0, lastRemb: 0, negotiated: undefined, simulcast: null,
    substreamTarget: 2, temporalTarget: 2, fallbackUs: 0, minDelay: -1, maxDelay: -1, opusred: false, e2ee: false,
    recording: undefined, slowlinkCount: 0, mediaLive: false, generation: 0, destroyed: false, queue: Promise.resolve(),
  };
}

export class EchoTestPlugin implements Plugin {
  readonly package = 'janus.plugin.echotest';
  readonly name = 'JANUS EchoTest plugin';
  readonly description = 'Sends back the audio, video and data a peer sends (Portunus).';
  readonly author = 'Portunus developers';
  readonly version = 9;
  readonly versionString = '0.0.9';
  #gw!: GatewayFacade;
  #recording: RecordingPolicy = { baseDir: process.cwd(), protectedFolders: [] };
  #notifyEvents = true;
  readonly #walker = new RtcpWalker();
  readonly #red = new RedUnwrapper();

  init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): void {
    this.#gw = gateway;
    const tmpExt = global.general.recordings_tmp_ext;
    this.#recording = { baseDir: process.cwd(), protectedFolders: global.general.protected_folders, ...(tmpExt ? { tmpExt } : {}) };
    const general = (config.general ?? {}) as Record<string, unknown>;
    if (general.events !== undefined) this.#notifyEvents = general.events === true || general.events === 'true' || general.events === 'yes';
  }

  destroy(): void {}

  createSession(handle: PluginHandle): void {
    handle.pluginState = newSession();
  }

  handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): PluginResult {
    const state = handle.pluginState as EchoSession | undefined;
    if (!state) return { kind: 'error', reason: 'No session associated with this handle' };
    // Everything is answered asynchronously, as Janus' EchoTest does, in arrival order.
    state.queue = state.queue.then(() => this.#process(handle, state, transaction, body, jsep)).catch((err: unknown) => {
      this.#gw.log.warn(`echotest: request failed: ${err instanceof Error ? err.message : String(err)}`);
    });
    return { kind: 'ack', hint: "I'm taking my time!" };
  }

  /** Admin API message_plugin: the EchoTest echoes the request, as Janus' does. */
  handleAdminMessage(body: Record<string, unknown>): Record<string, unknown> {
    return structuredClone(body);
  }

  #fail(handle: PluginHandle, transaction: string, code: number, error: string): void {
    this.#gw.pushEvent(handle, { echotest: 'event', error_code: code, error }, { transaction });
  }

  async #process(handle: PluginHandle, state: EchoSession, transaction: string, body: unknown, jsep: Jsep | undefined): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    if (state.destroyed) return;
    const offer = jsep?.type === 'offer' ? jsep : undefined;
    const parsed = parseRequest(body, offer !== undefined);
    if (!parsed.ok) return this.#fail(handle, transaction, parsed.code, parsed.error);
    const req = parsed.request;
    // Client-named files are checked before anything is applied.
    if (req.record === true && req.filename !== undefined) {
      const why = await refusedName(this.#recording, req.filename);
      if (why !== undefined) {
        this.#gw.log.warn(`echotest: recording name refused: ${why}`);
        return this.#fail(handle, transaction, ECHOTEST_ERROR.INVALID_ELEMENT, 'Invalid value (filename not allowed)');
      }
    }
    let negotiated: Negotiated | undefined;
    if (offer) {
      let desc: SessionDescription;
      try {
        desc = parseSdp(offer.sdp);
      } catch (err) {
        return this.#fail(handle, transaction, ECHOTEST_ERROR.INVALID_SDP, `Error parsing offer: ${err instanceof SdpError ? err.message : String(err)}`);
      }
      negotiated = negotiate(desc, req, offer.rid_order);
      if (!negotiated) {
        this.#fail(handle, transaction, ECHOTEST_ERROR.INVALID_SDP, 'Error generating answer: no media we can echo in the offer');
        // The core took the offer in already: drop that half-made PeerConnection (unless one is live),
        // so the handle starts afresh with the next offer.
        if (!state.mediaLive) this.#gw.closePc(handle);
        return;
      }
      if (offer.e2ee === true) state.e2ee = true;
    }
    if (state.destroyed) return;
    this.#applyToggles(handle, state, req);
    if (negotiated) this.#applyNegotiation(handle, state, negotiated);
    if (req.record === false) {
      await this.#stopRecording(state);
    } else if (req.record === true) {
      await this.#startRecording(handle, state, req.filename);
    }
    if (state.destroyed) return;
    this.#gw.pushEvent(handle, { echotest: 'event', result: 'ok' }, negotiated ? {
      transaction,
      jsep: { type: 'answer', sdp: writeSdp(negotiated.answer), ...(state.e2ee ? { e2ee: true } : {}) },
    } : { transaction });
    if (this.#notifyEvents) this.#gw.notifyEvent(handle, this.#eventInfo(state));
  }

  #applyToggles(handle: PluginHandle, state: EchoSession, req: EchoRequest): void {
    const gw = this.#gw;
    if (req.audio !== undefined) state.audioActive = req.audio;
    if (req.video !== undefined) {
      if (!state.videoActive && req.video) gw.sendPli(handle); // (re-)enabled: recover with a keyframe
      state.videoActive = req.video;
    }
    if (req.bitrate !== undefined) {
      state.bitrate = req.bitrate;
      gw.sendRemb(handle, state.bitrate || NO_BITRATE_CAP);
    }
    if (req.fallback !== undefined) {
      state.fallbackUs = req.fallback;
      if (state.simulcast) state.simulcast.fallbackMs = (req.fallback || DEFAULT_FALLBACK_US) / 1000;
    }
    const sim = state.simulcast;
    const videocodec = state.negotiated?.video?.codec ?? null;
    if (req.substream !== undefined) {
      state.substreamTarget = req.substream;
      // Already there: say so; otherwise ask for a keyframe to switch on.
      if (sim?.setTarget(req.substream)) gw.pushEvent(handle, { echotest: 'event', videocodec, substream: sim.substream });
      else gw.sendPli(handle);
    }
    if (req.temporal !== undefined) {
      state.temporalTarget = req.temporal;
      if (sim?.setTemporalTarget(req.temporal) && videocodec === 'vp8') gw.pushEvent(handle, { echotest: 'event', videocodec, temporal: sim.templayer });
      else gw.sendPli(handle);
    }
    if (req.opusred !== undefined) state.opusred = req.opusred;
    // Janus' playout-delay wishes: a negative value clears both.
    if (req.minDelay !== undefined) {
      if (req.minDelay < 0) state.minDelay = state.maxDelay = -1;
      else {
        state.minDelay = req.minDelay;
        if (state.minDelay > state.maxDelay) state.maxDelay = state.minDelay;
      }
    }
    if (req.maxDelay !== undefined) {
      if (req.maxDelay < 0) state.minDelay = state.maxDelay = -1;
      else {
        state.maxDelay = req.maxDelay;
        if (state.maxDelay < state.minDelay) state.minDelay = state.maxDelay;
      }
    }
  }

  #applyNegotiation(handle: PluginHandle, state: EchoSession, n: Negotiated): void {
    state.negotiated = n;
    state.mediaLive = true;
    const layout = n.simulcast;
    if (!layout) {
      this.#dropSimulcast(state);
      return;
    }
    if (state.simulcast && sameLayout(state.simulcast.layout, layout)) return;
    this.#dropSimulcast(state);
    holdClock();
    const sim = new SimulcastSelector(layout);
    sim.setTarget(state.substreamTarget);
    sim.setTemporalTarget(state.temporalTarget);
    sim.fallbackMs = (state.fallbackUs || DEFAULT_FALLBACK_US) / 1000;
    state.simulcast = sim;
    this.#gw.log.debug(`echotest: handle ${handle.handleId} simulcasting ${layout.rids.join(',') || layout.ssrcs.join(',')}`);
  }

  #dropSimulcast(state: EchoSession): void {
    if (state.simulcast === null) return;
    state.simulcast = null;
    releaseClock();
  }

  async #startRecording(handle: PluginHandle, state: EchoSession, filename: string | undefined): Promise<void> {
    const n = state.negotiated;
    if (!n) return;
    // A new record:true replaces the running recording (Janus would leak it).
    await this.#stopRecording(state);
    const generation = state.generation;
    const base = filename ?? `echotest-${handle.handleId}-${Math.round((performance.timeOrigin + performance.now()) * 1000)}`;
    let rec: EchoRecording;
    try {
      rec = await EchoRecording.open(this.#recording, base, { audio: n.audio, video: n.video, data: n.data });
    } catch (err) {
      // As Janus: the request still succeeds, the failure is logged.
      this.#gw.log.warn(`echotest: could not start recording: ${(err as Error).message}`);
      return;
    }
    if (state.destroyed || state.generation !== generation) {
      await rec.close();
      return;
    }
    state.recording = rec;
    if (rec.video) this.#gw.sendPli(handle); // start the video recording on a keyframe
  }

  async #stopRecording(state: EchoSession): Promise<void> {
    const rec = state.recording;
    state.recording = undefined;
    await rec?.close();
  }

  setupMedia(): void {}

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    const state = handle.pluginState as EchoSession;
    if (state.destroyed) return;
    const buf = packet.buffer;
    if (!packet.video) {
      if (!state.audioActive) return;
      const rec = state.recording?.audio;
      if (rec) {
        const redPt = state.negotiated?.audio?.redPt;
        if (redPt !== undefined && (buf[1] & 0x7f) === redPt) {
          const n = this.#red.unwrap(buf);
          if (n > 0) rec.saveRtp(this.#red.scratch, 0, n);
        } else rec.saveRtp(buf);
      }
      this.#gw.relayRtp(handle, packet);
      return;
    }
    if (!state.videoActive) return;
    const sim = state.simulcast;
    if (sim === null) {
      state.recording?.video?.saveRtp(buf);
      this.#gw.relayRtp(handle, packet);
      return;
    }
    if (buf.length < 12) return;
    // The header is restored after the relay so the core's view of the incoming stream stays true.
    const b1 = buf[2];
    const b2 = buf[3];
    const ts = buf.readUInt32BE(4);
    const ssrc = buf.readUInt32BE(8);
    const relay = sim.process(buf, coarseNow());
    if (sim.needPli) this.#gw.sendPli(handle);
    if (!relay) return;
    if (sim.changedSubstream) this.#gw.pushEvent(handle, { echotest: 'event', videocodec: sim.layout.codec, substream: sim.substream });
    if (sim.changedTemporal) this.#gw.pushEvent(handle, { echotest: 'event', videocodec: sim.layout.codec, temporal: sim.templayer });
    state.recording?.video?.saveRtp(buf);
    this.#gw.relayRtp(handle, packet);
    buf[2] = b1;
    buf[3] = b2;
    buf.writeUInt32BE(ts, 4);
    buf.writeUInt32BE(ssrc, 8);
  }

  incomingRtcp(handle: PluginHandle, packet: MediaPacket): void {
    const state = handle.pluginState as EchoSession;
    if (state.destroyed) return;
    const w = this.#walker.reset(packet.buffer);
    let wantKeyframe = false;
    let remb = -1;
    while (w.next()) {
      if (w.kind === RtcpKind.PLI || w.kind === RtcpKind.FIR) wantKeyframe = true;
      else if (w.kind === RtcpKind.REMB) remb = rembBitrate(w.buf, w.off);
    }
    // The peer's receiver lost our echo: ask its sender for a keyframe (the echo is its own stream).
    if (wantKeyframe && state.videoActive) this.#gw.sendPli(handle);
    const now = performance.now();
    if (remb >= 0) {
      // As Janus: a REMB from the peer is answered with our cap (or "no limit").
      state.peerBitrate = remb;
      state.lastRemb = now;
      this.#gw.sendRemb(handle, state.bitrate || NO_BITRATE_CAP);
    } else if (state.bitrate > 0 && now - state.lastRemb > 1000) {
      // Peers that send no REMB still get the cap once a second.
      state.lastRemb = now;
      this.#gw.sendRemb(handle, state.bitrate);
    }
  }

  incomingData(handle: PluginHandle, label: string, data: Buffer | string, binary: boolean): void {
    const state = handle.pluginState as EchoSession;
    if (state.destroyed || data.length === 0) return;
    state.recording?.data?.saveData(data);
    if (binary) this.#gw.relayData(handle, label, data);
    else this.#gw.relayData(handle, label, `Janus EchoTest here! You wrote: ${data.toString()}`);
  }

  slowLink(handle: PluginHandle, _mid: string, video: boolean, uplink: boolean): void {
    const state = handle.pluginState as EchoSession | undefined;
    if (!state || state.destroyed) return;
    state.slowlinkCount++;
    // NACKs are expected on a medium we stopped echoing; only a slow downlink is worth telling.
    if (uplink) return;
    this.#gw.pushEvent(handle, {
      echotest: 'event', event: 'slow_link', media: video ? 'video' : 'audio', ...(video ? { 'current-bitrate': state.bitrate } : {}),
    });
  }

  hangupMedia(handle: PluginHandle): void {
    const state = handle.pluginState as EchoSession | undefined;
    if (!state || !state.mediaLive) return;
    state.mediaLive = false;
    state.generation++;
    this.#dropSimulcast(state);
    const fresh = newSession();
    // Everything but the request queue and the counters goes back to its defaults (as Janus).
    Object.assign(state, {
      ...fresh, queue: state.queue, generation: state.generation, slowlinkCount: state.slowlinkCount, recording: state.recording, destroyed: state.destroyed,
    });
    void this.#stopRecording(state);
    if (!state.destroyed) this.#gw.pushEvent(handle, { echotest: 'event', result: 'done' });
  }

  destroySession(handle: PluginHandle): void {
    const state = handle.pluginState as EchoSession | undefined;
    if (!state) return;
    state.destroyed = true;
    state.generation++;
    this.#dropSimulcast(state);
    void this.#stopRecording(state);
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as EchoSession;
    const info: Record<string, unknown> = { audio_active: s.audioActive, video_active: s.videoActive };
    if (s.negotiated?.audio) info.audio_codec = s.negotiated.audio.codec;
    if (s.negotiated?.audio?.redPt !== undefined) info.audio_red = true;
    if (s.negotiated?.video) info.video_codec = s.negotiated.video.codec;
    info.bitrate = s.bitrate;
    info['peer-bitrate'] = s.peerBitrate;
    const sim = s.simulcast;
    if (sim) {
      info.simulcast = true;
      info.substream = sim.substream;
      info['substream-target'] = sim.target;
      info['temporal-layer'] = sim.templayer;
      info['temporal-layer-target'] = sim.templayerTarget;
      if (s.fallbackUs > 0) info.fallback = s.fallbackUs;
    }
    if (s.recording) info.recording = s.recording.info();
    if (s.e2ee) info.e2ee = true;
    if (s.opusred) info.opusred = true;
    if (s.minDelay >= 0) info.min_delay = s.minDelay;
    if (s.maxDelay >= 0) info.max_delay = s.maxDelay;
    info.slowlink_count = s.slowlinkCount;
    info.destroyed = s.destroyed ? 1 : 0;
    return info;
  }

  /** What Janus tells event handlers after each request. */
  #eventInfo(s: EchoSession): Record<string, unknown> {
    const info: Record<string, unknown> = { audio_active: s.audioActive, video_active: s.videoActive, bitrate: s.bitrate };
    if (s.simulcast) info.simulcast = { substream: s.simulcast.substream, 'temporal-layer': s.simulcast.templayer };
    if (s.recording) info.recording = s.recording.info();
    return info;
  }
}

export default (): Plugin => new EchoTestPlugin();
