/**
 * The plugin contract: the Janus plugin API (plugin.h, API version 102) as TypeScript.
 * Plugins never see werift or transports; they get a PluginHandle per attached handle and a
 * GatewayFacade to talk back to the core.
 */
import type { PortunusConfig } from '../config/types.ts';

export interface Jsep {
  type: 'offer' | 'answer';
  sdp: string;
  trickle?: boolean;
  /** Extra JSEP attributes the client sent (rid_order, force_relay, e2ee, ...). */
  [key: string]: unknown;
}

/**
 * A light view of one RTP or RTCP packet crossing the plugin boundary (no copies). The object is
 * reused for the handle's next packet: read it during the call (or pass it to relayRtp/relayRtcp
 * there), and copy what you need to keep.
 */
export interface MediaPacket {
  /** The whole packet, decrypted. Valid only during the call; copy to keep it. */
  buffer: Buffer;
  /** Media line id the packet belongs to. */
  mid: string;
  /** true for video, false for audio. */
  video: boolean;
}

/** What the core knows of a handle, as a plugin sees it. */
export interface PluginHandle {
  readonly sessionId: number;
  readonly handleId: number;
  readonly opaqueId: string | undefined;
  /** Plugin-private state. */
  pluginState: unknown;
}

/** Result of handleMessage. Mirrors JANUS_PLUGIN_OK / OK_WAIT / ERROR. */
export type PluginResult =
  | { kind: 'ok'; data: Record<string, unknown> }
  | { kind: 'ack'; hint?: string }
  | { kind: 'error'; reason: string };

export interface PluginEventOptions {
  /** The transaction of the request this answers, if any. */
  transaction?: string;
  jsep?: Jsep;
}

/** What plugins may ask of the core (Janus' janus_callbacks). */
export interface GatewayFacade {
  /** Send an `event` with plugindata to the handle's client; resolves to 0 or a Janus error code. */
  pushEvent(handle: PluginHandle, data: Record<string, unknown>, options?: PluginEventOptions): number;
  relayRtp(handle: PluginHandle, packet: MediaPacket): void;
  relayRtcp(handle: PluginHandle, packet: MediaPacket): void;
  relayData(handle: PluginHandle, label: string, data: Buffer | string): void;
  sendPli(handle: PluginHandle): void;
  sendRemb(handle: PluginHandle, bitrate: number): void;
  /** Hang up the handle's PeerConnection (fires `hangup`). */
  closePc(handle: PluginHandle): void;
  /** Detach the handle (as if the client sent `detach`). */
  endSession(handle: PluginHandle): void;
  /** Send an event to event handlers (no-op when none are configured). */
  notifyEvent(handle: PluginHandle | undefined, event: Record<string, unknown>): void;
  /** Whether a token may use this plugin (for plugin-level ACLs). */
  isTokenValid(token: string): boolean;
  /** Whether signed tokens (token_auth_secret) are in use in the core (Janus' auth_is_signed). */
  authIsSigned?(): boolean;
  /**
   * Whether a valid signed token grants `<plugin>[<descriptor>]`, e.g. "janus.plugin.videoroom[room=1234]"
   * (Janus' auth_signature_contains); false when signed tokens are not in use.
   */
  authSignatureContains?(plugin: string, token: unknown, descriptor: string): boolean;
  log: { debug(msg: string, ...a: unknown[]): void; info(msg: string, ...a: unknown[]): void; warn(msg: string, ...a: unknown[]): void; error(msg: string, ...a: unknown[]): void };
}

export interface PluginInfo {
  /** Janus package name, e.g. "janus.plugin.echotest". */
  readonly package: string;
  readonly name: string;
  readonly description: string;
  readonly author: string;
  readonly version: number;
  readonly versionString: string;
}

export interface Plugin extends PluginInfo {
  init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): Promise<void> | void;
  destroy(): Promise<void> | void;
  createSession(handle: PluginHandle): void;
  handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<PluginResult> | PluginResult;
  /** Admin API `message_plugin`: synchronous requests only. */
  handleAdminMessage?(body: Record<string, unknown>): Promise<Record<string, unknown>> | Record<string, unknown>;
  setupMedia(handle: PluginHandle): void;
  incomingRtp?(handle: PluginHandle, packet: MediaPacket): void;
  incomingRtcp?(handle: PluginHandle, packet: MediaPacket): void;
  incomingData?(handle: PluginHandle, label: string, data: Buffer | string, binary: boolean): void;
  dataReady?(handle: PluginHandle): void;
  slowLink?(handle: PluginHandle, mid: string, video: boolean, uplink: boolean): void;
  hangupMedia(handle: PluginHandle): void;
  destroySession(handle: PluginHandle): void;
  querySession(handle: PluginHandle): Record<string, unknown>;
}

/** A module under src/plugins/<name>/index.ts default-exports a factory. */
export type PluginFactory = () => Plugin;
