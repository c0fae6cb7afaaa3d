/**
 * The Admin API over HTTP (JANUS-REFERENCE 1.6): POST {admin_base}[/<sid>[/<hid>]], GET {admin_base}/info,
 * plus GET /metrics (Prometheus text) on the same listener. Off unless `admin_http` / `admin_https`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JanusCode, JanusError } from '../core/errors.ts';
import type { GatewayForTransports, RequestPath, TransportConnection } from '../core/transport.ts';
import { nextConnectionId } from './connection-id.ts';
import { normaliseBase, parsePathId, randomTransaction } from './http.ts';
import { parseJson, transportError } from './json.ts';

export interface AdminHttpOptions {
  gateway: GatewayForTransports;
  /** `admin_base_path`, e.g. "/admin". */
  basePath: string;
  serialize: (v: unknown) => string;
  /** Prometheus exposition text for GET /metrics; absent = no /metrics route. */
  metricsText?: () => string;
}

type Params = { sid?: string; hid?: string };

/** The Admin API has no sessions of its own, so nothing is ever delivered to this connection. */
export class AdminHttpConnection implements TransportConnection {
  readonly id = nextConnectionId();
  readonly transport = 'janus.transport.http';
  readonly remoteAddress = 'http-admin';
  readonly kind = 'http' as const;
  sendEvent(): void {}
  sessionOver(): void {}
}

export function registerAdminHttpApi(app: FastifyInstance, opts: AdminHttpOptions): void {
  const { gateway, serialize } = opts;
  const conn = new AdminHttpConnection();
  const base = normaliseBase(opts.basePath);
  const sub = (p: string) => (base === '/' ? `/${p}` : `${base}/${p}`);
  const send = (reply: FastifyReply, body: unknown) => reply.code(200).type('application/json').send(serialize(body));

  const post = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const parsed = parseJson(typeof request.body === 'string' ? request.body : '');
    if (!parsed.ok) {
      gateway.metrics.observeTransportError(conn.transport, parsed.error.code);
      return send(reply, transportError(parsed.error));
    }
    const path: RequestPath = {};
    const sid = parsePathId(request.params.sid);
    const hid = parsePathId(request.params.hid);
    if (sid !== undefined) path.sessionId = sid;
    if (hid !== undefined) path.handleId = hid;
    return send(reply, await gateway.handleAdminRequest(conn, parsed.value, path));
  };
  app.post(base, post);
  app.post(sub(':sid'), post);
  app.post(sub(':sid/:hid'), post);

  // Janus turns GET {admin}/info into an `info` request (no secret needed) and refuses POST there.
  app.get(sub('info'), async (_request, reply) =>
    send(reply, await gateway.handleAdminRequest(conn, { janus: 'info', transaction: randomTransaction() })),
  );
  app.post(sub('info'), async (_request, reply) => send(reply, transportError(new JanusError(JanusCode.TRANSPORT_SPECIFIC, 'Use GET for the info endpoint'))));
  app.get(sub('ping'), async (_request, reply) =>
    send(reply, await gateway.handleAdminRequest(conn, { janus: 'ping', transaction: randomTransaction() })),
  );

  const metricsText = opts.metricsText;
  if (metricsText) {
    app.get('/metrics', async (_request, reply) => reply.code(200).type('text/plain; version=0.0.4; charset=utf-8').send(metricsText()));
  }
}
