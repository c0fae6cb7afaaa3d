/**
 * The contract between the core and its API transports (HTTP, WebSocket, later MQ ones).
 * A transport parses bytes into JSON, hands requests to the Gateway, writes the direct reply back,
 * and delivers asynchronous events for the sessions a connection owns.
 */
export type JanusMessage = Record<string, unknown>;

/** Why a session stopped belonging to a connection. */
export type SessionOverReason = 'destroyed' | 'timeout' | 'claimed';

export interface TransportConnection {
  /** Unique per connection within the process (for logs and ownership checks). */
  readonly id: number;
  /** Janus transport package name, e.g. "janus.transport.http", "janus.transport.websockets". */
  readonly transport: string;
  /** Address of the peer, for logs (ACLs are checked by the transport itself). */
  readonly remoteAddress: string;
  /**
   * HTTP answers a JSON array body with 455 where WebSocket answers 456 (JANUS-REFERENCE 4), and HTTP
   * takes ids from the URL path: the core needs to know which flavour of request it is reading.
   */
  readonly kind: 'http' | 'ws';
  /** Deliver an asynchronous event for a session owned by this connection. Must not throw. */
  sendEvent(event: JanusMessage): void;
  /** A session this connection owned is gone or was claimed by another connection. */
  sessionOver(sessionId: number, reason: SessionOverReason): void;
}

/** Ids taken from an HTTP path (/janus/<session>/<handle>); ids in the body must match them (457). */
export interface RequestPath {
  sessionId?: number;
  handleId?: number;
}

/** What transports may call on the core. Implemented by Gateway. */
export interface GatewayForTransports {
  /** A Janus API request (parsed JSON of any type). Always resolves to the reply to send. */
  handleRequest(conn: TransportConnection, body: unknown, path?: RequestPath): Promise<JanusMessage>;
  /** An Admin API request. Always resolves to the reply to send. */
  handleAdminRequest(conn: TransportConnection, body: unknown, path?: RequestPath): Promise<JanusMessage>;
  /** The answer to GET /janus/info (same as the `info` verb, without a transaction). */
  serverInfo(): JanusMessage;
  /** For HTTP long-poll: does the session exist, and does the poll pass the secret/token check? */
  sessionExists(sessionId: number): boolean;
  checkApiAuth(apisecret: unknown, token: unknown): boolean;
  /** A long-poll counts as a keepalive (JANUS-REFERENCE 1.3). */
  touchSession(sessionId: number): void;
  /** A connection closed: destroy its sessions, or keep them for reclaim_session_timeout. */
  transportGone(conn: TransportConnection): void;
  /** Record a request for metrics: verb and the error code (0 for success). */
  readonly metrics: { observeTransportError(transport: string, code: number): void; render(): string };
}
