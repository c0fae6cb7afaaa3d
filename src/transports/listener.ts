/**
 * One fastify instance per listening socket (HTTP, HTTPS, WS, WSS, admin variants): TLS from Janus-style
 * cert_pem/cert_key/cert_pwd/ciphers files, the bind address from `ip` / `interface`, port 0 for an
 * ephemeral port (the bound one is reported).
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../core/log.ts';
import { ConfigError } from '../core/errors.ts';

export interface TlsFiles {
  /** Path to the PEM certificate (chain). */
  certPem: string;
  /** Path to the PEM private key. */
  certKey: string;
  /** Passphrase of the key, '' for none. */
  certPwd?: string;
  /** OpenSSL cipher list, '' for Node's default. */
  ciphers?: string;
}

export interface ListenerSpec {
  /** Short name for logs and the ports report: "http", "https", "ws", "wss", "adminHttp"... */
  name: string;
  /** Address to bind; '' = every address. */
  ip: string;
  /** Network interface name (or address) to bind when `ip` is empty; '' = every address. */
  iface: string;
  port: number;
  tls?: TlsFiles;
  /** Largest request body, bytes. */
  bodyLimit?: number;
}

export function createApp(spec: ListenerSpec, logger: Logger): FastifyInstance {
  const options = {
    // fastify's own info line ("Server listening at ...") duplicates ours: keep its logger at warn then.
    loggerInstance: logger.child({ listener: spec.name }, { level: logger.levelVal === 30 ? 'warn' : logger.level }),
    // Per-request log lines would drown the logs at info level (every long poll is a request).
    logController: new LogController({ disableRequestLogging: true }),
    // Long polls are held open for up to long_poll_timeout: do not let close() wait for them.
    forceCloseConnections: true,
    clientErrorHandler,
    bodyLimit: spec.bodyLimit,
    https: spec.tls ? tlsOptions(spec.tls, spec.name) : undefined,
  };
  // fastify's typings split HTTP and HTTPS instances; the routes we register do not care which.
  return Fastify(options) as unknown as FastifyInstance;
}

/**
 * A request Node cannot parse (bad request line, header overflow, timeout): answer and close, as
 * fastify's default handler does, but say "Connection: close". Without it a keep-alive client takes
 * the answer as a complete response, puts the connection back in its pool and loses its next request
 * on the socket destroyed here ("socket hang up").
 */
function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Client Timeout']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Exceeded maximum allowed HTTP header size']
    : [400, 'Client Error'];
  const body = JSON.stringify({ error: STATUS_CODES[status], message, statusCode: status });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

function tlsOptions(tls: TlsFiles, name: string) {
  if (!tls.certPem || !tls.certKey) throw new ConfigError(`${name}: cert_pem and cert_key are required for a TLS listener`, { key: 'cert_pem' });
  try {
    return {
      cert: readFileSync(tls.certPem),
      key: readFileSync(tls.certKey),
      passphrase: tls.certPwd || undefined,
      ciphers: tls.ciphers || undefined,
    };
  } catch (err) {
    throw new ConfigError(`${name}: cannot read certificate or key (${err instanceof Error ? err.message : String(err)})`, { key: 'cert_pem' });
  }
}

/** Start listening; resolves to the bound port. */
export async function listen(app: FastifyInstance, spec: ListenerSpec, logger: Logger): Promise<number> {
  const host = bindHost(spec);
  try {
    await app.listen({ host: host ?? '::', port: spec.port });
  } catch (err) {
    // A host without IPv6: "every address" means every IPv4 address.
    if (host !== undefined || (err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
    await app.listen({ host: '0.0.0.0', port: spec.port });
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : spec.port;
  logger.info({ listener: spec.name, host: host ?? '*', port, tls: spec.tls !== undefined }, `${spec.name} listener started`);
  return port;
}

/** The address to bind, or undefined for every address. */
export function bindHost(spec: Pick<ListenerSpec, 'ip' | 'iface' | 'name'>): string | undefined {
  if (spec.ip) return spec.ip;
  if (!spec.iface) return undefined;
  if (isIP(spec.iface)) return spec.iface;
  const addrs = networkInterfaces()[spec.iface];
  if (!addrs || addrs.length === 0) throw new ConfigError(`${spec.name}: no network interface named '${spec.iface}'`, { key: 'interface' });
  const v4 = addrs.find((a) => a.family === 'IPv4');
  return (v4 ?? addrs[0]).address;
}
