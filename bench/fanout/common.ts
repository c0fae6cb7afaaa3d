/**
 * Messages between bench/fanout/run.ts (orchestrator and publisher) and bench/fanout/subscribers.ts
 * (a child process holding the werift subscribers).
 */
export interface SubscriberJob {
  wsUrl: string;
  room: number;
  feed: number;
  count: number;
}

export type SubscriberMessage =
  | { kind: 'ready'; connected: number; failed: number }
  | { kind: 'counts'; perSubscriber: number[]; bytes: number }
  | { kind: 'error'; message: string };

export type ParentMessage = { kind: 'reset' } | { kind: 'report' } | { kind: 'stop' };
