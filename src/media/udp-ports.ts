/**
 * Binding plain UDP sockets for RTP/RTCP from a configured port range (a plugin's `rtp_port_range`,
 * RTSP client ports, SIP media, plain-RTP participants). Ports are tried from a random start so that
 * several plugins sharing a range do not all collide on its first ports; each port is tried once.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

export type PortRange = readonly [min: number, max: number];

export class PortRangeExhaustedError extends Error {
  constructor(readonly range: PortRange | undefined, readonly address: string) {
    super(range ? `no free UDP port in ${range[0]}-${range[1]} on ${address}` : `could not bind a UDP port on ${address}`);
    this.name = 'PortRangeExhaustedError';
  }
}

export interface BindUdpOptions {
  /** Local address to bind (e.g. "127.0.0.1", "0.0.0.0", "::"). */
  address: string;
  /** Inclusive range; undefined = an ephemeral port from the OS. */
  range?: PortRange;
  /** Receive buffer size to ask for (bytes); the OS may cap it. */
  recvBufferSize?: number;
}

/** "20000-40000" -> [20000, 40000]; "" or undefined -> undefined. Throws on anything else. */
export function parsePortRangeString(text: string | undefined): PortRange | undefined {
  const t = (text ?? '').trim();
  if (t === '') return undefined;
  const m = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(t);
  if (!m) throw new Error(`port range '${text}' is not MIN-MAX`);
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) throw new Error(`port range '${text}' is out of bounds`);
  return [lo, hi];
}

function tryBind(address: string, port: number, recvBufferSize: number | undefined): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    const onError = (): void => {
      sock.close();
      resolve(undefined);
    };
    sock.once('error', onError);
    sock.bind(port, address, () => {
      sock.off('error', onError);
      if (recvBufferSize) {
        try { sock.setRecvBufferSize(recvBufferSize); } catch { /* capped by the OS: keep its default */ }
      }
      resolve(sock);
    });
  });
}

/** One UDP socket on a free port of the range (or an ephemeral port). */
export async function bindUdpSocket(opts: BindUdpOptions): Promise<dgram.Socket> {
  const { address, range, recvBufferSize } = opts;
  if (!range) {
    const s = await tryBind(address, 0, recvBufferSize);
    if (!s) throw new PortRangeExhaustedError(undefined, address);
    return s;
  }
  const [lo, hi] = range;
  const n = hi - lo + 1;
  const start = Math.floor(Math.random() * n);
  for (let i = 0; i < n; i++) {
    const s = await tryBind(address, lo + ((start + i) % n), recvBufferSize);
    if (s) return s;
  }
  throw new PortRangeExhaustedError(range, address);
}

/**
 * An RTP socket on an even port and its RTCP socket on the next (odd) one (RFC 3550 s11), both from
 * the range (or both ephemeral-ish: an even OS port whose successor is free).
 */
export async function bindUdpPair(opts: BindUdpOptions): Promise<{ rtp: dgram.Socket; rtcp: dgram.Socket }> {
  const { address, recvBufferSize } = opts;
  const [lo, hi] = opts.range ?? [20000, 65534];
  const firstEven = lo % 2 === 0 ? lo : lo + 1;
  const pairs = Math.floor((hi - firstEven + 1) / 2);
  if (pairs > 0) {
    const start = Math.floor(Math.random() * pairs);
    for (let i = 0; i < pairs; i++) {
      const port = firstEven + ((start + i) % pairs) * 2;
      const rtp = await tryBind(address, port, recvBufferSize);
      if (!rtp) continue;
      const rtcp = await tryBind(address, port + 1, undefined);
      if (rtcp) return { rtp, rtcp };
      rtp.close();
    }
  }
  throw new PortRangeExhaustedError(opts.range, address);
}

/** Close a socket, ignoring "not running" errors from a socket already closed. */
export function closeQuietly(sock: dgram.Socket | undefined): void {
  if (!sock) return;
  try { sock.close(); } catch { /* already closed */ }
}
