/**
 * Start Portunus: the Gateway, then every enabled listener (HTTP/HTTPS Janus API, WS/WSS Janus API,
 * and the Admin API over HTTP/HTTPS/WS/WSS), each on its configured address and port.
 */
import type { FastifyInstance } from 'fastify';
import type { PortunusConfig } from './config/types.ts';
import { Gateway } from './core/gateway.ts';
import type { Logger } from './core/log.ts';
import type { Plugin } from './core/plugin.ts';
import { Acl } from './transports/acl.ts';
import { registerAdminHttpApi } from './transports/admin-http.ts';
import { registerDemos } from './transports/demos.ts';
import { installGuards, installRawBodyParser } from './transports/guards.ts';
import { HttpEvents } from './transports/http-events.ts';
import { normaliseBase, registerJanusHttpApi } from './transports/http.ts';
import { jsonSerializer } from './transports/json.ts';
import { createApp, listen, type ListenerSpec, type TlsFiles } from './transports/listener.ts';
import { registerWebSocketApi } from './transports/websocket.ts';

export interface StartServerOptions {
  logger: Logger;
  /** Configuration warnings to log once at start. */
  warnings?: string[];
  /** Plugins to run; when absent the Gateway loads every plugin it finds. */
  plugins?: Plugin[];
  /** Prometheus text for GET /metrics on the admin HTTP listener; default: the gateway's metrics. */
  metricsText?: () => string;
}

export interface ServerPorts {
  http?: number;
  https?: number;
  ws?: number;
  wss?: number;
  adminHttp?: number;
  adminHttps?: number;
  adminWs?: number;
  adminWss?: number;
}

export interface RunningServer {
  gateway: Gateway;
  /** Bound ports of the listeners that were started. */
  ports: ServerPorts;
  /** Stop the listeners, then the gateway. */
  close(): Promise<void>;
}

const HTTP = 'janus.transport.http';
const WS = 'janus.transport.websockets';

export async function startServer(config: PortunusConfig, opts: StartServerOptions): Promise<RunningServer> {
  const { logger } = opts;
  for (const w of opts.warnings ?? []) logger.warn(w);
  const h = config.http;
  const w = config.websockets;
  // Parse the ACLs first: a bad entry stops the start-up before anything listens.
  const acls = {
    http: Acl.parse(h.acl, 'acl'),
    adminHttp: Acl.parse(h.admin_acl, 'admin_acl'),
    ws: Acl.parse(w.ws_acl, 'ws_acl'),
    adminWs: Acl.parse(w.admin_ws_acl, 'admin_ws_acl'),
  };
  const disabled = disabledTransports(config.transports.disable);

  const gateway = new Gateway(config, logger, opts.plugins ?? []);
  await gateway.start();

  const apps: FastifyInstance[] = [];
  const ports: ServerPorts = {};
  const httpEvents = new HttpEvents({ logger: logger.child({ transport: HTTP }), longPollTimeout: h.long_poll_timeout });
  const observeError = (t: string, code: number) => gateway.metrics.observeTransportError(t, code);
  const metricsText = opts.metricsText ?? (() => gateway.metrics.render());

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      httpEvents.closeAll();
      await Promise.allSettled(apps.map((a) => a.close()));
      await gateway.stop();
    })();
    return closing;
  };

  const start = async (spec: ListenerSpec, setup: (app: FastifyInstance) => Promise<void> | void, maxConnections?: number): Promise<number> => {
    const app = createApp(spec, logger);
    apps.push(app);
    await setup(app);
    if (maxConnections && maxConnections > 0) app.server.maxConnections = maxConnections;
    return listen(app, spec, logger);
  };

  try {
    if (!disabled.has(HTTP)) {
      const serialize = jsonSerializer(h.json);
      const guards = { transport: HTTP, allowOrigin: h.allow_origin, enforceCors: h.enforce_cors, serialize, observeError };
      const api = async (app: FastifyInstance) => {
        installRawBodyParser(app);
        installGuards(app, { ...guards, acl: acls.http });
        registerJanusHttpApi(app, { gateway, events: httpEvents, basePath: h.base_path, serialize });
        if (h.demos) {
          // With base_path "/" the long-poll route GET /<id> would shadow every demo file.
          if (normaliseBase(h.base_path) === '/') logger.warn('http.demos is ignored when base_path is "/"');
          else await registerDemos(app, logger);
        }
      };
      const admin = (app: FastifyInstance) => {
        installRawBodyParser(app);
        installGuards(app, { ...guards, acl: acls.adminHttp });
        registerAdminHttpApi(app, { gateway, basePath: h.admin_base_path, serialize, metricsText });
      };
      const tls = tlsOf(h);
      const bodyLimit = h.max_body_size;
      const limit = h.mhd_connection_limit;
      if (h.http) ports.http = await start({ name: 'http', ip: h.ip, iface: h.interface, port: h.port, bodyLimit }, api, limit);
      if (h.https) ports.https = await start({ name: 'https', ip: h.secure_ip, iface: h.secure_interface, port: h.secure_port, bodyLimit, tls }, api, limit);
      if (h.admin_http) ports.adminHttp = await start({ name: 'adminHttp', ip: h.admin_ip, iface: h.admin_interface, port: h.admin_port, bodyLimit }, admin);
      if (h.admin_https) {
        ports.adminHttps = await start({ name: 'adminHttps', ip: h.admin_secure_ip, iface: h.admin_secure_interface, port: h.admin_secure_port, bodyLimit, tls }, admin);
      }
    }

    if (!disabled.has(WS)) {
      const serialize = jsonSerializer(w.json);
      const wsLogger = logger.child({ transport: WS });
      const common = {
        gateway,
        serialize,
        logger: wsLogger,
        maxMessageSize: w.max_message_size,
        pingpongTrigger: w.pingpong_trigger,
        pingpongTimeout: w.pingpong_timeout,
      };
      const guards = { transport: WS, allowOrigin: w.allow_origin, enforceCors: w.enforce_cors, serialize, observeError };
      const api = async (app: FastifyInstance) => {
        installGuards(app, { ...guards, acl: acls.ws });
        await registerWebSocketApi(app, { ...common, api: 'janus' });
      };
      const admin = async (app: FastifyInstance) => {
        installGuards(app, { ...guards, acl: acls.adminWs });
        await registerWebSocketApi(app, { ...common, api: 'admin' });
      };
      const tls = tlsOf(w);
      if (w.ws) ports.ws = await start({ name: 'ws', ip: w.ws_ip, iface: w.ws_interface, port: w.ws_port }, api);
      if (w.wss) ports.wss = await start({ name: 'wss', ip: w.wss_ip, iface: w.wss_interface, port: w.wss_port, tls }, api);
      if (w.admin_ws) ports.adminWs = await start({ name: 'adminWs', ip: w.admin_ws_ip, iface: w.admin_ws_interface, port: w.admin_ws_port }, admin);
      if (w.admin_wss) {
        ports.adminWss = await start({ name: 'adminWss', ip: w.admin_wss_ip, iface: w.admin_wss_interface, port: w.admin_wss_port, tls }, admin);
      }
      if (w.ws_unix || w.wss_unix) logger.warn('ws_unix / wss_unix are not supported yet; ignored');
    }
  } catch (err) {
    await close();
    throw err;
  }

  if (Object.keys(ports).length === 0) logger.warn('no API listener is enabled');
  return { gateway, ports, close };
}

function tlsOf(c: { cert_pem: string; cert_key: string; cert_pwd: string; ciphers: string }): TlsFiles {
  return { certPem: c.cert_pem, certKey: c.cert_key, certPwd: c.cert_pwd, ciphers: c.ciphers };
}

/** `transports.disable` names transports by Janus library file ("libjanus_http.so") or package name. */
function disabledTransports(list: string): Set<string> {
  const out = new Set<string>();
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    if (name === HTTP || /^(lib)?janus_http(\.so)?$/.test(name)) out.add(HTTP);
    if (name === WS || /^(lib)?janus_websockets(\.so)?$/.test(name)) out.add(WS);
  }
  return out;
}
