/** A plugin handle: the binding of a session to a plugin, and (later) its PeerEndpoint. */
import type { Plugin, PluginHandle } from './plugin.ts';
import type { Session } from './session.ts';
import type { HandleMedia } from './webrtc/handle-media.ts';

export class Handle implements PluginHandle {
  readonly handleId: number;
  readonly session: Session;
  readonly plugin: Plugin;
  readonly opaqueId: string | undefined;
  readonly created = Date.now();
  pluginState: unknown = undefined;
  destroyed = false;
  /** We sent an offer (plugin event with jsep offer) and wait for the client's answer. */
  awaitingAnswer = false;
  /** The client sent an offer we have not answered yet. */
  remoteOfferPending = false;
  /** Trickled candidates that arrived before any SDP, with their arrival time (candidates_timeout). */
  readonly remoteCandidates: Array<Record<string, unknown>> = [];
  readonly remoteCandidateTimes: number[] = [];
  trickleCompleted = false;
  /** The PeerEndpoint side of this handle, once SDP has been exchanged. */
  media: HandleMedia | undefined;
  /** Outgoing plugin events wait here while an SDP of ours is being prepared, to keep their order. */
  eventChain: Promise<void> = Promise.resolve();

  constructor(id: number, session: Session, plugin: Plugin, opaqueId: string | undefined) {
    this.handleId = id;
    this.session = session;
    this.plugin = plugin;
    this.opaqueId = opaqueId;
  }

  get sessionId(): number {
    return this.session.id;
  }
}
