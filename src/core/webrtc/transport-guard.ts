/**
 * Checks werift's ICE agent and DTLS stack leave out, found by fuzzing the ICE port (anyone can send
 * datagrams to it):
 *
 * 1. ICE (RFC 8445 s7.3, RFC 5389 s10.1.2): werift answers and acts on any Binding request, so an
 *    unauthenticated request could add a peer-reflexive candidate or nominate a pair. A request must
 *    carry USERNAME "<our ufrag>:<theirs>" and a MESSAGE-INTEGRITY valid under our password, or it
 *    is dropped before werift sees it.
 * 2. Data (DTLS, SRTP) is accepted only from the address of a remote candidate: signalled, or learnt
 *    from an authenticated check (RFC 8445 s7.3.1.3; kept here too, since werift defers checks that
 *    arrive before its check list exists). libnice does the same.
 * 3. DTLS (RFC 6347 s4.1.2.7: invalid records are discarded): werift closes the association on any
 *    record it takes for an alert, including unauthenticated ones. Once the handshake is done,
 *    records that can only be forged are dropped (see guardDtlsRecords).
 *
 * The data-path check costs one address comparison per packet (the last accepted address is kept).
 *
 * Media fast path: an SRTP/SRTCP datagram (RFC 7983: first byte 128-191) from the last accepted
 * source goes from the socket straight to the endpoint's `media` sink. werift's path for it
 * (a [host, port] array, a STUN parse attempt, two Event dispatches each starting an async function)
 * cost about a tenth of the server's CPU in bench/echo; everything else still takes werift's path.
 */
import { parseMessage, StunProtocol, type RTCDtlsTransport } from 'werift';
import { skipLookupForIpLiterals } from './udp-send.ts';

export interface GuardStats {
  /** STUN requests without valid short-term credentials. */
  stunRejected: number;
  /** Non-STUN datagrams from an address that is not a remote candidate. */
  unknownSource: number;
  /** DTLS records that could only be forged after the handshake (plaintext alerts, ...). */
  dtlsRejected: number;
}

type Address = readonly [string, number];

/** The parts of werift's ICE agent (Connection) used here; some are private in its typings. */
interface IceAgent {
  protocols: unknown[];
  remoteCandidates: ReadonlyArray<{ host: string; port: number }>;
  localUsername: string;
  localPassword: string;
  /** ufrag -> password of our current and pre-restart credentials. */
  userHistory?: Record<string, string>;
}
interface UdpSocketProtocol {
  datagramReceived(data: Buffer, addr: Address): void;
  /** werift's UdpTransport: its dgram socket, and the last source it saw. */
  transport?: { socket?: DgramLike; rinfo?: unknown };
}
interface DgramLike {
  listeners(event: 'message'): Function[];
  removeListener(event: 'message', fn: Function): void;
  on(event: 'message', fn: (data: Buffer, rinfo: { address: string; port: number }) => void): void;
}
/** The nominated pair's counters werift keeps for received data (getStats). */
interface NominatedPair {
  protocol: unknown;
  packetsReceived: number;
  bytesReceived: number;
}

/** Receives decrypted-to-be media datagrams that passed the source check (the buffer is the caller's). */
export type MediaSink = (data: Buffer) => void;

const guarded = new WeakSet<object>();
/** Sources of authenticated checks, per agent (werift may not have added them as candidates yet). */
const verifiedSources = new WeakMap<object, Address[]>();
const MAX_VERIFIED = 16;

/** Guard every UDP socket of the ICE agent (call after each gather: restarts keep the sockets). */
export function guardIceSockets(iceConnection: unknown, stats: GuardStats, media?: MediaSink): void {
  const connection = iceConnection as IceAgent;
  let verified = verifiedSources.get(connection);
  if (!verified) verifiedSources.set(connection, (verified = []));
  for (const p of connection.protocols) {
    if (!(p instanceof StunProtocol) || guarded.has(p)) continue;
    guarded.add(p);
    guardSocket(connection, p as unknown as UdpSocketProtocol, verified, stats, media);
  }
}

function guardSocket(connection: IceAgent, protocol: UdpSocketProtocol, verified: Address[], stats: GuardStats, media: MediaSink | undefined): void {
  const known = (addr: Address) => verified.some((a) => a[1] === addr[1] && a[0] === addr[0]);
  const original = protocol.datagramReceived.bind(protocol);
  let lastHost = '';
  let lastPort = -1;
  protocol.datagramReceived = (data: Buffer, addr: Address) => {
    if (data.length === 0) return;
    // RFC 7983: 0-3 is STUN.
    if (data[0] < 4) {
      if (isStunRequest(data)) {
        if (!authenticRequest(connection, data)) {
          stats.stunRejected++;
          return;
        }
        if (!known(addr)) {
          if (verified.length === MAX_VERIFIED) verified.shift();
          verified.push([addr[0], addr[1]]);
        }
      }
      original(data, addr);
      return;
    }
    if (addr[1] !== lastPort || addr[0] !== lastHost) {
      if (!isRemoteCandidate(connection, addr) && !known(addr)) {
        stats.unknownSource++;
        return;
      }
      lastHost = addr[0];
      lastPort = addr[1];
    }
    original(data, addr);
  };
  if (media) mediaFastPath(connection, protocol, media, (host, port) => port === lastPort && host === lastHost);
}

/**
 * Put a listener in front of werift's on the protocol's dgram socket: media from the accepted
 * source goes to `media` (with the nominated pair's counters kept as werift keeps them); every
 * other datagram goes to werift's own listener, and so through the checks above.
 */
function mediaFastPath(connection: IceAgent, protocol: UdpSocketProtocol, media: MediaSink, accepted: (host: string, port: number) => boolean): void {
  const transport = protocol.transport;
  const socket = transport?.socket;
  const listeners = socket?.listeners('message') ?? [];
  if (!transport || !socket || listeners.length !== 1) return;
  skipLookupForIpLiterals(socket);
  const werift = listeners[0] as (data: Buffer, rinfo: { address: string; port: number }) => void;
  socket.removeListener('message', werift);
  const agent = connection as IceAgent & { nominated?: NominatedPair };
  socket.on('message', (data, rinfo) => {
    const first = data.length > 0 ? data[0] : 0;
    if (first >= 128 && first <= 191 && accepted(rinfo.address, rinfo.port)) {
      transport.rinfo = rinfo;
      const pair = agent.nominated;
      if (pair !== undefined && pair.protocol === protocol) {
        pair.packetsReceived++;
        pair.bytesReceived += data.length;
      }
      media(data);
      return;
    }
    werift(data, rinfo);
  });
}

/** A STUN request (RFC 5389 s6: class bits C1 C0 = 00 in the message type). */
function isStunRequest(data: Buffer): boolean {
  return data.length >= 20 && (data[0] & 0x01) === 0 && (data[1] & 0x10) === 0;
}

function authenticRequest(connection: IceAgent, data: Buffer): boolean {
  const message = parseMessage(data);
  if (!message) return false;
  const username = message.getAttributeValue('USERNAME') as unknown;
  if (typeof username !== 'string') return false;
  const colon = username.indexOf(':');
  const ufrag = colon < 0 ? username : username.slice(0, colon);
  // Our current credentials, or those before an ICE restart that werift still answers for.
  const history = connection.userHistory ?? {};
  const password = Object.hasOwn(history, ufrag) ? history[ufrag] : ufrag === connection.localUsername ? connection.localPassword : undefined;
  if (!password) return false;
  return parseMessage(data, Buffer.from(password, 'utf8')) !== undefined;
}

function isRemoteCandidate(connection: IceAgent, addr: Address): boolean {
  for (const c of connection.remoteCandidates) if (c.port === addr[1] && c.host === addr[0]) return true;
  return false;
}

/** werift's DtlsSocket: its record decryption (no state changes) and the adapter feeding it. */
interface DtlsSocketParts {
  cipher?: { decryptPacket(record: unknown): Buffer };
  transport?: { socket?: { onData?: (b: Buffer) => void } };
}

/**
 * Drop forgeable DTLS records once `done()` says the handshake completed (RFC 6347 s4.1: 13-byte
 * record header type | version(2) | epoch(2) | sequence(6) | length(2)). werift treats an alert
 * whose first bytes name a known description as plaintext, and any unknown content type as an
 * alert, closing either way; so after the handshake:
 *  - content types other than change_cipher_spec, alert, handshake, application_data are dropped;
 *  - epoch-0 records other than handshake retransmissions are dropped, and so is a fresh ClientHello;
 *  - an alert of a later epoch must decrypt under the session keys (a real one is encrypted).
 */
export function guardDtlsRecords(dtls: RTCDtlsTransport, done: () => boolean, stats: GuardStats): void {
  const socket = dtls.dtls as unknown as DtlsSocketParts | undefined;
  const ice = socket?.transport?.socket;
  const deliver = ice?.onData;
  if (!socket || !ice || !deliver) return;
  ice.onData = (buf: Buffer) => {
    if (done() && forgeableAfterHandshake(buf, socket)) {
      stats.dtlsRejected++;
      return;
    }
    deliver(buf);
  };
}

const CONTENT_CHANGE_CIPHER_SPEC = 20;
const CONTENT_ALERT = 21;
const CONTENT_HANDSHAKE = 22;
const CONTENT_APPLICATION_DATA = 23;
const CLIENT_HELLO = 1;

function forgeableAfterHandshake(buf: Buffer, socket: DtlsSocketParts): boolean {
  for (let p = 0; p + 13 <= buf.length;) {
    const type = buf[p];
    const epoch = (buf[p + 3] << 8) | buf[p + 4];
    const length = (buf[p + 11] << 8) | buf[p + 12];
    if (type < CONTENT_CHANGE_CIPHER_SPEC || type > CONTENT_APPLICATION_DATA) return true;
    if (epoch === 0) {
      if (type !== CONTENT_HANDSHAKE) return true;
      if (length > 0 && p + 13 < buf.length && buf[p + 13] === CLIENT_HELLO) return true;
    } else if (type === CONTENT_ALERT && !decrypts(buf, p, length, socket)) {
      return true;
    }
    p += 13 + length;
  }
  return false;
}

/** Whether the record at `p` authenticates under the session keys (werift's record shape). */
function decrypts(buf: Buffer, p: number, length: number, socket: DtlsSocketParts): boolean {
  if (!socket.cipher || p + 13 + length > buf.length) return false;
  const record = {
    recordLayerHeader: {
      contentType: buf[p],
      protocolVersion: { major: buf[p + 1], minor: buf[p + 2] },
      epoch: (buf[p + 3] << 8) | buf[p + 4],
      sequenceNumber: buf.readUIntBE(p + 5, 6),
      contentLen: length,
    },
    fragment: buf.subarray(p + 13, p + 13 + length),
  };
  try {
    socket.cipher.decryptPacket(record);
    return true;
  } catch {
    return false;
  }
}
