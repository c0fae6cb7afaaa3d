/**
 * Helpers for the Streaming plugin tests: Portunus on loopback with a streaming configuration, a
 * Janus client that sends streaming requests, and werift viewers that watch a mountpoint (server
 * offer, our answer, `start`) and collect the RTP they receive per kind.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient, type JanusReply } from '../helpers/janus-client.ts';
import { loopbackPeer, answerTo, waitConnected, OPUS } from '../helpers/werift-peer.ts';

export const PLUGIN = 'janus.plugin.streaming';

export async function streamingServer(pluginConfig: Record<string, unknown>): Promise<RunningServer> {
  return startServer(transportConfig((c) => {
    c.pluginConfigs = { ...c.pluginConfigs, [PLUGIN]: pluginConfig };
  }), { logger: silentLogger() });
}

export interface Client {
  ws: JanusWsClient;
  sid: number;
  hid: number;
  /** A synchronous request: the plugin's data. */
  sync(body: Record<string, unknown>): Promise<Record<string, any>>;
  /** An asynchronous request: its event (plugindata data and jsep). */
  async(body: Record<string, unknown>, jsep?: Record<string, unknown>): Promise<JanusReply>;
}

let tx = 0;

export async function client(server: RunningServer): Promise<Client> {
  const ws = await JanusWsClient.connect(`ws://127.0.0.1:${server.ports.ws}`);
  const sid = await ws.createSession();
  const hid = await ws.attach(sid, PLUGIN);
  return {
    ws, sid, hid,
    async sync(body) {
      const r = await ws.request({ janus: 'message', session_id: sid, handle_id: hid, body }, 15000);
      assert.equal(r.janus, 'success', JSON.stringify(r));
      return r.plugindata.data;
    },
    async async(body, jsep) {
      const transaction = `st${++tx}`;
      const ev = ws.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 20000);
      const ack = await ws.request({ janus: 'message', session_id: sid, handle_id: hid, transaction, body, ...(jsep ? { jsep } : {}) });
      assert.equal(ack.janus, 'ack', JSON.stringify(ack));
      return ev;
    },
  };
}

export interface Watching {
  c: Client;
  pc: RTCPeerConnection;
  offer: string;
  received: Record<string, RtpPacket[]>;
  /** Data channel messages. */
  messages: string[];
}

/** Watch a mountpoint with a werift viewer up to `started`. */
export async function watch(server: RunningServer, id: number | string, extra: Record<string, unknown> = {}, existing?: Client, peer: () => RTCPeerConnection = loopbackPeer): Promise<Watching> {
  const c = existing ?? await client(server);
  const ev = await c.async({ request: 'watch', id, ...extra });
  assert.deepEqual(ev.plugindata.data, { streaming: 'event', result: { status: 'preparing' } }, JSON.stringify(ev));
  assert.equal(ev.jsep.type, 'offer');
  const pc = peer();
  const received: Record<string, RtpPacket[]> = { audio: [], video: [] };
  const messages: string[] = [];
  pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => received[track.kind].push(p)));
  pc.onDataChannel.subscribe((ch) => ch.onMessage.subscribe((m) => messages.push(m.toString())));
  const answer = await answerTo(pc, ev.jsep);
  const started = c.ws.waitFor((m) => m.janus === 'event' && m.plugindata?.data?.result?.status === 'started', 20000);
  const st = await c.async({ request: 'start' }, { type: 'answer', sdp: answer });
  assert.deepEqual(st.plugindata.data, { streaming: 'event', result: { status: 'starting' } });
  await waitConnected(pc, 20000);
  await started;
  if (/m=application/.test(ev.jsep.sdp)) {
    // As janus.js does: the viewer opens the data channel the plugin then sends on.
    const ch = pc.createDataChannel('JanusDataChannel');
    ch.onMessage.subscribe((m) => messages.push(m.toString()));
    await until(() => ch.readyState === 'open', 10000, 'data channel open');
  }
  return { c, pc, offer: ev.jsep.sdp, received, messages };
}

export async function until(cond: () => boolean, ms = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A plain UDP sender of RTP to a mountpoint port on loopback (or a multicast group, in a test namespace). */
export class RtpSender {
  readonly sock = dgram.createSocket('udp4');
  seq = 1000;
  ts = 5000;
  constructor(readonly port: number, readonly pt: number, readonly ssrc: number, readonly host = '127.0.0.1') {}

  send(payload: Buffer, marker = false, tsStep = 3000): void {
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | this.pt;
    h.writeUInt16BE(this.seq, 2);
    h.writeUInt32BE(this.ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc, 8);
    this.seq = (this.seq + 1) & 0xffff;
    if (marker) this.ts += tsStep;
    this.sock.send(Buffer.concat([h, payload]), this.port, this.host);
  }

  close(): void {
    this.sock.close();
  }
}

/** A VP8 payload: descriptor S=1 PID=0, then a keyframe (P=0, start code) or an interframe. */
export function vp8Payload(key: boolean, tag: number, size = 60): Buffer {
  const p = Buffer.alloc(size, tag & 0xff);
  p[0] = 0x10;
  if (key) {
    p[1] = 0x00; // P=0: keyframe
    p[2] = 0x00;
    p[3] = 0x00;
    p[4] = 0x9d;
    p[5] = 0x01;
    p[6] = 0x2a;
  } else {
    p[1] = 0x01; // P=1: interframe
  }
  return p;
}

export const H264 = new RTCRtpCodecParameters({
  mimeType: 'video/H264', clockRate: 90000, payloadType: 96, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
});

/** A loopback werift viewer that takes Opus and H.264 (RTSP cameras). */
export function h264Peer(): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
    bundlePolicy: 'max-bundle', codecs: { audio: [OPUS], video: [H264] },
  });
}
