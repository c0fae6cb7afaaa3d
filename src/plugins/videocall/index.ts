/**
 * janus.plugin.videocall (JANUS-REFERENCE 2.3): one-to-one calls relayed through the gateway, with
 * Janus 1.1.2's request set, events and error codes (requests.ts):
 *
 * - every request is asynchronous (ack, then an event with the same transaction), processed in
 *   arrival order per handle: list, register, call (JSEP offer), accept (JSEP answer), set (audio/
 *   video relay toggles, REMB bitrate cap, record/filename, substream/temporal/fallback, restart,
 *   and renegotiation: a JSEP in `set` goes to the peer as an `update` event), hangup;
 * - the caller's offer goes to the callee as is (the core puts our ICE/DTLS/SSRCs in), the callee's
 *   answer goes back to the caller, so both legs share payload types and packets are relayed
 *   unchanged but for the SSRC the core writes;
 * - events: registered, calling, incomingcall, accepted, update, set, simulcast, slow_link, hangup
 *   ("User busy", the hangup reason, "Remote WebRTC hangup" when a PeerConnection or handle goes).
 *
 * A caller's simulcast (rid or SSRC based, VP8/H.264) is taken out of the callee's offer and
 * accepted again in the caller's answer (relay-sdp.ts); the callee gets one layer, picked by its
 * substream/temporal targets with the EchoTest's SimulcastSelector (switch on keyframes, PLI to
 * the caller, "simulcast" events). The media path (incomingRtp) reads and rewrites the packet in
 * place: no allocation, no JSON per packet.
 *
 * Checked against Janus 1.1.2 (test/integration/videocall-reference.test.ts, videocall-rtx.test.ts).
 * Deliberate differences: RTX is taken out of relayed offers (relay-sdp.ts: the core has no RTX;
 * Janus relays offers untouched and handles RTX in its core); a receiver's REMB reaches the other
 * user's sender capped by that user's `bitrate` (Janus answers it with the receiver's own cap);
 * query_session says `audio_red` only when RED was negotiated (1.1.2 says it for every call).
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parseSdp, type SessionDescription } from '../../core/webrtc/sdp.ts';
import { RtcpWalker, RtcpKind, rembBitrate } from '../../media/rtcp.ts';
import { MjrRecorder } from '../../media/mjr.ts';
import { RtpView } from '../../media/rtp.ts';
import { SeqTsRewriter } from '../../media/rtp-rewriter.ts';
import type { PathPolicy } from '../../media/safe-path.ts';
import { VIDEOCALL_ERROR as E, requestName, setRequest, usernameOf } from './requests.ts';
import { answerForCaller, relayOffer, type RelayedOffer } from './relay-sdp.ts';
import { offeredRedPt } from '../../core/sdp-red.ts';
// The EchoTest's simulcast selector serves here too (one implementation of Janus' layer switching).
import { DEFAULT_FALLBACK_US, SimulcastSelector } from '../../media/simulcast.ts';

export { VIDEOCALL_ERROR } from './requests.ts';

const NO_DROP = new Uint8Array(128);

/** Janus' "no limit" REMB value. */
const NO_BITRATE_CAP = 10_000_000;

interface Recorders {
  audio?: MjrRecorder;
  video?: MjrRecorder;
  data?: MjrRecorder;
}

interface CallUser {
  handle: PluginHandle;
  username: string | undefined;
  peer: CallUser | undefined;
  /** Calling, called or in a call. */
  incall: boolean;
  hasAudio: boolean;
  hasVideo: boolean;
  hasData: boolean;
  audioActive: boolean;
  videoActive: boolean;
  /** Negotiated codecs (from the callee's answer), lower case, for recordings and events. */
  acodec: string | undefined;
  vcodec: string | undefined;
  /** Payload type of Opus RED (RFC 2198) when the answer kept it (0: none): noted in recordings. */
  opusRedPt: number;
  bitrate: number;
  peerBitrate: number;
  /** When this user's cap was last sent to its sender (ms). */
  lastRemb: number;
  substreamTarget: number;
  temporalTarget: number;
  fallback: number;
  e2ee: boolean;
  recorders: Recorders;
  /** Payload types not relayed (RTX of this user's offer; see relay-sdp.ts). */
  dropPt: Uint8Array;
  /** This user's offer as relayed when it called (its simulcast, for the answer back). */
  callOffer: RelayedOffer | undefined;
  /** Layer selection of the peer's simulcast video, for what this user receives. */
  sim: SimulcastSelector | null;
  /**
   * What this user sends, as one continuous stream per medium on the peer's leg (as Janus'
   * switching context): a new SSRC (a restarted sender, stray packets) continues the sequence
   * numbers instead of jumping, which would break the peer leg's SRTP rollover count.
   */
  audioOut: SeqTsRewriter | null;
  videoOut: SeqTsRewriter | null;
  slowlinkCount: number;
  dataReady: boolean;
  destroyed: boolean;
  queue: Promise<void>;
}

function newUser(handle: PluginHandle): CallUser {
  return {
    handle, username: undefined, peer: undefined, incall: false, hasAudio: false, hasVideo: false, hasData: false,
    audioActive: true, videoActive: true, acodec: undefined, vcodec: undefined, opusRedPt: 0, bitrate: 0, peerBitrate: 0, lastRemb: 0,
    substreamTarget: 2, temporalTarget: 2, fallback: 0, e2ee: false, recorders: {}, dropPt: NO_DROP, callOffer: undefined, sim: null, audioOut: null, videoOut: null, slowlinkCount: 0, dataReady: false,
    destroyed: false, queue: Promise.resolve(),
  };
}

type Result = Record<string, unknown>;

class CallError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** The first codec of the first active m-line of a kind, named as Janus names it. */
function firstCodec(desc: SessionDescription, kind: 'audio' | 'video'): string | undefined {
  const m = desc.media.find((x) => x.kind === kind && x.port !== 0);
  const name = m?.codecs.find((c) => m.formats.includes(String(c.payloadType)) && !['red', 'rtx', 'ulpfec', 'telephone-event'].includes(c.name.toLowerCase()))?.name.toLowerCase();
  return name;
}

export class VideoCallPlugin implements Plugin {
  readonly package = 'janus.plugin.videocall';
  readonly name = 'JANUS VideoCall plugin';
  readonly description = 'This is a simple video call plugin for Janus, allowing two WebRTC peers to call each other through a server.';
  readonly author = 'Portunus developers';
  readonly version = 6;
  readonly versionString = '0.0.6';
  #gw!: GatewayFacade;
  #notifyEvents = true;
  #recordPolicy: PathPolicy = { baseDir: process.cwd() };
  #tmpExt: string | undefined;
  readonly #users = new Set<CallUser>();
  readonly #usernames = new Map<string, CallUser>();
  readonly #walker = new RtcpWalker();
  readonly #view = new RtpView();

  init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): void {
    this.#gw = gateway;
    const general = (config.general ?? {}) as Record<string, unknown>;
    if (general.events !== undefined) this.#notifyEvents = general.events === true || general.events === 'true' || general.events === 'yes';
    const base = process.cwd();
    this.#recordPolicy = { baseDir: base, allowedBases: [path.parse(base).root], protectedFolders: global.general.protected_folders };
    this.#tmpExt = global.general.recordings_tmp_ext || undefined;
  }

  destroy(): void {
    this.#users.clear();
    this.#usernames.clear();
  }

  createSession(handle: PluginHandle): void {
    const user = newUser(handle);
    handle.pluginState = user;
    this.#users.add(user);
  }

  handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): PluginResult {
    const user = handle.pluginState as CallUser | undefined;
    if (!user) return { kind: 'error', reason: 'No session associated with this handle' };
    user.queue = user.queue.then(() => this.#process(user, transaction, body, jsep)).catch((err: unknown) => {
      this.#gw.log.warn(`videocall: request failed: ${err instanceof Error ? err.message : String(err)}`);
    });
    return { kind: 'ack' };
  }

  #push(user: CallUser, result: Result | undefined, transaction?: string, jsep?: Jsep): void {
    if (user.destroyed) return;
    this.#gw.pushEvent(user.handle, result ? { videocall: 'event', result } : { videocall: 'event' }, {
      ...(transaction !== undefined ? { transaction } : {}), ...(jsep ? { jsep } : {}),
    });
  }

  #notify(user: CallUser, info: Result): void {
    if (this.#notifyEvents) this.#gw.notifyEvent(user.handle, info);
  }

  async #process(user: CallUser, transaction: string, body: unknown, jsep: Jsep | undefined): Promise<void> {
    if (user.destroyed) return;
    try {
      const name = requestName(body);
      if (!name.ok) throw new CallError(name.code, name.error);
      if (jsep?.e2ee === true) user.e2ee = true;
      const b = body as Record<string, unknown>;
      let result: Result | undefined;
      switch (name.value) {
        case 'list':
          result = { list: [...this.#users].filter((u) => u.username !== undefined).map((u) => u.username) };
          break;
        case 'register':
          result = this.#register(user, b);
          break;
        case 'call':
          result = this.#call(user, b, jsep);
          break;
        case 'accept':
          result = this.#accept(user, jsep);
          break;
        case 'set':
          result = await this.#set(user, b, jsep);
          break;
        case 'hangup':
          this.#hangup(user, b, transaction);
          return;
        default:
          throw new CallError(E.INVALID_REQUEST, `Unknown request (${String(b.request)})`);
      }
      this.#push(user, result, transaction);
    } catch (err) {
      if (!(err instanceof CallError)) throw err;
      if (user.destroyed) return;
      this.#gw.pushEvent(user.handle, { videocall: 'event', error_code: err.code, error: err.message }, { transaction });
    }
  }

  #register(user: CallUser, b: Record<string, unknown>): Result {
    if (user.username !== undefined) throw new CallError(E.ALREADY_REGISTERED, `Already registered (${user.username})`);
    const name = usernameOf(b);
    if (!name.ok) throw new CallError(name.code, name.error);
    if (this.#usernames.has(name.value)) throw new CallError(E.USERNAME_TAKEN, `Username '${name.value}' already taken`);
    user.username = name.value;
    this.#usernames.set(name.value, user);
    this.#notify(user, { event: 'registered', username: name.value });
    return { event: 'registered', username: name.value };
  }

  /** A failed call attempt also drops the caller's half-made PeerConnection, as Janus does. */
  #refuseCall(user: CallUser, code: number, error: string): never {
    this.#gw.closePc(user.handle);
    throw new CallError(code, error);
  }

  #call(user: CallUser, b: Record<string, unknown>, jsep: Jsep | undefined): Result {
    if (user.username === undefined) this.#refuseCall(user, E.REGISTER_FIRST, 'Register a username first');
    if (user.peer) this.#refuseCall(user, E.ALREADY_IN_CALL, 'Already in a call');
    if (user.incall) this.#refuseCall(user, E.ALREADY_IN_CALL, 'Already in a call (but no peer)');
    const name = usernameOf(b);
    if (!name.ok) this.#refuseCall(user, name.code, name.error);
    if (name.value === user.username) this.#refuseCall(user, E.USE_ECHO_TEST, "You can't call yourself... use the EchoTest for that");
    const peer = this.#usernames.get(name.value);
    if (!peer || peer.destroyed) this.#refuseCall(user, E.NO_SUCH_USERNAME, `Username '${name.value}' doesn't exist`);
    if (peer.incall || peer.peer) {
      this.#notify(user, { event: 'hangup', reason: 'User busy' });
      this.#gw.closePc(user.handle);
      return { event: 'hangup', username: user.username, reason: 'User busy' };
    }
    if (!jsep) throw new CallError(E.MISSING_SDP, 'Missing SDP');
    let relayed: RelayedOffer;
    try {
      relayed = relayOffer(jsep.sdp, jsep.rid_order);
    } catch (err) {
      throw new CallError(E.INVALID_SDP, `Error parsing offer: ${err instanceof Error ? err.message : String(err)}`);
    }
    user.dropPt = relayed.dropPt;
    user.callOffer = relayed;
    user.incall = peer.incall = true;
    user.peer = peer;
    peer.peer = user;
    this.#learnMedia(user, jsep.sdp);
    this.#push(peer, { event: 'incomingcall', username: user.username }, undefined, {
      type: jsep.type, sdp: relayed.sdp, ...(user.e2ee ? { e2ee: true } : {}),
    });
    this.#notify(user, { event: 'calling' });
    return { event: 'calling' };
  }

  #accept(user: CallUser, jsep: Jsep | undefined): Result {
    const peer = user.peer;
    if (!peer || !user.incall || !peer.incall) throw new CallError(E.NO_CALL, 'No incoming call to accept');
    if (!jsep) throw new CallError(E.MISSING_SDP, 'Missing SDP');
    let answer: SessionDescription;
    try {
      answer = parseSdp(jsep.sdp);
    } catch (err) {
      throw new CallError(E.INVALID_SDP, `Error parsing answer: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.#learnMedia(user, jsep.sdp);
    // The answer decides the codecs of both legs.
    user.acodec = peer.acodec = firstCodec(answer, 'audio');
    user.vcodec = peer.vcodec = firstCodec(answer, 'video');
    // As Janus: RED in the answer (first audio m-line) is what both legs send; recordings note it.
    const audioLine = answer.media.find((m) => m.kind === 'audio' && m.port !== 0);
    user.opusRedPt = peer.opusRedPt = audioLine ? offeredRedPt(audioLine) : 0;
    if (!user.acodec) user.hasAudio = peer.hasAudio = false;
    if (!user.vcodec) user.hasVideo = peer.hasVideo = false;
    // The caller's simulcast: this user (the callee) receives one layer of it.
    const layout = peer.callOffer?.simulcast;
    const codec = user.vcodec === 'vp8' || user.vcodec === 'h264' ? user.vcodec : undefined;
    user.sim = null;
    if (layout && codec) {
      const sim = new SimulcastSelector({ rids: layout.rids, ssrcs: layout.ssrcs, ridExtId: layout.ridExtId, codec });
      sim.setTarget(user.substreamTarget);
      sim.setTemporalTarget(user.temporalTarget);
      sim.fallbackMs = (user.fallback || DEFAULT_FALLBACK_US) / 1000;
      user.sim = sim;
    }
    let toCaller = jsep.sdp;
    try {
      toCaller = peer.callOffer ? answerForCaller(jsep.sdp, peer.callOffer) : jsep.sdp;
    } catch {
      // Parsed above already: cannot fail here; the answer goes as it came.
    }
    this.#push(peer, { event: 'accepted', username: user.username }, undefined, {
      type: jsep.type, sdp: toCaller, ...(user.e2ee ? { e2ee: true } : {}),
    });
    this.#notify(user, { event: 'accepted' });
    return { event: 'accepted' };
  }

  #learnMedia(user: CallUser, sdp: string): void {
    user.hasAudio = sdp.includes('m=audio');
    user.hasVideo = sdp.includes('m=video');
    user.hasData = sdp.includes('DTLS/SCTP');
  }

  async #set(user: CallUser, b: Record<string, unknown>, jsep: Jsep | undefined): Promise<Result> {
    const checked = setRequest(b);
    if (!checked.ok) throw new CallError(checked.code, checked.error);
    const req = checked.value;
    const gw = this.#gw;
    if (req.audio !== undefined) user.audioActive = req.audio;
    if (req.video !== undefined) {
      if (!user.videoActive && req.video) gw.sendPli(user.handle);
      user.videoActive = req.video;
    }
    if (req.bitrate !== undefined) {
      user.bitrate = req.bitrate;
      gw.sendRemb(user.handle, user.bitrate || NO_BITRATE_CAP);
    }
    const peer = user.peer;
    const sim = user.sim;
    if (req.fallback !== undefined) {
      user.fallback = req.fallback;
      if (sim) sim.fallbackMs = (req.fallback || DEFAULT_FALLBACK_US) / 1000;
    }
    // Layers of the peer's simulcast: already there is said at once, else the peer's sender is
    // asked for a keyframe to switch on (as Janus).
    if (req.substream !== undefined) {
      user.substreamTarget = req.substream;
      if (sim?.setTarget(req.substream)) this.#push(user, { event: 'simulcast', videocodec: user.vcodec, substream: sim.substream });
      else if (peer) gw.sendPli(peer.handle);
    }
    if (req.temporal !== undefined) {
      user.temporalTarget = req.temporal;
      if (sim?.setTemporalTarget(req.temporal) && user.vcodec === 'vp8') this.#push(user, { event: 'simulcast', videocodec: user.vcodec, temporal: sim.templayer });
      else if (peer) gw.sendPli(peer.handle);
    }
    if (req.record !== undefined) {
      if (jsep) this.#learnMedia(user, jsep.sdp);
      if (req.record) await this.#startRecording(user, req.filename);
      else await this.#stopRecording(user);
    }
    this.#notify(user, { event: 'configured', audio_active: user.audioActive, video_active: user.videoActive, bitrate: user.bitrate, ...this.#recordingInfo(user) });
    if (jsep && peer) {
      // Renegotiation (or ICE restart): the other side gets the new SDP as an update.
      let sdp = jsep.sdp;
      if (jsep.type === 'offer') {
        try {
          const relayed = relayOffer(jsep.sdp, jsep.rid_order);
          sdp = relayed.sdp;
          user.dropPt = relayed.dropPt;
        } catch (err) {
          throw new CallError(E.INVALID_SDP, `Error parsing offer: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      this.#push(peer, { event: 'update' }, undefined, { type: jsep.type, sdp });
    }
    return { event: 'set' };
  }

  /**
   * As Janus 1.1.2 (checked against it): the requester is answered "Explicit hangup" whatever
   * reason it gave, the peer hears that reason, then both PeerConnections close and each side
   * also gets the other's "Remote WebRTC hangup" (hangupMedia below). Answers itself.
   */
  #hangup(user: CallUser, b: Record<string, unknown>, transaction: string): void {
    const reason = typeof b.reason === 'string' ? b.reason : 'We did the hangup';
    const peer = user.peer;
    this.#notify(user, { event: 'hangup', reason: 'Explicit hangup' });
    this.#push(user, { event: 'hangup', username: user.username, reason: 'Explicit hangup' }, transaction);
    if (peer) {
      this.#push(peer, { event: 'hangup', username: user.username, reason });
      this.#notify(peer, { event: 'hangup', reason: 'Remote hangup' });
    }
    this.#gw.closePc(user.handle);
    if (peer) this.#gw.closePc(peer.handle);
    // A call that never had a PeerConnection up leaves nothing for hangupMedia to undo.
    if (user.peer === peer) this.#unlink(user);
  }

  /** Forget the call on both sides. */
  #unlink(user: CallUser): void {
    const peer = user.peer;
    user.peer = undefined;
    user.incall = false;
    if (peer && peer.peer === user) {
      peer.peer = undefined;
      peer.incall = false;
    }
  }

  async #startRecording(user: CallUser, filename: string | undefined): Promise<void> {
    await this.#stopRecording(user);
    const peerName = user.peer?.username ?? 'unknown';
    const now = Math.round((performance.timeOrigin + performance.now()) * 1000);
    const base = filename ?? `videocall-${user.username ?? 'unknown'}-${peerName}-${now}`;
    const open = async (kind: string, codec: string | undefined): Promise<MjrRecorder | undefined> => {
      if (!codec) return undefined;
      try {
        return await MjrRecorder.open({
          ...this.#recordPolicy, filename: `${base}-${kind}`, codec, ...(this.#tmpExt ? { tmpExt: this.#tmpExt } : {}),
          ...(kind === 'audio' && user.opusRedPt > 0 ? { opusRedPt: user.opusRedPt } : {}),
          // As Janus: end-to-end encrypted media is recorded as it comes, marked so ("e").
          ...(kind !== 'data' && user.e2ee ? { encrypted: true } : {}),
        });
      } catch (err) {
        // As Janus: a recorder that cannot be created is logged, the request still succeeds.
        this.#gw.log.warn(`videocall: could not record ${kind}: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    };
    user.recorders = {
      audio: user.hasAudio ? await open('audio', user.acodec) : undefined,
      video: user.hasVideo ? await open('video', user.vcodec) : undefined,
      data: user.hasData ? await open('data', 'text') : undefined,
    };
    if (user.recorders.video) this.#gw.sendPli(user.handle);
  }

  async #stopRecording(user: CallUser): Promise<void> {
    const r = user.recorders;
    user.recorders = {};
    await Promise.all([r.audio, r.video, r.data].map((x) => x?.close().catch(() => undefined)));
  }

  #recordingInfo(user: CallUser): Result {
    const r = user.recorders;
    if (!r.audio && !r.video && !r.data) return {};
    const recording: Result = {};
    // As Janus (the recorder's file name, its folder aside).
    if (r.audio) recording.audio = path.basename(r.audio.writingPath);
    if (r.video) recording.video = path.basename(r.video.writingPath);
    if (r.data) recording.data = path.basename(r.data.writingPath);
    return { recording };
  }

  setupMedia(_handle: PluginHandle): void {}

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    const user = handle.pluginState as CallUser;
    const peer = user.peer;
    if (!peer || user.destroyed) return;
    if (packet.video ? !user.videoActive : !user.audioActive) return;
    if (user.dropPt[packet.buffer[1] & 0x7f] === 1) return;
    const sim = packet.video ? peer.sim : null;
    if (sim) {
      // One layer of this user's simulcast reaches the peer, rewritten into one continuous stream.
      const pass = sim.process(packet.buffer, performance.now());
      if (sim.needPli) this.#gw.sendPli(handle);
      if (sim.changedSubstream) this.#push(peer, { event: 'simulcast', videocodec: peer.vcodec, substream: sim.substream });
      if (sim.changedTemporal) this.#push(peer, { event: 'simulcast', videocodec: peer.vcodec, temporal: sim.templayer });
      if (!pass) return;
    } else {
      if (!this.#view.wrap(packet.buffer)) return;
      let out = packet.video ? user.videoOut : user.audioOut;
      if (!out) {
        out = new SeqTsRewriter({ ssrc: 0, clockRate: packet.video ? 90000 : user.acodec === 'opus' || user.acodec === undefined ? 48000 : 8000 });
        if (packet.video) user.videoOut = out;
        else user.audioOut = out;
      }
      out.rewrite(this.#view, performance.now());
    }
    // Recorded before relaying: the relay writes the peer leg's SSRC into the buffer.
    (packet.video ? user.recorders.video : user.recorders.audio)?.saveRtp(packet.buffer);
    this.#gw.relayRtp(peer.handle, packet);
  }

  incomingRtcp(handle: PluginHandle, packet: MediaPacket): void {
    const user = handle.pluginState as CallUser;
    const peer = user.peer;
    if (user.destroyed) return;
    let remb = -1;
    let keyframe = false;
    const w = this.#walker.reset(packet.buffer);
    while (w.next()) {
      if (w.kind === RtcpKind.PLI || w.kind === RtcpKind.FIR) keyframe = true;
      else if (w.kind === RtcpKind.REMB) remb = rembBitrate(w.buf, w.off);
    }
    // Feedback names our SSRCs on this leg: the peer's sender is asked afresh on its own leg.
    if (keyframe && peer) this.#gw.sendPli(peer.handle);
    const now = performance.now();
    if (remb >= 0) {
      // The receiver's estimate goes to the sender, capped by what this user asked for.
      user.peerBitrate = remb;
      if (peer) this.#gw.sendRemb(peer.handle, peer.bitrate > 0 ? Math.min(peer.bitrate, remb) : remb);
    }
    if (user.bitrate > 0 && now - user.lastRemb > 1000) {
      // A cap asked with `set` reaches this user's sender at least once a second.
      user.lastRemb = now;
      this.#gw.sendRemb(handle, user.bitrate);
    }
  }

  incomingData(handle: PluginHandle, label: string, data: Buffer | string): void {
    const user = handle.pluginState as CallUser;
    const peer = user.peer;
    // No wait for the peer's data_ready: the core opens the channel on the peer's leg on first use.
    if (!peer || user.destroyed || data.length === 0) return;
    user.recorders.data?.saveData(data);
    this.#gw.relayData(peer.handle, label, data);
  }

  dataReady(handle: PluginHandle): void {
    const user = handle.pluginState as CallUser | undefined;
    if (user && !user.destroyed) user.dataReady = true;
  }

  slowLink(handle: PluginHandle, _mid: string, video: boolean, uplink: boolean): void {
    const user = handle.pluginState as CallUser | undefined;
    if (!user || user.destroyed) return;
    user.slowlinkCount++;
    if (uplink) return;
    this.#push(user, { event: 'slow_link', media: video ? 'video' : 'audio', ...(video ? { 'current-bitrate': user.bitrate } : {}) });
  }

  hangupMedia(handle: PluginHandle): void {
    const user = handle.pluginState as CallUser | undefined;
    if (!user || user.destroyed) return;
    this.#remoteHangup(user);
  }

  /**
   * This user's PeerConnection (or handle) went: the peer is told and its PeerConnection closed.
   * Only this side's link is dropped first, so the peer's own hangupMedia tells this user in turn
   * (Janus sends both sides a "Remote WebRTC hangup"); it ends there, this side being unlinked.
   */
  #remoteHangup(user: CallUser): void {
    user.dataReady = false;
    void this.#stopRecording(user);
    const peer = user.peer;
    user.peer = undefined;
    user.incall = false;
    if (peer) {
      if (peer.peer !== user) peer.incall = false;
      this.#push(peer, { event: 'hangup', username: user.username, reason: 'Remote WebRTC hangup' });
      this.#notify(peer, { event: 'hangup', reason: 'Remote WebRTC hangup' });
      this.#gw.closePc(peer.handle);
    }
    Object.assign(user, {
      hasAudio: false, hasVideo: false, hasData: false, audioActive: true, videoActive: true, acodec: undefined, vcodec: undefined, opusRedPt: 0,
      bitrate: 0, peerBitrate: 0, e2ee: false, dropPt: NO_DROP, callOffer: undefined, sim: null, audioOut: null, videoOut: null, substreamTarget: 2, temporalTarget: 2, fallback: 0,
    });
  }

  destroySession(handle: PluginHandle): void {
    const user = handle.pluginState as CallUser | undefined;
    if (!user || user.destroyed) return;
    // Destroyed first: the peer's hangup (which tells this side in turn) finds this handle gone.
    user.destroyed = true;
    this.#remoteHangup(user);
    this.#users.delete(user);
    if (user.username !== undefined && this.#usernames.get(user.username) === user) this.#usernames.delete(user.username);
  }

  /** Admin API handle info, with the fields of Janus' janus_videocall_query_session. */
  querySession(handle: PluginHandle): Record<string, unknown> {
    const u = handle.pluginState as CallUser;
    const peer = u.peer;
    const info: Result = { state: peer ? 'incall' : 'idle' };
    if (u.username !== undefined) info.username = u.username;
    if (peer) {
      if (peer.username !== undefined) info.peer = peer.username;
      info.audio_active = u.audioActive;
      if (u.acodec) info.audio_codec = u.acodec;
      if (u.acodec && u.opusRedPt > 0) info.audio_red = true;
      if (u.vcodec) info.video_codec = u.vcodec;
      Object.assign(info, { video_active: u.videoActive, bitrate: u.bitrate, 'peer-bitrate': u.peerBitrate, slowlink_count: u.slowlinkCount });
    }
    if (u.callOffer?.simulcast) info.simulcast = true;
    if (peer && u.sim) {
      Object.assign(info, {
        'simulcast-peer': true, substream: u.sim.substream, 'substream-target': u.substreamTarget,
        'temporal-layer': u.sim.templayer, 'temporal-layer-target': u.temporalTarget,
      });
      if (u.fallback > 0) info.fallback = u.fallback;
    }
    Object.assign(info, this.#recordingInfo(u));
    info.incall = u.incall ? 1 : 0;
    if (u.e2ee) info.e2ee = true;
    info.hangingup = 0;
    info.destroyed = u.destroyed ? 1 : 0;
    return info;
  }
}

export default (): Plugin => new VideoCallPlugin();
