/**
 * Client side of bench/echo: runs in its own process (forked by run.ts), so the werift peers' CPU is
 * not charged to the orchestrator and can be reported on its own. Sets up `peers` EchoTest
 * PeerConnections on one server concurrently (one WebSocket each), then streams Opus and VP8 for
 * `seconds` and counts what comes back. The server's CPU is read here, at the exact edges of each
 * phase, from /proc/<serverPid>/stat. The result goes to the parent over IPC.
 *
 *   argv[2] = JSON ClientJob (see common.ts)
 */
import { RtpHeader, RtpPacket, type MediaStreamTrack, type RTCPeerConnection } from 'werift';
import { JanusWsClient, newTransaction } from '../../test/helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected } from '../../test/helpers/werift-peer.ts';
import { cpuMs, machineTicks } from '../stats.ts';
import type { ClientJob, ClientMessage, Counts, PhaseCpu } from './common.ts';

const ECHOTEST = 'janus.plugin.echotest';
const AUDIO_PT = 111;
const VIDEO_PT = 96;
const AUDIO_INTERVAL_MS = 20; // 50 packets/s
const VIDEO_INTERVAL_MS = 1000 / 30; // 30 frames/s
const AUDIO_PAYLOAD = 100;
const VIDEO_PAYLOAD = 1000;
const KEYFRAME_EVERY = 90; // frames (3 s)
const KEEPALIVE_MS = 20_000; // Janus' session_timeout is 60 s
const SETUP_ATTEMPTS = 3;

interface Peer {
  index: number;
  client: JanusWsClient;
  sid: number;
  hid: number;
  pc: RTCPeerConnection;
  audio: MediaStreamTrack;
  video: MediaStreamTrack;
  echoed: Counts;
  sent: Counts;
  audioSeq: number;
  videoSeq: number;
  frames: number;
  keepalive?: NodeJS.Timeout;
}

// Payloads, shared by every packet (werift encrypts into a new buffer; the payload is not mutated).
// Opus: TOC 0xfc = config 31 (CELT FB 20 ms), stereo, one frame; then filler.
const opusPayload = Buffer.alloc(AUDIO_PAYLOAD, 0x5a);
opusPayload[0] = 0xfc;
// VP8 (RFC 7741): 1-byte descriptor (S bit on the first packet of a frame), then on the first packet
// the VP8 frame tag (bit 0 = 0 for a key frame, with the 9d 01 2a start code and 640x480).
function vp8Payload(first: boolean, key: boolean): Buffer {
  const b = Buffer.alloc(VIDEO_PAYLOAD, 0x33);
  b[0] = first ? 0x10 : 0x00;
  if (first) {
    b[1] = key ? 0x10 : 0x11; // show_frame=1, version 0, key/inter
    b[2] = 0x02;
    b[3] = 0x00;
    if (key) {
      b.set([0x9d, 0x01, 0x2a], 4);
      b.writeUInt16LE(640, 7);
      b.writeUInt16LE(480, 9);
    }
  }
  return b;
}
const VP8_KEY_FIRST = vp8Payload(true, true);
const VP8_INTER_FIRST = vp8Payload(true, false);
const VP8_REST = vp8Payload(false, false);

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** One set-up attempt: create, attach, offer/answer, wait for ICE+DTLS and `webrtcup`. A `hangup`
 * from the server (e.g. "DTLS alert") fails the attempt at once rather than after the timeout. */
async function setupPeer(job: ClientJob, index: number): Promise<Peer> {
  const client = await JanusWsClient.connect(job.wsUrl);
  let pc: RTCPeerConnection | undefined;
  try {
    const sid = await client.createSession();
    const hid = await client.attach(sid, ECHOTEST);
    const peerPc = loopbackPeer();
    pc = peerPc;
    const echoed: Counts = { audio: 0, video: 0 };
    peerPc.onTrack.subscribe((track) => {
      const kind = track.kind === 'audio' ? 'audio' : 'video';
      track.onReceiveRtp.subscribe(() => {
        echoed[kind]++;
      });
    });
    const offer = await offerWith(peerPc, ['audio', 'video'], false);
    const transaction = newTransaction();
    const ack = await client.request(
      { janus: 'message', session_id: sid, handle_id: hid, transaction, body: { audio: true, video: true }, jsep: { type: 'offer', sdp: offer.sdp } },
      15_000,
    );
    if (ack.janus !== 'ack' && ack.janus !== 'success') throw new Error(`message got ${JSON.stringify(ack)}`);
    const ev = await client.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 15_000);
    const data = ev.plugindata?.data;
    if (data?.error || !ev.jsep) throw new Error(`EchoTest answered ${JSON.stringify(ev).slice(0, 500)}`);
    await peerPc.setRemoteDescription(ev.jsep);
    const hangup = client.waitFor((m) => m.janus === 'hangup' && m.sender === hid, 30_000).then(
      (m) => Promise.reject(new Error(`server hung up during set-up: ${m.reason}`)),
      () => new Promise<never>(() => {}),
    );
    await Promise.race([waitConnected(peerPc, 20_000), hangup]);
    await Promise.race([client.waitFor((m) => m.janus === 'webrtcup' && m.sender === hid, 10_000), hangup]);
    const [audio, video] = offer.tracks;
    const peer: Peer = {
      index, client, sid, hid, pc: peerPc, audio, video, echoed,
      sent: { audio: 0, video: 0 },
      audioSeq: (index * 7919) & 0xffff,
      videoSeq: (index * 104729) & 0xffff,
      frames: 0,
    };
    peer.keepalive = setInterval(() => client.send({ janus: 'keepalive', session_id: sid, transaction: newTransaction() }), KEEPALIVE_MS);
    client.clear();
    return peer;
  } catch (err) {
    await pc?.close().catch(() => {});
    await client.close();
    throw err;
  }
}

/** Set up one peer, retrying failed attempts (each on a fresh session); failures are counted. */
async function setupWithRetry(job: ClientJob, index: number, failures: string[]): Promise<Peer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await setupPeer(job, index);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      failures.push(`peer ${index} attempt ${attempt}: ${message}`);
      if (attempt >= SETUP_ATTEMPTS) throw new Error(`peer ${index}: ${SETUP_ATTEMPTS} set-up attempts failed; last: ${message}`);
    }
  }
}

function sendAudio(p: Peer, n: number): void {
  const seq = (p.audioSeq + n) & 0xffff;
  p.audio.writeRtp(new RtpPacket(new RtpHeader({ payloadType: AUDIO_PT, sequenceNumber: seq, timestamp: (n * 960) >>> 0, ssrc: 0, marker: false }), opusPayload));
  p.sent.audio++;
}

function sendVideoFrame(p: Peer, frame: number, packets: number): void {
  const ts = (frame * 3000) >>> 0;
  for (let k = 0; k < packets; k++) {
    const payload = k > 0 ? VP8_REST : frame % KEYFRAME_EVERY === 0 ? VP8_KEY_FIRST : VP8_INTER_FIRST;
    const seq = (p.videoSeq + frame * packets + k) & 0xffff;
    p.video.writeRtp(new RtpPacket(new RtpHeader({ payloadType: VIDEO_PT, sequenceNumber: seq, timestamp: ts, ssrc: 0, marker: k === packets - 1 }), payload));
    p.sent.video++;
  }
}

/** Paced sending for all peers from one timer: each peer's packets are due at fixed offsets (phases
 * spread across peers), and a late tick sends whatever fell due since the previous one. */
function stream(peers: Peer[], seconds: number, videoPackets: number): Promise<void> {
  const durationMs = seconds * 1000;
  const m = peers.length;
  const t0 = performance.now();
  return new Promise((done) => {
    const tick = () => {
      const t = Math.min(performance.now() - t0, durationMs);
      peers.forEach((p, i) => {
        const audioPhase = (AUDIO_INTERVAL_MS * i) / m;
        const videoPhase = (VIDEO_INTERVAL_MS * i) / m;
        while (p.sent.audio * AUDIO_INTERVAL_MS + audioPhase < t) sendAudio(p, p.sent.audio);
        while (p.frames * VIDEO_INTERVAL_MS + videoPhase < t) sendVideoFrame(p, p.frames++, videoPackets);
      });
      if (t >= durationMs) {
        clearInterval(timer);
        done();
      }
    };
    const timer = setInterval(tick, 4);
  });
}

function phase<T>(serverPid: number, body: () => Promise<T>): Promise<{ value: T; cpu: PhaseCpu }> {
  const s0 = cpuMs(serverPid);
  const c0 = process.cpuUsage();
  const m0 = machineTicks();
  const w0 = performance.now();
  const startUs = Number(process.hrtime.bigint() / 1000n);
  return body().then((value) => {
    const endUs = Number(process.hrtime.bigint() / 1000n);
    const wallMs = performance.now() - w0;
    const serverCpuMs = cpuMs(serverPid) - s0;
    const c = process.cpuUsage(c0);
    const m1 = machineTicks();
    const machineBusy = m1.total > m0.total ? (m1.busy - m0.busy) / (m1.total - m0.total) : 0;
    return { value, cpu: { serverCpuMs, clientCpuMs: (c.user + c.system) / 1000, machineBusy, wallMs, startUs, endUs } };
  });
}

async function teardown(peers: Peer[]): Promise<void> {
  await Promise.allSettled(
    peers.map(async (p) => {
      clearInterval(p.keepalive);
      await p.pc.close();
      try {
        await p.client.destroy(p.sid);
      } catch {
        // the session may already be gone
      }
      await p.client.close();
    }),
  );
}

async function main(): Promise<ClientMessage> {
  const job = JSON.parse(process.argv[2] ?? '') as ClientJob;
  let peers: Peer[] = [];
  const setupFailures: string[] = [];
  try {
    const setup = await phase(job.serverPid, async () => {
      const settled = await Promise.allSettled(Array.from({ length: job.peers }, (_, i) => setupWithRetry(job, i, setupFailures)));
      peers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
      if (failed.length > 0) throw new Error(`${failed.length} of ${job.peers} peers failed to set up: ${failed[0]}\n${setupFailures.join('\n')}`);
      // Let work queued behind the last webrtcup (first RTCP, REMB, PLI) finish inside the set-up window.
      await sleep(200);
    });
    const idle = await phase(job.serverPid, () => sleep(job.idleMs));
    const streamed = await phase(job.serverPid, async () => {
      await stream(peers, job.seconds, job.videoPackets);
      await sleep(job.drainMs);
    });
    const sent: Counts = { audio: 0, video: 0 };
    const echoed: Counts = { audio: 0, video: 0 };
    for (const p of peers) {
      sent.audio += p.sent.audio;
      sent.video += p.sent.video;
      echoed.audio += p.echoed.audio;
      echoed.video += p.echoed.video;
    }
    return { type: 'result', setupFailures, setup: setup.cpu, idle: idle.cpu, stream: { ...streamed.cpu, sent, echoed } };
  } finally {
    await teardown(peers);
  }
}

main()
  .catch((err: unknown): ClientMessage => ({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }))
  .then((msg) => {
    process.send?.(msg, () => process.exit(0));
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(msg)}\n`);
      process.exit(0);
    }
  });
