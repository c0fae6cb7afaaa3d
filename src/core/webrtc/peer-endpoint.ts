/**
 * One PeerEndpoint per handle: a single bundled transport (RFC 8843) with rtcp-mux. werift does ICE,
 * DTLS and SCTP; SRTP and the RTP path are behind the SrtpContext interface so our own lean SRTP
 * (with the RFC 3711 s3.3.2 replay window) runs there. The endpoint knows nothing of plugins or of
 * the Janus API: the core drives it with remote descriptions and candidates, and it reports state
 * and packets through PeerEndpointEvents.
 */
import {
  RTCIceGatherer, RTCIceTransport, RTCDtlsTransport, RTCSctpTransport, RTCDataChannel, RTCDataChannelParameters,
  RTCIceParameters, RTCDtlsParameters, RTCDtlsFingerprint, IceCandidate, candidateToIce, type RTCCertificate,
} from 'werift';
import type { Logger } from '../log.ts';
import { mapCandidate, type AddressChoice } from './candidate-policy.ts';
import { createSrtpContext, SRTP_PROFILES, type SrtpContext } from './srtp-context.ts';
import type { Fingerprint } from './sdp.ts';
import { guardDtlsRecords, guardIceSockets, type GuardStats } from './transport-guard.ts';
import { speedUpFragmentsOnFirstHandshake } from './dtls-speedups.ts';
import { sendsImmediately } from './udp-send.ts';

export interface EndpointSettings {
  hostAddresses: AddressChoice[];
  publicIps: string[];
  keepPrivateHost: boolean;
  portRange: [number, number] | undefined;
  iceLite: boolean;
  iceTcp: boolean;
  stunServer?: [string, number];
  turnServer?: [string, number];
  turnUsername?: string;
  turnPassword?: string;
}

export interface PeerEndpointEvents {
  /** A local candidate line (after "candidate:"), or undefined when gathering completed. */
  localCandidate(candidate: string | undefined): void;
  /** ICE and DTLS are up: media can flow (Janus `webrtcup`). */
  connected(): void;
  /** The transport failed or closed (Janus `hangup` with a reason). */
  closed(reason: string): void;
  /** A decrypted RTP packet. The buffer is only valid during the call. */
  rtp(packet: Buffer): void;
  /** A decrypted RTCP compound packet. */
  rtcp(packet: Buffer): void;
  /** A data-channel message. */
  data(label: string, data: Buffer | string, binary: boolean): void;
  /** The SCTP association is up and a channel can be written. */
  dataReady(): void;
}

export interface RemoteTransport {
  ufrag: string;
  pwd: string;
  fingerprints: Fingerprint[];
  /** a=setup of the remote side. */
  setup: string | undefined;
  iceLite: boolean;
  /** SCTP port of the remote, when it negotiated an application m-line. */
  sctpPort?: number;
  maxMessageSize?: number;
}

export type EndpointState = 'new' | 'gathering' | 'gathered' | 'connecting' | 'connected' | 'closed';

export class EndpointError extends Error {}

/** The parts of werift's ICE connection the fast send path reads (not in its public types). */
interface FastSendConnection {
  canSendApplicationData?: () => boolean;
  nominated?: {
    remoteAddr?: [string, number];
    packetsSent: number;
    bytesSent: number;
    protocol: { transport?: { closed?: boolean; socket?: { send(buf: Buffer, port: number, host: string): void; getSendQueueCount?(): number } } };
  };
}

/** Initial size of the transmit buffer: a full-size RTP packet plus its SRTP tag. */
const TX_BUFFER_BYTES = 2048;

export class PeerEndpoint {
  readonly #settings: EndpointSettings;
  readonly #certificate: RTCCertificate;
  readonly #events: PeerEndpointEvents;
  readonly #log: Logger;
  #gatherer: RTCIceGatherer | undefined;
  #ice: RTCIceTransport | undefined;
  #dtls: RTCDtlsTransport | undefined;
  #sctp: RTCSctpTransport | undefined;
  #srtp: SrtpContext | undefined;
  #remote: RemoteTransport | undefined;
  #dtlsRole: 'client' | 'server' = 'client';
  #wantsData = false;
  #restartPending = false;
  #state: EndpointState = 'new';
  /** DTLS records that arrived before the DTLS transport was started (PITFALLS: werift drops them). */
  #earlyDtls: Buffer[] = [];
  readonly #channels = new Map<string, RTCDataChannel>();
  /** Messages waiting for a channel we opened to become open. */
  #heldSends = 0;
  /**
   * Where outgoing RTP is protected: the plugin's buffer has no room for the tag and may go to
   * other peers too, so it is copied here instead of into a new buffer per packet. Replaced only
   * when a send leaves it queued in the socket (see #sendDatagram).
   */
  #txBuf = Buffer.allocUnsafeSlow(TX_BUFFER_BYTES);
  readonly stats = { rtpIn: 0, rtpOut: 0, rtcpIn: 0, rtcpOut: 0, dropped: 0, bytesIn: 0, bytesOut: 0, directSends: 0, directReceives: 0, earlyDtlsReplayed: 0 };
  /** Datagrams refused before werift saw them (transport-guard.ts). */
  readonly guardStats: GuardStats = { stunRejected: 0, unknownSource: 0, dtlsRejected: 0 };

  constructor(settings: EndpointSettings, certificate: RTCCertificate, events: PeerEndpointEvents, log: Logger) {
    this.#settings = settings;
    this.#certificate = certificate;
    this.#events = events;
    this.#log = log;
  }

  get state(): EndpointState {
    return this.#state;
  }

  get localFingerprint(): Fingerprint {
    const fp = this.#certificate.getFingerprints().find((f) => f.algorithm === 'sha-256') ?? this.#certificate.getFingerprints()[0];
    return { algorithm: fp.algorithm, value: fp.value.toUpperCase() };
  }

  get localIceParameters(): { ufrag: string; pwd: string } {
    const p = this.#requireGatherer().localParameters;
    return { ufrag: p.usernameFragment, pwd: p.password };
  }

  /** The STUN/TURN servers the ICE agent would contact ("host:port"); empty unless configured. */
  get externalServers(): string[] {
    const c = this.#gatherer?.connection as { stunServer?: [string, number]; turnServer?: [string, number] } | undefined;
    return [c?.stunServer, c?.turnServer].filter((a): a is [string, number] => Array.isArray(a)).map(([h, p]) => `${h}:${p}`);
  }

  get srtpStats(): SrtpContext['stats'] | undefined {
    return this.#srtp?.stats;
  }

  /** Gather local candidates (once, and again after an ICE restart). Throws EndpointError when none can be had. */
  async gather(): Promise<string[]> {
    if (this.#state === 'closed') throw new EndpointError('endpoint closed');
    if (this.#gatherer && this.#gatherer.gatheringState === 'new') {
      // After an ICE restart: new credentials, the same sockets re-advertised (RFC 8445 section 9).
      await this.#gatherer.gather();
      guardIceSockets(this.#gatherer.connection, this.guardStats, this.#onMedia);
    }
    if (!this.#gatherer) {
      const s = this.#settings;
      if (s.hostAddresses.length === 0) throw new EndpointError('no local address allowed by ice_enforce_list/ice_ignore_list');
      const v4 = s.hostAddresses.filter((a) => a.family === 4);
      const v6 = s.hostAddresses.filter((a) => a.family === 6);
      this.#state = 'gathering';
      this.#gatherer = new RTCIceGatherer({
        // Host addresses come only from our policy: werift's own discovery is switched off.
        useIpv4: false,
        useIpv6: false,
        additionalHostAddresses: s.hostAddresses.map((a) => a.address),
        interfaceAddresses: {
          ...(v4.length === 1 ? { udp4: v4[0].address } : {}),
          ...(v6.length === 1 ? { udp6: v6[0].address } : {}),
        },
        portRange: s.portRange,
        iceLite: s.iceLite,
        useTcp: s.iceTcp,
        ...(s.stunServer ? { stunServer: s.stunServer } : {}),
        ...(s.turnServer ? { turnServer: s.turnServer, turnUsername: s.turnUsername, turnPassword: s.turnPassword } : {}),
      });
      // werift's ICE agent falls back to Google's STUN server when given none (PITFALLS): only
      // configured servers may be contacted, so clear it.
      if (!s.stunServer) (this.#gatherer.connection as { stunServer?: unknown }).stunServer = undefined;
      this.#ice = new RTCIceTransport(this.#gatherer);
      this.#ice.onStateChange.subscribe((st) => this.#onIceState(st));
      this.#gatherer.connection.onData.subscribe((buf: Buffer) => this.#onPacket(buf));
      await this.#gatherer.gather();
      guardIceSockets(this.#gatherer.connection, this.guardStats, this.#onMedia);
      if ((this.#state as EndpointState) === 'closed') throw new EndpointError('endpoint closed');
      this.#state = 'gathered';
    }
    const candidates = this.localCandidates();
    if (candidates.length === 0) {
      throw new EndpointError(this.#settings.portRange ? `no free port in rtp_port_range ${this.#settings.portRange.join('-')}` : 'no ICE candidate could be gathered');
    }
    return candidates;
  }

  /** Local candidates (the part after "candidate:"), with nat_1_1_mapping applied. */
  localCandidates(): string[] {
    const out: string[] = [];
    for (const c of this.#gatherer?.localCandidates ?? []) {
      const sdp = candidateToIce(c).toSdp();
      const line = sdp.startsWith('candidate:') ? sdp.slice('candidate:'.length) : sdp;
      out.push(...mapCandidate(line, this.#settings.publicIps, this.#settings.keepPrivateHost));
    }
    return out;
  }

  /**
   * Apply the remote transport parameters from an offer or answer. A new ufrag/pwd is an ICE restart.
   * `remoteIsOfferer` decides the DTLS role: we answer an actpass offer as active (DTLS client).
   */
  setRemote(remote: RemoteTransport, remoteIsOfferer: boolean, wantsData: boolean): void {
    if (this.#state === 'closed') throw new EndpointError('endpoint closed');
    const ice = this.#requireIce();
    const prev = this.#remote;
    this.#remote = remote;
    this.#wantsData = this.#wantsData || wantsData;
    if (!this.#dtls) {
      if (remote.setup === 'active') this.#dtlsRole = 'server';
      else if (remote.setup === 'passive') this.#dtlsRole = 'client';
      else this.#dtlsRole = remoteIsOfferer ? 'client' : 'server';
    }
    const connection = ice.connection;
    if (this.#settings.iceLite) connection.iceControlling = false;
    else if (remote.iceLite) connection.iceControlling = true;
    else connection.iceControlling = !remoteIsOfferer;
    const restart = prev !== undefined && (prev.ufrag !== remote.ufrag || prev.pwd !== remote.pwd);
    // New remote credentials are an ICE restart (RFC 8445 section 9): werift renews ours too.
    ice.setRemoteParams(new RTCIceParameters({ usernameFragment: remote.ufrag, password: remote.pwd, iceLite: remote.iceLite }));
    if (restart) {
      this.#log.debug('ICE restart requested by the remote');
      this.#restartPending = true;
    }
  }

  /** An ICE restart is waiting for both descriptions before connectivity checks start again. */
  get restartPending(): boolean {
    return this.#restartPending;
  }

  /** Run connectivity checks again after a restart; DTLS and SRTP carry on over the new pair. */
  async completeRestart(): Promise<void> {
    if (!this.#restartPending || this.#state === 'closed') return;
    this.#restartPending = false;
    try {
      await this.#requireIce().start();
    } catch (err) {
      this.#log.debug({ err }, 'ICE restart failed');
      this.close('ICE failed');
    }
  }

  /** Our DTLS a=setup for the description we are about to send. */
  localSetup(type: 'offer' | 'answer'): string {
    if (type === 'offer') return 'actpass';
    return this.#dtlsRole === 'client' ? 'active' : 'passive';
  }

  /** Add a remote candidate line ("candidate:..." or the part after it). */
  async addRemoteCandidate(candidate: string): Promise<void> {
    if (this.#state === 'closed' || !this.#ice) return;
    const text = candidate.startsWith('candidate:') ? candidate : `candidate:${candidate}`;
    const c = IceCandidate.fromJSON({ candidate: text, sdpMid: '0', sdpMLineIndex: 0 });
    if (!c) return;
    // Loopback and private candidates only matter when we gather on them; werift ignores the rest.
    try {
      await this.#ice.addRemoteCandidate(c);
    } catch (err) {
      this.#log.debug({ err }, 'remote candidate refused');
    }
  }

  async remoteGatheringComplete(): Promise<void> {
    try {
      await this.#ice?.addRemoteCandidate(undefined);
    } catch {
      // Ending candidates twice is harmless.
    }
  }

  /** Start ICE and then DTLS (once both descriptions are known). Resolves when connected. */
  async connect(): Promise<void> {
    if (this.#state === 'connecting' || this.#state === 'connected') return;
    if (this.#state === 'closed') throw new EndpointError('endpoint closed');
    const ice = this.#requireIce();
    const remote = this.#remote;
    if (!remote) throw new EndpointError('no remote description');
    this.#state = 'connecting';
    try {
      await ice.start();
      if (this.#state !== 'connecting') return;
      const dtls = new RTCDtlsTransport({}, ice, this.#certificate, [...SRTP_PROFILES]);
      // We run SRTP ourselves: keep werift's session from being started.
      (dtls as unknown as { startSrtp: () => void }).startSrtp = () => {};
      dtls.role = this.#dtlsRole;
      dtls.setRemoteParams(new RTCDtlsParameters(remote.fingerprints.map((f) => new RTCDtlsFingerprint(f.algorithm, f.value)), this.#dtlsRole === 'client' ? 'server' : 'client'));
      this.#dtls = dtls;
      // A peer that leaves sends a DTLS close_notify (RFC 6347 / RFC 5246 section 7.2.1).
      dtls.onStateChange.subscribe((st) => {
        if ((st === 'closed' || st === 'failed') && this.#state === 'connected') this.close('DTLS alert');
      });
      const started = dtls.start();
      ignoreDuplicateHelloVerify(dtls);
      speedUpFragmentsOnFirstHandshake(dtls);
      guardDtlsRecords(dtls, () => this.#state === 'connected', this.guardStats);
      this.#replayEarlyDtls(dtls);
      await started;
      if (this.#state !== 'connecting') return;
      this.#srtp = createSrtpContext(dtls);
      this.#state = 'connected';
      this.#events.connected();
      if (this.#wantsData) await this.#startSctp(dtls, remote);
    } catch (err) {
      const reason = err instanceof Error && /fingerprint/i.test(err.message) ? 'DTLS fingerprint mismatch' : this.#state === 'connecting' && !this.#dtls ? 'ICE failed' : 'DTLS alert';
      this.#log.debug({ err }, 'transport set-up failed');
      this.close(reason);
    }
  }

  #replayEarlyDtls(dtls: RTCDtlsTransport): void {
    const early = this.#earlyDtls;
    this.#earlyDtls = [];
    // DtlsSocket -> TransportContext -> werift's ICE transport adapter, whose onData feeds the socket.
    const socket = dtls.dtls as unknown as { transport?: { socket?: { onData?: (b: Buffer) => void } } } | undefined;
    const feed = socket?.transport?.socket?.onData;
    if (!feed) return;
    for (const b of early) {
      feed(b);
      this.stats.earlyDtlsReplayed++;
    }
  }

  async #startSctp(dtls: RTCDtlsTransport, remote: RemoteTransport): Promise<void> {
    const sctp = new RTCSctpTransport(5000);
    sctp.setDtlsTransport(dtls);
    sctp.setRemoteMaxMessageSize(remote.maxMessageSize);
    sctp.onDataChannel.subscribe((channel) => this.#adoptChannel(channel));
    this.#sctp = sctp;
    try {
      await sctp.start(remote.sctpPort ?? 5000);
    } catch (err) {
      this.#log.debug({ err }, 'SCTP start failed');
    }
  }

  #adoptChannel(channel: RTCDataChannel): void {
    this.#channels.set(channel.label, channel);
    channel.onMessage.subscribe((msg) => {
      const binary = typeof msg !== 'string';
      this.#events.data(channel.label, msg, binary);
    });
    const ready = () => this.#events.dataReady();
    if (channel.readyState === 'open') ready();
    else channel.stateChange.subscribe((st) => { if (st === 'open') ready(); });
  }

  /** Send on the data channel with this label, opening it from our side if the peer has none. */
  sendData(label: string, data: Buffer | string): boolean {
    const sctp = this.#sctp;
    if (!sctp) return false;
    let channel = this.#channels.get(label) ?? [...this.#channels.values()][0];
    if (!channel || (label !== '' && channel.label !== label && !this.#channels.has(label))) {
      if (label === '' && channel) {
        // An unnamed send goes on the first channel.
      } else {
        // The constructor sends the DCEP open itself (RFC 8832 s5.1): no dataChannelOpen() on top.
        channel = new RTCDataChannel(sctp, new RTCDataChannelParameters({ label, ordered: true }));
        this.#adoptChannel(channel);
      }
    }
    try {
      if (channel.readyState === 'connecting') {
        // A channel we just opened: werift drops what is sent before the peer's DCEP ACK, so hold it.
        const held = channel;
        if (this.#heldSends >= 256) return false;
        this.#heldSends++;
        held.stateChange.once((st) => {
          this.#heldSends--;
          if (st === 'open') held.send(data);
        });
        return true;
      }
      channel.send(data);
      return true;
    } catch (err) {
      this.#log.debug({ err }, 'data channel send failed');
      return false;
    }
  }

  /** Encrypt and send one RTP packet (the buffer is not kept). */
  sendRtp(packet: Buffer): void {
    const srtp = this.#srtp;
    const ice = this.#ice;
    if (!srtp || !ice || this.#state !== 'connected') return;
    const tx = srtp.tx;
    const need = packet.length + tx.rtpTagLength;
    let out = this.#txBuf;
    if (out.length < need) out = this.#txBuf = Buffer.allocUnsafeSlow(Math.max(need, TX_BUFFER_BYTES));
    packet.copy(out, 0);
    const n = tx.protectRtp(out, 0, packet.length);
    if (n < 0) return;
    this.stats.rtpOut++;
    this.stats.bytesOut += n;
    // Still referenced by a queued send (or by werift's path): protect the next packet elsewhere.
    if (!this.#sendDatagram(ice, out.subarray(0, n))) this.#txBuf = Buffer.allocUnsafeSlow(out.length);
  }

  sendRtcp(packet: Buffer): void {
    const srtp = this.#srtp;
    const ice = this.#ice;
    if (!srtp || !ice || this.#state !== 'connected') return;
    const enc = srtp.protectRtcp(packet);
    if (!enc) return;
    this.stats.rtcpOut++;
    this.#sendDatagram(ice, enc);
  }

  /**
   * Send on the nominated pair. werift's connection.send goes through three async functions (four
   * promises and their microtasks per packet); on a UDP pair we write to its socket directly, with
   * the same RFC 7675 consent rule. Other pairs (ICE-TCP, TURN) keep werift's path.
   * Returns true when `data` is no longer referenced: the datagram left synchronously (dgram
   * tries a non-blocking send first and only queues the buffer when the socket is full).
   */
  #sendDatagram(ice: RTCIceTransport, data: Buffer): boolean {
    const conn = ice.connection as unknown as FastSendConnection;
    const pair = conn.nominated;
    const socket = pair?.protocol?.transport?.socket;
    if (pair && socket && pair.protocol.transport?.closed === false && pair.remoteAddr && typeof conn.canSendApplicationData === 'function') {
      if (!conn.canSendApplicationData()) return true;
      socket.send(data, pair.remoteAddr[1], pair.remoteAddr[0]);
      this.stats.directSends++;
      pair.packetsSent++;
      pair.bytesSent += data.length;
      return sendsImmediately(socket) && socket.getSendQueueCount?.() === 0;
    }
    void ice.connection.send(data).catch(() => {});
    return false;
  }

  /** SRTP/SRTCP straight from the socket (transport-guard.ts fast path); bound once. */
  readonly #onMedia = (buf: Buffer): void => {
    this.stats.directReceives++;
    this.#onPacket(buf);
  };

  #onPacket(buf: Buffer): void {
    if (buf.length === 0) return;
    const first = buf[0];
    // RFC 7983 demultiplexing: 20-63 DTLS, 128-191 RTP/RTCP.
    if (first >= 20 && first <= 63) {
      if (!this.#dtls && this.#earlyDtls.length < 16) this.#earlyDtls.push(Buffer.from(buf));
      return;
    }
    if (first < 128 || first > 191) return;
    const srtp = this.#srtp;
    if (!srtp) return;
    this.stats.bytesIn += buf.length;
    // RTCP payload types 192-223 (RFC 5761 section 4).
    const pt = buf.length > 1 ? buf[1] : 0;
    // The datagram buffer is ours alone: decrypt in place, no copy.
    if (pt >= 192 && pt <= 223) {
      const n = srtp.rx.unprotectRtcp(buf, 0, buf.length);
      if (n < 0) { this.stats.dropped++; return; }
      this.stats.rtcpIn++;
      this.#deliver(true, buf.subarray(0, n));
    } else {
      const n = srtp.rx.unprotectRtp(buf, 0, buf.length);
      if (n < 0) { this.stats.dropped++; return; }
      this.stats.rtpIn++;
      this.#deliver(false, buf.subarray(0, n));
    }
  }

  /** Hand a decrypted packet on; a throwing handler must not take the endpoint down (no closure per packet). */
  #deliver(rtcp: boolean, packet: Buffer): void {
    try {
      if (rtcp) this.#events.rtcp(packet);
      else this.#events.rtp(packet);
    } catch (err) {
      this.#log.warn({ err }, 'media handler threw');
    }
  }

  #onIceState(state: string): void {
    if (state === 'failed' && this.#state !== 'closed') this.close('ICE failed');
  }

  close(reason: string): void {
    if (this.#state === 'closed') return;
    const wasUp = this.#state;
    this.#state = 'closed';
    for (const ch of this.#channels.values()) {
      try { ch.close(); } catch { /* closing anyway */ }
    }
    this.#channels.clear();
    void this.#sctp?.stop().catch(() => {});
    void this.#dtls?.stop().catch(() => {});
    void this.#ice?.stop().catch(() => {});
    this.#srtp = undefined;
    if (wasUp !== 'new') this.#events.closed(reason);
  }

  #requireGatherer(): RTCIceGatherer {
    if (!this.#gatherer) throw new EndpointError('gather() first');
    return this.#gatherer;
  }

  #requireIce(): RTCIceTransport {
    if (!this.#ice) throw new EndpointError('gather() first');
    return this.#ice;
  }
}

/**
 * werift's DTLS client answers a HelloVerifyRequest by sending flight 3 and throws if a second one
 * arrives (the peer answering our retransmitted ClientHello, common under load), failing the
 * handshake. RFC 6347 section 4.2.4 has the client simply ignore such duplicates: do that.
 */
function ignoreDuplicateHelloVerify(dtls: RTCDtlsTransport): void {
  type Handshake = { msg_type: number };
  const socket = dtls.dtls as unknown as { dtls?: { flight: number }; onHandleHandshakes?: (h: Handshake[]) => Promise<void> } | undefined;
  if (!socket?.onHandleHandshakes || dtls.role !== 'client') return;
  const handle = socket.onHandleHandshakes;
  const HELLO_VERIFY_REQUEST = 3;
  socket.onHandleHandshakes = async (assembled: Handshake[]) => {
    const flight = socket.dtls?.flight ?? 0;
    const kept = flight >= 3 ? assembled.filter((h) => h.msg_type !== HELLO_VERIFY_REQUEST) : assembled;
    if (kept.length > 0) await handle(kept);
  };
}
