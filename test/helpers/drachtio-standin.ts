/**
 * A STAND-IN for a drachtio server (drachtio-server 0.8.x), for tests only: no drachtio server can be
 * installed here. It speaks the drachtio control protocol to drachtio-srf clients over TCP on
 * 127.0.0.1 and real SIP over UDP on 127.0.0.1, so the far side of a test is a real sipp, kamailio or
 * baresip. It knows nothing of Portunus: only the wire protocol and RFC 3261.
 *
 * Control protocol (facts from drachtio-server's client.cpp and drachtio-srf's wire-protocol.js):
 * - framing: `<byte length>#<message>`, the length in decimal (at most 5 digits);
 * - every message is `<msgId>|<type>|<args...>`, a SIP message follows the first CRLF;
 * - client -> server: `authenticate|<secret>|<tags>`, `route|<verb>`, `remove_route|<verb>`, `ping`,
 *   `sip|<txnId>|<dialogId>[|<route uri>]` + SIP (a new request, an in-dialog request when dialogId
 *   is given, a CANCEL of txnId, or a response to the server transaction txnId);
 * - server -> client: `response|<msgId>|OK|<...>` / `response|<msgId>|NO|<reason>`; for a sent SIP
 *   message `OK|application|<len>|udp|<addr>|<port>|<time>|<txnId>|<dialogId>` + the SIP as sent;
 *   `sip|network|<len>|udp|<addr>|<port>|<time>|<txnId>|<dialogId>|` + SIP received;
 *   `cdr:attempt|<source>|<time>`, `cdr:start|<source>|<time>|<role>`, `cdr:stop|<source>|<time>|<reason>` + SIP.
 * SIP side (what sofia-sip's nta does inside the real server): Via/branch, From tag, Call-ID, CSeq and
 * Max-Forwards filled in; 100 Trying to INVITEs; CANCEL answered (200 + 487) and passed up; ACK to
 * non-2xx finals; dialogs (RFC 3261 section 12: route sets, remote target, CSeq) for in-dialog
 * requests; retransmission of requests (Timers A/E) and of 2xx to INVITE until the ACK (Timer G);
 * re-sent requests answered from the transaction.
 */
import net from 'node:net';
import dgram from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { SipMsg, branch, hostPort, param, reasonOf, token, uriOf, MAX_SIP } from './drachtio-standin-sip.ts';

export const STANDIN_VERSION = 'v0.8.26';
const CRLF = '\r\n';

/** Reads `<length>#<message>` frames; throws on a malformed length (the real server drops the client). */
export class FrameReader {
  #buf = Buffer.alloc(0);
  push(data: Buffer): string[] {
    this.#buf = Buffer.concat([this.#buf, data]);
    const out: string[] = [];
    for (;;) {
      const hash = this.#buf.indexOf('#');
      if (hash < 0) {
        if (this.#buf.length > 5 || !/^\d*$/.test(this.#buf.toString('latin1'))) throw new Error('invalid message length specifier');
        return out;
      }
      const digits = this.#buf.toString('latin1', 0, hash);
      if (!/^\d{1,5}$/.test(digits) || Number(digits) === 0) throw new Error('invalid message length specifier');
      const len = Number(digits);
      if (this.#buf.length < hash + 1 + len) return out;
      out.push(this.#buf.toString('utf8', hash + 1, hash + 1 + len));
      this.#buf = this.#buf.subarray(hash + 1 + len);
    }
  }
}

export function frame(msg: string): string {
  return `${Buffer.byteLength(msg, 'utf8')}#${msg}`;
}

interface Peer { address: string; port: number }

interface Session {
  socket: net.Socket;
  authenticated: boolean;
  routes: Set<string>;
}

interface ClientTxn {
  id: string;
  session: Session;
  request: SipMsg;
  dest: Peer;
  branch: string;
  timer?: NodeJS.Timeout;
  interval: number;
  final: boolean;
  /** The ACK we sent for a non-2xx final (re-sent if the final is re-sent). */
  ack?: string;
}

interface ServerTxn {
  id: string;
  session: Session | undefined;
  request: SipMsg;
  source: Peer;
  key: string;
  localTag: string;
  last?: string;
  final: boolean;
  dialogId: string;
}

interface Dialog {
  id: string;
  session: Session;
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From/To values for our requests. */
  local: string;
  remote: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  inviteSeq: number;
  /** UAS: our 2xx, re-sent until the ACK (RFC 3261 13.3.1.4). */
  pending2xx?: { text: string; dest: Peer; timer: NodeJS.Timeout };
  lastAck?: { text: string; dest: Peer };
}

export interface StandinOptions {
  secret?: string;
  /** RFC 3261 T1 in ms (retransmission base). */
  t1?: number;
  log?: (line: string) => void;
}

export class DrachtioStandin {
  readonly secret: string;
  controlPort = 0;
  sipPort = 0;
  readonly #server = net.createServer();
  readonly #udp = dgram.createSocket('udp4');
  readonly #sessions = new Set<Session>();
  readonly #clientTxns = new Map<string, ClientTxn>();
  readonly #clientById = new Map<string, ClientTxn>();
  readonly #serverTxns = new Map<string, ServerTxn>();
  readonly #serverById = new Map<string, ServerTxn>();
  readonly #dialogs = new Map<string, Dialog>();
  readonly #t1: number;
  readonly #log: (line: string) => void;
  /** Every SIP message sent and received, for assertions ("> " sent, "< " received). */
  readonly sipLog: string[] = [];
  /** Every control message received from clients (for assertions on the protocol). */
  readonly controlLog: string[] = [];

  constructor(opts: StandinOptions = {}) {
    this.secret = opts.secret ?? 'cymru';
    this.#t1 = opts.t1 ?? 500;
    this.#log = opts.log ?? (() => undefined);
  }

  static async start(opts: StandinOptions = {}): Promise<DrachtioStandin> {
    const s = new DrachtioStandin(opts);
    await s.#listen();
    return s;
  }

  get hostports(): string {
    return `udp/127.0.0.1:${this.sipPort}`;
  }

  async #listen(): Promise<void> {
    this.#server.on('connection', (socket) => this.#accept(socket));
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.controlPort = (this.#server.address() as net.AddressInfo).port;
    this.#udp.on('message', (buf, rinfo) => this.#fromNetwork(buf, { address: rinfo.address, port: rinfo.port }));
    await new Promise<void>((resolve) => this.#udp.bind(0, '127.0.0.1', resolve));
    this.sipPort = this.#udp.address().port;
  }

  /** Drop every client connection (as a server restart would); clients may reconnect. */
  dropClients(): void {
    for (const s of this.#sessions) s.socket.destroy();
  }

  async close(): Promise<void> {
    for (const t of this.#clientTxns.values()) clearTimeout(t.timer);
    for (const d of this.#dialogs.values()) clearTimeout(d.pending2xx?.timer);
    for (const s of this.#sessions) s.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#udp.close();
  }

  // ---- control protocol ----

  #accept(socket: net.Socket): void {
    const session: Session = { socket, authenticated: false, routes: new Set() };
    this.#sessions.add(session);
    const reader = new FrameReader();
    socket.setNoDelay(true);
    socket.on('data', (data) => {
      let msgs: string[];
      try {
        msgs = reader.push(data);
      } catch (err) {
        this.#log(`standin: ${(err as Error).message}, closing client`);
        socket.destroy();
        return;
      }
      for (const m of msgs) {
        if (socket.destroyed) return;
        try {
          this.#control(session, m);
        } catch (err) {
          this.#log(`standin: bad client message: ${(err as Error).message}`);
          socket.destroy();
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.#sessions.delete(session));
  }

  #send(session: Session, msg: string): void {
    if (!session.socket.destroyed) session.socket.write(frame(`${randomUUID()}|${msg}`));
  }

  #reply(session: Session, msgId: string, ok: boolean, rest = ''): void {
    this.#send(session, `response|${msgId}|${ok ? 'OK' : 'NO'}${rest ? `|${rest}` : ''}`);
  }

  #control(session: Session, msg: string): void {
    this.controlLog.push(msg);
    const nl = msg.indexOf(CRLF);
    const leader = nl >= 0 ? msg.slice(0, nl) : msg;
    const body = nl >= 0 ? msg.slice(nl + 2) : '';
    const tokens = leader.split('|');
    if (tokens.length < 2) throw new Error('invalid message format');
    const [msgId, type] = tokens;
    if (type === 'authenticate') {
      if (tokens[2] !== this.secret) {
        this.#reply(session, msgId, false, 'incorrect secret');
        session.socket.end();
        return;
      }
      session.authenticated = true;
      this.#reply(session, msgId, true, `${this.hostports}|${STANDIN_VERSION}`);
      return;
    }
    if (!session.authenticated) {
      this.#reply(session, msgId, false, 'not authenticated');
      session.socket.end();
      return;
    }
    switch (type) {
      case 'ping':
        return this.#reply(session, msgId, true, 'pong');
      case 'route':
        session.routes.add((tokens[2] ?? '').toLowerCase());
        return this.#reply(session, msgId, true);
      case 'remove_route':
        session.routes.delete((tokens[2] ?? '').toLowerCase());
        return this.#reply(session, msgId, true);
      case 'sip':
        return this.#fromApp(session, msgId, tokens[2] ?? '', tokens[3] ?? '', tokens[4] ?? '', body);
      default:
        this.#reply(session, msgId, false, 'Unknown message type');
        throw new Error(`unknown message type ${type}`);
    }
  }

  #time(): string {
    return new Date().toISOString().slice(11, 23);
  }

  /** The OK for a SIP message the app had us send. */
  #sentOk(session: Session, msgId: string, text: string, dest: Peer, txnId: string, dialogId: string): void {
    this.#reply(session, msgId, true, `application|${Buffer.byteLength(text)}|udp|${dest.address}|${dest.port}|${this.#time()}|${txnId}|${dialogId}${CRLF}${text}`);
  }

  /** A SIP message from the network, up to the app that handles it. */
  #up(session: Session | undefined, text: string, from: Peer, txnId: string, dialogId: string): void {
    if (!session) return;
    this.#send(session, `sip|network|${Buffer.byteLength(text)}|udp|${from.address}|${from.port}|${this.#time()}|${txnId}|${dialogId}|${CRLF}${text}`);
  }

  /** CDRs go to every client that routed `cdr:<kind>`, whoever handles the call. */
  #cdr(kind: 'attempt' | 'start' | 'stop', source: 'network' | 'application', text: string, extra?: string): void {
    for (const s of this.#sessions) {
      if (s.authenticated && s.routes.has(`cdr:${kind}`)) this.#send(s, `cdr:${kind}|${source}|${this.#time()}${extra !== undefined ? `|${extra}` : ''}${CRLF}${text}`);
    }
  }

  // ---- SIP out ----

  #sendUdp(text: string, dest: Peer): void {
    this.sipLog.push(`> ${text}`);
    this.#udp.send(Buffer.from(text, 'utf8'), dest.port, dest.address);
  }

  #ourVia(b: string): string {
    return `SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=${b};rport`;
  }

  #contact(): string {
    return `<sip:127.0.0.1:${this.sipPort}>`;
  }

  /** Where a request goes: the first Route if loose-routing (RFC 3261 16.12), else the Request-URI. */
  #nextHop(uri: string, routes: string[]): Peer {
    const target = routes.length > 0 ? uriOf(routes[0]) : uri;
    const hp = hostPort(target);
    return { address: hp.host, port: hp.port };
  }

  #startClientTxn(session: Session, req: SipMsg, dest: Peer, b: string): ClientTxn {
    const txn: ClientTxn = { id: randomUUID(), session, request: req, dest, branch: b, interval: this.#t1, final: false };
    this.#clientTxns.set(b, txn);
    this.#clientById.set(txn.id, txn);
    const text = req.toString();
    this.#sendUdp(text, dest);
    const isInvite = req.method === 'INVITE';
    const started = Date.now();
    // Timers A/E (RFC 3261 17.1.1.2, 17.1.2.2) with B/F = 64*T1 as the give-up point.
    const tick = (): void => {
      if (txn.final) return;
      if (Date.now() - started >= 64 * this.#t1) {
        txn.final = true;
        this.#timeout(txn);
        return;
      }
      this.#sendUdp(text, dest);
      txn.interval = isInvite ? txn.interval * 2 : Math.min(txn.interval * 2, 4000);
      txn.timer = setTimeout(tick, txn.interval);
    };
    txn.timer = setTimeout(tick, txn.interval);
    return txn;
  }

  /** No final response in time: a local 408, as nta reports it. */
  #timeout(txn: ClientTxn): void {
    if (txn.request.method === 'CANCEL' || txn.request.method === 'ACK') return;
    const r = new SipMsg('SIP/2.0 408 Request Timeout', [
      ['Via', txn.request.get('via') ?? ''], ['From', txn.request.get('from') ?? ''], ['To', txn.request.get('to') ?? ''],
      ['Call-ID', txn.request.get('call-id') ?? ''], ['CSeq', txn.request.get('cseq') ?? ''],
    ], '');
    this.#up(txn.session, r.toString(), txn.dest, txn.id, '');
  }

  /** Copy the app's headers onto `m`, except those the stack owns. */
  #merge(m: SipMsg, app: SipMsg, owned: string[]): void {
    for (const [h, v] of app.headers) {
      const n = SipMsg.norm(h);
      if (owned.includes(n) || n === 'content-length') continue;
      if (v === '' || v === 'undefined') continue;
      m.set(h, v);
    }
    m.body = app.body;
  }

  #fromApp(session: Session, msgId: string, txnId: string, dialogId: string, routeUrl: string, text: string): void {
    const app = SipMsg.parse(text, false);
    if (!app) return this.#reply(session, msgId, false, 'invalid SIP message');
    if (app.isResponse) {
      if (!txnId) return this.#reply(session, msgId, false, 'transaction id missing');
      return this.#respond(session, msgId, txnId, app);
    }
    if (dialogId) return this.#inDialog(session, msgId, dialogId, app);
    if (txnId) {
      if (app.method === 'CANCEL') return this.#cancel(session, msgId, txnId);
      return this.#reply(session, msgId, false, 'only CANCEL may name a transaction');
    }
    // A Call-ID of an existing dialog sends the request inside it (as drachtio-server does).
    const callId = app.get('call-id');
    if (callId) {
      const d = [...this.#dialogs.values()].find((x) => x.callId === callId && x.session === session);
      if (d) return this.#inDialog(session, msgId, d.id, app);
    }
    this.#outOfDialog(session, msgId, app, routeUrl);
  }

  #outOfDialog(session: Session, msgId: string, app: SipMsg, routeUrl: string): void {
    const method = app.method;
    const b = branch();
    const req = new SipMsg(`${method} ${app.uri} SIP/2.0`, [['Via', this.#ourVia(b)], ['Max-Forwards', '70']], '');
    const from = app.get('from') ?? `<sip:anonymous@127.0.0.1:${this.sipPort}>`;
    req.set('From', param(from, 'tag') ? from : `${from};tag=${token(6)}`);
    req.set('To', app.get('to') ?? `<${app.uri}>`);
    req.set('Call-ID', app.get('call-id') ?? `${token(12)}@127.0.0.1`);
    req.set('CSeq', app.get('cseq') ?? `${1 + Math.floor(Math.random() * 1000)} ${method}`);
    if (['INVITE', 'SUBSCRIBE', 'REGISTER', 'REFER'].includes(method) && !app.has('contact')) req.set('Contact', this.#contact());
    this.#merge(req, app, ['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards']);
    let dest: Peer;
    try {
      dest = this.#nextHop(routeUrl || app.uri, app.all('route'));
    } catch (err) {
      return this.#reply(session, msgId, false, (err as Error).message);
    }
    const txn = this.#startClientTxn(session, req, dest, b);
    if (method === 'INVITE') this.#cdr('attempt', 'application', req.toString());
    this.#sentOk(session, msgId, req.toString(), dest, txn.id, '');
  }

  #inDialog(session: Session, msgId: string, dialogId: string, app: SipMsg): void {
    const d = this.#dialogs.get(dialogId);
    if (!d) return this.#reply(session, msgId, false, `unable to find dialog for dialog id ${dialogId}`);
    const method = app.method;
    const b = branch();
    const seq = method === 'ACK' ? d.inviteSeq : ++d.localSeq;
    if (method === 'INVITE') d.inviteSeq = seq;
    const req = new SipMsg(`${method} ${d.remoteTarget} SIP/2.0`, [
      ['Via', this.#ourVia(b)], ['Max-Forwards', '70'], ['From', d.local], ['To', d.remote], ['Call-ID', d.callId], ['CSeq', `${seq} ${method}`],
    ], '');
    for (const r of d.routeSet) req.headers.push(['Route', r]);
    if (method === 'INVITE' && !app.has('contact')) req.set('Contact', this.#contact());
    this.#merge(req, app, ['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'route']);
    const dest = this.#nextHop(d.remoteTarget, d.routeSet);
    if (method === 'ACK') {
      const text = req.toString();
      d.lastAck = { text, dest };
      this.#sendUdp(text, dest);
      return this.#sentOk(session, msgId, text, dest, '', d.id);
    }
    const txn = this.#startClientTxn(session, req, dest, b);
    if (method === 'BYE') this.#cdr('stop', 'application', req.toString(), 'normal-release');
    this.#sentOk(session, msgId, req.toString(), dest, txn.id, d.id);
  }

  /** CANCEL of a pending INVITE (RFC 3261 9.1): same Request-URI, Call-ID, From, To, CSeq number and top Via. */
  #cancel(session: Session, msgId: string, txnId: string): void {
    const inv = this.#clientById.get(txnId);
    if (!inv || inv.request.method !== 'INVITE') return this.#reply(session, msgId, false, 'unknown transaction');
    if (inv.final) return this.#reply(session, msgId, false, 'transaction already completed');
    const r = inv.request;
    const c = new SipMsg(`CANCEL ${r.uri} SIP/2.0`, [
      ['Via', r.get('via') ?? ''], ['Max-Forwards', '70'], ['From', r.get('from') ?? ''], ['To', r.get('to') ?? ''],
      ['Call-ID', r.get('call-id') ?? ''], ['CSeq', `${r.cseq} CANCEL`],
    ], '');
    for (const route of r.all('route')) c.headers.push(['Route', route]);
    // CANCEL has its own transaction with the INVITE's branch; responses to it stay here.
    const key = `${inv.branch}|CANCEL`;
    const txn: ClientTxn = { id: randomUUID(), session, request: c, dest: inv.dest, branch: key, interval: this.#t1, final: false };
    this.#clientTxns.set(key, txn);
    this.#sendUdp(c.toString(), inv.dest);
    this.#sentOk(session, msgId, c.toString(), inv.dest, txn.id, '');
  }

  /** The app's response to a request we passed up. */
  #respond(session: Session, msgId: string, txnId: string, app: SipMsg): void {
    const txn = this.#serverById.get(txnId);
    if (!txn) return this.#reply(session, msgId, false, 'unknown transaction');
    if (txn.final) return this.#reply(session, msgId, false, 'final response already sent');
    const req = txn.request;
    const code = app.status;
    const res = new SipMsg(`SIP/2.0 ${code} ${app.first.split(' ').slice(2).join(' ') || reasonOf(code)}`, [], '');
    for (const v of req.all('via')) res.headers.push(['Via', v]);
    res.set('From', req.get('from') ?? '');
    const to = req.get('to') ?? '';
    res.set('To', code > 100 && !param(to, 'tag') ? `${to};tag=${txn.localTag}` : to);
    res.set('Call-ID', req.get('call-id') ?? '');
    res.set('CSeq', req.get('cseq') ?? '');
    const dialogForming = req.method === 'INVITE' && code > 100 && code < 300 && !param(to, 'tag');
    if (dialogForming) for (const rr of req.all('record-route')) res.headers.push(['Record-Route', rr]);
    if (req.method === 'INVITE' && code > 100 && code < 300 && !app.has('contact')) res.set('Contact', this.#contact());
    this.#merge(res, app, ['via', 'from', 'to', 'call-id', 'cseq', 'record-route']);
    const text = res.toString();
    txn.last = text;
    let dialogId = txn.dialogId;
    if (req.method === 'INVITE' && code >= 200 && code < 300 && !param(to, 'tag')) {
      // UAS dialog (RFC 3261 12.1.1): remote target from the INVITE's Contact, route set = its Record-Route.
      const remoteTag = param(req.get('from'), 'tag') ?? '';
      dialogId = `${req.get('call-id')};from-tag=${remoteTag}`;
      const d: Dialog = {
        id: dialogId, session, callId: req.get('call-id') ?? '', localTag: txn.localTag, remoteTag,
        local: res.get('to') ?? '', remote: req.get('from') ?? '', remoteTarget: uriOf(req.get('contact') ?? req.uri),
        routeSet: req.all('record-route'), localSeq: Math.floor(Math.random() * 1000), remoteSeq: req.cseq, inviteSeq: 0,
      };
      this.#dialogs.set(dialogId, d);
      this.#retransmit2xx(d, text, txn.source);
      this.#cdr('start', 'application', text, 'uas');
    }
    if (code >= 200) {
      txn.final = true;
      setTimeout(() => this.#forgetServer(txn), 32 * this.#t1).unref();
      if (req.method === 'BYE' && code < 300) this.#endDialog(txn.dialogId);
    }
    this.#sendUdp(text, txn.source);
    this.#sentOk(session, msgId, text, txn.source, txn.id, dialogId);
  }

  /** Timer G for a 2xx to INVITE: re-send until the ACK (RFC 3261 13.3.1.4), at most 64*T1. */
  #retransmit2xx(d: Dialog, text: string, dest: Peer): void {
    let interval = this.#t1;
    const started = Date.now();
    const tick = (): void => {
      if (!d.pending2xx || Date.now() - started > 64 * this.#t1) {
        d.pending2xx = undefined;
        return;
      }
      this.#sendUdp(text, dest);
      interval = Math.min(interval * 2, 4000);
      d.pending2xx.timer = setTimeout(tick, interval);
    };
    d.pending2xx = { text, dest, timer: setTimeout(tick, interval) };
  }

  #forgetServer(txn: ServerTxn): void {
    this.#serverTxns.delete(txn.key);
    this.#serverById.delete(txn.id);
  }

  #endDialog(id: string): void {
    const d = this.#dialogs.get(id);
    if (!d) return;
    clearTimeout(d.pending2xx?.timer);
    // Linger a little: a re-sent BYE or 200 still finds its dialog.
    setTimeout(() => this.#dialogs.delete(id), 32 * this.#t1).unref();
  }

  // ---- SIP in ----

  #fromNetwork(buf: Buffer, from: Peer): void {
    if (buf.length > MAX_SIP) return;
    const text = buf.toString('utf8');
    if (text.trim() === '') return; // keep-alive
    const m = SipMsg.parse(text);
    this.sipLog.push(`< ${text}`);
    if (!m) {
      this.#log('standin: unparsable SIP dropped');
      return;
    }
    try {
      if (m.isResponse) this.#networkResponse(m, text, from);
      else this.#networkRequest(m, text, from);
    } catch (err) {
      this.#log(`standin: SIP handling failed: ${(err as Error).message}`);
    }
  }

  #dialogOf(m: SipMsg, localTag: string | undefined, remoteTag: string | undefined): Dialog | undefined {
    const callId = m.get('call-id');
    return [...this.#dialogs.values()].find((d) => d.callId === callId && d.localTag === localTag && d.remoteTag === remoteTag);
  }

  #networkResponse(m: SipMsg, text: string, from: Peer): void {
    const b = param(`;${(m.get('via') ?? '').split(';').slice(1).join(';')}`, 'branch') ?? '';
    const method = m.method;
    const txn = this.#clientTxns.get(method === 'CANCEL' ? `${b}|CANCEL` : b);
    if (!txn) return;
    clearTimeout(txn.timer);
    if (method === 'CANCEL') {
      txn.final = m.status >= 200;
      return;
    }
    const code = m.status;
    if (txn.final) {
      // A re-sent final: ACK again (non-2xx: our ACK; 2xx: the app's ACK of the dialog).
      if (txn.ack) this.#sendUdp(txn.ack, txn.dest);
      else if (code < 300) {
        const d = this.#dialogOf(m, param(m.get('from'), 'tag'), param(m.get('to'), 'tag'));
        if (d?.lastAck) this.#sendUdp(d.lastAck.text, d.lastAck.dest);
      }
      return;
    }
    let dialogId = '';
    const inDialog = [...this.#dialogs.values()].find((d) => d.callId === m.get('call-id') && d.localTag === param(m.get('from'), 'tag'));
    if (inDialog) dialogId = inDialog.id;
    if (code >= 200) {
      txn.final = true;
      setTimeout(() => {
        this.#clientTxns.delete(txn.branch);
        this.#clientById.delete(txn.id);
      }, 32 * this.#t1).unref();
    }
    const req = txn.request;
    if (req.method === 'INVITE' && code >= 300) {
      // ACK of a non-2xx final is the transaction's (RFC 3261 17.1.1.3).
      const ack = new SipMsg(`ACK ${req.uri} SIP/2.0`, [
        ['Via', req.get('via') ?? ''], ['Max-Forwards', '70'], ['From', req.get('from') ?? ''], ['To', m.get('to') ?? ''],
        ['Call-ID', req.get('call-id') ?? ''], ['CSeq', `${req.cseq} ACK`],
      ], '');
      for (const r of req.all('route')) ack.headers.push(['Route', r]);
      txn.ack = ack.toString();
      this.#sendUdp(txn.ack, txn.dest);
    }
    const dialogForming = (req.method === 'INVITE' || req.method === 'SUBSCRIBE') && code >= 200 && code < 300 && !param(req.get('to'), 'tag');
    if (dialogForming) {
      // UAC dialog (RFC 3261 12.1.2): route set = Record-Route reversed, remote target = Contact.
      const localTag = param(req.get('from'), 'tag') ?? '';
      dialogId = `${req.get('call-id')};from-tag=${localTag}`;
      if (!this.#dialogs.has(dialogId)) {
        this.#dialogs.set(dialogId, {
          id: dialogId, session: txn.session, callId: req.get('call-id') ?? '', localTag, remoteTag: param(m.get('to'), 'tag') ?? '',
          local: req.get('from') ?? '', remote: m.get('to') ?? '', remoteTarget: uriOf(m.get('contact') ?? req.uri),
          routeSet: m.all('record-route').reverse(), localSeq: req.cseq, remoteSeq: 0, inviteSeq: req.cseq,
        });
      }
      if (req.method === 'INVITE') this.#cdr('start', 'network', text, 'uac');
    }
    if (req.method === 'BYE' && code >= 200) this.#endDialog(dialogId);
    this.#up(txn.session, text, from, txn.id, dialogId);
  }

  #respondLocally(req: SipMsg, source: Peer, code: number, localTag?: string): string {
    const res = new SipMsg(`SIP/2.0 ${code} ${reasonOf(code)}`, [], '');
    for (const v of req.all('via')) res.headers.push(['Via', v]);
    res.set('From', req.get('from') ?? '');
    const to = req.get('to') ?? '';
    res.set('To', code > 100 && !param(to, 'tag') ? `${to};tag=${localTag ?? token(6)}` : to);
    res.set('Call-ID', req.get('call-id') ?? '');
    res.set('CSeq', req.get('cseq') ?? '');
    const text = res.toString();
    this.#sendUdp(text, source);
    return text;
  }

  #routeFor(method: string): Session | undefined {
    return [...this.#sessions].find((s) => s.authenticated && !s.socket.destroyed && s.routes.has(method.toLowerCase()));
  }

  #networkRequest(m: SipMsg, text: string, from: Peer): void {
    const method = m.method;
    const b = param(`;${(m.get('via') ?? '').split(';').slice(1).join(';')}`, 'branch') ?? '';
    const remoteTag = param(m.get('from'), 'tag');
    const localTag = param(m.get('to'), 'tag');
    if (method === 'ACK') {
      const inv = this.#serverTxns.get(`${b}|INVITE`);
      if (inv && inv.final && !(inv.last ?? '').startsWith('SIP/2.0 2')) return; // ACK of our non-2xx
      const d = this.#dialogOf(m, localTag, remoteTag);
      if (!d) return;
      if (d.pending2xx) {
        clearTimeout(d.pending2xx.timer);
        d.pending2xx = undefined;
        this.#up(d.session, text, from, randomUUID(), d.id);
      }
      return;
    }
    if (method === 'CANCEL') {
      const inv = this.#serverTxns.get(`${b}|INVITE`);
      if (!inv) {
        this.#respondLocally(m, from, 481);
        return;
      }
      this.#respondLocally(m, from, 200, inv.localTag);
      if (!inv.final) {
        // RFC 3261 9.2: the INVITE ends with 487; the app hears of the CANCEL.
        inv.final = true;
        inv.last = this.#respondLocally(inv.request, inv.source, 487, inv.localTag);
        this.#up(inv.session, text, from, inv.id, '');
      }
      return;
    }
    const key = `${b}|${method}`;
    const known = this.#serverTxns.get(key);
    if (known) {
      // A re-sent request: answer from the transaction (RFC 3261 17.2).
      if (known.last) this.#sendUdp(known.last, known.source);
      return;
    }
    let session: Session | undefined;
    let dialogId = '';
    if (localTag) {
      const d = this.#dialogOf(m, localTag, remoteTag);
      if (!d) {
        this.#respondLocally(m, from, 481);
        return;
      }
      if (m.cseq <= d.remoteSeq && method !== 'ACK') {
        this.#respondLocally(m, from, 500);
        return;
      }
      d.remoteSeq = m.cseq;
      // A target refresh (re-INVITE) may move the far side (RFC 3261 12.2.2).
      if (method === 'INVITE' && m.get('contact')) d.remoteTarget = uriOf(m.get('contact') ?? d.remoteTarget);
      session = d.session;
      dialogId = d.id;
    } else {
      if (method === 'INVITE') this.#cdr('attempt', 'network', text);
      session = this.#routeFor(method);
      if (!session) {
        this.#respondLocally(m, from, method === 'INVITE' ? 503 : 404);
        return;
      }
    }
    const txn: ServerTxn = { id: randomUUID(), session, request: m, source: from, key, localTag: localTag ?? token(6), final: false, dialogId };
    this.#serverTxns.set(key, txn);
    this.#serverById.set(txn.id, txn);
    if (method === 'INVITE') {
      txn.last = this.#respondLocally(m, from, 100);
    }
    if (method === 'BYE') this.#cdr('stop', 'network', text, 'normal-release');
    this.#up(session, text, from, txn.id, dialogId);
  }
}
