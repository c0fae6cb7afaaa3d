/**
 * janus.plugin.recordplay (JANUS-REFERENCE 2.7): records a WebRTC peer to MJR files with a `.nfo`
 * index in the configured `path`, and plays recordings back (ours, or Janus' own), with Janus
 * 1.1.2's requests, events and error codes (requests.ts):
 *
 * - synchronous: `list` (finished recordings), `update` (rescan the folder), `configure`
 *   (video-bitrate-max / video-keyframe-interval for recorders: REMB and periodic PLI);
 * - asynchronous: `record` (JSEP offer; answered recvonly with {status:"recording", id}; with
 *   `update` a running recorder's renegotiation), `play`
 *   (our offer, {status:"preparing", id}), `start` (the viewer's answer, {status:"playing"}),
 *   `stop` ({status:"stopped", id}, PeerConnection closed), `pause`/`resume`;
 * - {result:"done"} when a PeerConnection goes; the .nfo is written then and the recording becomes
 *   listed and playable; a playout that reaches the end closes the PeerConnection;
 * - `opusred`: Opus RED recorded and played back as Janus does (src/core/sdp-red.ts, src/media/red.ts);
 * - janus.jcfg `protected_folders`: no file is created inside them; as with Janus the request still
 *   succeeds (its recorder just does not exist), but unlike Janus no .nfo is written either.
 *
 * Checked against Janus 1.1.2 (test/integration/recordplay-reference*.test.ts). Other deliberate
 * differences: `record` on a handle already playing is 418 (Janus starts a recording over the
 * playout); a recorder's simulcast is not accepted in the answer (Janus records its top layer).
 */
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { isObject } from '../../core/plugin-params.ts';
import { parseSdp, writeSdp, type SessionDescription } from '../../core/webrtc/sdp.ts';
import { answerFor, AUDIO_CODECS, VIDEO_CODECS } from '../../core/webrtc/sdp-negotiation.ts';
import { MjrRecorder } from '../../media/mjr.ts';
import { UnsafePathError, isInside } from '../../media/safe-path.ts';
import { readMjr, type MjrFrame } from '../../media/mjr-reader.ts';
import { check, P, RECORDPLAY_ERROR as E, RecordPlayError } from './requests.ts';
import { AUDIO_LEVEL_URI, VIDEO_ORIENT_URI, recordingDate, scanFolder, writeNfo, type Recording } from './library.ts';
import { Playout, playable, playbackOffer } from './playout.ts';
import { acceptRed, answerKeepsRed, offeredRedPt } from '../../core/sdp-red.ts';

export { RECORDPLAY_ERROR } from './requests.ts';

type Json = Record<string, unknown>;

interface Session {
  handle: PluginHandle;
  recorder: boolean;
  recording: Recording | undefined;
  arc?: MjrRecorder;
  vrc?: MjrRecorder;
  drc?: MjrRecorder;
  frames?: { audio?: MjrFrame[]; video?: MjrFrame[]; data?: MjrFrame[] };
  playout?: Playout;
  /** Mids of our playback offer, per medium. */
  mids: { audio?: string; video?: string };
  videoBitrate: number;
  keyframeInterval: number;
  rembStartup: number;
  lastRemb: number;
  lastPli: number;
  paused: boolean;
  /** The viewer takes RED as recorded (Janus `opusred` of a playout session). */
  opusred: boolean;
  active: boolean;
  destroyed: boolean;
  queue: Promise<void>;
}

const DEFAULT_PATH = '/usr/share/janus/recordings';

export class RecordPlayPlugin implements Plugin {
  readonly package = 'janus.plugin.recordplay';
  readonly name = 'JANUS Record&Play plugin';
  readonly description = 'This is a trivial Record&Play plugin for Janus, to record WebRTC sessions and replay them.';
  readonly author = 'Portunus developers';
  readonly version = 4;
  readonly versionString = '0.0.4';
  #gw!: GatewayFacade;
  #folder = DEFAULT_PATH;
  #notifyEvents = true;
  #tmpExt: string | undefined;
  /** Janus `protected_folders` (janus.jcfg): no recording file is created inside them. */
  #protectedFolders: readonly string[] = [];
  readonly #recordings = new Map<number, Recording>();
  readonly #sessions = new Set<Session>();

  async init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): Promise<void> {
    this.#gw = gateway;
    const general = (isObject(config.general) ? config.general : {}) as Json;
    if (typeof general.path === 'string' && general.path !== '') {
      this.#folder = path.resolve(general.path);
      // As Janus: the configured folder is created when missing.
      try {
        if (!existsSync(this.#folder)) mkdirSync(this.#folder, { recursive: true, mode: 0o755 });
      } catch (err) {
        // Janus refuses to load then; here the gateway starts and recording requests fail instead.
        gateway.log.warn(`recordplay: cannot create ${this.#folder}: ${(err as Error).message}`);
      }
    }
    if (general.events !== undefined) this.#notifyEvents = general.events === true || general.events === 'true' || general.events === 'yes';
    this.#tmpExt = global.general.recordings_tmp_ext || undefined;
    this.#protectedFolders = global.general.protected_folders;
    const guard = this.#protectedFolders.find((f) => isInside(this.#folder, path.resolve(f)));
    if (guard) gateway.log.warn(`recordplay: ${this.#folder} is inside the protected folder ${guard}: nothing will be recorded (as with Janus)`);
    await this.#update();
  }

  /** Rescan the folder: new .nfo files are added, recordings whose .nfo went away are dropped. */
  async #update(): Promise<void> {
    const { recordings, seen, skipped } = await scanFolder(this.#folder, new Set(this.#recordings.keys()));
    for (const s of skipped) this.#gw.log.debug(`recordplay: ${s}`);
    for (const r of recordings) if (!this.#recordings.has(r.id)) this.#recordings.set(r.id, r);
    for (const [id, r] of this.#recordings) if (r.completed && !seen.has(id)) this.#recordings.delete(id);
  }

  destroy(): void {
    for (const s of this.#sessions) s.playout?.stop();
    this.#sessions.clear();
  }

  createSession(handle: PluginHandle): void {
    const s: Session = {
      handle, recorder: false, recording: undefined, mids: {}, videoBitrate: 1024 * 1024, keyframeInterval: 15000, rembStartup: 4,
      lastRemb: 0, lastPli: 0, paused: false, opusred: false, active: false, destroyed: false, queue: Promise.resolve(),
    };
    handle.pluginState = s;
    this.#sessions.add(s);
  }

  async handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<PluginResult> {
    const s = handle.pluginState as Session | undefined;
    const error = (code: number, msg: string): PluginResult => ({ kind: 'ok', data: { recordplay: 'event', error_code: code, error: msg } });
    if (!s || s.destroyed) return error(E.UNKNOWN_ERROR, 'No session associated with this handle...');
    try {
      if (body === undefined || body === null) throw new RecordPlayError(E.NO_MESSAGE, 'No message??');
      if (!isObject(body)) throw new RecordPlayError(E.INVALID_JSON, 'JSON error: not an object');
      check(body, P.request);
      const name = (body.request as string).toLowerCase();
      switch (name) {
        case 'update':
          await this.#update();
          return { kind: 'ok', data: { recordplay: 'ok' } };
        case 'list':
          return { kind: 'ok', data: { recordplay: 'list', list: this.#list() } };
        case 'configure': {
          check(body, P.configure);
          if (body['video-bitrate-max'] !== undefined) s.videoBitrate = body['video-bitrate-max'] as number;
          if (body['video-keyframe-interval'] !== undefined) s.keyframeInterval = body['video-keyframe-interval'] as number;
          return {
            kind: 'ok',
            data: { recordplay: 'configure', status: 'ok', settings: { 'video-keyframe-interval': s.keyframeInterval, 'video-bitrate-max': s.videoBitrate } },
          };
        }
        case 'record': case 'play': case 'start': case 'stop': case 'pause': case 'resume':
          s.queue = s.queue.then(() => this.#async(s, name, transaction, body, jsep)).catch((err: unknown) => {
            this.#gw.log.warn(`recordplay: ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
          });
          return { kind: 'ack' };
        default:
          throw new RecordPlayError(E.INVALID_REQUEST, `Unknown request '${String(body.request)}'`);
      }
    } catch (err) {
      if (err instanceof RecordPlayError) return error(err.code, err.message);
      throw err;
    }
  }

  async handleAdminMessage(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      check(body, P.request);
      if (String(body.request).toLowerCase() !== 'update') throw new RecordPlayError(E.INVALID_REQUEST, `Unknown request '${String(body.request)}'`);
      await this.#update();
      return { recordplay: 'ok' };
    } catch (err) {
      if (err instanceof RecordPlayError) return { recordplay: 'event', error_code: err.code, error: err.message };
      throw err;
    }
  }

  #list(): Json[] {
    const out: Json[] = [];
    for (const r of this.#recordings.values()) {
      if (!r.completed) continue;
      const e: Json = { id: r.id, name: r.name, date: r.date, audio: r.audioFile !== undefined };
      if (r.acodec) e.audio_codec = r.acodec;
      if (r.opusRedPt) e.audio_red = true;
      e.video = r.videoFile !== undefined;
      if (r.vcodec) e.video_codec = r.vcodec;
      e.data = r.dataFile !== undefined;
      out.push(e);
    }
    return out;
  }

  async #async(s: Session, name: string, transaction: string, body: Json, jsep: Jsep | undefined): Promise<void> {
    if (s.destroyed) return;
    let result: Json | undefined;
    let reply: Jsep | undefined;
    try {
      switch (name) {
        case 'record':
          ({ result, jsep: reply } = await this.#record(s, body, jsep));
          break;
        case 'play':
          ({ result, jsep: reply } = await this.#play(s, body, jsep));
          break;
        case 'start':
          if (!s.frames?.audio && !s.frames?.video) throw new RecordPlayError(E.INVALID_STATE, 'Not a playout session, can\'t start');
          if (!jsep) throw new RecordPlayError(E.MISSING_ELEMENT, 'Missing SDP answer');
          if (s.opusred && !answerKeepsRed(jsep.sdp)) s.opusred = false;
          result = { status: 'playing' };
          this.#notify(s, { event: 'playing', id: s.recording?.id });
          break;
        case 'stop':
          result = { status: 'stopped', ...(s.recording ? { id: s.recording.id } : {}) };
          if (s.recording) this.#notify(s, { event: 'stopped', id: s.recording.id });
          // The answer goes first, then the PeerConnection (and its "done").
          this.#gw.pushEvent(s.handle, { recordplay: 'event', result }, { transaction });
          this.#gw.closePc(s.handle);
          return;
        default:
          result = this.#pauseResume(s, name === 'pause');
      }
    } catch (err) {
      if (!(err instanceof RecordPlayError)) throw err;
      if (!s.destroyed) this.#gw.pushEvent(s.handle, { recordplay: 'event', error_code: err.code, error: err.message }, { transaction });
      return;
    }
    if (s.destroyed) return;
    this.#gw.pushEvent(s.handle, result ? { recordplay: 'event', result } : { recordplay: 'event' }, reply ? { transaction, jsep: reply } : { transaction });
  }

  #pauseResume(s: Session, pause: boolean): Json | undefined {
    const r = s.recording;
    // Not recording nor playing: nothing to say (Janus answers an empty event).
    if (!r) return undefined;
    this.#notify(s, { event: pause ? 'paused' : 'resumed', id: r.id });
    if (s.paused !== pause) {
      s.paused = pause;
      for (const rec of [s.arc, s.vrc, s.drc]) {
        if (pause) rec?.pause();
        else rec?.resume();
      }
      if (pause) s.playout?.pause();
      else s.playout?.resume();
      if (!pause && s.recorder) this.#gw.sendPli(s.handle);
    }
    return { status: pause ? 'paused' : 'resumed', id: r.id };
  }

  async #record(s: Session, body: Json, jsep: Jsep | undefined): Promise<{ result: Json; jsep: Jsep }> {
    if (!jsep || jsep.type !== 'offer') throw new RecordPlayError(E.MISSING_ELEMENT, 'Missing SDP offer');
    check(body, P.record);
    let offer: SessionDescription;
    try {
      offer = parseSdp(jsep.sdp);
    } catch (err) {
      throw new RecordPlayError(E.INVALID_SDP, `Error parsing offer: ${err instanceof Error ? err.message : String(err)}`);
    }
    // A new offer on a running recorder is a renegotiation (Janus' core flags it as an update);
    // `update` asked for elsewhere changes nothing, as with Janus.
    if (s.recorder && s.recording) return this.#recordUpdate(s, offer, body.update === true);
    if (s.recording || s.frames) throw new RecordPlayError(E.INVALID_STATE, 'Already in a recording or playout session');
    let id = body.id as number | undefined;
    if (id && this.#recordings.has(id)) throw new RecordPlayError(E.RECORDING_EXISTS, `Recording ${id} already exists`);
    while (!id || this.#recordings.has(id)) id = 1 + Math.floor(Math.random() * (Number.MAX_SAFE_INTEGER - 1));
    const pick = (v: unknown, all: readonly string[]) => (typeof v === 'string' ? [v.toLowerCase()] : all);
    const answer = answerFor(offer, {
      audioCodecs: pick(body.audiocodec, AUDIO_CODECS), videoCodecs: pick(body.videocodec, VIDEO_CODECS),
      ...(typeof body.videoprofile === 'string' ? { videoProfile: body.videoprofile } : {}),
    });
    // We only receive: the first audio and video m-lines are recvonly, further ones refused.
    let audio: { codec: string; fmtp?: string; clock: number; levelExt: number; redPt: number } | undefined;
    let video: { codec: string; fmtp?: string; clock: number; orientExt: number } | undefined;
    let data = false;
    answer.media.forEach((m, i) => {
      if (m.port === 0) return;
      const offered = offer.media[i];
      if (m.kind === 'application') {
        data = true;
        return;
      }
      const c = m.codecs[0];
      const taken = m.kind === 'audio' ? audio : video;
      if (!c || taken || offered.direction === 'recvonly' || offered.direction === 'inactive') {
        m.direction = 'inactive';
        return;
      }
      m.direction = 'recvonly';
      const codec = c.name.toLowerCase();
      const ext = (uri: string) => offered.extmaps.find((e) => e.uri === uri)?.id ?? 0;
      if (m.kind === 'audio') {
        // opusred: RED accepted when offered around Opus; its packets are recorded as they come.
        const redPt = body.opusred === true && codec === 'opus' ? offeredRedPt(offered) : 0;
        if (redPt > 0) acceptRed(m, redPt, c);
        audio = { codec, ...(c.fmtp ? { fmtp: c.fmtp } : {}), clock: c.clockRate, levelExt: ext(AUDIO_LEVEL_URI), redPt };
      }
      else video = { codec, ...(c.fmtp ? { fmtp: c.fmtp } : {}), clock: c.clockRate, orientExt: ext(VIDEO_ORIENT_URI) };
    });
    const a = audio as typeof audio;
    const v = video as typeof video;
    const base = typeof body.filename === 'string' ? body.filename : `rec-${id}`;
    // Insertable Streams: the media is encrypted end to end, recorded as it comes and marked so.
    const e2ee = jsep.e2ee === true;
    const rec: Recording = {
      id, name: body.name as string, date: recordingDate(), textdata: body.textdata !== false,
      audioLevelExt: a?.levelExt ?? 0, videoOrientExt: v?.orientExt ?? 0, completed: false,
      ...(a ? { audioFile: `${base}-audio`, acodec: a.codec, ...(a.redPt > 0 ? { opusRedPt: a.redPt } : {}) } : {}),
      ...(v ? { videoFile: `${base}-video`, vcodec: v.codec, ...(v.fmtp ? { vfmtp: v.fmtp } : {}) } : {}),
      ...(data ? { dataFile: `${base}-data` } : {}),
      ...(e2ee ? { e2ee } : {}),
    };
    const open = async (file: string, codec: string, extra: { fmtp?: string; clock?: number; ext?: [number, string]; redPt?: number; e2ee?: boolean }) => MjrRecorder.open({
      baseDir: this.#folder, protectedFolders: this.#protectedFolders, filename: file, codec, ...(extra.fmtp ? { fmtp: extra.fmtp } : {}), ...(extra.clock ? { clockRate: extra.clock } : {}),
      ...(extra.ext && extra.ext[0] > 0 ? { extmaps: { [extra.ext[0]]: extra.ext[1] } } : {}), ...(this.#tmpExt ? { tmpExt: this.#tmpExt } : {}),
      ...(extra.redPt ? { opusRedPt: extra.redPt } : {}), ...(extra.e2ee ? { encrypted: true } : {}),
    });
    try {
      if (a) s.arc = await open(rec.audioFile!, a.codec, { clock: a.clock, ext: [a.levelExt, AUDIO_LEVEL_URI], redPt: a.redPt, e2ee });
      if (v) s.vrc = await open(rec.videoFile!, v.codec, { ...(v.fmtp ? { fmtp: v.fmtp } : {}), clock: v.clock, ext: [v.orientExt, VIDEO_ORIENT_URI], e2ee });
      if (data) s.drc = await open(rec.dataFile!, rec.textdata ? 'text' : 'binary', {});
    } catch (err) {
      // As Janus, whose recorder then does not exist: a file that may not be created (inside
      // protected_folders, a name leaving the folder, a filesystem error) is no error to the
      // client, the session goes on recording nothing. Unlike Janus, nothing at all is written
      // then (Janus still writes the .nfo, even into a protected folder): the recording is dropped.
      await this.#closeRecorders(s);
      rec.unwritable = true;
      const why = err instanceof UnsafePathError ? 'path not allowed' : 'cannot create the file';
      this.#gw.log.warn(`recordplay: recording ${id} records nothing (${why}): ${err instanceof Error ? err.message : String(err)}`);
    }
    s.recorder = true;
    s.recording = rec;
    this.#recordings.set(id, rec);
    answer.sessionName = `Recording ${id}`;
    this.#notify(s, { event: 'recording', id, audio: s.arc !== undefined, video: s.vrc !== undefined, data: s.drc !== undefined });
    return { result: { status: 'recording', id }, jsep: { type: 'answer', sdp: writeSdp(answer), ...(e2ee ? { e2ee: true } : {}) } };
  }

  /** A renegotiation (ICE restart) of a running recorder: answered again with the same codecs. */
  #recordUpdate(s: Session, offer: SessionDescription, restart: boolean): { result: Json; jsep: Jsep } {
    const rec = s.recording!;
    const answer = answerFor(offer, { audioCodecs: rec.acodec ? [rec.acodec] : [], videoCodecs: rec.vcodec ? [rec.vcodec] : [] });
    answer.media.forEach((m, i) => {
      if ((m.kind !== 'audio' && m.kind !== 'video') || m.port === 0) return;
      m.direction = 'recvonly';
      const redPt = m.kind === 'audio' && rec.opusRedPt ? offeredRedPt(offer.media[i]) : 0;
      if (redPt > 0 && m.codecs[0]) acceptRed(m, redPt, m.codecs[0]);
    });
    answer.sessionName = `Recording ${rec.id}`;
    // As Janus: an `update` asked for in the request marks the answer as a restart.
    return { result: { status: 'recording', id: rec.id }, jsep: { type: 'answer', sdp: writeSdp(answer), ...(restart ? { restart: true } : {}), ...(rec.e2ee ? { e2ee: true } : {}) } };
  }

  async #play(s: Session, body: Json, jsep: Jsep | undefined): Promise<{ result: Json; jsep: Jsep }> {
    if (jsep) throw new RecordPlayError(E.INVALID_ELEMENT, "A play request can't contain an SDP");
    check(body, P.play);
    const restart = body.restart === true;
    if (restart) {
      if (s.recorder || !s.recording || !s.frames) throw new RecordPlayError(E.INVALID_STATE, "Not a playout session, can't restart");
      return { result: { status: 'restarting', id: s.recording.id }, jsep: { type: 'offer', sdp: playbackOffer(s.recording, s.frames.data !== undefined), restart: true, ...(s.recording.e2ee ? { e2ee: true } : {}) } };
    }
    if (s.recording || s.frames) throw new RecordPlayError(E.INVALID_STATE, 'Already in a recording or playout session');
    const id = body.id as number;
    const rec = this.#recordings.get(id);
    if (!rec || !rec.completed) throw new RecordPlayError(E.NOT_FOUND, 'No such recording');
    const load = async (file: string | undefined): Promise<MjrFrame[] | undefined> => {
      if (!file) return undefined;
      try {
        return (await readMjr(path.join(this.#folder, `${file}.mjr`))).frames;
      } catch {
        return undefined;
      }
    };
    const audio = playable(rec.acodec) ? await load(rec.audioFile) : undefined;
    const video = playable(rec.vcodec) ? await load(rec.videoFile) : undefined;
    const data = await load(rec.dataFile);
    let warning: string | undefined;
    if (rec.audioFile && !audio) warning = 'Broken audio file, playing video only';
    if (rec.videoFile && !video) warning = 'Broken video file, playing audio only';
    if (rec.dataFile && !data) warning = 'Broken data file, playing audio/video only';
    if (!audio && !video && !data) throw new RecordPlayError(E.INVALID_RECORDING, 'Error opening recording files');
    s.frames = { ...(audio ? { audio } : {}), ...(video ? { video } : {}), ...(data ? { data } : {}) };
    s.recording = rec;
    s.recorder = false;
    // As Janus: assume the viewer takes RED when the recording has it, until its answer says no.
    s.opusred = (rec.opusRedPt ?? 0) > 0;
    const playRec: Recording = { ...rec, ...(audio ? {} : { audioFile: undefined }), ...(video ? {} : { videoFile: undefined }) };
    const sdp = playbackOffer(playRec, data !== undefined);
    let mid = 0;
    s.mids = { ...(audio ? { audio: String(mid++) } : {}), ...(video ? { video: String(mid++) } : {}) };
    this.#notify(s, { event: 'playout', id, audio: audio !== undefined, video: video !== undefined, data: data !== undefined });
    return { result: { status: 'preparing', id, ...(warning ? { warning } : {}) }, jsep: { type: 'offer', sdp, ...(rec.e2ee ? { e2ee: true } : {}) } };
  }

  setupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as Session | undefined;
    if (!s || s.destroyed) return;
    s.active = true;
    if (s.recorder || !s.frames || !s.recording) return;
    const gw = this.#gw;
    const playout = new Playout(s.recording, s.frames, s.mids, {
      rtp: (p: MediaPacket) => gw.relayRtp(handle, p),
      data: (d) => gw.relayData(handle, '', d),
      // As Janus: the end of the recording closes the PeerConnection ("done" follows).
      end: () => setTimeout(() => { if (!s.destroyed && s.playout === playout) gw.closePc(handle); }, 200),
    }, s.opusred);
    s.playout = playout;
    if (s.paused) playout.pause();
    playout.start();
  }

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    const s = handle.pluginState as Session;
    if (s.destroyed || !s.recorder) return;
    if (!packet.video) {
      s.arc?.saveRtp(packet.buffer);
      return;
    }
    s.vrc?.saveRtp(packet.buffer);
    this.#videoFeedback(s);
  }

  /** REMB towards the recorded sender (ramping up over the first packets), PLI every keyframe interval. */
  #videoFeedback(s: Session): void {
    const now = performance.now();
    if (s.rembStartup > 0 || now - s.lastRemb >= 5000) {
      const bitrate = s.rembStartup > 0 ? Math.floor(s.videoBitrate / s.rembStartup--) : s.videoBitrate;
      this.#gw.sendRemb(s.handle, bitrate);
      s.lastRemb = now;
    }
    if (now - s.lastPli >= s.keyframeInterval) {
      this.#gw.sendPli(s.handle);
      s.lastPli = now;
    }
  }

  incomingData(handle: PluginHandle, _label: string, data: Buffer | string): void {
    const s = handle.pluginState as Session;
    if (s.destroyed || !s.recorder) return;
    s.drc?.saveData(data);
  }

  slowLink(handle: PluginHandle, _mid: string, video: boolean, uplink: boolean): void {
    const s = handle.pluginState as Session | undefined;
    if (!s || s.destroyed) return;
    // What is uplink for us is downlink for the client.
    this.#gw.pushEvent(handle, {
      recordplay: 'event', result: { status: 'slow_link', media: video ? 'video' : 'audio', ...(video ? { 'current-bitrate': s.videoBitrate } : {}), uplink: uplink ? 0 : 1 },
    });
  }

  async #closeRecorders(s: Session): Promise<void> {
    const all = [s.arc, s.vrc, s.drc];
    s.arc = s.vrc = s.drc = undefined;
    await Promise.all(all.map((r) => r?.close().catch(() => undefined)));
  }

  hangupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as Session | undefined;
    if (!s) return;
    s.active = false;
    if (s.destroyed) return;
    // "done" once the files are closed and the .nfo written: a `list` right after it shows the recording.
    void this.#finish(s).then(() => {
      if (!s.destroyed) this.#gw.pushEvent(handle, { recordplay: 'event', result: 'done' });
    });
  }

  /** Close what the session had: a recording is completed (.nfo written), a playout stopped. */
  async #finish(s: Session): Promise<void> {
    s.playout?.stop();
    s.playout = undefined;
    s.frames = undefined;
    const rec = s.recording;
    const wasRecorder = s.recorder;
    s.recording = undefined;
    s.recorder = false;
    s.paused = false;
    s.opusred = false;
    s.rembStartup = 4;
    await this.#closeRecorders(s);
    if (wasRecorder && rec && !rec.completed && rec.unwritable) {
      this.#recordings.delete(rec.id);
    } else if (wasRecorder && rec && !rec.completed) {
      try {
        await writeNfo(this.#folder, rec);
        rec.completed = true;
      } catch (err) {
        this.#gw.log.warn(`recordplay: could not write ${rec.id}.nfo: ${err instanceof Error ? err.message : String(err)}`);
        this.#recordings.delete(rec.id);
      }
    }
  }

  destroySession(handle: PluginHandle): void {
    const s = handle.pluginState as Session | undefined;
    if (!s || s.destroyed) return;
    s.destroyed = true;
    void this.#finish(s);
    this.#sessions.delete(s);
  }

  /** Admin API handle info, with the fields of Janus' janus_recordplay_query_session. */
  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as Session;
    const info: Json = { type: s.recorder ? 'recorder' : s.recording ? 'player' : 'none' };
    if (s.recording) info.recording_id = s.recording.id;
    if (s.recording) info.recording_name = s.recording.name;
    if (s.recording?.e2ee) info.e2ee = true;
    info.hangingup = 0;
    info.destroyed = s.destroyed ? 1 : 0;
    return info;
  }

  #notify(s: Session, info: Json): void {
    if (this.#notifyEvents) this.#gw.notifyEvent(s.handle, info);
  }
}

export default (): Plugin => new RecordPlayPlugin();
