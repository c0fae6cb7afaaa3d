/**
 * Shared steps of the Record&Play tests: a werift recorder up on a server (record with its offer,
 * PeerConnection connected, webrtcup seen), Opus frames sent through werift's own sender (wrapped in
 * RED when RED was negotiated), and the stop that closes the recording.
 */
import { RtpHeader, RtpPacket } from 'werift';
import { waitConnected } from '../helpers/werift-peer.ts';
import { PluginHandleClient, sleep } from './videocall-common.ts';
import { offerPeer, opusPayload, type ClientPeer, type PeerSpec } from './echotest-common.ts';

export const RP = 'janus.plugin.recordplay';

export interface Recorder {
  h: PluginHandleClient;
  peer: ClientPeer;
  /** The record request's event: its data and the answer. */
  rec: { data: any; jsep: any };
}

/**
 * Attach (or use the handle given), offer `spec` with `record` (and extra JSEP fields), connect;
 * closers get what is to be closed.
 */
export async function startRecorder(server: string | PluginHandleClient, body: Record<string, unknown>, spec: PeerSpec, closers: Array<() => Promise<unknown>>, jsepExtra: Record<string, unknown> = {}): Promise<Recorder> {
  const h = typeof server === 'string' ? await PluginHandleClient.attach(server, RP) : server;
  closers.push(() => h.close());
  const peer = await offerPeer(spec);
  closers.push(() => peer.pc.close());
  const rec = await h.request({ request: 'record', ...body }, { type: 'offer', sdp: peer.sdp, ...jsepExtra });
  await peer.pc.setRemoteDescription(rec.jsep);
  await waitConnected(peer.pc, 20000);
  await h.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === h.handleId, 10000);
  return { h, peer, rec };
}

/** Opus frames `from`..`to`-1 through werift's sender (payload opusPayload(i)), `gapMs` apart. */
export async function sendOpus(peer: ClientPeer, from: number, to: number, gapMs = 20): Promise<void> {
  for (let i = from; i < to; i++) {
    peer.audio!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: 100 + i, timestamp: 960 * i, payloadType: 111 }), opusPayload(i)));
    await sleep(gapMs);
  }
}

/** `stop`, then the "done" and a moment for the files to be closed. */
export async function stopRecorder(h: PluginHandleClient): Promise<void> {
  await h.request({ request: 'stop' });
  await h.event((d) => d.result === 'done');
  await sleep(300);
}
