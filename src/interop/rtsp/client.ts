/**
 * One RTSP session with a camera (RFC 2326): OPTIONS, DESCRIBE (redirects followed, 401 answered
 * with Basic or Digest), SETUP per track (the first reply's Session reused, s12.37), PLAY on the
 * aggregate control URL, keep-alive (GET_PARAMETER when the server lists it, else OPTIONS) within
 * the session timeout, TEARDOWN. Media over UDP (an RTP/RTCP port pair per track from the range,
 * only packets from the server's address accepted) or TCP-interleaved (s10.12, '$' frames on
 * the control connection). Reconnecting is the caller's business (ingest.ts).
 */
import net from 'node:net';
import type dgram from 'node:dgram';
import { bindUdpPair, closeQuietly, type PortRange } from '../../media/udp-ports.ts';
import { Authenticator, pickChallenge, splitUrlCredentials, type Credentials } from './auth.ts';
import { RtspProtocolError, RtspStreamParser, parseSession, parseTransport, type RtspResponse } from './message.ts';
import { parseCameraSdp, type CameraSdp } from './sdp.ts';

export class RtspError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'RtspError';
  }
}

export type RtspTransport = 'udp' | 'tcp';

export interface RtspClientOptions {
  url: string;
  credentials?: Credentials;
  transport: RtspTransport;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Client RTP/RTCP ports come from here (UDP transport). */
  portRange?: PortRange;
  /** Address the UDP client ports bind to. */
  bindAddress: string;
  /** rtsp_quirk: on 404, DESCRIBE again with the path only (some cameras want that). */
  quirk?: boolean;
  maxRedirects?: number;
}

export interface RtspMediaSink {
  /** An RTP packet of track `index` (a buffer the sink may keep). */
  rtp(index: number, packet: Buffer): void;
  /** The session ended (connection lost, protocol error); not called after close(). */
  closed(reason: string): void;
}

interface Track {
  index: number;
  rtp?: dgram.Socket;
  rtcp?: dgram.Socket;
  /** Interleaved channel of RTP (RTCP is +1). */
  channel?: number;
}

const USER_AGENT = 'Portunus RTSP client';
const MAX_REDIRECTS = 3;

export class RtspClient {
  readonly opts: RtspClientOptions;
  #url: string;
  #creds: Credentials | undefined;
  #auth: Authenticator | undefined;
  #socket: net.Socket | undefined;
  #parser: RtspStreamParser;
  #cseq = 0;
  #waiting: { cseq: number; resolve: (r: RtspResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  #session: { id: string; timeout: number } | undefined;
  #tracks: Track[] = [];
  #channelToTrack = new Map<number, number>();
  #keepalive: NodeJS.Timeout | undefined;
  #keepaliveMethod = 'OPTIONS';
  #closed = false;
  #serverAddress = '';
  sdp: CameraSdp | undefined;
  /** RTP packets received, all tracks. */
  packets = 0;

  constructor(opts: RtspClientOptions, private readonly sink: RtspMediaSink) {
    this.opts = opts;
    const split = splitUrlCredentials(opts.url);
    this.#url = split.url;
    this.#creds = opts.credentials ?? split.creds;
    this.#parser = new RtspStreamParser({
      response: (r) => this.#onResponse(r),
      frame: (ch, payload) => this.#onFrame(ch, payload),
    });
  }

  get url(): string {
    return this.#url;
  }

  get transport(): RtspTransport {
    return this.opts.transport;
  }

  /** Connect, describe, set up every track and play. Rejects with RtspError. */
  async start(): Promise<CameraSdp> {
    let redirects = 0;
    for (;;) {
      await this.#connect();
      const options = await this.#request('OPTIONS', this.#url);
      const pub = options.headers.get('public') ?? '';
      if (/\bGET_PARAMETER\b/i.test(pub)) this.#keepaliveMethod = 'GET_PARAMETER';
      let describe = await this.#request('DESCRIBE', this.#url, { Accept: 'application/sdp' }, false);
      if (describe.status === 404 && this.opts.quirk) {
        describe = await this.#request('DESCRIBE', new URL(this.#url.replace(/^rtsp/i, 'http')).pathname, { Accept: 'application/sdp' }, false);
      }
      if ((describe.status === 301 || describe.status === 302) && redirects < (this.opts.maxRedirects ?? MAX_REDIRECTS)) {
        const location = describe.headers.get('location');
        if (!location || !/^rtsps?:\/\/[^\s]{1,2040}$/i.test(location)) throw new RtspError('redirect without a usable Location', describe.status);
        redirects++;
        this.#dropConnection();
        this.#url = splitUrlCredentials(location).url;
        continue;
      }
      if (describe.status !== 200) throw new RtspError(`DESCRIBE failed: ${describe.status} ${describe.reason}`, describe.status);
      const base = describe.headers.get('content-base') ?? describe.headers.get('content-location') ?? this.#url;
      this.sdp = parseCameraSdp(describe.body, /^rtsps?:\/\//i.test(base) ? base : this.#url);
      break;
    }
    const sdp = this.sdp;
    for (let i = 0; i < sdp.media.length; i++) await this.#setup(i);
    const play = await this.#request('PLAY', sdp.control, { Range: 'npt=0.000-' });
    if (play.status !== 200) throw new RtspError(`PLAY failed: ${play.status} ${play.reason}`, play.status);
    const period = Math.max(1000, Math.min(((this.#session?.timeout ?? 60) * 1000) / 2, 30_000));
    this.#keepalive = setInterval(() => this.#sendKeepalive(), period);
    this.#keepalive.unref();
    return sdp;
  }

  #connect(): Promise<void> {
    const u = new URL(this.#url.replace(/^rtsp/i, 'http'));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port ? Number(u.port) : 554;
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new RtspError(`connect to ${host}:${port} timed out`));
      }, this.opts.connectTimeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        this.#serverAddress = sock.remoteAddress ?? host;
        sock.setNoDelay(true);
        resolve();
      });
      // Errors after the connect surface as 'close' (handled below); before it they reject.
      sock.on('error', (err) => {
        clearTimeout(timer);
        reject(new RtspError(`connect to ${host}:${port} failed: ${err.message}`));
      });
      sock.on('data', (chunk) => {
        try {
          this.#parser.push(chunk);
        } catch (err) {
          this.#fail(err instanceof RtspProtocolError ? `protocol error: ${err.message}` : String(err));
        }
      });
      sock.on('close', () => {
        if (this.#socket === sock) this.#fail('connection closed by the server');
      });
      this.#socket = sock;
      this.#parser.reset();
    });
  }

  #dropConnection(): void {
    const s = this.#socket;
    this.#socket = undefined;
    s?.destroy();
  }

  async #setup(i: number): Promise<void> {
    const media = this.sdp!.media[i];
    const track: Track = { index: i };
    this.#tracks.push(track);
    let transport: string;
    if (this.opts.transport === 'tcp') {
      track.channel = i * 2;
      transport = `RTP/AVP/TCP;unicast;interleaved=${i * 2}-${i * 2 + 1}`;
    } else {
      const pair = await bindUdpPair({ address: this.opts.bindAddress, range: this.opts.portRange, recvBufferSize: 2 * 1024 * 1024 });
      track.rtp = pair.rtp;
      track.rtcp = pair.rtcp;
      const rtpPort = pair.rtp.address().port;
      pair.rtp.on('message', (msg, rinfo) => {
        // Only the camera may feed this track (another host could otherwise inject media).
        if (this.#closed || !sameHost(rinfo.address, this.#serverAddress) || msg.length < 12) return;
        this.packets++;
        this.sink.rtp(i, msg);
      });
      pair.rtcp.on('message', () => {});
      transport = `RTP/AVP;unicast;client_port=${rtpPort}-${rtpPort + 1}`;
    }
    const headers: Record<string, string> = { Transport: transport };
    if (this.#session) headers.Session = this.#session.id;
    const r = await this.#request('SETUP', media.control, headers);
    if (r.status !== 200) throw new RtspError(`SETUP ${media.control} failed: ${r.status} ${r.reason}`, r.status);
    const session = r.headers.get('session');
    if (!session) throw new RtspError('SETUP reply without Session');
    const parsed = parseSession(session);
    if (this.#session && parsed.id !== this.#session.id) throw new RtspError('server changed the session id');
    this.#session = parsed;
    const t = parseTransport(r.headers.get('transport') ?? '');
    if (this.opts.transport === 'tcp') {
      if (t.interleaved) track.channel = t.interleaved[0];
      this.#channelToTrack.set(track.channel!, i);
    } else if (t.serverPort && track.rtp && track.rtcp) {
      // Open the NAT path towards the server ports (harmless on loopback), as cameras expect.
      const punch = Buffer.from([0xce, 0xfa, 0xed, 0xfe]);
      track.rtp.send(punch, t.serverPort[0], this.#serverAddress, () => {});
      track.rtcp.send(punch, t.serverPort[1], this.#serverAddress, () => {});
    }
  }

  #onFrame(channel: number, payload: Buffer): void {
    if (this.#closed) return;
    const track = this.#channelToTrack.get(channel);
    if (track === undefined || payload.length < 12) return; // RTCP (odd channels) and unknown channels
    this.packets++;
    this.sink.rtp(track, payload);
  }

  #sendKeepalive(): void {
    if (this.#closed || !this.sdp) return;
    this.#request(this.#keepaliveMethod, this.sdp.control).then((r) => {
      if (r.status === 405 || r.status === 501) this.#keepaliveMethod = 'OPTIONS';
    }, () => { /* a lost keep-alive shows as silence; the ingest reconnects */ });
  }

  /** Send one request and wait for its response; with `authRetry`, a 401 is answered once. */
  async #request(method: string, uri: string, headers: Record<string, string> = {}, expectOk = false, authRetry = true): Promise<RtspResponse> {
    const r = await this.#send(method, uri, headers);
    if (r.status === 401 && authRetry && this.#creds) {
      const challenge = pickChallenge(r.challenges);
      if (!challenge) throw new RtspError('401 without a challenge we support', 401);
      this.#auth = new Authenticator(this.#creds, challenge);
      return this.#request(method, uri, headers, expectOk, false);
    }
    if (r.status === 401) throw new RtspError(this.#creds ? 'authentication refused' : 'authentication required', 401);
    if (expectOk && r.status !== 200) throw new RtspError(`${method} failed: ${r.status} ${r.reason}`, r.status);
    return r;
  }

  #send(method: string, uri: string, headers: Record<string, string>): Promise<RtspResponse> {
    const sock = this.#socket;
    if (!sock || this.#closed) return Promise.reject(new RtspError('not connected'));
    if (this.#waiting) return Promise.reject(new RtspError('request already in flight'));
    const cseq = ++this.#cseq;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, `User-Agent: ${USER_AGENT}`];
    if (this.#auth) lines.push(`Authorization: ${this.#auth.header(method, uri)}`);
    if (this.#session && method !== 'SETUP') lines.push(`Session: ${this.#session.id}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new RtspError(`${method} timed out`));
      }, this.opts.requestTimeoutMs);
      this.#waiting = { cseq, resolve, reject, timer };
      sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  #onResponse(r: RtspResponse): void {
    const w = this.#waiting;
    const cseq = Number(r.headers.get('cseq'));
    if (!w || (Number.isFinite(cseq) && cseq !== w.cseq)) return; // late or unsolicited
    clearTimeout(w.timer);
    this.#waiting = undefined;
    w.resolve(r);
  }

  #fail(reason: string): void {
    if (this.#closed) return;
    this.#release();
    this.sink.closed(reason);
  }

  #release(): void {
    this.#closed = true;
    if (this.#keepalive) clearInterval(this.#keepalive);
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(new RtspError('session closed'));
    }
    for (const t of this.#tracks) {
      closeQuietly(t.rtp);
      closeQuietly(t.rtcp);
    }
    this.#tracks = [];
    this.#dropConnection();
  }

  /** TEARDOWN (best effort, short wait) and release everything. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#session && this.sdp && this.#socket && !this.#waiting) {
      const timer = new Promise<void>((r) => setTimeout(r, 500).unref());
      await Promise.race([this.#send('TEARDOWN', this.sdp.control, {}).catch(() => undefined), timer]);
    }
    this.#release();
  }
}

function sameHost(a: string, b: string): boolean {
  return a === b || a.replace(/^::ffff:/, '') === b.replace(/^::ffff:/, '');
}
