/**
 * A mixer worker thread: owns a MixerCore and a TickClock. RTP arrives in the `in` ring, mixed
 * frames leave by the `out` ring; after each tick that produced audio it posts one small 'drain'
 * note so the main thread reads the ring. Commands and events go by postMessage. The clock runs
 * only while the core has work (MixerCore.active), so idle rooms cost no wake-ups on either thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MixerCore, type MixerCommand } from './mixer-core.ts';
import { loadOpusCodec } from './opus-codec.ts';
import { SpscRing } from './spsc-ring.ts';
import { TickClock } from './tick-clock.ts';

const port = parentPort!;
const data = workerData as { inRing: SharedArrayBuffer; outRing: SharedArrayBuffer; statsEveryTicks: number };
const input = new SpscRing(data.inRing);
const output = new SpscRing(data.outRing);
const DRAIN = { ev: 'drain' } as const;

let written = 0;
const core = new MixerCore(loadOpusCodec(), {
  audio: (id, payload, len, samples) => {
    written++;
    output.write(id, payload, 0, len, samples);
  },
  event: (e) => port.postMessage(e),
});

const pushIn = (id: number, buf: Buffer, off: number, len: number): void => core.pushRtp(id, buf, off, len);
let statsCountdown = data.statsEveryTicks;
const clock = new TickClock(() => {
  input.drain(pushIn);
  core.tick();
  if (written > 0) {
    written = 0;
    port.postMessage(DRAIN);
  }
  if (!core.active) clock.stop();
  if (--statsCountdown <= 0) {
    statsCountdown = data.statsEveryTicks;
    const s = clock.report();
    port.postMessage({ ev: 'stats', ...s, busyMs: core.busyMs, load: core.load, complexityCap: core.complexityCap, participants: core.participants, inOverflows: input.overflows, outOverflows: output.overflows });
  }
});

port.on('message', (m: MixerCommand | { op: 'stop' }) => {
  if (m.op === 'stop') {
    clock.stop();
    core.destroy();
    port.postMessage({ ev: 'stopped' });
    return;
  }
  core.command(m);
  if (core.active) clock.start();
});
port.postMessage({ ev: 'ready' });
