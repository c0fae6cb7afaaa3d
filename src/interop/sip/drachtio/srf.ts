/**
 * The part of drachtio-srf 5.x the drachtio backend uses, typed as it really behaves (the package's
 * own .d.ts is incomplete: no Request#cancel options, Dialog#request without opts, ...), plus the
 * small conversions between our header lists and srf's header objects.
 */
import SrfModule from 'drachtio-srf';
import type { IncomingRequestInfo, SipResponseInfo } from '../backend.ts';

export interface SrfMessage {
  readonly headers: Record<string, string>;
  body: string;
  get(name: string): string | undefined;
  has(name: string): boolean;
  getParsedHeader(name: string): unknown;
}

export interface SrfAor {
  name?: string;
  uri: string;
  params: Record<string, string | null>;
}

export interface SrfRequest extends SrfMessage {
  readonly method: string;
  readonly uri: string;
  readonly stackTxnId: string;
  readonly stackDialogId: string;
  on(event: 'response', fn: (res: SrfResponse) => void): this;
  on(event: 'cancel', fn: () => void): this;
  cancel(callback?: (err: Error | null) => void): void;
}

export interface SrfResponse extends SrfMessage {
  readonly status: number;
  readonly reason: string;
  send(status: number, opts?: { headers?: Record<string, string>; body?: string }, callback?: (err: unknown) => void): void;
  readonly finished?: boolean;
}

export interface SrfDialog {
  readonly id: string;
  readonly sip: { callId: string; localTag: string; remoteTag: string };
  readonly local: { uri: string; sdp: string; contact: string };
  readonly remote: { uri: string; sdp: string };
  on(event: 'destroy' | 'ack', fn: (req: SrfRequest) => void): this;
  on(event: 'modify' | 'info' | 'message' | 'refer' | 'notify' | 'options' | 'update', fn: (req: SrfRequest, res: SrfResponse) => void): this;
  destroy(opts?: { headers?: Record<string, string> }): Promise<unknown>;
  modify(sdp: string, opts?: { headers?: Record<string, string> }): Promise<string>;
  request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<SrfResponse>;
}

export interface SrfUacOptions {
  localSdp?: string;
  headers?: Record<string, string>;
  proxy?: string;
  auth?: { username: string; password: string };
  method?: string;
}

export interface SrfConnection {
  connect(opts: { host: string; port: number; secret: string; reconnect?: { maxAttempts?: number; retryMaxDelay?: number } }): void;
  disconnect(): void;
  on(event: 'connect', fn: (err: Error | null, hostport: string) => void): this;
  on(event: 'error' | 'close' | 'reconnecting', fn: (err?: unknown) => void): this;
  on(event: `cdr:${'attempt' | 'start' | 'stop'}`, fn: (source: string, time: string, ...rest: unknown[]) => void): this;
  on(event: string, fn: (req: SrfRequest, res: SrfResponse) => void): this;
  invite(fn: (req: SrfRequest, res: SrfResponse) => void): void;
  message(fn: (req: SrfRequest, res: SrfResponse) => void): void;
  notify(fn: (req: SrfRequest, res: SrfResponse) => void): void;
  options(fn: (req: SrfRequest, res: SrfResponse) => void): void;
  request(uri: string, opts: { method: string; headers?: Record<string, string>; body?: string; proxy?: string; auth?: SrfUacOptions['auth'] }): Promise<SrfRequest>;
  createUAC(uri: string, opts: SrfUacOptions, callbacks: { cbRequest?: (err: Error | null, req: SrfRequest) => void; cbProvisional?: (res: SrfResponse) => void }): Promise<SrfDialog>;
  createUAS(req: SrfRequest, res: SrfResponse, opts: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialog>;
}

export const Srf = SrfModule as unknown as { new (): SrfConnection; parseUri(uri: string): { user?: string; host?: string; port?: string; params: Record<string, string | null> } | undefined };

/** "Name: value" lines (already checked by the plugin) to srf's header object; repeated names are joined. */
export function headerObject(lines: string[] | undefined, base: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...base };
  for (const line of lines ?? []) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    out[name] = out[name] !== undefined ? `${out[name]}, ${value}` : value;
  }
  return out;
}

function lowerHeaders(m: SrfMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) out[k.toLowerCase()] = String(v);
  return out;
}

export function responseInfo(res: SrfResponse): SipResponseInfo {
  return { code: res.status, reason: res.reason ?? '', headers: lowerHeaders(res) };
}

/** The name-addr's URI and display name ("Far Phone" <sip:far@host>;tag=x). */
export function nameAddr(value: string | undefined): { uri: string; displayName?: string } {
  const v = value ?? '';
  const angle = /<([^>]*)>/.exec(v);
  const uri = angle ? angle[1] : v.split(';')[0].trim();
  const dn = /^\s*"((?:[^"\\]|\\.)*)"/.exec(v)?.[1] ?? (angle ? v.slice(0, v.indexOf('<')).trim() : '');
  return { uri, ...(dn ? { displayName: dn } : {}) };
}

export function requestInfo(req: SrfRequest): IncomingRequestInfo {
  const from = nameAddr(req.get('from'));
  const ct = req.get('content-type');
  return {
    from: from.uri, ...(from.displayName ? { displayName: from.displayName } : {}), to: nameAddr(req.get('to')).uri,
    callId: req.get('call-id') ?? '', ...(ct ? { contentType: ct } : {}), body: req.body ?? '', headers: lowerHeaders(req),
  };
}

/**
 * Disconnect for good. Srf#disconnect throws when no connection is up (it asserts on the socket
 * before marking the wire protocol as closing), which leaves its reconnect timer running for ever;
 * so the wire protocol is marked closing and its retry timer cleared first.
 */
export function stopSrf(srf: SrfConnection): void {
  type Wire = { closing?: boolean; reconnectVars?: { retryTimer?: NodeJS.Timeout | null } };
  const wp = (srf as unknown as { app?: { client?: { wp?: Wire } } }).app?.client?.wp;
  if (wp) {
    wp.closing = true;
    if (wp.reconnectVars?.retryTimer) clearTimeout(wp.reconnectVars.retryTimer);
  }
  try {
    srf.disconnect();
  } catch {
    // was not connected
  }
}
