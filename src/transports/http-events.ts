/**
 * The HTTP transport's single TransportConnection: every session created over HTTP belongs to it.
 * Events are queued per session until a long poll (GET /janus/<session>) takes them; one poll waits
 * per session, and a newer poll replaces an older one (the older gets a keepalive, as Janus does when
 * a long poll is superseded).
 */
import type { Logger } from '../core/log.ts';
import type { JanusMessage, SessionOverReason, TransportConnection } from '../core/transport.ts';
import { nextConnectionId } from './connection-id.ts';

/** What a long poll answers: one event (maxev 1) or an array of up to maxev events. */
export type PollAnswer = JanusMessage | JanusMessage[];

interface Waiter {
  readonly maxev: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (answer: PollAnswer | undefined) => void;
}

interface SessionQueue {
  readonly events: JanusMessage[];
  waiter: Waiter | undefined;
  flushScheduled: boolean;
  /** Events dropped since the queue last drained (warn once per episode, not per event). */
  dropped: number;
}

export interface HttpEventsOptions {
  logger: Logger;
  /** Seconds an idle long poll is held before answering a keepalive. */
  longPollTimeout: number;
  /** Events kept per session while nobody polls; the oldest are dropped past this. */
  maxQueued?: number;
}

const KEEPALIVE: JanusMessage = Object.freeze({ janus: 'keepalive' }) as JanusMessage;

export class HttpEvents implements TransportConnection {
  readonly id = nextConnectionId();
  readonly transport = 'janus.transport.http';
  readonly remoteAddress = 'http';
  readonly kind = 'http' as const;

  readonly #queues = new Map<number, SessionQueue>();
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #maxQueued: number;

  constructor(opts: HttpEventsOptions) {
    this.#log = opts.logger;
    this.#timeoutMs = Math.max(0, opts.longPollTimeout) * 1000;
    this.#maxQueued = opts.maxQueued ?? 1000;
  }

  sendEvent(event: JanusMessage): void {
    const sid = event.session_id;
    if (typeof sid !== 'number') {
      this.#log.warn({ janus: event.janus }, 'HTTP transport: event without session_id dropped');
      return;
    }
    const q = this.#queue(sid);
    q.events.push(event);
    if (q.events.length > this.#maxQueued) {
      q.events.shift();
      if (q.dropped++ === 0) this.#log.warn({ session: sid, limit: this.#maxQueued }, 'HTTP transport: nobody polls this session, dropping its oldest events');
    }
    // Batch events pushed in the same tick into one answer when maxev > 1.
    if (q.waiter && !q.flushScheduled) {
      q.flushScheduled = true;
      setImmediate(() => {
        q.flushScheduled = false;
        this.#flush(sid, q);
      });
    }
  }

  sessionOver(sessionId: number, reason: SessionOverReason): void {
    const q = this.#queues.get(sessionId);
    if (!q) return;
    this.#queues.delete(sessionId);
    // Hand the last events (detached, timeout...) to a waiting poll rather than losing them.
    if (q.waiter) this.#answer(q, q.events.length > 0 ? this.#take(q) : undefined);
    this.#log.debug({ session: sessionId, reason }, 'HTTP transport: session queue dropped');
  }

  /**
   * Long poll: resolves with queued events, or waits for the next ones up to the timeout and then
   * resolves with a keepalive. Resolves `undefined` when the poll was cancelled (client went away).
   */
  poll(sessionId: number, maxev: number): { answer: Promise<PollAnswer | undefined>; cancel: () => void } {
    const q = this.#queue(sessionId);
    if (q.events.length > 0 && !q.waiter) {
      const ready = this.#takeAnswer(q, maxev);
      this.#dropIfIdle(sessionId, q);
      return { answer: Promise.resolve(ready), cancel: () => {} };
    }
    if (q.waiter) this.#answer(q, undefined);
    let resolve!: (a: PollAnswer | undefined) => void;
    const answer = new Promise<PollAnswer | undefined>((r) => (resolve = r));
    const timer = setTimeout(() => {
      if (q.waiter !== waiter) return;
      this.#answer(q, undefined);
      this.#dropIfIdle(sessionId, q);
    }, this.#timeoutMs);
    const waiter: Waiter = { maxev, timer, resolve };
    q.waiter = waiter;
    if (q.events.length > 0) {
      this.#answer(q, this.#take(q));
      this.#dropIfIdle(sessionId, q);
    }
    const cancel = () => {
      if (q.waiter !== waiter) return;
      clearTimeout(timer);
      q.waiter = undefined;
      resolve(undefined);
      this.#dropIfIdle(sessionId, q);
    };
    return { answer, cancel };
  }

  /** Answer every waiting poll with a keepalive (shutdown). */
  closeAll(): void {
    for (const q of this.#queues.values()) if (q.waiter) this.#answer(q, undefined);
    this.#queues.clear();
  }

  /** Number of sessions with a queue or a waiting poll (tests, metrics). */
  get queueCount(): number {
    return this.#queues.size;
  }

  #queue(sid: number): SessionQueue {
    let q = this.#queues.get(sid);
    if (!q) {
      q = { events: [], waiter: undefined, flushScheduled: false, dropped: 0 };
      this.#queues.set(sid, q);
    }
    return q;
  }

  #flush(sid: number, q: SessionQueue): void {
    if (q.waiter && q.events.length > 0) {
      this.#answer(q, this.#take(q));
      this.#dropIfIdle(sid, q);
    }
  }

  /** Events for the current waiter, shaped by its maxev. */
  #take(q: SessionQueue): PollAnswer {
    return this.#takeAnswer(q, q.waiter?.maxev ?? 1);
  }

  #takeAnswer(q: SessionQueue, maxev: number): PollAnswer {
    q.dropped = 0;
    if (maxev <= 1) return q.events.shift() as JanusMessage;
    return q.events.splice(0, maxev);
  }

  /** Resolve the waiter with events, or with a keepalive shaped by its maxev (an array when maxev > 1). */
  #answer(q: SessionQueue, events: PollAnswer | undefined): void {
    const w = q.waiter;
    if (!w) return;
    q.waiter = undefined;
    clearTimeout(w.timer);
    w.resolve(events ?? (w.maxev > 1 ? [KEEPALIVE] : KEEPALIVE));
  }

  /** Forget a queue nobody uses (a poll on a session this transport does not own must not leak). */
  #dropIfIdle(sid: number, q: SessionQueue): void {
    if (!q.waiter && q.events.length === 0 && this.#queues.get(sid) === q) this.#queues.delete(sid);
  }
}
