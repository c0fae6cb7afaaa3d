/** A Janus API session: owned by one transport connection at a time, holding handles. */
import type { TransportConnection } from './transport.ts';
import type { Handle } from './handle.ts';

export class Session {
  readonly id: number;
  readonly created = Date.now();
  readonly handles = new Map<number, Handle>();
  /** The connection events go to; undefined while waiting to be reclaimed. */
  owner: TransportConnection | undefined;
  /** Monotonic ms of the last request or long-poll. */
  lastActivity: number;
  /** When the owner went away (reclaim window starts here: the fixed 1.1.2 behaviour). */
  transportLostAt: number | undefined;
  /** Per-session session_timeout override from the Admin API (seconds, 0 = never). */
  timeoutOverride: number | undefined;
  destroyed = false;
  /** Token that authorised this session's creation, for plugin ACLs at attach. */
  token: string | undefined;

  constructor(id: number, owner: TransportConnection, now: number) {
    this.id = id;
    this.owner = owner;
    this.lastActivity = now;
  }
}
