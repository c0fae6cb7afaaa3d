/**
 * Our SIP transport for sip.js (its `Transport` interface) over UDP or TCP, one socket (and one TCP
 * listener) per user agent, as Janus gives each SIP handle its own port. sip.js leaves to the
 * transport what RFC 3261 assigns to transactions on unreliable transports, so this does:
 *
 * - section 17.1.1.2 Timer A and 17.1.2.2 Timer E: client requests re-sent over UDP (doubling from T1,
 *   non-INVITE capped at T2) until a response (INVITE: any; non-INVITE: final) or 64*T1;
 * - section 17.2.1 Timer G: non-2xx finals to an INVITE re-sent until the ACK (2xx: sip.js does it);
 * - sections 17.1.1.2/17.2.x absorption: a re-sent request gets our last response again, a re-sent
 *   non-2xx final gets our ACK again, without reaching sip.js (whose D/I/J/K timers are 0);
 * - section 18.2.2 + RFC 3581: responses go to the request's source address (rport);
 * - section 18.1.1 / 16.12: requests go to the outbound proxy, else the first loose Route, else the
 *   Request-URI; TCP framing by Content-Length (section 18.3), size caps, garbage dropped.
 *
 * sip.js writes Via and Contact with a placeholder host (`viaHost`); we put our address:port in on
 * the way out and the placeholder back into the top Via of responses on the way in (sip.js checks it).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { lookup } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { EmitterImpl, TransportState, type Transport, type Emitter } from 'sip.js';
import { headEnd, isLooseRoute, MAX_SIP_MESSAGE, scanSipMessage, topVia, uriTarget, type HostPort, type SipHead } from './message-scan.ts';

export type SipProtocol = 'udp' | 'tcp' | 'tls';

/** TLS material (section 26.2: sips and TLS hop by hop); `ca` set: peers are verified against it. */
export interface SipTlsOptions {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
}

export interface SipTransportOptions {
  protocol: SipProtocol;
  /** Address to bind (Janus' local_ip). */
  localIp: string;
  /** Address written into Via/Contact (defaults to localIp). */
  advertisedIp?: string;
  /** Port to bind, 0 = any. */
  localPort?: number;
  /** The placeholder sip.js writes as viaHost. */
  viaToken: string;
  /** Every request goes here when set (Janus' outbound_proxy). */
  outboundProxy?: HostPort;
  /** 64*T1 in ms (Janus' sip_timer_t1x64, default 32000). */
  t1x64?: number;
  /** Certificates for protocol 'tls'. */
  tls?: SipTlsOptions;
  /** Raw SIP in and out, for logs and events (sip-in/sip-out). */
  onSipIn?: (text: string) => void;
  onSipOut?: (text: string) => void;
  log?: { debug(msg: string): void; warn(msg: string): void };
}

interface Dest { host: string; port: number; conn?: net.Socket }

interface Retransmission {
  text: Buffer;
  dest: Dest;
  interval: number;
  timer: NodeJS.Timeout;
  deadline: number;
  invite: boolean;
}

/** Remembered answers to absorb retransmissions (keyed by branch|method). */
interface Answered { text: Buffer | undefined; dest: Dest; expires: number }

const T2 = 4000;

export function newViaToken(): string {
  return `p${randomBytes(6).toString('hex')}.invalid`;
}

export class SipSocketTransport implements Transport {
  readonly protocol: string;
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  readonly #stateChange = new EmitterImpl<TransportState>();
  #state = TransportState.Disconnected;
  readonly #opts: SipTransportOptions;
  readonly #t1: number;
  readonly #t1x64: number;
  #udp: dgram.Socket | undefined;
  #server: net.Server | undefined;
  readonly #conns = new Map<string, net.Socket>();
  #port = 0;
  /** Client transactions being re-sent. */
  readonly #pending = new Map<string, Retransmission>();
  /** Server transactions seen (answered or not), for absorbing re-sent requests. */
  readonly #served = new Map<string, Answered>();
  /** Where each incoming request came from, to send its responses back (branch|method). */
  readonly #sources = new Map<string, Dest>();
  /** Non-2xx final responses being re-sent until the ACK (Timer G), by INVITE branch. */
  readonly #finals = new Map<string, Retransmission>();
  /** ACKs we sent for non-2xx finals, by branch: a re-sent final gets the same ACK. */
  readonly #acks = new Map<string, Answered>();
  #sweeper: NodeJS.Timeout | undefined;
  /** Stream connections that finished connecting (and, for TLS, the handshake). */
  readonly #established = new WeakSet<net.Socket>();

  constructor(_logger: unknown, options: SipTransportOptions) {
    this.#opts = options;
    this.protocol = options.protocol.toUpperCase();
    this.#t1x64 = options.t1x64 && options.t1x64 > 0 ? options.t1x64 : 32_000;
    this.#t1 = this.#t1x64 / 64;
  }

  get state(): TransportState {
    return this.#state;
  }

  get stateChange(): Emitter<TransportState> {
    return this.#stateChange;
  }

  /** The bound port (after connect). */
  get port(): number {
    return this.#port;
  }

  get hostPort(): string {
    const ip = this.#opts.advertisedIp || this.#opts.localIp;
    return `${net.isIPv6(ip) ? `[${ip}]` : ip}:${this.#port}`;
  }

  isConnected(): boolean {
    return this.#state === TransportState.Connected;
  }

  #setState(s: TransportState): void {
    this.#state = s;
    this.#stateChange.emit(s);
  }

  async connect(): Promise<void> {
    if (this.#state === TransportState.Connected) return;
    this.#setState(TransportState.Connecting);
    const { localIp } = this.#opts;
    if (this.#opts.protocol === 'udp') {
      const sock = dgram.createSocket({ type: net.isIPv6(localIp) ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(this.#opts.localPort ?? 0, localIp, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      sock.on('error', (err) => this.#opts.log?.warn(`sip udp: ${err.message}`));
      sock.on('message', (msg, rinfo) => this.#receive(msg, { host: rinfo.address, port: rinfo.port }));
      this.#udp = sock;
      this.#port = sock.address().port;
    } else {
      const t = this.#opts.tls;
      if (this.#opts.protocol === 'tls' && !t) throw new Error('TLS transport without certificates');
      const server = this.#opts.protocol === 'tls' && t
        ? tls.createServer({ key: t.key, cert: t.cert, ...(t.ca ? { ca: t.ca } : {}) }, (c) => this.#adopt(c))
        : net.createServer((c) => this.#adopt(c));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#opts.localPort ?? 0, localIp, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.#server = server;
      this.#port = (server.address() as net.AddressInfo).port;
    }
    this.#sweeper = setInterval(() => this.#sweep(), 2000);
    this.#sweeper.unref();
    this.#setState(TransportState.Connected);
    this.onConnect?.();
  }

  async disconnect(): Promise<void> {
    if (this.#state === TransportState.Disconnected) return;
    this.#setState(TransportState.Disconnecting);
    for (const r of this.#pending.values()) clearTimeout(r.timer);
    for (const r of this.#finals.values()) clearTimeout(r.timer);
    this.#pending.clear();
    this.#finals.clear();
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#udp?.close();
    this.#udp = undefined;
    for (const c of this.#conns.values()) c.destroy();
    this.#conns.clear();
    this.#server?.close();
    this.#server = undefined;
    this.#setState(TransportState.Disconnected);
    this.onDisconnect?.();
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  async send(message: string): Promise<void> {
    if (!this.isConnected()) throw new Error('SIP transport not connected');
    const text = message.split(this.#opts.viaToken).join(this.hostPort);
    const buf = Buffer.from(text, 'utf8');
    const head = scanSipMessage(buf);
    if (!head) throw new Error('refusing to send a malformed SIP message');
    const via = topVia(head);
    const branch = via?.params.get('branch') ?? '';
    if (head.request) {
      const dest = await this.#requestDestination(head);
      const conn = this.#write(buf, dest);
      // Section 18.4 / 8.1.3.1: a connection that fails is a transport error (sip.js: internal 503), not 64*T1 of silence.
      if (conn) return this.#whenConnected(conn);
      if (head.method === 'ACK') {
        this.#acks.set(branch, { text: buf, dest, expires: Date.now() + this.#t1x64 });
        return;
      }
      this.#retransmit(this.#pending, `${branch}|${head.method}`, buf, dest, head.method === 'INVITE', T2);
      return;
    }
    const key = `${branch}|${head.method}`;
    const dest = this.#sources.get(key) ?? this.#responseDestination(head);
    if (!dest) throw new Error('no destination for SIP response');
    this.#write(buf, dest);
    if (head.status >= 200) this.#served.set(key, { text: buf, dest, expires: Date.now() + this.#t1x64 });
    else this.#served.set(key, { text: buf, dest, expires: Date.now() + this.#t1x64 * 4 });
    if (this.#opts.protocol === 'udp' && head.method === 'INVITE' && head.status >= 300) {
      this.#retransmit(this.#finals, branch, buf, dest, true, T2);
    }
  }

  /** Timers A/E/G: re-send with doubling intervals until stopped or 64*T1. */
  #retransmit(map: Map<string, Retransmission>, key: string, text: Buffer, dest: Dest, invite: boolean, cap: number): void {
    const old = map.get(key);
    if (old) clearTimeout(old.timer);
    const entry: Retransmission = { text, dest, interval: this.#t1, invite, deadline: Date.now() + this.#t1x64, timer: undefined as unknown as NodeJS.Timeout };
    const fire = (): void => {
      if (Date.now() >= entry.deadline || !this.isConnected()) {
        map.delete(key);
        return;
      }
      this.#write(entry.text, entry.dest);
      entry.interval = invite && map === this.#pending ? entry.interval * 2 : Math.min(entry.interval * 2, cap);
      entry.timer = setTimeout(fire, entry.interval);
      entry.timer.unref();
    };
    entry.timer = setTimeout(fire, entry.interval);
    entry.timer.unref();
    map.set(key, entry);
  }

  /** Send on UDP, or on a TCP/TLS connection (opened if needed), which is returned. */
  #write(buf: Buffer, dest: Dest): net.Socket | undefined {
    this.#opts.onSipOut?.(buf.toString('utf8'));
    if (this.#udp) {
      this.#udp.send(buf, dest.port, dest.host);
      return undefined;
    }
    const conn = dest.conn && !dest.conn.destroyed ? dest.conn : this.#connection(dest);
    conn.write(buf);
    return conn;
  }

  /** Resolves once the connection is up (TLS: handshake done, peer verified), rejects if it fails first. */
  #whenConnected(c: net.Socket): Promise<void> {
    if (this.#established.has(c)) return Promise.resolve();
    if (c.destroyed) return Promise.reject(new Error('SIP connection closed'));
    return new Promise((resolve, reject) => {
      const up = this.#opts.protocol === 'tls' ? 'secureConnect' : 'connect';
      const done = (err?: Error): void => {
        c.off(up, ok);
        c.off('error', fail);
        c.off('close', closed);
        if (err) reject(err);
        else resolve();
      };
      const ok = (): void => done();
      const fail = (err: Error): void => done(err);
      const closed = (): void => done(new Error('SIP connection closed'));
      c.once(up, ok);
      c.once('error', fail);
      c.once('close', closed);
    });
  }

  #connection(dest: Dest): net.Socket {
    const key = `${dest.host}:${dest.port}`;
    let c = this.#conns.get(key);
    if (c && !c.destroyed) return c;
    const t = this.#opts.tls;
    c = this.#opts.protocol === 'tls' && t
      ? tls.connect({
        socket: net.connect({ host: dest.host, port: dest.port, localAddress: this.#opts.localIp }), host: dest.host, key: t.key, cert: t.cert,
        // With a CA configured the peer must prove its name (RFC 5922); without one, as Janus, anyone.
        ...(t.ca ? { ca: t.ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
        ...(net.isIP(dest.host) ? {} : { servername: dest.host }),
      })
      : net.connect({ host: dest.host, port: dest.port, localAddress: this.#opts.localIp });
    const opened = c;
    opened.once(this.#opts.protocol === 'tls' ? 'secureConnect' : 'connect', () => this.#established.add(opened));
    this.#adopt(c, key);
    return c;
  }

  /** Read SIP messages off a TCP stream (section 18.3: framed by Content-Length). */
  #adopt(c: net.Socket, key?: string): void {
    const k = key ?? `${c.remoteAddress}:${c.remotePort}`;
    if (!key) this.#established.add(c); // accepted by our listener: already up
    this.#conns.set(k, c);
    c.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    c.on('error', (err) => this.#opts.log?.debug(`sip tcp ${k}: ${err.message}`));
    c.on('close', () => {
      if (this.#conns.get(k) === c) this.#conns.delete(k);
    });
    c.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        // RFC 5626 keep-alives (CRLF) between messages.
        let skip = 0;
        while (skip < pending.length && (pending[skip] === 13 || pending[skip] === 10)) skip++;
        if (skip) pending = pending.subarray(skip);
        if (pending.length === 0) return;
        const end = headEnd(pending);
        if (end < 0) {
          if (pending.length > MAX_SIP_MESSAGE) c.destroy();
          return;
        }
        const head = scanSipMessage(pending.subarray(0, end));
        if (!head || end + head.contentLength > MAX_SIP_MESSAGE) {
          c.destroy();
          return;
        }
        const total = end + head.contentLength;
        if (pending.length < total) return;
        const msg = Buffer.from(pending.subarray(0, total));
        pending = pending.subarray(total);
        this.#receive(msg, { host: c.remoteAddress ?? '', port: c.remotePort ?? 0, conn: c });
      }
    });
  }

  #receive(msg: Buffer, from: Dest): void {
    if (!this.isConnected()) return;
    let head: SipHead | undefined;
    try {
      head = scanSipMessage(msg);
    } catch {
      head = undefined;
    }
    if (!head) {
      this.#opts.log?.debug(`sip: dropped ${msg.length} bytes of garbage from ${from.host}:${from.port}`);
      return;
    }
    if (msg.length < head.bodyOffset + head.contentLength) return; // truncated datagram (section 18.3)
    const via = topVia(head);
    if (!via) return;
    const branch = via.params.get('branch') ?? '';
    const key = `${branch}|${head.method}`;
    if (head.request) {
      if (head.method === 'ACK') {
        const g = this.#finals.get(branch);
        if (g) {
          clearTimeout(g.timer);
          this.#finals.delete(branch);
          return; // the ACK of a non-2xx final belongs to the transaction (section 17.2.1)
        }
      } else {
        const seen = this.#served.get(key);
        if (seen) {
          if (seen.text) this.#write(seen.text, seen.dest);
          return;
        }
        // RFC 3581 / section 18.2.2: answer to the source (port from rport, else the sent-by port).
        const dest: Dest = { host: from.host, port: via.params.has('rport') || from.conn ? from.port : (via.port ?? 5060), conn: from.conn };
        this.#sources.set(key, dest);
        this.#served.set(key, { text: undefined, dest, expires: Date.now() + this.#t1x64 * 4 });
      }
    } else {
      const p = this.#pending.get(key);
      if (p && (p.invite || head.status >= 200)) {
        clearTimeout(p.timer);
        this.#pending.delete(key);
      } else if (p && head.status < 200) {
        p.interval = T2; // section 17.1.2.2: after a provisional, re-send every T2
      }
      if (head.method === 'INVITE' && head.status >= 300) {
        const ack = this.#acks.get(branch);
        if (ack?.text) {
          this.#write(ack.text, ack.dest); // a re-sent final: the transaction already ACKed it
          return;
        }
      }
    }
    let text = msg.toString('utf8', 0, head.bodyOffset + head.contentLength);
    // A registrar lists our bindings: sip.js finds its own Contact by the placeholder host.
    if (!head.request && head.method === 'REGISTER') text = text.split(`@${this.hostPort}`).join(`@${this.#opts.viaToken}`);
    if (!head.request) text = text.replace(/^((?:via|v)[ \t]*:[ \t]*SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*[A-Za-z]+[ \t]+)[^;\s,]+/im, `$1${this.#opts.viaToken}`);
    this.#opts.onSipIn?.(text);
    try {
      this.onMessage?.(text);
    } catch (err) {
      this.#opts.log?.warn(`sip: message handling failed: ${(err as Error).message}`);
    }
  }

  async #requestDestination(head: SipHead): Promise<Dest> {
    let target: HostPort | undefined = this.#opts.outboundProxy;
    if (!target) {
      const route = head.headers.get('route')?.[0]?.split(',')[0];
      target = route && isLooseRoute(route) ? uriTarget(route) : uriTarget(head.uri);
    }
    if (!target) throw new Error('no destination for SIP request');
    const host = net.isIP(target.host) ? target.host : (await lookup(target.host)).address;
    return { host, port: target.port ?? (this.#opts.protocol === 'tls' ? 5061 : 5060) };
  }

  #responseDestination(head: SipHead): Dest | undefined {
    const via = topVia(head);
    if (!via) return undefined;
    const rport = Number(via.params.get('rport'));
    return { host: via.params.get('received') || via.host, port: rport > 0 ? rport : (via.port ?? 5060) };
  }

  #sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.#served) if (v.expires < now) {
      this.#served.delete(k);
      this.#sources.delete(k);
    }
    for (const [k, v] of this.#acks) if (v.expires < now) this.#acks.delete(k);
  }
}
