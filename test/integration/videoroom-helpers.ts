/**
 * Helpers for the VideoRoom tests: a Portunus server, a Janus client per participant, werift
 * publishers that send tagged Opus/VP8 RTP and werift subscribers that count what they receive.
 */
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { PortunusConfig } from '../../src/config/types.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient, newTransaction, type JanusReply } from '../helpers/janus-client.ts';
import { answerTo, loopbackPeer, offerWith, rtpPacket, waitConnected } from '../helpers/werift-peer.ts';
import type { MediaStreamTrack, RTCPeerConnection, RtpPacket } from 'werift';

export const VR = 'janus.plugin.videoroom';

export async function startVideoRoomServer(mutate?: (c: PortunusConfig) => void): Promise<RunningServer> {
  return startServer(transportConfig(mutate), { logger: silentLogger() });
}

export async function until(cond: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One Janus session with one VideoRoom handle. */
export class Participant {
  private constructor(readonly client: JanusWsClient, readonly sid: number, readonly hid: number) {}

  static async attach(wsUrl: string): Promise<Participant> {
    const client = await JanusWsClient.connect(wsUrl);
    const sid = await client.createSession();
    const hid = await client.attach(sid, VR);
    return new Participant(client, sid, hid);
  }

  /** A synchronous request: the plugindata of the reply. */
  async sync(body: Record<string, unknown>): Promise<any> {
    const r = await this.client.request({ janus: 'message', session_id: this.sid, handle_id: this.hid, body });
    assert.equal(r.janus, 'success', JSON.stringify(r));
    return r.plugindata.data;
  }

  /** An asynchronous request: the event answering it (with its jsep, if any). */
  async async(body: Record<string, unknown>, jsep?: Record<string, unknown>, timeoutMs = 8000): Promise<JanusReply> {
    const transaction = newTransaction();
    const ev = this.client.waitFor((m) => m.janus === 'event' && m.transaction === transaction, timeoutMs);
    const ack = await this.client.request({ janus: 'message', session_id: this.sid, handle_id: this.hid, transaction, body, ...(jsep ? { jsep } : {}) });
    assert.equal(ack.janus, 'ack', JSON.stringify(ack));
    return ev;
  }

  /** Plugin events without a transaction (notifications), in arrival order. */
  notifications(pred: (d: any) => boolean = () => true): any[] {
    return this.client.messages.filter((m) => m.janus === 'event' && m.sender === this.hid && m.transaction === undefined).map((m) => m.plugindata.data).filter(pred);
  }

  async waitNotification(pred: (d: any) => boolean, ms = 8000): Promise<JanusReply> {
    return this.client.waitFor((m) => m.janus === 'event' && m.sender === this.hid && m.transaction === undefined && pred(m.plugindata?.data), ms);
  }

  close(): void {
    this.client.close();
  }
}

export interface Publishing {
  p: Participant;
  id: number;
  pc: RTCPeerConnection;
  tracks: MediaStreamTrack[];
  /** Send `n` tagged packets per track (audio PT 111, video PT 96), `gapMs` apart. */
  send(n: number, tag: string, gapMs?: number): Promise<void>;
  pli: number;
}

export async function publish(wsUrl: string, room: number, display: string, kinds: Array<'audio' | 'video'> = ['audio', 'video']): Promise<Publishing> {
  const p = await Participant.attach(wsUrl);
  const joined = await p.async({ request: 'join', room, ptype: 'publisher', display });
  assert.equal(joined.plugindata.data.videoroom, 'joined', JSON.stringify(joined.plugindata.data));
  const pc = loopbackPeer();
  const offer = await offerWith(pc, kinds, false);
  const conf = await p.async({ request: 'configure', audio: true, video: true }, { type: 'offer', sdp: offer.sdp });
  assert.equal(conf.plugindata.data.configured, 'ok', JSON.stringify(conf.plugindata.data));
  await pc.setRemoteDescription(conf.jsep);
  await waitConnected(pc);
  const pub: Publishing = {
    p, id: joined.plugindata.data.id, pc, tracks: offer.tracks, pli: 0,
    async send(n, tag, gapMs = 4) {
      for (let i = 0; i < n; i++) {
        seq++;
        offer.tracks.forEach((t, k) => t.writeRtp(rtpPacket(kinds[k] === 'audio' ? 111 : 96, (seq + k * 7000) & 0xffff, seq * 960, 1000 + k, `${tag}${kinds[k][0]}`, kinds[k] === 'video')));
        await sleep(gapMs);
      }
    },
  };
  let seq = 100;
  pc.getTransceivers().forEach((t) => t.sender.onRtcp.subscribe((r) => { if (r.type === 206) pub.pli++; }));
  return pub;
}

export interface Subscribing {
  p: Participant;
  pc: RTCPeerConnection;
  /** Received packets by subscriber mid. */
  received: Map<string, RtpPacket[]>;
  attached: any;
}

/** Join as a subscriber with the multistream API, answer, start, and wait for ICE/DTLS. */
export async function subscribe(wsUrl: string, room: number, streams: Array<Record<string, unknown>> | undefined, extra: Record<string, unknown> = {}): Promise<Subscribing> {
  const p = await Participant.attach(wsUrl);
  const ev = await p.async({ request: 'join', room, ptype: 'subscriber', ...(streams ? { streams } : {}), ...extra });
  const attached = ev.plugindata.data;
  assert.equal(attached.videoroom, 'attached', JSON.stringify(attached));
  assert.equal(ev.jsep?.type, 'offer');
  const pc = loopbackPeer();
  const received = new Map<string, RtpPacket[]>();
  pc.onTrack.subscribe((track) => {
    const tr = pc.getTransceivers().find((t) => t.receiver.track === track || t.receiver.tracks?.includes?.(track));
    const mid = tr?.mid ?? '?';
    track.onReceiveRtp.subscribe((pkt) => {
      const list = received.get(mid) ?? [];
      list.push(pkt);
      received.set(mid, list);
    });
  });
  const answer = await answerTo(pc, ev.jsep);
  const started = await p.async({ request: 'start' }, { type: 'answer', sdp: answer });
  assert.equal(started.plugindata.data.started, 'ok', JSON.stringify(started.plugindata.data));
  await waitConnected(pc);
  return { p, pc, received, attached };
}

export function count(s: Subscribing, mid: string, tag?: string): number {
  const list = s.received.get(mid) ?? [];
  return tag === undefined ? list.length : list.filter((x) => x.payload.subarray(0, tag.length).toString() === tag).length;
}
