/**
 * The SIP plugin against sipp as the far phone, no proxy in between: a werift browser peer calls
 * sipp (which answers and echoes RTP with -rtp_echo), audio goes out to sipp and comes back through
 * the bridge; dtmf_info (INFO body), hold/unhold (re-INVITE directions), in-dialog MESSAGE, BYE from
 * us; a busy far side (486) and one that never answers (hangup -> CANCEL).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { loopbackPeer as makePeer, offerWith, waitConnected, rtpPacket } from '../helpers/werift-peer.ts';
import sipPlugin from '../../src/plugins/sip/index.ts';
import { startSipp, sipHandle as makeHandle, until, toneEchoedBack, type SipResult as Result } from './sip-peers.ts';
import { peerTracker } from './sip-peers.ts';
import type { RtpPacket } from 'werift';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const server = await startServer(transportConfig((c) => {
  c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '30000-39999' } };
}), { logger: silentLogger(), plugins: [sipPlugin()] });
after(() => server.close());
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
// Every peer is closed at the end, even when a test fails half-way.
const tracker = peerTracker(makePeer);
const loopbackPeer = tracker.peer;
after(tracker.closeAll);
const PLUGIN = 'janus.plugin.sip';

const sipHandle = () => makeHandle(wsUrl);

test('outgoing call to sipp: audio both ways, dtmf_info, hold/unhold, MESSAGE, BYE from us', async () => {
  const sipp = await startSipp('uas-call.xml', { rtpEcho: true });
  try {
    const h = await sipHandle();
    await h.send({ request: 'register', type: 'guest', username: 'sip:alice@127.0.0.1' });
    await h.sipEvent((r) => r.event === 'registered' && r.register_sent === false);
    const pc = loopbackPeer();
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'call', uri: `sip:far@127.0.0.1:${sipp.port}` }, { type: 'offer', sdp: offer.sdp });
    const calling = await h.sipEvent((r) => r.event === 'calling');
    const callId = (calling.plugindata as { data: { call_id: string } }).data.call_id;
    assert.ok(callId.length > 0);
    await h.sipEvent((r) => r.event === 'ringing');
    const accepted = await h.sipEvent((r) => r.event === 'accepted');
    assert.equal(accepted.jsep.type, 'answer');
    assert.match(accepted.jsep.sdp, /a=rtpmap:111 opus\/48000\/2/);
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    const [audio] = offer.tracks;
    // What sipp echoed came back through the bridge: our payload bytes, Opus numbering.
    await toneEchoedBack(audio, got);

    // Recording of both directions: MJR files with the frames that crossed the bridge.
    const dir = mkdtempSync(join(tmpdir(), 'portunus-sip-rec-'));
    await h.send({ request: 'recording', action: 'start', audio: true, peer_audio: true, filename: join(dir, 'call') });
    const rec = h.resultOf(await h.sipEvent((r) => r.event === 'recordingupdated'));
    assert.equal(rec.own_audio, join(dir, 'call-own-audio.mjr'));
    const before = got.length;
    for (let i = 0; i < 20; i++) {
      audio.writeRtp(rtpPacket(111, 600 + i, 960 * (100 + i), 4242, 'tone'));
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => got.length >= before + 15);
    await h.send({ request: 'recording', action: 'stop', audio: true, peer_audio: true });
    await h.sipEvent((r) => r.event === 'recordingupdated' && r.own_audio === undefined);
    for (const side of ['own', 'peer']) {
      const mjr = readFileSync(join(dir, `call-${side}-audio.mjr`));
      assert.equal(mjr.subarray(0, 8).toString(), 'MJR00002');
      assert.match(mjr.toString('latin1'), /"c":"opus"/);
      const frames = mjr.toString('latin1').split('MEET').length - 1;
      assert.ok(frames >= 15, `${side}: ${frames} frames`);
    }
    rmSync(dir, { recursive: true, force: true });

    await h.send({ request: 'dtmf_info', digit: '5', duration: 200 });
    await h.sipEvent((r) => r.event === 'dtmfsent');
    await h.send({ request: 'hold' });
    await h.sipEvent((r) => r.event === 'holding');
    await h.send({ request: 'unhold' });
    await h.sipEvent((r) => r.event === 'resuming');
    await new Promise((r) => setTimeout(r, 300));
    await h.send({ request: 'message', content: 'hello far side' });
    await h.sipEvent((r) => r.event === 'messagesent');
    await h.send({ request: 'hangup' });
    const hangup = await h.sipEvent((r) => r.event === 'hangup');
    assert.equal((hangup.plugindata as { data: Record<string, unknown> }).data.call_id, callId);
    assert.equal(await sipp.exited, 0, sipp.errors());
    const log = sipp.messages();
    assert.match(log, /INFO sip:far@127\.0\.0\.1/);
    assert.match(log, /Content-Type: application\/dtmf-relay[\s\S]*Signal=5\r?\nDuration=200/);
    // Hold then unhold, in the re-INVITE SDPs.
    const reinvites = log.split(/^INVITE sip:/m).slice(2);
    assert.equal(reinvites.length, 2, 'two re-INVITEs');
    assert.match(reinvites[0], /a=sendonly/);
    assert.match(reinvites[1], /a=sendrecv/);
    assert.match(log, /Contact: <sip:alice@127\.0\.0\.1:\d+;transport=udp[;>]/);
    assert.match(log, /Via: SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK\S*;rport/);
    await pc.close();
    h.client.close();
  } finally {
    sipp.stop();
  }
});

test('busy far side: 486 ends the call with a hangup event', async () => {
  const sipp = await startSipp('uas-busy.xml');
  try {
    const h = await sipHandle();
    await h.send({ request: 'register', type: 'guest', username: 'sip:bob@127.0.0.1' });
    await h.sipEvent((r) => r.event === 'registered');
    const pc = loopbackPeer();
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'call', uri: `sip:far@127.0.0.1:${sipp.port}` }, { type: 'offer', sdp: offer.sdp });
    const hangup = await h.sipEvent((r) => r.event === 'hangup');
    const r = (hangup.plugindata as { data: { result: Result } }).data.result;
    assert.equal(r.code, 486);
    assert.equal(r.reason, 'Busy Here');
    assert.equal(await sipp.exited, 0, sipp.errors());
    await pc.close();
    h.client.close();
  } finally {
    sipp.stop();
  }
});

test('far side never answers: hangup sends CANCEL', async () => {
  const sipp = await startSipp('uas-noanswer.xml');
  try {
    const h = await sipHandle();
    await h.send({ request: 'register', type: 'guest', username: 'sip:carol@127.0.0.1' });
    await h.sipEvent((r) => r.event === 'registered');
    const pc = loopbackPeer();
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'call', uri: `sip:far@127.0.0.1:${sipp.port}` }, { type: 'offer', sdp: offer.sdp });
    await h.sipEvent((r) => r.event === 'ringing');
    await h.send({ request: 'hangup' });
    await h.sipEvent((r) => r.event === 'hangup');
    assert.equal(await sipp.exited, 0, sipp.errors());
    assert.match(sipp.messages(), /CANCEL sip:far@127\.0\.0\.1/);
    await pc.close();
    h.client.close();
  } finally {
    sipp.stop();
  }
});

test('bad requests get the Janus SIP error codes', async () => {
  const h = await sipHandle();
  const code = async (body: Record<string, unknown>): Promise<number> => {
    const tx = await h.send(body);
    const ev = await h.errorFor(tx);
    return (ev.plugindata as { data: { error_code: number } }).data.error_code;
  };
  assert.equal(await code({ request: 'nope' }), 442);
  assert.equal(await code({ request: 'register', username: 42 }), 444);
  assert.equal(await code({ request: 'register', username: 'sip:a@127.0.0.1' }), 443);
  assert.equal(await code({ request: 'register', username: 'not a uri', secret: 'x' }), 446);
  assert.equal(await code({ request: 'call', uri: 'sip:x@127.0.0.1' }), 447);
  assert.equal(await code({ request: 'register', type: 'guest', username: 'sip:a@127.0.0.1', headers: { 'X-Evil': 'a\r\nVia: injected' } }), 444);
  assert.equal(await code({ request: 'hangup' }), 447);
  h.client.close();
});

test('blind transfer: REFER with Refer-To, then BYE from the far side', async () => {
  const sipp = await startSipp('uas-transfer.xml', { rtpEcho: true });
  try {
    const h = await sipHandle();
    await h.send({ request: 'register', type: 'guest', username: 'sip:dave@127.0.0.1' });
    await h.sipEvent((r) => r.event === 'registered');
    const pc = loopbackPeer();
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'call', uri: `sip:far@127.0.0.1:${sipp.port}` }, { type: 'offer', sdp: offer.sdp });
    const accepted = await h.sipEvent((r) => r.event === 'accepted');
    await pc.setRemoteDescription(accepted.jsep);
    await h.send({ request: 'transfer', uri: 'sip:carol@example.com' });
    await h.sipEvent((r) => r.event === 'transferring');
    const referred = h.resultOf(await h.sipEvent((r) => r.event === 'referred'));
    assert.equal(referred.code, 202);
    // The far side hangs up: BYE from it gives our hangup event.
    await h.sipEvent((r) => r.event === 'hangup');
    assert.equal(await sipp.exited, 0, sipp.errors());
    assert.match(sipp.messages(), /REFER sip:\S+ SIP\/2\.0[\s\S]*Refer-To: <?sip:carol@example\.com/);
    await pc.close();
    h.client.close();
  } finally {
    sipp.stop();
  }
});

test('a helper handle (master_id) places a second call on the same account', async () => {
  const far1 = await startSipp('uas-echo.xml', { rtpEcho: true });
  const far2 = await startSipp('uas-echo.xml', { rtpEcho: true });
  try {
    const master = await sipHandle();
    await master.send({ request: 'register', type: 'guest', username: 'sip:erin@127.0.0.1' });
    const reg = master.resultOf(await master.sipEvent((r) => r.event === 'registered'));
    assert.equal(typeof reg.master_id, 'number');
    const helper = await sipHandle();
    await helper.send({ request: 'register', type: 'helper', master_id: reg.master_id });
    const hreg = helper.resultOf(await helper.sipEvent((r) => r.event === 'registered'));
    assert.equal(hreg.helper, true);
    assert.equal(hreg.username, 'sip:erin@127.0.0.1');
    const calls = await Promise.all([[master, far1], [helper, far2]].map(async ([h, far]) => {
      const hh = h as typeof master;
      const pc = loopbackPeer();
      const offer = await offerWith(pc, ['audio'], false);
      await hh.send({ request: 'call', uri: `sip:far@127.0.0.1:${(far as typeof far1).port}` }, { type: 'offer', sdp: offer.sdp });
      const acc = await hh.sipEvent((r) => r.event === 'accepted');
      await pc.setRemoteDescription(acc.jsep);
      return pc;
    }));
    for (const h of [master, helper]) await h.send({ request: 'hangup' });
    assert.equal(await far1.exited, 0, far1.errors());
    assert.equal(await far2.exited, 0, far2.errors());
    // Both calls came from the one account: same Contact (user agent and port).
    const contact = (log: string) => /Contact: <sip:erin@127\.0\.0\.1:(\d+)/.exec(log)?.[1];
    assert.ok(contact(far1.messages()));
    assert.equal(contact(far1.messages()), contact(far2.messages()));
    const bad = await helper.send({ request: 'register', type: 'helper', master_id: 12345 });
    assert.equal(((await helper.errorFor(bad)).plugindata as { data: { error_code: number } }).data.error_code, 453); // no such master
    for (const pc of calls) await pc.close();
    master.client.close();
    helper.client.close();
  } finally {
    far1.stop();
    far2.stop();
  }
});
