/**
 * The Admin API (JANUS-REFERENCE 1.6): every request needs admin_secret except info and ping.
 * Global requests at the root path, session requests with a session id, handle requests with both.
 */
import { Errors, JanusError, JanusCode } from './errors.ts';
import { secretEquals } from './auth.ts';
import { validate } from './validate.ts';
import { pinoLevelFor } from './log.ts';
import type { Gateway, ParsedEnvelope } from './gateway.ts';
import type { Handle } from './handle.ts';
import type { Session } from './session.ts';
import type { JanusMessage } from './transport.ts';

export class AdminApi {
  readonly #gw: Gateway;
  #logLevel: number;

  constructor(gw: Gateway) {
    this.#gw = gw;
    this.#logLevel = gw.config.general.debug_level;
  }

  async handle(env: ParsedEnvelope): Promise<JanusMessage> {
    const { verb, transaction, body } = env;
    if (env.sessionId === 0 && env.handleId === 0) {
      if (verb === 'info') return this.#gw.serverInfo(transaction);
      if (verb === 'ping') return { janus: 'pong', transaction };
    }
    this.#checkSecret(body.admin_secret);
    if (env.sessionId === 0) {
      if (env.handleId !== 0) throw Errors.invalidPath(verb);
      return await this.#global(verb, transaction, body);
    }
    const session = this.#gw.sessions.get(env.sessionId);
    if (!session) throw Errors.sessionNotFound(env.sessionId);
    if (env.handleId === 0) return this.#session(session, verb, transaction, body);
    const handle = session.handles.get(env.handleId);
    if (!handle) throw Errors.handleNotFound(env.handleId);
    return this.#handle(session, handle, verb, transaction, body);
  }

  #checkSecret(given: unknown): void {
    const secret = this.#gw.config.general.admin_secret;
    if (secret !== '' && !secretEquals(given, secret)) throw Errors.unauthorized();
  }

  async #global(verb: string, transaction: string, body: Record<string, unknown>): Promise<JanusMessage> {
    const gw = this.#gw;
    const ok = (fields: Record<string, unknown> = {}): JanusMessage => ({ janus: 'success', transaction, ...fields });
    switch (verb) {
      case 'get_status':
        return ok({ status: this.#status() });
      case 'list_sessions':
        return ok({ sessions: [...gw.sessions.keys()] });
      case 'set_session_timeout': {
        validate(body, [{ name: 'timeout', type: 'integer', required: true }]);
        const t = body.timeout as number;
        if (t < 0) throw Errors.invalidElementType('timeout', 'a non-negative integer');
        gw.sessionTimeout = t;
        return ok({ timeout: t });
      }
      case 'set_log_level': {
        validate(body, [{ name: 'level', type: 'integer', required: true }]);
        const level = body.level as number;
        if (level < 0 || level > 7) throw Errors.invalidElementType('level', 'between 0 and 7');
        this.#logLevel = level;
        gw.log.level = pinoLevelFor(level);
        return ok({ level });
      }
      case 'accept_new_sessions': {
        validate(body, [{ name: 'accept', type: 'boolean', required: true }]);
        gw.acceptNewSessions = body.accept as boolean;
        return ok({ accept: gw.acceptNewSessions });
      }
      case 'set_min_nack_queue': return ok({ min_nack_queue: this.#setMedia(body, 'min_nack_queue') });
      case 'set_no_media_timer': return ok({ no_media_timer: this.#setMedia(body, 'no_media_timer') });
      case 'set_slowlink_threshold': return ok({ slowlink_threshold: this.#setMedia(body, 'slowlink_threshold') });
      case 'set_nack_optimizations': {
        validate(body, [{ name: 'nack_optimizations', type: 'boolean', required: true }]);
        gw.config.media.nack_optimizations = body.nack_optimizations as boolean;
        return ok({ nack_optimizations: gw.config.media.nack_optimizations });
      }
      case 'custom_logline': {
        validate(body, [{ name: 'line', type: 'string', required: true }, { name: 'level', type: 'integer' }]);
        gw.log.info({ custom: true }, body.line as string);
        return ok();
      }
      case 'add_token': {
        this.#storedTokens();
        validate(body, [{ name: 'token', type: 'string', required: true }, { name: 'plugins', type: 'array' }]);
        // Without a `plugins` list the token may use every plugin loaded now (as Janus does).
        const plugins = this.#pluginList(body.plugins) ?? [...gw.plugins.keys()];
        const set = gw.tokens.add(body.token as string, plugins);
        return ok({ data: { plugins: [...set] } });
      }
      case 'allow_token':
      case 'disallow_token': {
        this.#storedTokens();
        validate(body, [{ name: 'token', type: 'string', required: true }, { name: 'plugins', type: 'array', required: true }]);
        const token = body.token as string;
        const plugins = this.#pluginList(body.plugins) ?? [];
        const set = verb === 'allow_token' ? gw.tokens.allow(token, plugins) : gw.tokens.disallow(token, plugins);
        if (!set) throw Errors.tokenNotFound(token);
        return ok({ data: { plugins: [...set] } });
      }
      case 'list_tokens':
        this.#storedTokens();
        return ok({ data: { tokens: gw.tokens.list() } });
      case 'remove_token': {
        this.#storedTokens();
        validate(body, [{ name: 'token', type: 'string', required: true }]);
        if (!gw.tokens.remove(body.token as string)) throw Errors.tokenNotFound(body.token as string);
        return ok();
      }
      case 'message_plugin': {
        validate(body, [{ name: 'plugin', type: 'string', required: true }, { name: 'request', type: 'object', required: true }]);
        const plugin = gw.plugins.get(body.plugin as string);
        if (!plugin) throw Errors.pluginNotFound(body.plugin as string);
        if (!plugin.handleAdminMessage) throw Errors.pluginMessage(`Plugin ${plugin.package} does not support Admin API messages`);
        let response: Record<string, unknown>;
        try {
          response = await plugin.handleAdminMessage(body.request as Record<string, unknown>);
        } catch (err) {
          throw Errors.pluginMessage(err instanceof Error ? err.message : 'Plugin error');
        }
        return ok({ response });
      }
      case 'query_eventhandler': {
        validate(body, [{ name: 'handler', type: 'string', required: true }, { name: 'request', type: 'object' }]);
        throw new JanusError(JanusCode.PLUGIN_NOT_FOUND, `Invalid event handler ${body.handler as string}`);
      }
    }
    throw Errors.invalidPath(verb);
  }

  #session(session: Session, verb: string, transaction: string, body: Record<string, unknown>): JanusMessage {
    const gw = this.#gw;
    switch (verb) {
      case 'list_handles':
        return { janus: 'success', transaction, session_id: session.id, handles: [...session.handles.keys()] };
      case 'destroy_session':
        gw.destroySession(session, undefined);
        return { janus: 'success', transaction, session_id: session.id };
      case 'set_session_timeout': {
        validate(body, [{ name: 'timeout', type: 'integer', required: true }]);
        const t = body.timeout as number;
        if (t < 0) throw Errors.invalidElementType('timeout', 'a non-negative integer');
        session.timeoutOverride = t;
        return { janus: 'success', transaction, session_id: session.id, timeout: t };
      }
    }
    throw Errors.invalidPath(verb);
  }

  #handle(session: Session, handle: Handle, verb: string, transaction: string, body: Record<string, unknown>): JanusMessage {
    const gw = this.#gw;
    switch (verb) {
      case 'handle_info': {
        validate(body, [{ name: 'plugin_only', type: 'boolean' }]);
        return { janus: 'success', transaction, session_id: session.id, handle_id: handle.handleId, info: this.#handleInfo(session, handle, body.plugin_only === true) };
      }
      case 'hangup_webrtc':
        gw.hangupHandle(handle, 'Admin API');
        return { janus: 'success', transaction, session_id: session.id, handle_id: handle.handleId };
      case 'detach_handle':
        gw.detachHandle(handle);
        return { janus: 'success', transaction, session_id: session.id, handle_id: handle.handleId };
    }
    throw Errors.invalidPath(verb);
  }

  #handleInfo(session: Session, handle: Handle, pluginOnly: boolean): Record<string, unknown> {
    let pluginSpecific: Record<string, unknown>;
    try {
      pluginSpecific = handle.plugin.querySession(handle);
    } catch (err) {
      pluginSpecific = { error: err instanceof Error ? err.message : String(err) };
    }
    if (pluginOnly) return { plugin_specific: pluginSpecific };
    return {
      session_id: session.id,
      session_last_activity: Math.round(session.lastActivity * 1000),
      session_timeout: session.timeoutOverride ?? this.#gw.sessionTimeout,
      session_transport: session.owner?.transport ?? null,
      handle_id: handle.handleId,
      opaque_id: handle.opaqueId,
      created: handle.created * 1000,
      current_time: Date.now() * 1000,
      plugin: handle.plugin.package,
      plugin_specific: pluginSpecific,
      flags: { 'got-offer': handle.remoteOfferPending, 'got-answer': false, negotiated: false, ready: false, stopped: false, alert: false, 'trickle-synced': handle.trickleCompleted },
      webrtc: { 'remote-candidates': handle.remoteCandidates.length },
    };
  }

  #status(): Record<string, unknown> {
    const gw = this.#gw;
    const g = gw.config.general;
    return {
      token_auth: g.token_auth,
      api_secret: g.api_secret !== '',
      event_handlers: false,
      admin_secret: g.admin_secret !== '',
      log_level: this.#logLevel,
      log_timestamps: g.debug_timestamps,
      log_colors: g.debug_colors,
      locking_debug: false,
      refcount_debug: false,
      libnice_debug: false,
      min_nack_queue: gw.config.media.min_nack_queue,
      'nack-optimizations': gw.config.media.nack_optimizations,
      no_media_timer: gw.config.media.no_media_timer,
      slowlink_threshold: gw.config.media.slowlink_threshold,
      'accepting-new-sessions': gw.acceptNewSessions,
      'session-timeout': gw.sessionTimeout,
    };
  }

  #setMedia(body: Record<string, unknown>, key: 'min_nack_queue' | 'no_media_timer' | 'slowlink_threshold'): number {
    validate(body, [{ name: key, type: 'integer', required: true }]);
    const v = body[key] as number;
    if (v < 0) throw Errors.invalidElementType(key, 'a non-negative integer');
    this.#gw.config.media[key] = v;
    return v;
  }

  /** Token management needs stored tokens: token_auth on and no signing secret. */
  #storedTokens(): void {
    const g = this.#gw.config.general;
    if (!g.token_auth) throw Errors.unknown('Token based authentication disabled');
    if (g.token_auth_secret) throw Errors.unknown('Stored-Token based authentication disabled');
  }

  #pluginList(v: unknown): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    const list: string[] = [];
    for (const p of v as unknown[]) {
      if (typeof p !== 'string' || !this.#gw.plugins.has(p)) throw Errors.invalidElementType('plugins', 'an array of valid plugin names');
      list.push(p);
    }
    return list;
  }
}
