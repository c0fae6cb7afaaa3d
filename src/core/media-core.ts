/**
 * The bridge between the Janus API core and the media core: builds the endpoint settings from the
 * configuration, gives each handle its HandleMedia when SDP first flows, applies client JSEPs and
 * candidates, prepares plugin JSEPs, turns media state into Janus events (webrtcup, media, slowlink,
 * hangup, trickle) and carries packets between the PeerEndpoint and the plugin.
 */
import { RTCDtlsTransport, RTCCertificate } from 'werift';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { PortunusConfig } from '../config/types.ts';
import { ConfigError, Errors, JanusError } from './errors.ts';
import type { Handle } from './handle.ts';
import type { Logger } from './log.ts';
import type { Jsep, MediaPacket } from './plugin.ts';
import { HandleMedia } from './webrtc/handle-media.ts';
import { EndpointError, type EndpointSettings } from './webrtc/peer-endpoint.ts';
import { parseNatMapping, parsePortRange, selectHostAddresses } from './webrtc/candidate-policy.ts';
import { SdpError } from './webrtc/sdp.ts';
import { applyDtlsSpeedups, cacheFingerprints } from './webrtc/dtls-speedups.ts';
import { applyMediaV8Tuning } from './webrtc/v8-tuning.ts';
import { writePli, writeRemb } from '../media/rtcp-build.ts';

export interface MediaCoreHost {
  pushCoreEvent(handle: Handle, janus: string, fields: Record<string, unknown>): void;
  log: Logger;
}

/** Endpoint settings from the nat and media options; bad values stop start-up (ConfigError). */
export function endpointSettingsFrom(config: PortunusConfig): EndpointSettings {
  const nat = config.nat;
  let publicIps: string[];
  let portRange: [number, number] | undefined;
  try {
    publicIps = parseNatMapping(nat.nat_1_1_mapping);
  } catch (err) {
    throw new ConfigError((err as Error).message, { key: 'nat.nat_1_1_mapping' });
  }
  try {
    portRange = parsePortRange(config.media.rtp_port_range);
  } catch (err) {
    throw new ConfigError((err as Error).message, { key: 'media.rtp_port_range' });
  }
  const settings: EndpointSettings = {
    hostAddresses: selectHostAddresses(nat.ice_enforce_list, nat.ice_ignore_list, { ipv6: config.media.ipv6, ipv6LinkLocal: config.media.ipv6_linklocal }),
    publicIps,
    keepPrivateHost: nat.keep_private_host,
    portRange,
    iceLite: nat.ice_lite,
    iceTcp: nat.ice_tcp,
  };
  // Only configured servers: never a built-in default STUN server (PITFALLS).
  if (nat.stun_server) settings.stunServer = [nat.stun_server, nat.stun_port || 3478];
  if (nat.turn_server) {
    settings.turnServer = [nat.turn_server, nat.turn_port || 3478];
    settings.turnUsername = nat.turn_user;
    settings.turnPassword = nat.turn_pwd;
  }
  return settings;
}

const RTCP_SCRATCH = 64;
const EMPTY = Buffer.alloc(0);

export class MediaCore {
  readonly #host: MediaCoreHost;
  readonly #config: PortunusConfig;
  readonly settings: EndpointSettings;
  #certificate: RTCCertificate | undefined;
  readonly #rtcpScratch = Buffer.alloc(RTCP_SCRATCH);

  constructor(config: PortunusConfig, host: MediaCoreHost) {
    this.#config = config;
    this.#host = host;
    this.settings = endpointSettingsFrom(config);
  }

  /** Load the configured DTLS certificate, or make one for this process (as Janus does). */
  async start(): Promise<void> {
    const c = this.#config.certificates;
    if (c.cert_pem && c.cert_key) {
      const keyPem = readFileSync(c.cert_key, 'utf8');
      const certPem = readFileSync(c.cert_pem, 'utf8');
      // TLS SignatureAlgorithm: ecdsa(3) or rsa(1); HashAlgorithm sha256(4) (RFC 5246 section 7.4.1.4.1).
      const signature = createPrivateKey(keyPem).asymmetricKeyType === 'ec' ? 3 : 1;
      this.#certificate = new RTCCertificate(keyPem, certPem, { hash: 4, signature });
    } else {
      this.#certificate = await RTCDtlsTransport.SetupCertificate();
    }
    // node:crypto for the handshake's X25519 and signatures, our certificate parsed once (set-up CPU).
    applyDtlsSpeedups();
    cacheFingerprints(this.#certificate);
    // Full GCs only when the old generation really grows (v8-tuning.ts: streaming CPU).
    applyMediaV8Tuning();
    if (this.settings.hostAddresses.length === 0) {
      this.#host.log.warn('no local address passes ice_enforce_list/ice_ignore_list: PeerConnections will fail');
    }
  }

  #mediaFor(handle: Handle): HandleMedia {
    if (handle.media && !handle.media.closed) return handle.media;
    if (!this.#certificate) throw Errors.webrtcState('media core not started');
    const host = this.#host;
    // One packet view per handle and direction, refilled for every packet (no allocation per packet).
    const rtpIn: MediaPacket = { buffer: EMPTY, mid: '', video: false };
    const rtcpIn: MediaPacket = { buffer: EMPTY, mid: '', video: false };
    const media = new HandleMedia({
      settings: this.settings,
      certificate: this.#certificate,
      fullTrickle: this.#config.nat.full_trickle,
      // The live object: set_no_media_timer, set_min_nack_queue... apply to running handles.
      media: this.#config.media,
      log: host.log,
    }, {
      webrtcUp: () => {
        host.pushCoreEvent(handle, 'webrtcup', {});
        this.#call(handle, () => handle.plugin.setupMedia(handle));
      },
      hangup: (reason) => {
        if (handle.media === media) handle.media = undefined;
        host.pushCoreEvent(handle, 'hangup', { reason });
        this.#call(handle, () => handle.plugin.hangupMedia(handle));
      },
      media: (mid, type, receiving) => host.pushCoreEvent(handle, 'media', { mid, type, receiving }),
      slowLink: (mid, video, uplink, lost) => {
        // Janus 1.1: {"janus":"slowlink", session_id, sender, mid, media, uplink, lost}
        host.pushCoreEvent(handle, 'slowlink', { mid, media: video ? 'video' : 'audio', uplink, lost });
        this.#call(handle, () => handle.plugin.slowLink?.(handle, mid, video, uplink));
      },
      localCandidate: (candidate) => host.pushCoreEvent(handle, 'trickle', { candidate }),
      rtp: (mid, video, buffer) => {
        rtpIn.buffer = buffer;
        rtpIn.mid = mid;
        rtpIn.video = video;
        handle.plugin.incomingRtp?.(handle, rtpIn);
      },
      rtcp: (mid, video, buffer) => {
        rtcpIn.buffer = buffer;
        rtcpIn.mid = mid;
        rtcpIn.video = video;
        handle.plugin.incomingRtcp?.(handle, rtcpIn);
      },
      data: (label, data, binary) => this.#call(handle, () => handle.plugin.incomingData?.(handle, label, data, binary)),
      dataReady: () => this.#call(handle, () => handle.plugin.dataReady?.(handle)),
    });
    handle.media = media;
    // Candidates trickled before any SDP, if not older than candidates_timeout.
    const maxAge = this.#config.general.candidates_timeout * 1000;
    const now = performance.now();
    handle.remoteCandidates.forEach((c, i) => {
      if (now - (handle.remoteCandidateTimes[i] ?? now) <= maxAge) media.addRemoteCandidate(c);
    });
    if (handle.trickleCompleted) media.addRemoteCandidate({ completed: true });
    handle.remoteCandidates.length = 0;
    handle.remoteCandidateTimes.length = 0;
    return media;
  }

  #call(handle: Handle, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#host.log.warn({ err, plugin: handle.plugin.package }, 'plugin media callback threw');
    }
  }

  /** A JSEP from the client (already type-checked): apply it to the handle's endpoint. */
  async applyClientJsep(handle: Handle, jsep: Jsep): Promise<void> {
    try {
      await this.#mediaFor(handle).applyRemote(jsep.type, jsep.sdp);
    } catch (err) {
      throw toJsepError(err);
    }
  }

  /** A JSEP from the plugin: returns it with our ICE/DTLS attributes and candidates. */
  async preparePluginJsep(handle: Handle, jsep: Jsep): Promise<Jsep> {
    const sdp = await this.#mediaFor(handle).prepareLocal(jsep.type, jsep.sdp);
    // A plugin marks end-to-end encrypted media with `e2ee`; Janus passes the flag on to the client.
    return { type: jsep.type, sdp, ...(jsep.e2ee === true ? { e2ee: true } : {}) };
  }

  trickle(handle: Handle, candidate: Record<string, unknown>): boolean {
    if (!handle.media) return false;
    handle.media.addRemoteCandidate(candidate);
    return true;
  }

  hangup(handle: Handle, reason: string): void {
    const media = handle.media;
    if (!media) return;
    media.close(reason);
    handle.media = undefined;
  }

  relayRtp(handle: Handle, packet: MediaPacket): void {
    handle.media?.sendRtp(packet.mid, packet.video, packet.buffer);
  }

  relayRtcp(handle: Handle, packet: MediaPacket): void {
    handle.media?.relayRtcp(packet.buffer);
  }

  relayData(handle: Handle, label: string, data: Buffer | string): void {
    handle.media?.sendData(label, data);
  }

  /**
   * RFC 4585 section 6.3.1 PLI towards the peer's video sender: one per live video SSRC, so every
   * simulcast layer is asked for a keyframe (as Janus does).
   */
  sendPli(handle: Handle): void {
    const media = handle.media;
    if (!media) return;
    const local = media.localSsrcOf(true) || 1;
    for (const remote of media.remoteMediaSsrcsOf(true)) {
      const n = writePli(this.#rtcpScratch, 0, local, remote);
      media.sendRtcp(this.#rtcpScratch.subarray(0, n));
    }
  }

  /** REMB (draft-alvestrand-rmcat-remb) capping what the peer sends us. */
  sendRemb(handle: Handle, bitrate: number): void {
    const media = handle.media;
    if (!media) return;
    const ssrcs = [media.remoteSsrcOf(true), media.remoteSsrcOf(false)].filter((s) => s !== 0);
    const n = writeRemb(this.#rtcpScratch, 0, media.localSsrcOf(true) || 1, bitrate, ssrcs);
    media.sendRtcp(Buffer.from(this.#rtcpScratch.subarray(0, n)));
  }
}

function toJsepError(err: unknown): JanusError {
  if (err instanceof JanusError) return err;
  if (err instanceof SdpError) return Errors.jsepInvalidSdp(err.message);
  if (err instanceof EndpointError) return Errors.jsepInvalidSdp(err.message);
  return Errors.jsepInvalidSdp(err instanceof Error ? err.message : String(err));
}
