/**
 * The Janus API over HTTP (janus.transport.http, JANUS-REFERENCE 1.3):
 *   POST {base}               create / info / ping
 *   POST {base}/<sid>[/<hid>] session and handle requests (ids from the path)
 *   GET  {base}/<sid>         long poll (maxev, apisecret/token in the query)
 *   GET  {base}/<sid>/<hid>   302 to the session path
 *   GET  {base}/info          server info; POST {base}/info -> 400
 * Janus errors travel as HTTP 200 with a JSON error body; transport refusals use HTTP statuses.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../core/errors.ts';
import type { GatewayForTransports, RequestPath } from '../core/transport.ts';
import type { HttpEvents } from './http-events.ts';
import { parseJson, transportError } from './json.ts';
import { sendError } from './guards.ts';

export interface JanusHttpOptions {
  gateway: GatewayForTransports;
  /** The shared connection all HTTP sessions belong to. */
  events: HttpEvents;
  /** `base_path`, e.g. "/janus". */
  basePath: string;
  serialize: (v: unknown) => string;
}

type Params = { sid?: string; hid?: string };
type Query = Record<string, unknown>;

/** Largest maxev honoured; the per-session queue is bounded anyway. */
const MAX_EVENTS = 1000;

export function registerJanusHttpApi(app: FastifyInstance, opts: JanusHttpOptions): void {
  const { gateway, events, serialize } = opts;
  const base = normaliseBase(opts.basePath);
  const sub = (p: string) => (base === '/' ? `/${p}` : `${base}/${p}`);

  const send = (reply: FastifyReply, body: unknown) => reply.code(200).type('application/json').send(serialize(body));

  registerJsonPosts(app, base, gateway, events.transport, serialize, (body, path) => gateway.handleRequest(events, body, path));

  // Janus answers GET {base}/info as an `info` request with a made-up transaction (which it echoes).
  app.get(sub('info'), async (_request, reply) => send(reply, await gateway.handleRequest(events, { janus: 'info', transaction: randomTransaction() })));
  // Janus: the info endpoint only answers GET.
  app.post(sub('info'), async (_request, reply) => reply.code(400).send());
  // GET {base}/ping is a Janus 1.2 addition; cheap to offer.
  app.get(sub('ping'), async (_request, reply) => send(reply, await gateway.handleRequest(events, { janus: 'ping', transaction: randomTransaction() })));

  app.get(sub(':sid'), async (request: FastifyRequest<{ Params: Params; Querystring: Query }>, reply) => {
    const sid = parsePathId(request.params.sid);
    if (sid === undefined) return reply.code(404).send();
    if (!authorised(request)) return refuse(reply);
    gateway.touchSession(sid);
    if (!gateway.sessionExists(sid)) return reply.code(404).send();
    const { answer, cancel } = events.poll(sid, parseMaxev(request.query.maxev));
    // A client that gives up (or a proxy that times out) must not swallow the next events.
    reply.raw.once('close', cancel);
    const result = await answer;
    return send(reply, result ?? { janus: 'keepalive' });
  });

  app.get(sub(':sid/:hid'), async (request: FastifyRequest<{ Params: Params; Querystring: Query }>, reply) => {
    const sid = parsePathId(request.params.sid);
    if (sid === undefined) return reply.code(404).send();
    if (!authorised(request)) return refuse(reply);
    gateway.touchSession(sid);
    return reply.code(302).header('Location', sub(request.params.sid ?? '')).send();
  });

  function authorised(request: FastifyRequest<{ Querystring: Query }>): boolean {
    const q = request.query ?? {};
    return gateway.checkApiAuth(q.apisecret, q.token);
  }

  function refuse(reply: FastifyReply) {
    gateway.metrics.observeTransportError(events.transport, 403);
    return sendError(reply, 403, Errors.unauthorized(), serialize);
  }
}

/** "/janus/" -> "/janus"; "" -> "/". */
export function normaliseBase(path: string): string {
  let p = path.trim();
  if (!p.startsWith('/')) p = `/${p}`;
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

/**
 * A path id the way Janus reads it (g_ascii_strtoull): leading digits, 0 or none meaning "no id".
 * "abc" therefore makes a session request a root one (457), as in Janus.
 */
export function parsePathId(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^\d+/.exec(text);
  if (!m) return undefined;
  const n = Number(m[0]);
  return n > 0 ? n : undefined;
}

/** maxev as Janus reads it (atoi; below 1 means 1). */
export function parseMaxev(value: unknown): number {
  const n = typeof value === 'string' ? parseInt(value, 10) : NaN;
  if (!Number.isFinite(n) || n < 1) return 1;
  return Math.min(n, MAX_EVENTS);
}

export function randomTransaction(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * POST {base}, {base}/<session>, {base}/<session>/<handle>: parse the body (a JSON error is answered
 * here, 454, and counted), take the ids from the path, and answer with what `handle` resolves to.
 * Shared by the Janus API and the Admin API.
 */
export function registerJsonPosts(
  app: FastifyInstance,
  base: string,
  gateway: GatewayForTransports,
  transport: string,
  serialize: (body: unknown) => string,
  handle: (body: unknown, path: RequestPath) => Promise<unknown>,
): void {
  const sub = (p: string) => (base === '/' ? `/${p}` : `${base}/${p}`);
  const post = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const send = (body: unknown) => reply.code(200).type('application/json').send(serialize(body));
    const parsed = parseJson(typeof request.body === 'string' ? request.body : '');
    if (!parsed.ok) {
      gateway.metrics.observeTransportError(transport, parsed.error.code);
      return send(transportError(parsed.error));
    }
    const path: RequestPath = {};
    const sid = parsePathId(request.params.sid);
    const hid = parsePathId(request.params.hid);
    if (sid !== undefined) path.sessionId = sid;
    if (hid !== undefined) path.handleId = hid;
    return send(await handle(parsed.value, path));
  };
  app.post(base, post);
  app.post(sub(':sid'), post);
  app.post(sub(':sid/:hid'), post);
}
