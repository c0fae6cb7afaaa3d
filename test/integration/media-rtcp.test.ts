/**
 * The RTCP the media core owns, with real werift client peers on loopback through EchoTest:
 * receiver and sender reports reaching the client, NACKs answered from the retransmission buffer
 * (and not past min_nack_queue), our own NACKs for gaps in VP8, slowlink, no_media_timer, SRTP
 * replays dropped, and a fuzzed ICE port that keeps echoing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Message, methods, classes, type RtpPacket, type RtcpPacket } from 'werift';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { writeNack } from '../../src/media/rtcp-build.ts';
import type { MediaPacket, Plugin, PluginHandle } from '../../src/core/plugin.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient } from '../helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected, rtpPacket } from '../helpers/werift-peer.ts';
import { prng, fuzzSeed } from '../helpers/prng.ts';

const server = await startServer(transportConfig(), { logger: silentLogger() });
after(() => server.close());
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
const media = server.gateway.config.media;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await sleep(20);
  }
}

/** An EchoTest PeerConnection from a werift client; echoed packets are collected per kind. */
async function echoSession(kinds: Array<'audio' | 'video'>) {
  const client = await JanusWsClient.connect(wsUrl);
  const sid = await client.createSession();
  const hid = await client.attach(sid, 'janus.plugin.echotest');
  const pc = loopbackPeer();
  const received: Record<string, RtpPacket[]> = { audio: [], video: [] };
  pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => received[track.kind].push(p)));
  const rtcp: RtcpPacket[] = [];
  const offer = await offerWith(pc, kinds, false);
  const tx = `rtcp-${Math.random()}`;
  await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: tx, body: { audio: true, video: true }, jsep: { type: 'offer', sdp: offer.sdp } });
  const ev = await client.waitFor((m) => m.janus === 'event' && m.transaction === tx);
  await pc.setRemoteDescription(ev.jsep);
  await waitConnected(pc);
  pc.dtlsTransports[0].onRtcp.subscribe((p) => rtcp.push(p));
  await client.waitFor((m) => m.janus === 'webrtcup' && m.sender === hid);
  const answer = ev.jsep.sdp as string;
  const handle = server.gateway.sessions.get(sid)!.handles.get(hid)!;
  const close = async () => {
    await pc.close();
    await client.close();
  };
  return { client, sid, hid, pc, received, rtcp, tracks: offer.tracks, answer, handle, close };
}

/** Our SSRC for a kind, from the answer's a=ssrc lines. */
function serverSsrc(answer: string, kind: 'audio' | 'video'): number {
  const section = answer.split(/\r\n(?=m=)/).find((s) => s.startsWith(`m=${kind}`))!;
  return Number(/a=ssrc:(\d+) cname:/.exec(section)![1]);
}

function midOf(answer: string, kind: 'audio' | 'video'): string {
  const section = answer.split(/\r\n(?=m=)/).find((s) => s.startsWith(`m=${kind}`))!;
  return /a=mid:(\S+)/.exec(section)![1];
}

interface Block { ssrc: number; fractionLost: number; packetsLost: number; highestSequence: number; jitter: number; lsr: number; dlsr: number }
type Report = { type: number; ssrc: number; reports: Block[]; senderInfo?: { packetCount: number; octetCount: number; rtpTimestamp: number; ntpTimestamp: bigint } };

/** Send raw RTCP from the client (werift serializes whatever has serialize()). */
function sendRawRtcp(pc: ReturnType<typeof loopbackPeer>, packet: Buffer): Promise<unknown> {
  return pc.dtlsTransports[0].sendRtcp([{ serialize: () => packet } as unknown as RtcpPacket]);
}

/** Record the RTCP the EchoTest plugin is handed, for the duration of `fn`. */
async function watchPluginRtcp<T>(handle: PluginHandle & { plugin: Plugin }, fn: (seen: Buffer[]) => Promise<T>): Promise<T> {
  const plugin = handle.plugin;
  const original = plugin.incomingRtcp;
  const seen: Buffer[] = [];
  plugin.incomingRtcp = function (this: Plugin, h: PluginHandle, p: MediaPacket) {
    if (h === handle) seen.push(Buffer.from(p.buffer));
    return original?.call(this, h, p);
  };
  try {
    return await fn(seen);
  } finally {
    plugin.incomingRtcp = original;
  }
}

test('receiver reports with our loss figures and sender reports for what we echo reach the client', async () => {
  const s = await echoSession(['audio', 'video']);
  try {
    const video = s.tracks[1];
    const sender = s.pc.getTransceivers()[1].sender;
    const skipped = new Set([7, 8, 33, 61]);
    let sent = 0;
    for (let i = 0; i < 80; i++) {
      if (skipped.has(i)) continue;
      video.writeRtp(rtpPacket(96, 500 + i, 3000 * i, 1, 'vp8'));
      sent++;
      await sleep(5);
    }
    const clientSsrc = sender.ssrc;
    const lastSeq = (sender as unknown as { sequenceNumber: number }).sequenceNumber;
    // A report block about the client's video, after the last packet: loss and highest seq exact.
    let block: Block | undefined;
    await until(() => {
      for (const p of s.rtcp as unknown as Report[]) {
        if (p.type !== 200 && p.type !== 201) continue;
        const b = p.reports.find((r) => r.ssrc === clientSsrc && (r.highestSequence & 0xffff) === lastSeq);
        if (b) block = b;
      }
      return block !== undefined;
    }, 5000, 'a report block about the client video');
    assert.equal(block!.packetsLost, skipped.size, JSON.stringify(block));
    assert.ok(block!.jitter >= 0 && block!.jitter < 90000, `jitter ${block!.jitter}`);
    // Some report in the run saw loss in its interval.
    const fractions = (s.rtcp as unknown as Report[]).filter((p) => p.type === 200 || p.type === 201).flatMap((p) => p.reports).filter((r) => r.ssrc === clientSsrc).map((r) => r.fractionLost);
    assert.ok(fractions.some((f) => f > 0), `fraction lost ${fractions.join(',')}`);

    // We echo, so we are a sender on the video SSRC: SRs with counts and a current NTP time.
    const ours = serverSsrc(s.answer, 'video');
    let sr: Report | undefined;
    await until(() => {
      sr = (s.rtcp as unknown as Report[]).find((p) => p.type === 200 && p.ssrc === ours && p.senderInfo!.packetCount >= sent);
      return sr !== undefined;
    }, 5000, 'an SR for our video SSRC');
    assert.ok(sr!.senderInfo!.octetCount >= sent * 40, `octets ${sr!.senderInfo!.octetCount}`);
    const ntpMs = Number(sr!.senderInfo!.ntpTimestamp >> 32n) * 1000 - 2208988800000;
    assert.ok(Math.abs(ntpMs - Date.now()) < 5000, `NTP time ${new Date(ntpMs).toISOString()}`);
    // Each compound carries our CNAME (RFC 3550 s6.1).
    assert.ok(s.rtcp.some((p) => p.type === 202), 'an SDES packet');
    // The server's view agrees.
    const snap = s.handle.media!.rtcp.snapshot() as { media: Record<string, { received: Array<{ ssrc: number; lost: number }> }> };
    const rx = snap.media[midOf(s.answer, 'video')].received.find((r) => r.ssrc === clientSsrc)!;
    assert.equal(rx.lost, skipped.size);
  } finally {
    await s.close();
  }
});

test('a NACK from the client is answered from the retransmission buffer, not passed to the plugin, and not past min_nack_queue', async () => {
  const s = await echoSession(['video']);
  try {
    const video = s.tracks[0];
    const sender = s.pc.getTransceivers()[0].sender;
    const send = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        video.writeRtp(rtpPacket(96, i, 3000 * i, 1, 'vp8'));
        await sleep(3);
      }
    };
    await send(100, 20);
    await until(() => s.received.video.length >= 20, 5000, 'first batch echoed');
    await sleep(700);
    const oldBatch = s.received.video.slice(0, 20);
    await send(200, 20);
    await until(() => s.received.video.length >= 40, 5000, 'second batch echoed');
    const newBatch = s.received.video.slice(20, 40);
    const ours = newBatch[0].header.ssrc;
    assert.equal(ours, serverSsrc(s.answer, 'video'));
    const wanted = [newBatch[3], newBatch[4], newBatch[15]].map((p) => p.header.sequenceNumber);
    const tooOld = [oldBatch[2], oldBatch[10]].map((p) => p.header.sequenceNumber);
    const snapBefore = s.handle.media!.rtcp.snapshot() as any;
    const line = snapBefore.media[midOf(s.answer, 'video')];
    assert.ok(line.nack_buffer.keep_ms < 600, `keep time ${line.nack_buffer.keep_ms} ms`);

    await watchPluginRtcp(s.handle as any, async (seen) => {
      const nack = Buffer.alloc(64);
      const n = writeNack(nack, 0, sender.ssrc, ours, [...tooOld, ...wanted]);
      const count = s.received.video.length;
      await sendRawRtcp(s.pc, nack.subarray(0, n));
      await until(() => s.received.video.length >= count + wanted.length, 3000, 'retransmissions');
      await sleep(300);
      const again = s.received.video.slice(count);
      assert.deepEqual(again.map((p) => p.header.sequenceNumber).sort(), [...wanted].sort(), 'only the packets still in the buffer come back');
      for (const p of again) {
        const original = newBatch.find((o) => o.header.sequenceNumber === p.header.sequenceNumber)!;
        assert.equal(p.header.ssrc, ours);
        assert.equal(p.header.timestamp, original.header.timestamp);
        assert.ok(p.payload.equals(original.payload), 'same payload');
      }
      // The core handled the NACK: the plugin never saw an RTPFB FMT 1.
      assert.ok(!seen.some((b) => b[1] === 205 && (b[0] & 0x1f) === 1), 'a NACK reached the plugin');
    });
    const snap = s.handle.media!.rtcp.snapshot() as any;
    const nb = snap.media[midOf(s.answer, 'video')].nack_buffer;
    assert.equal(nb.resent - line.nack_buffer.resent, wanted.length);
    assert.ok(nb.missed - line.nack_buffer.missed >= tooOld.length);
    assert.equal(snap.media[midOf(s.answer, 'video')].sent.retransmitted, wanted.length);
  } finally {
    await s.close();
  }
});

test('the server NACKs gaps in VP8 (nack negotiated), a bounded number of times, and not for Opus', async () => {
  const s = await echoSession(['audio', 'video']);
  try {
    const [audio, video] = s.tracks;
    const vSender = s.pc.getTransceivers()[1].sender;
    const aSender = s.pc.getTransceivers()[0].sender;
    const skipped = [10, 11, 30];
    for (let i = 0; i < 60; i++) {
      if (!skipped.includes(i)) video.writeRtp(rtpPacket(96, i, 3000 * i, 1, 'vp8'));
      if (i !== 20) audio.writeRtp(rtpPacket(111, i, 960 * i, 1, 'opus'));
      await sleep(5);
    }
    const offset = ((vSender as unknown as { sequenceNumber: number }).sequenceNumber - 59) & 0xffff;
    const expected = skipped.map((i) => (i + offset) & 0xffff);
    const nacked = () => s.rtcp
      .filter((p) => p.type === 205 && (p as any).feedback?.count === 1)
      .map((p) => (p as any).feedback as { mediaSourceSsrc: number; lost: number[] });
    await until(() => expected.every((seq) => nacked().some((n) => n.mediaSourceSsrc === vSender.ssrc && n.lost.includes(seq))), 5000, 'NACKs for the skipped VP8 packets');
    // Retries are bounded: wait past them and count.
    await sleep(1500);
    for (const seq of expected) {
      const times = nacked().filter((n) => n.mediaSourceSsrc === vSender.ssrc && n.lost.includes(seq)).length;
      assert.ok(times >= 1 && times <= 3, `seq ${seq} NACKed ${times} times`);
    }
    assert.ok(!nacked().some((n) => !expected.includes(n.lost[0]) && n.mediaSourceSsrc === vSender.ssrc), 'only skipped packets are NACKed');
    assert.ok(!nacked().some((n) => n.mediaSourceSsrc === aSender.ssrc), 'Opus negotiated no nack');
  } finally {
    await s.close();
  }
});

test('slowlink fires for losses above slowlink_threshold, and never when it is 0', async () => {
  const lossy = async (threshold: number) => {
    media.slowlink_threshold = threshold;
    const s = await echoSession(['video']);
    try {
      const video = s.tracks[0];
      const end = Date.now() + 3000;
      for (let i = 0; Date.now() < end; i++) {
        // Every other packet "lost" on the way: about 40 lost per second.
        video.writeRtp(rtpPacket(96, 2 * i, 3000 * i, 1, 'vp8'));
        await sleep(12);
      }
      await sleep(1200);
      return { events: s.client.messages.filter((m) => m.janus === 'slowlink' && m.sender === s.hid), s };
    } finally {
      await s.close();
      media.slowlink_threshold = 0;
    }
  };
  const on = await lossy(5);
  const up = on.events.find((e) => e.uplink === true);
  assert.ok(up, `no uplink slowlink: ${JSON.stringify(on.events)}`);
  assert.equal(up.session_id, on.s.sid);
  assert.equal(up.mid, midOf(on.s.answer, 'video'));
  assert.equal(up.media, 'video');
  assert.ok(up.lost >= 5, `lost ${up.lost}`);
  assert.deepEqual(Object.keys(up).sort(), ['janus', 'lost', 'media', 'mid', 'sender', 'session_id', 'uplink'].sort());
  // At most one per direction every few seconds.
  assert.ok(on.events.filter((e) => e.uplink === true).length <= 2, JSON.stringify(on.events));
  const off = await lossy(0);
  assert.deepEqual(off.events, []);
});

test('no_media_timer: media receiving:false about a second after the client stops, receiving:true when it resumes', async () => {
  assert.equal(media.no_media_timer, 1);
  const s = await echoSession(['audio']);
  try {
    const audio = s.tracks[0];
    const burst = async (from: number) => {
      for (let i = from; i < from + 15; i++) {
        audio.writeRtp(rtpPacket(111, i, 960 * i, 1, 'opus'));
        await sleep(20);
      }
    };
    await burst(0);
    await s.client.waitFor((m) => m.janus === 'media' && m.sender === s.hid && m.receiving === true);
    const stopped = Date.now();
    const off = await s.client.waitFor((m) => m.janus === 'media' && m.sender === s.hid && m.receiving === false, 4000);
    const elapsed = Date.now() - stopped;
    assert.ok(elapsed >= 900 && elapsed < 2500, `receiving:false after ${elapsed} ms`);
    assert.equal(off.type, 'audio');
    assert.equal(off.mid, midOf(s.answer, 'audio'));
    const index = s.client.messages.indexOf(off);
    await burst(100);
    await s.client.waitFor((m) => m.janus === 'media' && m.sender === s.hid && m.receiving === true && s.client.messages.indexOf(m) > index, 3000);
  } finally {
    await s.close();
  }
});

test('a replayed SRTP packet is dropped and counted, and reaches the plugin once', async () => {
  const s = await echoSession(['audio']);
  try {
    const conn = s.pc.iceTransports[0].connection as unknown as { send(b: Buffer): Promise<void> };
    const sentRtp: Buffer[] = [];
    const send = conn.send.bind(conn);
    conn.send = (b: Buffer) => {
      // SRTP (RFC 7983: first byte 128-191; RTCP packet types 192-223 excluded)
      if (b[0] >= 128 && b[0] <= 191 && !(b[1] >= 192 && b[1] <= 223)) sentRtp.push(Buffer.from(b));
      return send(b);
    };
    const audio = s.tracks[0];
    for (let i = 0; i < 10; i++) {
      audio.writeRtp(rtpPacket(111, 40 + i, 960 * i, 1, 'opus'));
      await sleep(10);
    }
    await until(() => s.received.audio.length >= 10, 5000, 'echo');
    const endpoint = s.handle.media!.endpoint;
    const replayedBefore = endpoint.srtpStats!.replayed;
    const rtpInBefore = endpoint.stats.rtpIn;
    const captured = sentRtp[4];
    await send(Buffer.from(captured));
    await send(Buffer.from(captured));
    await sleep(400);
    assert.equal(endpoint.srtpStats!.replayed - replayedBefore, 2);
    assert.equal(endpoint.stats.rtpIn, rtpInBefore);
    assert.equal(s.received.audio.length, 10, 'the plugin echoed the packet once');
  } finally {
    await s.close();
  }
});

/** A datagram meant to look like something the demultiplexer handles (RFC 7983), or nothing at all. */
function garbage(rnd: () => number, ssrc: number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const kind = int(7);
  let b: Buffer;
  switch (kind) {
    case 0: // random bytes
      return bytes(1 + int(1400));
    case 1: { // DTLS record: content type 20-23, version DTLS 1.2/1.0, epoch, seq, length, body
      const body = bytes(int(300));
      b = Buffer.concat([Buffer.from([20 + int(4), 0xfe, int(2) ? 0xfd : 0xff, 0, int(3)]), bytes(6), Buffer.from([body.length >> 8, body.length & 0xff]), body]);
      if (int(2)) b[11 + int(2)] = int(256); // length lies
      return int(3) === 0 ? b.subarray(0, int(b.length)) : b;
    }
    case 2: { // DTLS handshake: ClientHello-ish, truncated or mutated
      b = Buffer.concat([Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, int(4)]), Buffer.from([0, 60, 1, 0, 0, 48, 0, 0, 0, 0, 0, 0, 0, 48, 0xfe, 0xfd]), bytes(44)]);
      b[int(b.length)] = int(256);
      return b.subarray(0, 1 + int(b.length));
    }
    case 3: { // STUN: binding request with magic cookie and junk attributes
      const attrs = bytes(int(20) * 4);
      b = Buffer.concat([Buffer.from([0, int(2) ? 1 : int(256), attrs.length >> 8, attrs.length & 0xff, 0x21, 0x12, 0xa4, 0x42]), bytes(12), attrs]);
      if (int(2)) b[2 + int(2)] = int(256);
      return b;
    }
    case 4: { // RTP with the client's SSRC and a forged tag
      b = Buffer.concat([Buffer.from([0x80 | int(32), int(2) ? 111 : int(128)]), bytes(6), Buffer.alloc(4), bytes(int(200))]);
      b.writeUInt32BE(ssrc, 8);
      return b;
    }
    case 5: { // RTCP: SR/RR/SDES/RTPFB/PSFB headers over junk
      b = Buffer.concat([Buffer.from([0x80 | int(32), 200 + int(8)]), bytes(2 + int(120))]);
      return b;
    }
    default: // STUN-like short headers and empty-ish datagrams
      return bytes(int(24));
  }
}

test('fuzzing the ICE port with random and mutated datagrams: the server keeps running and the echo keeps flowing', { timeout: 60000 }, async () => {
  const seed = fuzzSeed();
  const rnd = prng(seed);
  const s = await echoSession(['audio']);
  const sock = createSocket('udp4');
  try {
    const cand = /a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(s.answer);
    assert.ok(cand, 'a loopback host candidate in the answer');
    const port = Number(cand[1]);
    await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', () => ok()));
    const clientSsrc = s.pc.getTransceivers()[0].sender.ssrc;
    // Half the garbage from a stranger's socket, half from the client's own address (through its
    // ICE connection), so the demultiplexer behind the source check gets it too.
    const fromPeer = s.pc.iceTransports[0].connection as unknown as { send(b: Buffer): Promise<void> };
    const audio = s.tracks[0];
    let sent = 0;
    let fuzzed = 0;
    const end = Date.now() + 3000;
    const fuzz = (async () => {
      while (Date.now() < end) {
        for (let i = 0; i < 20; i++) {
          const g = garbage(rnd, clientSsrc);
          if (i % 2 === 0) sock.send(g, port, '127.0.0.1');
          else if (g.length > 0) void fromPeer.send(g).catch(() => {});
          fuzzed++;
        }
        await sleep(2);
      }
    })();
    while (Date.now() < end) {
      audio.writeRtp(rtpPacket(111, 1000 + sent, 960 * sent, 1, 'opus'));
      sent++;
      await sleep(20);
    }
    await fuzz;
    await until(() => s.received.audio.length >= sent * 0.9, 5000, `echo of ${sent} packets (got ${s.received.audio.length}, seed ${seed})`);
    // Still alive and connected: the API answers, no hangup, a new packet still comes back.
    assert.equal((await s.client.request({ janus: 'ping' })).janus, 'pong');
    const n = s.received.audio.length;
    audio.writeRtp(rtpPacket(111, 1000 + sent, 960 * sent, 1, 'opus'));
    await until(() => s.received.audio.length > n, 3000, 'echo after the fuzzing');
    assert.ok(!s.client.messages.some((m) => m.janus === 'hangup'), `hung up (seed ${seed})`);
    assert.ok(fuzzed > 1000, `only ${fuzzed} datagrams`);
    const endpoint = s.handle.media!.endpoint;
    const srtp = endpoint.srtpStats!;
    assert.ok(srtp.authFailed + srtp.malformed > 0, `forged SRTP/SRTCP refused: ${JSON.stringify(srtp)}`);
    assert.ok(endpoint.guardStats.unknownSource > 0, 'datagrams from a stranger refused');
    assert.ok(endpoint.guardStats.stunRejected > 0, 'unauthenticated STUN requests refused');
    assert.ok(endpoint.guardStats.dtlsRejected > 0, 'forged DTLS records refused');
  } finally {
    sock.close();
    await s.close();
  }
});

test('the ICE port answers Binding requests only with our short-term credentials (RFC 8445 s7.3)', async () => {
  const s = await echoSession(['audio']);
  const sock = createSocket('udp4');
  try {
    const port = Number(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(s.answer)![1]);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(s.answer)![1];
    const pwd = /a=ice-pwd:(\S+)/.exec(s.answer)![1];
    await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', () => ok()));
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    const request = (key: string | undefined) => {
      const m = new Message(methods.BINDING, classes.REQUEST)
        .setAttribute('USERNAME', `${ufrag}:intruder`)
        .setAttribute('PRIORITY', 1853824767)
        .setAttribute('ICE-CONTROLLING', 1n)
        .setAttribute('USE-CANDIDATE', null);
      if (key !== undefined) m.addMessageIntegrity(Buffer.from(key, 'utf8'));
      return m.addFingerprint().bytes;
    };
    const guard = s.handle.media!.endpoint.guardStats;
    const before = guard.stunRejected;
    sock.send(request(undefined), port, '127.0.0.1');
    sock.send(request('not-the-password-at-all'), port, '127.0.0.1');
    await sleep(300);
    assert.equal(replies.length, 0, 'an unauthenticated check got an answer');
    assert.equal(guard.stunRejected - before, 2);
    sock.send(request(pwd), port, '127.0.0.1');
    await until(() => replies.length > 0, 2000, 'an answer to an authenticated check');
    assert.equal(replies[0].readUInt16BE(0), 0x0101, 'Binding success response');
    // The PeerConnection is undisturbed.
    assert.ok(!s.client.messages.some((m) => m.janus === 'hangup'));
  } finally {
    sock.close();
    await s.close();
  }
});
