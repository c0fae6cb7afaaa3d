/**
 * Shared by bench/echo/run.ts (the orchestrator) and bench/echo/client.ts (the werift client process):
 * the messages the two exchange. CPU accounting from /proc is in bench/stats.ts.
 */

/** What the orchestrator asks one client process to do (passed as JSON in argv[2]). */
export interface ClientJob {
  wsUrl: string;
  /** The server under test, whose CPU the client reads at the edges of each phase. */
  serverPid: number;
  peers: number;
  seconds: number;
  /** VP8 packets per video frame (30 frames/s). */
  videoPackets: number;
  /** Milliseconds to wait after the last packet sent for echoes still in flight. */
  drainMs: number;
  /** Milliseconds with all peers connected and no media sent, measured between set-up and streaming. */
  idleMs: number;
}

export interface Counts {
  audio: number;
  video: number;
}

export interface PhaseCpu {
  /** Server CPU (utime+stime) over the phase, ms. */
  serverCpuMs: number;
  /** CPU of the client process over the phase, ms. */
  clientCpuMs: number;
  /** Machine-wide busy share over the phase, 0..1 of all cores. */
  machineBusy: number;
  wallMs: number;
  /** Phase edges on the monotonic clock (process.hrtime, microseconds): to cut a server CPU profile. */
  startUs: number;
  endUs: number;
}

export interface ClientResult {
  type: 'result';
  /** Set-up attempts that failed and were retried on a fresh session (inside the set-up window). */
  setupFailures: string[];
  setup: PhaseCpu;
  /** All peers connected, no media. */
  idle: PhaseCpu;
  stream: PhaseCpu & { sent: Counts; echoed: Counts };
}

export interface ClientFailure {
  type: 'error';
  message: string;
}

export type ClientMessage = ClientResult | ClientFailure;
