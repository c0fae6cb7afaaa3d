/**
 * The inside of streaming-multicast.test.ts, run by it in a network namespace it created (nothing
 * but `lo`, multicast enabled, 239.0.0.0/8 routed to it): Portunus with an RTP mountpoint whose
 * streams join multicast groups, a UDP sender to those groups and a werift viewer. Refuses to send
 * anything when it sees an interface other than loopback (not in the test's namespace). Prints one
 * JSON line with what the viewer received.
 */
import { networkInterfaces } from 'node:os';
import { streamingServer, client, watch, until, RtpSender, vp8Payload } from './streaming-common.ts';

const names = Object.keys(networkInterfaces());
if (names.some((n) => n !== 'lo')) {
  process.stdout.write(`${JSON.stringify({ error: `not in the test's namespace: interfaces ${names.join(',')}` })}\n`);
  process.exit(2);
}

const AUDIO_GROUP = '239.77.1.1';
const VIDEO_GROUP = '239.77.1.2';

const server = await streamingServer({ general: { rtp_port_range: '46000-46999' } });
const admin = await client(server);
const created = await admin.sync({
  request: 'create', type: 'rtp', id: 700, media: [
    { type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus', mcast: AUDIO_GROUP, iface: '127.0.0.1' },
    { type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', mcast: VIDEO_GROUP, iface: '127.0.0.1' },
  ],
});
if (created.streaming !== 'created') throw new Error(JSON.stringify(created));
const [audioPort, videoPort] = (created.stream.ports as Array<{ port: number }>).map((p) => p.port);
const info = await admin.sync({ request: 'info', id: 700 });

const w = await watch(server, 700);
// Senders to the groups, leaving by lo.
const audio = new RtpSender(audioPort, 111, 0x1234, AUDIO_GROUP);
const video = new RtpSender(videoPort, 100, 0x5678, VIDEO_GROUP);
for (const s of [audio, video]) {
  await new Promise<void>((ok) => s.sock.bind(0, '127.0.0.1', ok));
  s.sock.setMulticastInterface('127.0.0.1');
  s.sock.setMulticastLoopback(true);
}
const opus = Buffer.from('fc' + '5a'.repeat(60), 'hex');
let frame = 0;
const timer = setInterval(() => {
  audio.send(opus);
  video.send(vp8Payload(frame % 10 === 0, frame & 0xff, 200), true);
  frame++;
}, 20);
let ok = true;
try {
  await until(() => w.received.audio.length >= 20 && w.received.video.length >= 20, 15000, 'multicast media at the viewer');
} catch {
  ok = false;
}
clearInterval(timer);
const result = {
  ok,
  mcastInfo: (info.info.media as Array<{ mcast?: string }>).map((m) => m.mcast ?? null),
  audio: w.received.audio.length,
  video: w.received.video.length,
  audioPayloadsMatch: w.received.audio.every((p) => p.payload.equals(opus)),
  firstVideoKey: w.received.video.length > 0 && (w.received.video[0].payload[1] & 0x01) === 0,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await w.pc.close();
await w.c.ws.close();
await admin.ws.close();
audio.close();
video.close();
await server.close();
process.exit(0);
