/**
 * The Admin API over HTTP (JANUS-REFERENCE 1.6): POST {admin_base}[/<sid>[/<hid>]], GET {admin_base}/info,
 * plus GET /metrics (Prometheus text) on the same listener. Off unless `admin_http` / `admin_https`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { JanusCode, JanusError } from '../core/errors.ts';
import type { GatewayForTransports, TransportConnection } from '../core/transport.ts';
import { nextConnectionId } from './connection-id.ts';
import { normaliseBase, randomTransaction, registerJsonPosts } from './http.ts';
import { transportError } from './json.ts';

export interface AdminHttpOptions {
  gateway: GatewayForTransports;
  /** `admin_base_path`, e.g. "/admin". */
  basePath: string;
  serialize: (v: unknown) => string;
  /** Prometheus exposition text for GET /metrics; absent = no /metrics route. */
  metricsText?: () => string;
}


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

  registerJsonPosts(app, base, gateway, conn.transport, serialize, (body, path) => gateway.handleAdminRequest(conn, body, path));

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
