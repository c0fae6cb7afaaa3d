/**
 * The Janus API core: sessions, handles, request dispatch, timeouts, reclaim and auth.
 * Transports hand it parsed JSON; it answers with the reply to send and pushes asynchronous events
 * to the connection that owns each session. Request semantics follow JANUS-REFERENCE 1.1, 1.2 and 4.
 */
import { randomBytes } from 'node:crypto';
import type { PortunusConfig } from '../config/types.ts';
import { Errors, JanusError, JanusCode } from './errors.ts';
import { Session } from './session.ts';
import { Handle } from './handle.ts';
import { freshId } from './ids.ts';
import { TokenStore, secretEquals, verifySignedToken } from './auth.ts';
import { CoreMetrics } from './metrics.ts';
import { isPlainObject, validate } from './validate.ts';
import { checkJsep } from './jsep.ts';
import { buildServerInfo } from './server-info.ts';
import { AdminApi } from './admin.ts';
import { MediaCore } from './media-core.ts';
import type { Logger } from './log.ts';
import type { GatewayForTransports, JanusMessage, RequestPath, TransportConnection } from './transport.ts';
import type { GatewayFacade, Jsep, Plugin, PluginHandle, PluginEventOptions } from './plugin.ts';

/** Verbs answered only at the root path. */
const ROOT_VERBS = new Set(['info', 'ping', 'create']);
const SESSION_VERBS = new Set(['keepalive', 'attach', 'destroy', 'claim']);
const HANDLE_VERBS = new Set(['message', 'trickle', 'hangup', 'detach']);

/** How often the watchdog looks for expired sessions (ms). */
const WATCHDOG_MS = 1000;

export interface ParsedEnvelope {
  transaction: string;
  verb: string;
  sessionId: number;
  handleId: number;
  body: Record<string, unknown>;
}

export class Gateway implements GatewayForTransports {
  readonly config: PortunusConfig;
  readonly log: Logger;
  readonly metrics = new CoreMetrics();
  readonly tokens = new TokenStore();
  readonly plugins = new Map<string, Plugin>();
  readonly sessions = new Map<number, Session>();
  readonly #handleIds = new Set<number>();
  readonly #admin: AdminApi;
  readonly #facade: GatewayFacade;
  readonly media: MediaCore;
  #watchdog: NodeJS.Timeout | undefined;
  /** Global session_timeout; the Admin API can change it at run time. */
  sessionTimeout: number;
  acceptNewSessions: boolean;
  #pendingPlugins: Plugin[];

  constructor(config: PortunusConfig, logger: Logger, plugins: Plugin[] = []) {
    this.config = config;
    this.log = logger;
    this.sessionTimeout = config.general.session_timeout;
    this.acceptNewSessions = config.general.accept_new_sessions !== false;
    this.#pendingPlugins = plugins;
    this.#admin = new AdminApi(this);
    this.media = new MediaCore(config, this);
    this.#facade = this.#makeFacade();
  }

  /** Initialise the plugins (given ones, or every one found under src/plugins) and start the watchdog. */
  async start(): Promise<void> {
    await this.media.start();
    let plugins = this.#pendingPlugins;
    if (plugins.length === 0) {
      const { loadPlugins } = await import('../plugins/registry.ts');
      plugins = await loadPlugins(this.config, this.log);
    }
    for (const p of plugins) {
      const cfg = this.config.pluginConfigs?.[p.package] ?? {};
      await p.init(this.#facade, cfg, this.config);
      this.plugins.set(p.package, p);
      this.log.info({ plugin: p.package }, 'plugin initialised');
    }
    this.#watchdog = setInterval(() => this.#reap(), WATCHDOG_MS);
    this.#watchdog.unref();
  }

  async stop(): Promise<void> {
    if (this.#watchdog) clearInterval(this.#watchdog);
    for (const s of [...this.sessions.values()]) this.destroySession(s, undefined);
    for (const p of this.plugins.values()) {
      try {
        await p.destroy();
      } catch (err) {
        this.log.warn({ err, plugin: p.package }, 'plugin destroy failed');
      }
    }
  }

  // ---- transport entry points -------------------------------------------------------------

  handleRequest(conn: TransportConnection, body: unknown, path?: RequestPath): Promise<JanusMessage> {
    return this.#answer('janus', conn, body, path, (env) => this.#dispatch(conn, env));
  }

  handleAdminRequest(conn: TransportConnection, body: unknown, path?: RequestPath): Promise<JanusMessage> {
    return this.#answer('admin', conn, body, path, (env) => this.#admin.handle(env));
  }

  /** Parse the envelope, run the request, and turn any failure into the Janus error reply; counts both. */
  async #answer(api: 'janus' | 'admin', conn: TransportConnection, body: unknown, path: RequestPath | undefined,
    run: (env: ParsedEnvelope) => Promise<JanusMessage> | JanusMessage): Promise<JanusMessage> {
    let verb = 'unknown';
    let transaction: string | undefined;
    try {
      const env = this.#envelope(conn, body, path);
      verb = env.verb;
      transaction = env.transaction;
      const reply = await run(env);
      this.metrics.observeRequest(api, verb, 0);
      return reply;
    } catch (err) {
      const e = toJanusError(err, this.log);
      this.metrics.observeRequest(api, verb, e.code);
      return errorReply(e, transaction, sessionIdOf(body, path));
    }
  }

  /** Without a transaction (GET /janus/info) one is made up, as Janus does. */
  serverInfo(transaction?: string): JanusMessage {
    return buildServerInfo(this, transaction ?? randomBytes(6).toString('base64url'));
  }

  sessionExists(sessionId: number): boolean {
    const s = this.sessions.get(sessionId);
    return s !== undefined && !s.destroyed;
  }

  touchSession(sessionId: number): void {
    const s = this.sessions.get(sessionId);
    if (s) s.lastActivity = now();
  }

  checkApiAuth(apisecret: unknown, token: unknown): boolean {
    const g = this.config.general;
    const secretOn = g.api_secret !== '';
    const tokenOn = g.token_auth;
    if (!secretOn && !tokenOn) return true;
    if (secretOn && secretEquals(apisecret, g.api_secret)) return true;
    if (tokenOn && this.#tokenPlugins(token) !== undefined) return true;
    return false;
  }

  transportGone(conn: TransportConnection): void {
    const reclaim = this.config.general.reclaim_session_timeout;
    for (const s of [...this.sessions.values()]) {
      if (s.owner !== conn) continue;
      if (reclaim > 0) {
        s.owner = undefined;
        s.transportLostAt = now();
        this.log.debug({ session: s.id }, 'transport gone, session kept for reclaim');
      } else {
        this.destroySession(s, undefined);
      }
    }
  }

  // ---- request parsing --------------------------------------------------------------------

  /** Checks the envelope common to the Janus and Admin APIs and resolves ids from the path or body. */
  #envelope(conn: TransportConnection, body: unknown, path?: RequestPath): ParsedEnvelope {
    if (!isPlainObject(body)) {
      // HTTP rejects a non-object body outright; WebSocket looks for a transaction in it first.
      if (conn.kind === 'http') throw Errors.invalidJsonObject();
      throw Errors.missingElement('transaction');
    }
    validate(body, [{ name: 'transaction', type: 'string', required: true }]);
    const transaction = body.transaction as string;
    let verb: string;
    try {
      validate(body, [{ name: 'janus', type: 'string', required: true }]);
      verb = body.janus as string;
    } catch (err) {
      throw withTransaction(err, transaction);
    }
    // A session/handle id that is not a positive integer counts as absent (keepalive with a string id: 457).
    const bodySid = isId(body.session_id) ? (body.session_id as number) : 0;
    const bodyHid = isId(body.handle_id) ? (body.handle_id as number) : 0;
    // Ids in both the HTTP path and the body must agree (Janus: "Conflicting ... ID (payload and path)").
    if (path?.sessionId !== undefined && bodySid !== 0 && bodySid !== path.sessionId) throw withTransaction(Errors.invalidPath(verb), transaction);
    if (path?.handleId !== undefined && bodyHid !== 0 && bodyHid !== path.handleId) throw withTransaction(Errors.invalidPath(verb), transaction);
    const sid = path?.sessionId ?? bodySid;
    const hid = path?.handleId ?? bodyHid;
    return { transaction, verb, sessionId: sid, handleId: hid, body };
  }

  async #dispatch(conn: TransportConnection, env: ParsedEnvelope): Promise<JanusMessage> {
    const { verb, transaction, body } = env;
    try {
      if (env.sessionId === 0 && env.handleId === 0) return this.#root(conn, env);
      if (env.sessionId === 0) throw Errors.invalidPath(verb);
      if (!this.checkApiAuth(body.apisecret, body.token)) throw Errors.unauthorized();
      const session = this.sessions.get(env.sessionId);
      if (!session || session.destroyed) throw Errors.sessionNotFound(env.sessionId);
      session.lastActivity = now();
      if (env.handleId === 0) {
        if (SESSION_VERBS.has(verb)) return await this.#sessionVerb(conn, session, env);
        if (HANDLE_VERBS.has(verb) || ROOT_VERBS.has(verb)) throw Errors.invalidPath(verb);
        throw Errors.unknownRequest(verb);
      }
      const handle = session.handles.get(env.handleId);
      if (!handle || handle.destroyed) throw Errors.handleNotFound(env.handleId);
      if (HANDLE_VERBS.has(verb)) return await this.#handleVerb(session, handle, env);
      if (SESSION_VERBS.has(verb) || ROOT_VERBS.has(verb)) throw Errors.invalidPath(verb);
      throw Errors.unknownRequest(verb);
    } catch (err) {
      throw withTransaction(err, transaction);
    }
  }

  #root(conn: TransportConnection, env: ParsedEnvelope): JanusMessage {
    const { verb, transaction, body } = env;
    if (verb === 'info') return this.serverInfo(transaction);
    if (verb === 'ping') return { janus: 'pong', transaction };
    if (verb !== 'create') throw Errors.invalidPath(verb);
    if (!this.acceptNewSessions) throw Errors.notAcceptingSessions();
    if (!this.checkApiAuth(body.apisecret, body.token)) throw Errors.unauthorized();
    validate(body, [{ name: 'id', type: 'positive' }]);
    let id: number;
    if (body.id !== undefined) {
      id = body.id as number;
      if (id >= 2 ** 53) throw Errors.invalidElementType('id', 'a positive integer below 2^53');
      // Janus names the requested id in this error.
      if (this.sessions.has(id)) throw Object.assign(Errors.sessionConflict(id), { sessionId: id });
    } else {
      id = freshId(this.sessions);
    }
    const session = new Session(id, conn, now());
    if (typeof body.token === 'string') session.token = body.token;
    this.sessions.set(id, session);
    this.metrics.sessions = this.sessions.size;
    this.metrics.sessionsCreated++;
    this.log.debug({ session: id, transport: conn.transport }, 'session created');
    return { janus: 'success', transaction, data: { id } };
  }

  async #sessionVerb(conn: TransportConnection, session: Session, env: ParsedEnvelope): Promise<JanusMessage> {
    const { verb, transaction, body } = env;
    switch (verb) {
      case 'keepalive':
        return { janus: 'ack', session_id: session.id, transaction };
      case 'claim': {
        const old = session.owner;
        session.owner = conn;
        session.transportLostAt = undefined;
        if (old && old !== conn) old.sessionOver(session.id, 'claimed');
        return { janus: 'success', session_id: session.id, transaction };
      }
      case 'destroy':
        this.destroySession(session, conn);
        return { janus: 'success', session_id: session.id, transaction };
      case 'attach':
        return this.#attach(session, env, body);
    }
    throw Errors.unknownRequest(verb);
  }

  #attach(session: Session, env: ParsedEnvelope, body: Record<string, unknown>): JanusMessage {
    validate(body, [
      { name: 'plugin', type: 'string', required: true },
      { name: 'opaque_id', type: 'string' },
      { name: 'loop_index', type: 'integer' },
    ]);
    const name = body.plugin as string;
    const plugin = this.plugins.get(name);
    if (!plugin) throw Errors.pluginNotFound(name);
    this.#checkTokenPlugin(body.apisecret, body.token, name);
    const id = freshId(this.#handleIds);
    const handle = new Handle(id, session, plugin, body.opaque_id as string | undefined);
    try {
      plugin.createSession(handle);
    } catch (err) {
      throw Errors.pluginAttach(name, err instanceof Error ? err.message : String(err));
    }
    this.#handleIds.add(id);
    session.handles.set(id, handle);
    this.metrics.handles++;
    return { janus: 'success', session_id: session.id, transaction: env.transaction, data: { id } };
  }

  /** A token that authorised the request must allow the plugin (405); a valid api_secret overrides. */
  #checkTokenPlugin(apisecret: unknown, token: unknown, plugin: string): void {
    const g = this.config.general;
    if (!g.token_auth) return;
    if (g.api_secret !== '' && secretEquals(apisecret, g.api_secret)) return;
    const allowed = this.#tokenPlugins(token);
    if (allowed === undefined) throw Errors.unauthorized();
    if (allowed !== 'all' && !allowed.includes(plugin)) throw Errors.unauthorizedPlugin(plugin);
  }

  /** Plugins a token grants: a list, 'all', or undefined when the token is not valid. */
  #tokenPlugins(token: unknown): string[] | 'all' | undefined {
    if (typeof token !== 'string' || token === '') return undefined;
    const g = this.config.general;
    if (g.token_auth_secret) return verifySignedToken(token, g.token_auth_secret);
    const set = this.tokens.plugins(token);
    return set ? [...set] : undefined;
  }

  isTokenValid(token: unknown): boolean {
    return this.#tokenPlugins(token) !== undefined;
  }

  async #handleVerb(session: Session, handle: Handle, env: ParsedEnvelope): Promise<JanusMessage> {
    const { verb, transaction, body } = env;
    switch (verb) {
      case 'message':
        return this.#message(session, handle, env);
      case 'trickle':
        return this.#trickle(session, handle, transaction, body);
      case 'hangup':
        this.hangupHandle(handle, 'Janus API');
        return { janus: 'success', session_id: session.id, transaction };
      case 'detach':
        this.detachHandle(handle);
        return { janus: 'success', session_id: session.id, transaction };
    }
    throw Errors.unknownRequest(verb);
  }

  async #message(session: Session, handle: Handle, env: ParsedEnvelope): Promise<JanusMessage> {
    const { transaction, body } = env;
    validate(body, [{ name: 'body', type: 'object', required: true }]);
    // Janus calls any jsep that is not an object an invalid JSON object (455), null included.
    if (body.jsep !== undefined && !isPlainObject(body.jsep)) throw Errors.invalidJsonObject();
    let jsep: Jsep | undefined;
    if (body.jsep !== undefined) {
      jsep = checkJsep(body.jsep as Record<string, unknown>);
      if (jsep.type === 'answer' && !handle.awaitingAnswer) throw Errors.unexpectedAnswer();
      await this.media.applyClientJsep(handle, jsep);
      if (jsep.type === 'answer') handle.awaitingAnswer = false;
      else handle.remoteOfferPending = true;
    }
    let result;
    try {
      result = await handle.plugin.handleMessage(handle, transaction, body.body as Record<string, unknown>, jsep);
    } catch (err) {
      this.log.warn({ err, plugin: handle.plugin.package }, 'plugin handleMessage threw');
      throw Errors.pluginMessage(err instanceof Error ? err.message : 'Plugin error');
    }
    if (result.kind === 'ok') {
      return {
        janus: 'success',
        session_id: session.id,
        transaction,
        sender: handle.handleId,
        plugindata: { plugin: handle.plugin.package, data: result.data },
      };
    }
    if (result.kind === 'ack') {
      const reply: JanusMessage = { janus: 'ack', session_id: session.id, transaction };
      if (result.hint) reply.hint = result.hint;
      return reply;
    }
    throw Errors.pluginMessage(result.reason);
  }

  #trickle(session: Session, handle: Handle, transaction: string, body: Record<string, unknown>): JanusMessage {
    // A null candidate is acknowledged and ignored, as Janus does.
    const hasOne = body.candidate !== undefined && body.candidate !== null;
    const hasMany = body.candidates !== undefined;
    if (body.candidate === null && !hasMany) return { janus: 'ack', session_id: session.id, transaction };
    if (hasOne && hasMany) throw Errors.invalidJson("Can't have both candidate and candidates");
    if (!hasOne && !hasMany) throw Errors.missingElement('candidate|candidates');
    if (hasOne) {
      validate(body, [{ name: 'candidate', type: 'object' }]);
      this.#addCandidate(handle, body.candidate as Record<string, unknown>);
    } else {
      validate(body, [{ name: 'candidates', type: 'array' }]);
      for (const c of body.candidates as unknown[]) {
        if (isPlainObject(c)) this.#addCandidate(handle, c);
      }
    }
    return { janus: 'ack', session_id: session.id, transaction };
  }

  #addCandidate(handle: Handle, c: Record<string, unknown>): void {
    if (this.media.trickle(handle, c)) return;
    // No SDP yet: hold it (bounded) until the media core exists, for candidates_timeout.
    if (c.completed === true) {
      handle.trickleCompleted = true;
      return;
    }
    if (handle.remoteCandidates.length < 256) {
      handle.remoteCandidates.push(c);
      handle.remoteCandidateTimes.push(now());
    }
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Close the handle's PeerConnection (hangup verb, Admin hangup_webrtc, plugin closePc). */
  hangupHandle(handle: Handle, reason: string): void {
    const hadMedia = handle.media !== undefined;
    this.media.hangup(handle, reason);
    if (hadMedia) this.pushCoreEvent(handle, 'hangup', { reason });
    try {
      handle.plugin.hangupMedia(handle);
    } catch (err) {
      this.log.warn({ err }, 'plugin hangupMedia threw');
    }
    handle.awaitingAnswer = false;
    handle.remoteOfferPending = false;
    handle.remoteCandidates.length = 0;
    handle.remoteCandidateTimes.length = 0;
    handle.trickleCompleted = false;
  }

  detachHandle(handle: Handle): void {
    if (handle.destroyed) return;
    handle.destroyed = true;
    this.media.hangup(handle, 'Detach');
    try {
      handle.plugin.hangupMedia(handle);
    } catch (err) {
      this.log.warn({ err }, 'plugin hangupMedia threw');
    }
    try {
      handle.plugin.destroySession(handle);
    } catch (err) {
      this.log.warn({ err }, 'plugin destroySession threw');
    }
    handle.session.handles.delete(handle.handleId);
    this.#handleIds.delete(handle.handleId);
    this.metrics.handles--;
    this.#send(handle.session, { janus: 'detached', session_id: handle.session.id, sender: handle.handleId, ...this.#opaque(handle) });
  }

  /** Destroy a session and its handles. `requester` is the connection that asked (if any). */
  destroySession(session: Session, requester: TransportConnection | undefined, reason: 'destroyed' | 'timeout' = 'destroyed'): void {
    if (session.destroyed) return;
    for (const h of [...session.handles.values()]) this.detachHandle(h);
    session.destroyed = true;
    this.sessions.delete(session.id);
    this.metrics.sessions = this.sessions.size;
    const owner = session.owner;
    session.owner = undefined;
    if (owner) owner.sessionOver(session.id, reason);
    void requester;
  }

  #reap(): void {
    const t = now();
    const reclaim = this.config.general.reclaim_session_timeout;
    for (const s of [...this.sessions.values()]) {
      if (s.owner === undefined && s.transportLostAt !== undefined) {
        if (t - s.transportLostAt >= reclaim * 1000) {
          this.log.info({ session: s.id }, 'session not reclaimed in time, destroying');
          this.metrics.sessionsTimedOut++;
          this.destroySession(s, undefined, 'timeout');
        }
        continue;
      }
      const timeout = s.timeoutOverride ?? this.sessionTimeout;
      if (timeout > 0 && t - s.lastActivity >= timeout * 1000) {
        this.log.info({ session: s.id }, 'session timed out');
        this.metrics.sessionsTimedOut++;
        this.#send(s, { janus: 'timeout', session_id: s.id });
        this.destroySession(s, undefined, 'timeout');
      }
    }
  }

  /** Run the timeout check now (tests and the Admin API use it; the watchdog does it every second). */
  reapNow(): void {
    this.#reap();
  }

  // ---- events to clients ------------------------------------------------------------------

  #send(session: Session, event: JanusMessage): void {
    const owner = session.owner;
    if (!owner) return;
    try {
      owner.sendEvent(event);
    } catch (err) {
      this.log.warn({ err }, 'transport sendEvent threw');
    }
  }

  #opaque(handle: Handle): JanusMessage {
    return this.config.general.opaqueid_in_api && handle.opaqueId !== undefined ? { opaque_id: handle.opaqueId } : {};
  }

  pushPluginEvent(ph: PluginHandle, data: Record<string, unknown>, options: PluginEventOptions = {}): number {
    const handle = ph as Handle;
    if (!(handle instanceof Handle) || handle.destroyed) return JanusCode.HANDLE_NOT_FOUND;
    const event: JanusMessage = { janus: 'event', session_id: handle.session.id, sender: handle.handleId };
    if (options.transaction !== undefined) event.transaction = options.transaction;
    Object.assign(event, this.#opaque(handle));
    event.plugindata = { plugin: handle.plugin.package, data };
    if (!options.jsep) {
      this.#sendInOrder(handle, event, undefined);
      return 0;
    }
    let jsep: Jsep;
    try {
      jsep = checkJsep(options.jsep as unknown as Record<string, unknown>);
    } catch (err) {
      return err instanceof JanusError ? err.code : JanusCode.JSEP_INVALID_SDP;
    }
    if (jsep.type === 'offer') handle.awaitingAnswer = true;
    else handle.remoteOfferPending = false;
    this.#sendInOrder(handle, event, jsep);
    return 0;
  }

  /**
   * Events of a handle leave in the order the plugin pushed them; one carrying our SDP waits for
   * the media core to gather candidates and write ICE/DTLS attributes into it.
   */
  #sendInOrder(handle: Handle, event: JanusMessage, jsep: Jsep | undefined): void {
    handle.eventChain = handle.eventChain.then(async () => {
      if (handle.destroyed) return;
      if (jsep) {
        try {
          event.jsep = await this.media.preparePluginJsep(handle, jsep);
        } catch (err) {
          this.log.warn({ err, handle: handle.handleId }, 'could not prepare our SDP');
          this.#send(handle.session, event);
          this.hangupHandle(handle, err instanceof Error ? err.message : 'SDP error');
          return;
        }
      }
      this.#send(handle.session, event);
    });
  }

  /** A core event for a handle (webrtcup, media, slowlink, hangup...), as the media core will emit. */
  pushCoreEvent(handle: Handle, janus: string, fields: Record<string, unknown>): void {
    this.#send(handle.session, { janus, session_id: handle.session.id, sender: handle.handleId, ...this.#opaque(handle), ...fields });
  }

  #makeFacade(): GatewayFacade {
    const gw = this;
    const media = this.media;
    return {
      pushEvent: (h, data, options) => gw.pushPluginEvent(h, data, options),
      relayRtp: (h, p) => media.relayRtp(h as Handle, p),
      relayRtcp: (h, p) => media.relayRtcp(h as Handle, p),
      relayData: (h, label, data) => media.relayData(h as Handle, label, data),
      sendPli: (h) => media.sendPli(h as Handle),
      sendRemb: (h, bitrate) => media.sendRemb(h as Handle, bitrate),
      closePc: (h) => gw.hangupHandle(h as Handle, 'Close PC'),
      endSession: (h) => setImmediate(() => gw.detachHandle(h as Handle)),
      notifyEvent: () => {
        // Event handlers are not configured in this build; nothing listens.
      },
      isTokenValid: (t) => gw.isTokenValid(t),
      authIsSigned: () => gw.config.general.token_auth && gw.config.general.token_auth_secret !== '',
      authSignatureContains: (plugin, token, descriptor) => {
        const g = gw.config.general;
        if (!g.token_auth || !g.token_auth_secret) return false;
        return verifySignedToken(token, g.token_auth_secret)?.includes(`${plugin}[${descriptor}]`) ?? false;
      },
      log: {
        debug: (m, ...a) => gw.log.debug({ args: a }, m),
        info: (m, ...a) => gw.log.info({ args: a }, m),
        warn: (m, ...a) => gw.log.warn({ args: a }, m),
        error: (m, ...a) => gw.log.error({ args: a }, m),
      },
    };
  }

  get facade(): GatewayFacade {
    return this.#facade;
  }
}

// ---- helpers ----------------------------------------------------------------------------

function now(): number {
  return performance.now();
}

function isId(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function sessionIdOf(body: unknown, path?: RequestPath): number | undefined {
  if (path?.sessionId) return path.sessionId;
  if (isPlainObject(body) && isId(body.session_id)) return body.session_id as number;
  return undefined;
}

class TransactionError extends JanusError {
  readonly transaction: string;
  constructor(e: JanusError, transaction: string) {
    super(e.code, e.message);
    this.transaction = transaction;
    this.sessionId = e.sessionId;
  }
}

function withTransaction(err: unknown, transaction: string): unknown {
  return err instanceof JanusError && !(err instanceof TransactionError) ? new TransactionError(err, transaction) : err;
}

function toJanusError(err: unknown, log: Logger): JanusError {
  if (err instanceof JanusError) return err;
  log.error({ err }, 'unexpected error handling a request');
  return Errors.unknown('Internal error');
}

export function errorReply(e: JanusError, transaction: string | undefined, sessionId: number | undefined): JanusMessage {
  const tx = e instanceof TransactionError ? e.transaction : transaction;
  const reply: JanusMessage = { janus: 'error' };
  const sid = e.sessionId ?? sessionId;
  if (sid !== undefined) reply.session_id = sid;
  if (tx !== undefined) reply.transaction = tx;
  reply.error = { code: e.code, reason: e.reason };
  return reply;
}
