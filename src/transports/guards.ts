/**
 * What every HTTP-based listener does before a route runs (JANUS-REFERENCE 1.3, 1.4): refuse clients
 * outside the ACL, add the CORS headers Janus adds to every response, answer OPTIONS preflights, enforce
 * the Origin when `enforce_cors` is set. Also the body parser (raw text, whatever the content type:
 * janus.js sometimes posts text/plain) and the error/not-found answers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JanusCode, JanusError } from '../core/errors.ts';
import type { Acl } from './acl.ts';
import { transportError } from './json.ts';

export interface GuardOptions {
  /** Transport name for metrics: "janus.transport.http" or "janus.transport.websockets". */
  transport: string;
  acl: Acl;
  /** `allow_origin`; '' means "*". */
  allowOrigin: string;
  enforceCors: boolean;
  serialize: (v: unknown) => string;
  observeError: (transport: string, code: number) => void;
}

/** ACL, CORS, OPTIONS, error and not-found handling. Register before the routes. */
export function installGuards(app: FastifyInstance, opts: GuardOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!opts.acl.allows(request.socket.remoteAddress)) {
      opts.observeError(opts.transport, 403);
      request.log.warn({ address: request.socket.remoteAddress }, 'address refused by ACL');
      closeAfterRefusal(request, reply);
      return sendError(reply, 403, new JanusError(JanusCode.UNAUTHORIZED, 'Unauthorized (address not allowed)'), opts.serialize);
    }
    addCorsHeaders(request, reply, opts.allowOrigin);
    if (opts.enforceCors && opts.allowOrigin && !originAllowed(request, opts.allowOrigin)) {
      opts.observeError(opts.transport, 403);
      closeAfterRefusal(request, reply);
      return reply.code(403).send();
    }
    if (request.method === 'OPTIONS') return reply.code(200).send();
    return undefined;
  });

  app.setNotFoundHandler((_req, reply) => {
    // Janus answers unknown paths with an empty 404.
    reply.code(404).send();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    opts.observeError(opts.transport, status);
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ err: err.message, code: err.code }, 'request refused');
    const reason = status === 413 ? 'Request body too large' : status >= 500 ? 'Internal error' : err.message;
    return sendError(reply, status, new JanusError(JanusCode.TRANSPORT_SPECIFIC, reason), opts.serialize);
  });
}

/** Take every body as text; the routes parse it themselves so bad JSON becomes a Janus 454 error. */
export function installRawBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
}

/**
 * A refused WebSocket upgrade leaves a socket that Node's HTTP server no longer tracks (so neither
 * keep-alive handling nor close() would end it): destroy it once the refusal is written.
 */
export function closeAfterRefusal(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers.upgrade === undefined) return;
  reply.header('Connection', 'close');
  reply.raw.once('finish', () => request.raw.socket.destroy());
}

export function sendError(reply: FastifyReply, status: number, error: JanusError, serialize: (v: unknown) => string): FastifyReply {
  return reply.code(status).type('application/json').send(serialize(transportError(error)));
}

function addCorsHeaders(request: FastifyRequest, reply: FastifyReply, allowOrigin: string): void {
  reply.header('Access-Control-Allow-Origin', allowOrigin || '*');
  if (allowOrigin) reply.header('Access-Control-Allow-Credentials', 'true');
  reply.header('Access-Control-Max-Age', '86400');
  const method = request.headers['access-control-request-method'];
  if (typeof method === 'string') reply.header('Access-Control-Allow-Methods', method);
  const headers = request.headers['access-control-request-headers'];
  if (typeof headers === 'string') reply.header('Access-Control-Allow-Headers', headers);
}

/**
 * Janus compares the Origin header (or the Referer when no Origin is sent) with allow_origin; a request
 * carrying neither is refused too. We require the exact origin (Janus' prefix test would let
 * "https://a.example.evil" pass for "https://a.example"), or a Referer under it.
 */
export function originAllowed(request: FastifyRequest, allowOrigin: string): boolean {
  const origin = request.headers.origin;
  if (typeof origin === 'string') return origin === allowOrigin;
  const referer = request.headers.referer;
  return typeof referer === 'string' && (referer === allowOrigin || referer.startsWith(`${allowOrigin}/`));
}
