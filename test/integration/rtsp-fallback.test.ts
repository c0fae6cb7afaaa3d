/**
 * UDP that never arrives: a real GStreamer RTSP server accepts our UDP SETUP and PLAY, but its RTP
 * goes elsewhere, as behind a NAT or firewall that drops it. Done on loopback with an RTSP-aware
 * TCP relay between our client and the server that rewrites the `client_port` of a UDP SETUP to a
 * socket of the test's own (which counts what the server sends there). The ingest (RtspIngest, and
 * the Streaming plugin's rtsp mountpoint with its default transport) must notice the silence and
 * play again over TCP-interleaved, through the same relay.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { RtspIngest } from '../../src/interop/rtsp/ingest.ts';
import { startRtspServer, type TestRtspServer } from './rtsp-common.ts';
import { streamingServer, client, watch, until, h264Peer } from './streaming-common.ts';

interface Diverter {
  url: string;
  /** RTP/RTCP datagrams the server sent to the diverted UDP ports. */
  diverted: () => number;
  /** SETUP requests rewritten. */
  rewritten: () => number;
  close(): Promise<void>;
}

/** The relay: every client connection gets its own connection to the camera. */
async function diverter(camera: TestRtspServer): Promise<Diverter> {
  const sink = dgram.createSocket('udp4');
  let diverted = 0;
  sink.on('message', () => { diverted++; });
  await new Promise<void>((ok) => sink.bind(0, '127.0.0.1', ok));
  const sinkPort = sink.address().port;
  let rewritten = 0;
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((down) => {
    const up = net.connect(camera.port, '127.0.0.1');
    sockets.add(down).add(up);
    down.on('data', (chunk) => {
      // Only RTSP text carries client_port (interleaved frames start with '$' and are binary).
      if (chunk[0] !== 0x24) {
        const text = chunk.toString('latin1');
        const changed = text.replace(/client_port=\d+-\d+/g, () => `client_port=${sinkPort}-${sinkPort}`);
        if (changed !== text) {
          rewritten++;
          up.write(Buffer.from(changed, 'latin1'));
          return;
        }
      }
      up.write(chunk);
    });
    up.pipe(down);
    const end = (): void => { down.destroy(); up.destroy(); };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((ok) => relay.listen(0, '127.0.0.1', ok));
  const port = (relay.address() as net.AddressInfo).port;
  return {
    url: `rtsp://127.0.0.1:${port}/test`,
    diverted: () => diverted,
    rewritten: () => rewritten,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => relay.close(() => ok()));
      sink.close();
    },
  };
}

const camera = await startRtspServer({ protocols: 'both' });
const relays: Diverter[] = [];
after(async () => {
  for (const r of relays) await r.close();
  await camera.stop();
});

test('ingest: UDP accepted but silent -> TCP-interleaved through the same path', async () => {
  const relay = await diverter(camera);
  relays.push(relay);
  const playing: string[] = [];
  const failures: string[] = [];
  let n = 0;
  const ingest = new RtspIngest({
    url: relay.url, transport: 'udp', connectTimeoutMs: 5000, requestTimeoutMs: 10000, reconnectDelayMs: 200, silenceMs: 10000, udpFallbackMs: 1500, bindAddress: '127.0.0.1', portRange: [42000, 42999],
  }, {
    playing: (_sdp, t) => { playing.push(t); },
    rtp: () => { n++; },
    failed: (reason) => { failures.push(reason); },
  });
  try {
    ingest.want(true);
    await until(() => n > 20, 30000, 'media after the fallback');
    assert.deepEqual(playing, ['udp', 'tcp'], 'played over UDP first, then over TCP');
    assert.equal(ingest.transport, 'tcp');
    assert.ok(failures.some((f) => /no RTP over UDP/.test(f)), failures.join('; '));
    assert.ok(relay.rewritten() >= 1, 'the UDP SETUP went through the relay');
    assert.ok(relay.diverted() > 0, 'the server did send RTP over UDP, to the diverted port');
  } finally {
    ingest.close();
  }
});

test('Streaming rtsp mountpoint (default UDP): a viewer gets H.264 after the silent UDP fallback', async () => {
  const relay = await diverter(camera);
  relays.push(relay);
  const server = await streamingServer({ general: { rtp_port_range: '45000-45999', iface: '127.0.0.1' } });
  try {
    const admin = await client(server);
    const created = await admin.sync({ request: 'create', type: 'rtsp', id: 600, audio: true, video: true, url: relay.url });
    assert.equal(created.streaming, 'created', JSON.stringify(created));
    const w = await watch(server, 600, {}, undefined, h264Peer);
    await until(() => w.received.video.length > 10, 30000, 'video at the viewer');
    assert.ok(relay.diverted() > 0, 'the UDP attempt happened');
    const info = await admin.sync({ request: 'info', id: 600 });
    assert.equal(info.info.rtsp.transport, 'tcp', JSON.stringify(info.info.rtsp));
    assert.equal(info.info.rtsp.state, 'playing');
    await w.pc.close();
    await w.c.ws.close();
    await admin.sync({ request: 'destroy', id: 600 });
    await admin.ws.close();
  } finally {
    await server.close();
  }
});
