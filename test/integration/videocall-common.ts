/**
 * Shared pieces of the VideoCall, TextRoom and Record&Play integration tests: a plugin handle over
 * WebSocket whose events can be awaited by transaction or by content, and werift peers on loopback
 * (no STUN: PITFALLS) that offer, or answer a server offer, and record what they receive.
 */
import assert from 'node:assert/strict';
import { MediaStreamTrack, RTCPeerConnection, type RTCDataChannel, type RtpPacket } from 'werift';
import { JanusWsClient, newTransaction, type JanusReply } from '../helpers/janus-client.ts';
import { loopbackPeer, noStun, waitGathered, waitConnected } from '../helpers/werift-peer.ts';
import { C, offerPeer, rtp, opusPayload } from './echotest-common.ts';

export class PluginHandleClient {
  constructor(readonly client: JanusWsClient, readonly sessionId: number, readonly handleId: number, readonly plugin: string) {}

  static async attach(wsUrl: string, plugin: string): Promise<PluginHandleClient> {
    const client = await JanusWsClient.connect(wsUrl);
    const sid = await client.createSession();
    const hid = await client.attach(sid, plugin);
    return new PluginHandleClient(client, sid, hid, plugin);
  }

  /** Send a message; resolves with the synchronous reply (`success`/`ack`/`error`). */
  async send(body: unknown, jsep?: Record<string, unknown>, transaction = newTransaction()): Promise<JanusReply> {
    return this.client.request({ janus: 'message', session_id: this.sessionId, handle_id: this.handleId, transaction, body, ...(jsep ? { jsep } : {}) }, 10000);
  }

  /** An asynchronous request: the ack, then the event with its transaction. */
  async request(body: unknown, jsep?: Record<string, unknown>): Promise<{ data: any; jsep: any; event: JanusReply }> {
    const transaction = newTransaction();
    const ack = await this.send(body, jsep, transaction);
    assert.equal(ack.janus, 'ack', JSON.stringify(ack));
    const event = await this.client.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 10000);
    return { data: event.plugindata?.data, jsep: event.jsep, event };
  }

  /** A synchronous request: the plugin data of the `success` reply. */
  async sync(body: unknown): Promise<any> {
    const reply = await this.send(body);
    assert.equal(reply.janus, 'success', JSON.stringify(reply));
    return reply.plugindata?.data;
  }

  /** The first plugin event (past or future) whose data matches. */
  async event(pred: (data: any, m: JanusReply) => boolean, timeoutMs = 10000): Promise<{ data: any; jsep: any }> {
    const m = await this.client.waitFor((x) => x.janus === 'event' && x.sender === this.handleId && pred(x.plugindata?.data, x), timeoutMs);
    return { data: m.plugindata?.data, jsep: m.jsep };
  }

  /** Plugin events sent without a transaction. */
  unsolicited(): any[] {
    return this.client.messages.filter((m) => m.janus === 'event' && m.sender === this.handleId && m.transaction === undefined).map((m) => m.plugindata?.data);
  }

  coreEvents(kind: string): JanusReply[] {
    return this.client.messages.filter((m) => m.janus === kind && m.sender === this.handleId);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** A werift peer and what it received: raw RTP per payload type, data-channel messages. */
export interface TestPeer {
  pc: RTCPeerConnection;
  sdp: string;
  rtp: RtpPacket[];
  messages: string[];
  channel?: RTCDataChannel;
}

function watch(peer: TestPeer): void {
  peer.pc.onDataChannel.subscribe((ch) => {
    peer.channel ??= ch;
    ch.onMessage.subscribe((m) => peer.messages.push(m.toString()));
  });
}

/** An offering peer with Opus and VP8 (and a data channel when asked), from echotest-common's offerPeer. */
export async function offeringPeer(data = false, kinds: Array<'audio' | 'video'> = ['audio', 'video']): Promise<TestPeer> {
  const p = await offerPeer({ ...(kinds.includes('audio') ? { audio: [C.OPUS] } : {}), ...(kinds.includes('video') ? { video: [C.VP8] } : {}), data });
  const peer: TestPeer = { pc: p.pc, sdp: p.sdp, rtp: [], messages: [], ...(p.channel ? { channel: p.channel } : {}) };
  p.channel?.onMessage.subscribe((m) => peer.messages.push(m.toString()));
  watch(peer);
  return peer;
}

/** A peer answering a server offer with every offered m-line sendrecv (Opus and VP8, or `codecs`). */
export async function answeringPeer(offer: { type: string; sdp: string }, codecs?: Parameters<typeof loopbackPeer>[0]): Promise<TestPeer> {
  const pc = loopbackPeer(codecs);
  const peer: TestPeer = { pc, sdp: '', rtp: [], messages: [] };
  watch(peer);
  await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
  for (const t of pc.getTransceivers()) {
    if (t.kind === 'audio' || t.kind === 'video') {
      t.setDirection('sendrecv');
      t.sender.replaceTrack(new MediaStreamTrack({ kind: t.kind }));
    }
  }
  const answer = await pc.createAnswer();
  noStun(pc);
  await pc.setLocalDescription(answer);
  // Capture from now on: a server that sends as soon as its DTLS is up (a playout) may get its
  // first packets here before this side has seen the connection state change.
  capture(peer);
  await waitGathered(pc);
  peer.sdp = pc.localDescription!.sdp;
  return peer;
}

const capturing = new WeakSet<TestPeer>();

/** Record every RTP packet the peer's transport receives (once per peer). */
function capture(peer: TestPeer): void {
  const t = peer.pc.dtlsTransports[0];
  if (!t || capturing.has(peer)) return;
  capturing.add(peer);
  t.onRtp.subscribe((p) => peer.rtp.push(p));
}

/** Once connected: record every RTP packet the peer's transport receives. */
export async function connected(peer: TestPeer): Promise<void> {
  await waitConnected(peer.pc, 15000);
  capture(peer);
}

/** Send `n` packets of a payload type with recognisable payloads; returns the payloads sent. */
const nextSeq = new Map<number, number>();

export async function sendPackets(peer: TestPeer, pt: number, n: number, ssrc: number, tag: string): Promise<Buffer[]> {
  const sent: Buffer[] = [];
  // Sequence numbers carry on per SSRC: SRTP's replay window drops repeated ones.
  const first = nextSeq.get(ssrc) ?? 1000;
  nextSeq.set(ssrc, first + n);
  const dtls = peer.pc.dtlsTransports[0];
  for (let i = 0; i < n; i++) {
    const payload = Buffer.concat([Buffer.from(tag), opusPayload(i)]);
    const p = rtp(pt, first + i, 960 * (first + i), ssrc, payload);
    await dtls.sendRtp(p.payload, p.header);
    sent.push(payload);
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
  }
  return sent;
}

/** Payloads received with a payload type that start with `tag`. */
export function received(peer: TestPeer, pt: number, tag: string): Buffer[] {
  return peer.rtp.filter((p) => p.header.payloadType === pt && p.payload.subarray(0, tag.length).toString() === tag).map((p) => p.payload);
}

export async function until(cond: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
