/**
 * Lean viewer-side counting for bench/streaming. A werift viewer that decrypts and routes every
 * packet costs 30-80 us of client CPU per packet (PITFALLS.md), so at N = 200 (46k packets/s) the
 * viewers, not the server, dropped packets: their sockets' 208 KB buffers overflowed while the one
 * client process was busy (seen with `ss -uamp`: every drop was on a client socket).
 *
 * Here each viewer's ICE socket gets a listener in front of werift's: an SRTP datagram (RFC 7983:
 * first byte 128-191, RTP payload type outside the RTCP range 64-95) is counted by its clear-text
 * payload type as audio or video, and only one in `verifyEvery` is passed on to werift, which
 * authenticates and decrypts it (SRTP tolerates the gaps: the ROC estimate and the replay window
 * work on sequence numbers) and stops there (no routing, so no NACK for the gaps). The verified count shows the counted packets are the server's real
 * SRTP stream. STUN (consent), DTLS and SRTCP always go to werift. The socket's receive buffer is
 * raised so a short client stall is absorbed instead of dropped (the server's path is unchanged).
 */
import type { RTCPeerConnection } from 'werift';

export interface Counts {
  audio: number;
  video: number;
  /** Packets werift authenticated and decrypted (one in `verifyEvery` of the counted ones). */
  verified: number;
}

interface SocketLike {
  listeners(event: 'message'): Function[];
  removeAllListeners(event: 'message'): void;
  on(event: 'message', fn: (data: Buffer, rinfo: unknown) => void): void;
  setRecvBufferSize(size: number): void;
}

/** Payload type -> kind, from the offer's m-lines. */
export function payloadKinds(sdp: string): Map<number, 'audio' | 'video'> {
  const kinds = new Map<number, 'audio' | 'video'>();
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^m=(audio|video) \d+ \S+ (.*)$/.exec(line);
    if (m) for (const pt of m[2].trim().split(/\s+/)) kinds.set(Number(pt), m[1] as 'audio' | 'video');
  }
  return kinds;
}

/** Start counting on a connected werift peer. Returns false when its socket could not be found. */
export function countAtSocket(pc: RTCPeerConnection, kinds: Map<number, 'audio' | 'video'>, counts: Counts, total: Counts, verifyEvery: number, recvBuffer: number): boolean {
  const byPt: Array<'audio' | 'video' | undefined> = [];
  for (const [pt, kind] of kinds) byPt[pt] = kind;
  const conn = pc.iceTransports[0]?.connection as unknown as { protocols: Array<{ transport?: { socket?: SocketLike } }> } | undefined;
  let hooked = false;
  for (const p of conn?.protocols ?? []) {
    const socket = p.transport?.socket;
    if (!socket) continue;
    try { socket.setRecvBufferSize(recvBuffer); } catch { /* capped by rmem_max: keep what the kernel gives */ }
    const werift = socket.listeners('message');
    socket.removeAllListeners('message');
    let n = 0;
    socket.on('message', (buf, rinfo) => {
      const b0 = buf[0];
      if (b0 >= 128 && b0 < 192 && buf.length >= 12) {
        const pt = buf[1] & 0x7f;
        const kind = pt < 64 || pt > 95 ? byPt[pt] : undefined;
        if (kind !== undefined) {
          counts[kind]++;
          total[kind]++;
          if (++n % verifyEvery !== 0) return;
        }
      }
      for (const f of werift) f.call(socket, buf, rinfo);
    });
    hooked = true;
  }
  // werift's router would see gaps of verifyEvery - 1 and NACK them (a load the server must not
  // get): the sampled packets stop at the SRTP layer.
  const dtls = pc.dtlsTransports[0];
  dtls?.onRtp.allUnsubscribe();
  dtls?.onRtp.subscribe(() => { counts.verified++; total.verified++; });
  return hooked;
}
