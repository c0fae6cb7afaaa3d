/**
 * The media core with real werift client peers on loopback: NAT 1:1 candidates, port ranges and
 * their exhaustion, a wrong DTLS fingerprint, offers from the server side, renegotiation, and peers
 * that leave (hangup event, handle kept, nothing leaks over 100 rounds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient } from '../helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected, answerTo, noStun, waitGathered, rtpPacket } from '../helpers/werift-peer.ts';
import { VALID_SDP } from '../helpers/core.ts';
import type { PortunusConfig } from '../../src/config/types.ts';

async function withServer(mutate: (c: PortunusConfig) => void, fn: (client: JanusWsClient, server: Awaited<ReturnType<typeof startServer>>) => Promise<void>): Promise<void> {
  const server = await startServer(transportConfig(mutate), { logger: silentLogger() });
  const client = await JanusWsClient.connect(`ws://127.0.0.1:${server.ports.ws}`);
  try {
    await fn(client, server);
  } finally {
    await client.close();
    await server.close();
  }
}

async function echoHandle(client: JanusWsClient): Promise<{ sid: number; hid: number }> {
  const sid = await client.createSession();
  const hid = await client.attach(sid, 'janus.plugin.echotest');
  return { sid, hid };
}

/** Send an offer to EchoTest and return its event (with the answer, or an error). */
async function offer(client: JanusWsClient, sid: number, hid: number, sdp: string) {
  const transaction = `o${Math.random()}`;
  const reply = await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction, body: { audio: true, video: true }, jsep: { type: 'offer', sdp } });
  if (reply.janus === 'error') return reply;
  return client.waitFor((m) => m.janus === 'event' && m.transaction === transaction);
}

function candidatesOf(sdp: string): string[] {
  return sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
}

test('nat_1_1_mapping advertises the public address; keep_private_host keeps the private one too', async () => {
  // The offers here have no candidates and no real peer: no packet leaves towards the mapped address.
  await withServer((c) => { c.nat.nat_1_1_mapping = '203.0.113.5'; }, async (client) => {
    const { sid, hid } = await echoHandle(client);
    const ev = await offer(client, sid, hid, VALID_SDP);
    const cands = candidatesOf(ev.jsep.sdp);
    assert.ok(cands.length >= 1);
    assert.ok(cands.every((c) => c.includes(' 203.0.113.5 ')), cands.join('\n'));
    assert.ok(!cands.some((c) => c.includes(' 127.0.0.1 ')));
  });
  await withServer((c) => { c.nat.nat_1_1_mapping = '203.0.113.5'; c.nat.keep_private_host = true; }, async (client) => {
    const { sid, hid } = await echoHandle(client);
    const cands = candidatesOf((await offer(client, sid, hid, VALID_SDP)).jsep.sdp);
    assert.ok(cands.some((c) => c.includes(' 203.0.113.5 ')));
    assert.ok(cands.some((c) => c.includes(' 127.0.0.1 ')));
  });
});

test('rtp_port_range bounds our ports; when every port is taken the offer gets an error, not an empty candidate list', async () => {
  const base = 47000 + Math.floor(Math.random() * 500) * 4;
  await withServer((c) => { c.media.rtp_port_range = `${base}-${base + 3}`; }, async (client) => {
    const { sid, hid } = await echoHandle(client);
    const cands = candidatesOf((await offer(client, sid, hid, VALID_SDP)).jsep.sdp);
    const port = Number(cands[0].split(' ')[5]);
    assert.ok(port >= base && port <= base + 3, `port ${port}`);
  });
  // Occupy the whole range first.
  const blockers: Socket[] = [];
  for (let p = base; p <= base + 3; p++) {
    const s = createSocket('udp4');
    await new Promise<void>((ok) => s.bind(p, '127.0.0.1', () => ok()));
    blockers.push(s);
  }
  try {
    await withServer((c) => { c.media.rtp_port_range = `${base}-${base + 3}`; }, async (client) => {
      const { sid, hid } = await echoHandle(client);
      const reply = await offer(client, sid, hid, VALID_SDP);
      assert.equal(reply.janus, 'error');
      assert.equal(reply.error.code, 465);
      assert.match(reply.error.reason, /rtp_port_range/);
      // The gateway keeps going: the next session works once ports are free.
      assert.equal((await client.request({ janus: 'ping' })).janus, 'pong');
    });
  } finally {
    for (const s of blockers) s.close();
  }
});

test('a DTLS fingerprint that does not match the certificate hangs up with a reason', async () => {
  await withServer(() => {}, async (client) => {
    const { sid, hid } = await echoHandle(client);
    const pc = loopbackPeer();
    const { sdp } = await offerWith(pc, ['audio'], false);
    const forged = sdp.replace(/a=fingerprint:sha-256 ([0-9A-F:]+)/, (_m, fp: string) => `a=fingerprint:sha-256 ${fp.split(':').reverse().join(':')}`);
    assert.notEqual(forged, sdp);
    const ev = await offer(client, sid, hid, forged);
    await pc.setRemoteDescription(ev.jsep);
    const hangup = await client.waitFor((m) => m.janus === 'hangup' && m.sender === hid, 15000);
    assert.match(hangup.reason, /fingerprint/i);
    assert.ok(!client.messages.some((m) => m.janus === 'webrtcup'));
    await pc.close();
  });
});

test('an offer from the server side (DTLS server role) connects, and a data channel opens', async () => {
  await withServer(() => {}, async (client) => {
    const sid = await client.createSession();
    const hid = await client.attach(sid, 'janus.plugin.portunus.test');
    const transaction = 'srv-offer';
    await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction, body: { request: 'offer' } });
    const ev = await client.waitFor((m) => m.janus === 'event' && m.transaction === transaction);
    assert.equal(ev.jsep.type, 'offer');
    assert.match(ev.jsep.sdp, /a=setup:actpass/);
    const pc = loopbackPeer();
    const answerSdp = await answerTo(pc, ev.jsep);
    const answer = await client.request({ janus: 'message', session_id: sid, handle_id: hid, body: { request: 'ping' }, jsep: { type: 'answer', sdp: answerSdp } });
    assert.equal(answer.janus, 'success');
    await waitConnected(pc);
    await client.waitFor((m) => m.janus === 'webrtcup' && m.sender === hid);
    await pc.close();
  });
});

test('renegotiation: a second offer on a connected handle keeps the transport and adds media', async () => {
  await withServer(() => {}, async (client) => {
    const { sid, hid } = await echoHandle(client);
    const pc = loopbackPeer();
    const first = await offerWith(pc, ['audio'], false);
    const ev = await offer(client, sid, hid, first.sdp);
    await pc.setRemoteDescription(ev.jsep);
    await waitConnected(pc);
    await client.waitFor((m) => m.janus === 'webrtcup');
    const ufrag1 = /a=ice-ufrag:(\S+)/.exec(ev.jsep.sdp)![1];
    const second = await offerWith(pc, ['video'], false);
    const ev2 = await offer(client, sid, hid, second.sdp);
    assert.equal(ev2.jsep.type, 'answer');
    assert.equal(/a=ice-ufrag:(\S+)/.exec(ev2.jsep.sdp)![1], ufrag1, 'same ICE credentials without a restart');
    assert.equal((ev2.jsep.sdp.match(/^m=/gm) ?? []).length, 2);
    await pc.setRemoteDescription(ev2.jsep);
    assert.equal(pc.connectionState, 'connected');
    assert.equal(client.messages.filter((m) => m.janus === 'hangup').length, 0);
    await pc.close();
  });
});

function udpHandles(): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h?.constructor?.name === 'Socket' && typeof (h as { address?: unknown }).address === 'function' && (h as { type?: string }).type !== undefined).length;
}

test('clients that vanish with their PeerConnection up: everything is cleaned up, nothing leaks over 100 rounds', async () => {
  await withServer(() => {}, async (client, server) => {
    const gw = server.gateway;
    const sid = await client.createSession();
    const rounds = Number(process.env.ROUNDS ?? 100);
    const per = Number(process.env.PER ?? 10);
    const udpBefore = udpHandles();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let batch = 0; batch < rounds / per; batch++) {
      const t0 = Date.now();
      await Promise.all(Array.from({ length: per }, async () => {
        const c = await JanusWsClient.connect(`ws://127.0.0.1:${server.ports.ws}`);
        const h = await echoHandle(c);
        const pc = loopbackPeer();
        const o = await offerWith(pc, ['audio'], true);
        const ev = await offer(c, h.sid, h.hid, o.sdp);
        await pc.setRemoteDescription(ev.jsep);
        await waitConnected(pc);
        await c.waitFor((m) => m.janus === 'webrtcup');
        // The whole client goes away at once: signalling socket and PeerConnection.
        await Promise.all([c.close(), pc.close()]);
      }));
      if (process.env.DEBUG_ROUNDS) console.log('batch', batch, Date.now() - t0, 'ms');
    }
    const deadline = Date.now() + 5000;
    while (gw.sessions.size > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([...gw.sessions.keys()], [sid]);
    assert.equal(gw.metrics.handles, 0);
    await new Promise((r) => setTimeout(r, 300));
    // Server and client sockets of every round are closed again.
    assert.ok(udpHandles() <= udpBefore + 2, `UDP sockets before ${udpBefore}, after ${udpHandles()}`);
    const grown = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    assert.ok(grown < 150, `heap grew ${grown.toFixed(1)} MB over ${rounds} rounds`);
  });
});

test('a PeerConnection that goes silent is hung up when ICE consent expires (RFC 7675, 30 s); the handle stays', { timeout: 60000 }, async () => {
  await withServer(() => {}, async (client, server) => {
    const { sid, hid } = await echoHandle(client);
    const pc = loopbackPeer();
    const o = await offerWith(pc, ['audio'], false);
    const ev = await offer(client, sid, hid, o.sdp);
    await pc.setRemoteDescription(ev.jsep);
    await waitConnected(pc);
    await client.waitFor((m) => m.janus === 'webrtcup');
    // werift sends no DTLS close_notify: closing it is a silent disappearance for the server.
    await pc.close();
    const hang = await client.waitFor((m) => m.janus === 'hangup' && m.sender === hid, 45000);
    assert.equal(hang.reason, 'ICE failed');
    await client.waitFor((m) => m.janus === 'event' && m.plugindata?.data?.result === 'done');
    assert.ok(server.gateway.sessions.get(sid)?.handles.has(hid));
    assert.equal(server.gateway.sessions.get(sid)?.handles.get(hid)?.media, undefined);
  });
});

test('ICE restart: new credentials both ways, media keeps flowing over the same DTLS session', async () => {
  await withServer(() => {}, async (client, server) => {
    const { sid, hid } = await echoHandle(client);
    const pc = loopbackPeer();
    const o = await offerWith(pc, ['audio'], false);
    const ev = await offer(client, sid, hid, o.sdp);
    await pc.setRemoteDescription(ev.jsep);
    await waitConnected(pc);
    await client.waitFor((m) => m.janus === 'webrtcup');
    const ufrag1 = /a=ice-ufrag:(\S+)/.exec(ev.jsep.sdp)![1];
    pc.restartIce();
    const restartOffer = await pc.createOffer();
    noStun(pc);
    await pc.setLocalDescription(restartOffer);
    await waitGathered(pc);
    const clientUfrag2 = /a=ice-ufrag:(\S+)/.exec(pc.localDescription!.sdp)![1];
    assert.notEqual(clientUfrag2, /a=ice-ufrag:(\S+)/.exec(o.sdp)![1]);
    const ev2 = await offer(client, sid, hid, pc.localDescription!.sdp);
    const ufrag2 = /a=ice-ufrag:(\S+)/.exec(ev2.jsep.sdp)![1];
    assert.notEqual(ufrag2, ufrag1, 'the server renews its credentials');
    await pc.setRemoteDescription(ev2.jsep);
    // Echo still works after the restart.
    const received: number[] = [];
    pc.getTransceivers()[0].receiver.tracks[0].onReceiveRtp.subscribe((p) => received.push(p.header.sequenceNumber));
    const track = o.tracks[0];
    for (let i = 0; i < 40 && received.length === 0; i++) {
      track.writeRtp(rtpPacket(111, 5000 + i, 960 * i, 1111, 'opus'));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(received.length > 0, 'no echo after ICE restart');
    assert.equal(client.messages.filter((m) => m.janus === 'hangup').length, 0);
    assert.ok(server.gateway.sessions.get(sid)?.handles.get(hid)?.media);
    await pc.close();
  });
});
