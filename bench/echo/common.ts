/**
 * Shared by bench/echo/run.ts (the orchestrator) and bench/echo/client.ts (the werift client process):
 * CPU accounting from /proc and the messages the two exchange.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of a process (all its threads), in milliseconds; tick resolution (10 ms at 100 Hz). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Machine-wide CPU time from the first line of /proc/stat, in ticks: busy (not idle/iowait) and total. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user/nice)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4];
  return { busy: total - idle, total };
}

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
