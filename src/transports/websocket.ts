/**
 * The Janus API and Admin API over WebSocket (janus.transport.websockets, JANUS-REFERENCE 1.4).
 * Each socket is one TransportConnection. The subprotocol (`janus-protocol`, or `janus-admin-protocol`
 * on the admin listener) is required: a client offering none or another one is refused before the
 * upgrade (ws' handleProtocols alone would still admit a client that offers none).
 * A message may hold several concatenated JSON objects; they are handled one after the other.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { JanusError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { GatewayForTransports, JanusMessage, SessionOverReason, TransportConnection } from '../core/transport.ts';
import { nextConnectionId } from './connection-id.ts';
import { closeAfterRefusal } from './guards.ts';
import { parseJson, splitJsonValues, transportError } from './json.ts';

export const JANUS_PROTOCOL = 'janus-protocol';
export const ADMIN_PROTOCOL = 'janus-admin-protocol';
const TRANSPORT = 'janus.transport.websockets';

export interface WebSocketApiOptions {
  gateway: GatewayForTransports;
  /** Which API this listener serves. */
  api: 'janus' | 'admin';
  serialize: (v: unknown) => string;
  logger: Logger;
  /** Largest message, bytes: bigger ones close the socket with 1009. */
  maxMessageSize: number;
  /** Seconds of silence before a protocol ping; 0 = no pings. */
  pingpongTrigger: number;
  /** Seconds to wait for the pong before closing; 0 = wait forever. */
  pingpongTimeout: number;
}

/** Register @fastify/websocket and the upgrade route on a listener's app (guards installed before). */
export async function registerWebSocketApi(app: FastifyInstance, opts: WebSocketApiOptions): Promise<void> {
  const protocol = opts.api === 'admin' ? ADMIN_PROTOCOL : JANUS_PROTOCOL;
  await app.register(fastifyWebsocket, {
    // ws closes the socket itself on protocol errors (1009 for an oversize message): only log them.
    errorHandler: (err) => opts.logger.debug({ err: err.message }, 'WebSocket protocol error'),
    options: {
      maxPayload: opts.maxMessageSize,
      perMessageDeflate: false,
      handleProtocols: (offered: Set<string>) => (offered.has(protocol) ? protocol : false),
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
    if (offeredProtocols(request.headers['sec-websocket-protocol']).includes(protocol)) return undefined;
    opts.gateway.metrics.observeTransportError(TRANSPORT, 400);
    request.log.debug({ offered: request.headers['sec-websocket-protocol'] }, 'WebSocket refused: missing subprotocol');
    closeAfterRefusal(request, reply);
    return reply.code(400).type('text/plain').send(`Subprotocol ${protocol} required`);
  });

  const onSocket = (socket: WebSocket, request: { socket: { remoteAddress?: string } }) => {
    // The connection lives as long as the socket: its listeners keep it reachable.
    new WsConnection(socket, request.socket.remoteAddress ?? '', opts);
  };
  // janus.js and janode connect to "/", others add a path: Janus accepts any.
  app.get('/', { websocket: true }, onSocket);
  app.get('/*', { websocket: true }, onSocket);
}

function offeredProtocols(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text.split(',').map((p) => p.trim()).filter(Boolean);
}

export class WsConnection implements TransportConnection {
  readonly id = nextConnectionId();
  readonly transport = TRANSPORT;
  readonly kind = 'ws' as const;
  readonly remoteAddress: string;
  readonly #socket: WebSocket;
  readonly #opts: WebSocketApiOptions;
  readonly #log: Logger;
  #pingTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;

  constructor(socket: WebSocket, remoteAddress: string, opts: WebSocketApiOptions) {
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.#opts = opts;
    this.#log = opts.logger.child({ conn: this.id, api: opts.api });
    this.#log.debug({ address: remoteAddress }, 'WebSocket connected');
    socket.on('message', (data) => {
      this.#armPing();
      this.#onMessage(messageText(data)).catch((err: unknown) => this.#log.error({ err }, 'WebSocket request failed'));
    });
    socket.on('pong', () => {
      clearTimeout(this.#pongTimer);
      this.#pongTimer = undefined;
      this.#armPing();
    });
    socket.on('error', (err) => this.#log.debug({ err: err.message }, 'WebSocket error'));
    socket.once('close', (code) => this.#onClose(code));
    this.#armPing();
  }

  sendEvent(event: JanusMessage): void {
    this.#send(event);
  }

  sessionOver(sessionId: number, reason: SessionOverReason): void {
    // The core stops routing the session's events here; nothing to clean up on a socket.
    this.#log.debug({ session: sessionId, reason }, 'session no longer on this WebSocket');
  }

  async #onMessage(text: string): Promise<void> {
    // One object per message is the common case: parse it whole before trying to split.
    const whole = parseJson(text);
    if (whole.ok) return this.#handle(whole.value);
    const pieces = splitJsonValues(text);
    if (pieces.length <= 1) return this.#reject(whole.error);
    for (const piece of pieces) {
      const parsed = parseJson(piece);
      // No way to resynchronise after garbage: what follows it is dropped.
      if (!parsed.ok) return this.#reject(parsed.error);
      await this.#handle(parsed.value);
    }
  }

  async #handle(body: unknown): Promise<void> {
    const { gateway } = this.#opts;
    const reply = this.#opts.api === 'admin' ? await gateway.handleAdminRequest(this, body) : await gateway.handleRequest(this, body);
    this.#send(reply);
  }

  #reject(error: JanusError): void {
    this.#opts.gateway.metrics.observeTransportError(TRANSPORT, error.code);
    this.#send(transportError(error));
  }

  #send(message: JanusMessage): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return;
    this.#socket.send(this.#opts.serialize(message));
  }

  /** Protocol keepalive: after pingpong_trigger s of silence, ping; no pong within pingpong_timeout s -> close. */
  #armPing(): void {
    const { pingpongTrigger, pingpongTimeout } = this.#opts;
    if (!(pingpongTrigger > 0) || this.#pongTimer) return;
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => {
      if (this.#socket.readyState !== this.#socket.OPEN) return;
      this.#socket.ping();
      if (pingpongTimeout > 0) {
        this.#pongTimer = setTimeout(() => {
          this.#log.info('no pong from WebSocket client, closing');
          this.#socket.terminate();
        }, pingpongTimeout * 1000);
      }
    }, pingpongTrigger * 1000);
  }

  #onClose(code: number): void {
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#log.debug({ code }, 'WebSocket closed');
    if (this.#opts.api === 'janus') this.#opts.gateway.transportGone(this);
  }
}

/** Text and binary frames alike are read as UTF-8 JSON. */
function messageText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
