/**
 * The SIP plugin on the drachtio backend (drachtio-srf and the drachtio STAND-IN) with kamailio as
 * registrar and proxy (digest auth) and sipp as the far phone, the flows of sip-kamailio.test.ts:
 * REGISTER with a 401 challenge (wrong password refused, right one registered), refresh, unregister;
 * an outgoing call through kamailio (407 answered) with audio both ways, REFER and BYE from the far
 * side; an incoming call (incomingcall, accept) where the far side's PCMA and RFC 2833 digit arrive
 * byte for byte and the browser's packets come back; a declined call (486).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { MediaStreamTrack, type RtpPacket } from 'werift';
import { loopbackPeer as makePeer, waitConnected, rtpPacket, answerTo } from '../helpers/werift-peer.ts';
import { startKamailio, startSipp, sipHandle, until, pcapRtp, freeUdpPort, pcmaPeer, peerTracker, type Kamailio } from './sip-peers.ts';
import { drachtioGateway, placeCall } from './sip-drachtio-common.ts';

const { standin, wsUrl } = await drachtioGateway('37000-37999');
const tracker = peerTracker(makePeer);
const loopbackPeer = tracker.peer;
after(tracker.closeAll);
let kamailio: Kamailio;
let farPort = 0;
before(async () => {
  farPort = await freeUdpPort();
  kamailio = await startKamailio({ alice: 'wonderland', bob: 'builder', carol: 'singer' }, farPort);
});
after(async () => {
  await kamailio?.stop();
});

async function registered(user: string, secret: string, extra: Record<string, unknown> = {}) {
  const h = await sipHandle(wsUrl);
  await h.send({ request: 'register', username: `sip:${user}@127.0.0.1`, secret, proxy: `sip:127.0.0.1:${kamailio.port}`, ...extra });
  const first = await h.sipEvent((r, m) => r.event === 'registering' || (m.plugindata as { data: Record<string, unknown> }).data.error_code !== undefined);
  assert.equal(h.resultOf(first)?.event, 'registering', JSON.stringify(first.plugindata));
  const reg = h.resultOf(await h.sipEvent((r) => r.event === 'registered' || r.event === 'registration_failed'));
  return { h, reg };
}

/** REGISTERs kamailio got from the stand-in, as the stand-in sent them. */
const registers = () => standin.sipLog.filter((m) => m.startsWith('> REGISTER '));

test('drachtio: REGISTER with a 401 challenge, wrong password refused, right one registered, refresh, unregister', async () => {
  const bad = await registered('alice', 'nope');
  assert.equal(bad.reg.event, 'registration_failed');
  assert.equal(bad.reg.code, 401);
  bad.h.client.close();
  const before = registers().length;
  const { h, reg } = await registered('alice', 'wonderland', { register_ttl: 120, display_name: 'Alice' });
  assert.deepEqual({ event: reg.event, username: reg.username, register_sent: reg.register_sent }, { event: 'registered', username: 'sip:alice@127.0.0.1', register_sent: true });
  assert.equal(reg.expires, 120);
  // The challenge was answered: a first REGISTER without, a second with digest credentials, same Call-ID.
  const sent = registers().slice(before);
  assert.ok(sent.length >= 2, `${sent.length} REGISTERs`);
  assert.doesNotMatch(sent[0], /Authorization:/);
  assert.match(sent[1], /Authorization: Digest username="alice",realm="127\.0\.0\.1"/);
  const callId = (t: string) => /Call-ID: (\S+)/.exec(t)?.[1];
  assert.equal(callId(sent[0]), callId(sent[1]));
  const registeredCount = () => h.client.messages.filter((m) => h.resultOf(m)?.event === 'registered').length;
  await h.send({ request: 'register', refresh: true });
  await until(() => registeredCount() >= 2, 10000);
  // The refresh kept the Call-ID and raised the CSeq (RFC 3261 10.2.4).
  const refresh = registers().slice(-1)[0];
  assert.equal(callId(refresh), callId(sent[1]));
  assert.ok(Number(/CSeq: (\d+)/.exec(refresh)?.[1]) > Number(/CSeq: (\d+)/.exec(sent[1])?.[1]));
  await h.send({ request: 'unregister' });
  await h.sipEvent((r) => r.event === 'unregistering');
  await h.sipEvent((r) => r.event === 'unregistered');
  assert.match(registers().slice(-1)[0], /Expires: 0/);
  h.client.close();
});

test('drachtio: outgoing call through kamailio (407 answered) with audio both ways, REFER, BYE from the far side', async () => {
  const sipp = await startSipp('uas-transfer.xml', { rtpEcho: true, extra: ['-p', String(farPort)] });
  try {
    const { h, reg } = await registered('alice', 'wonderland');
    assert.equal(reg.event, 'registered');
    const pc = loopbackPeer();
    const { got, offer } = await placeCall(h, `sip:echo@127.0.0.1:${kamailio.port}`, pc);
    const accepted = await h.sipEvent((r) => r.event === 'accepted');
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    for (let i = 0; i < 40; i++) {
      offer.tracks[0].writeRtp(rtpPacket(111, 900 + i, 960 * i, 7777, 'kama'));
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => got.length >= 25);
    assert.equal(got[0].payload.subarray(0, 4).toString(), 'kama');
    // kamailio challenged the first INVITE (407); srf answered it with credentials on the next CSeq.
    const invites = standin.sipLog.filter((m) => m.startsWith('> INVITE sip:echo@'));
    const challenged = standin.sipLog.find((m) => m.startsWith('< SIP/2.0 407') && m.includes('INVITE'));
    assert.ok(challenged, 'a 407 to the INVITE');
    const authed = invites.find((m) => /Proxy-Authorization: Digest username="alice"/.test(m));
    assert.ok(authed, 'an INVITE with Proxy-Authorization');
    assert.equal(Number(/CSeq: (\d+)/.exec(authed)?.[1]), Number(/CSeq: (\d+)/.exec(invites[0])?.[1]) + 1);
    assert.match(sipp.messages(), new RegExp(`Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${standin.sipPort};[^\\r\\n]*branch=z9hG4bK`));
    await h.send({ request: 'transfer', uri: 'sip:carol@example.com' });
    await h.sipEvent((r) => r.event === 'hangup');
    assert.equal(await sipp.exited, 0, sipp.errors());
    await pc.close();
    h.client.close();
  } finally {
    sipp.stop();
  }
});

test('drachtio: incoming call through kamailio, incomingcall, accept, far-side PCMA and RFC 2833 byte for byte, browser audio echoed, BYE from the far side', async () => {
  const { h } = await registered('bob', 'builder');
  const sipp = await startSipp('uac-incoming.xml', { rtpEcho: true, service: 'bob', remote: `127.0.0.1:${kamailio.port}` });
  try {
    const inc = await h.sipEvent((r) => r.event === 'incomingcall', 15000);
    const r = h.resultOf(inc);
    assert.match(String(r.username), /^sip:far@127\.0\.0\.1/);
    assert.equal(r.displayname, 'Far Phone');
    assert.match(inc.jsep.sdp, /a=rtpmap:8 PCMA\/8000/);
    assert.match(inc.jsep.sdp, /a=rtpmap:101 telephone-event\/8000/);
    const pc = pcmaPeer();
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
    const answer = await answerTo(pc, inc.jsep);
    await h.send({ request: 'accept' }, { type: 'answer', sdp: answer });
    await h.sipEvent((x) => x.event === 'accepted');
    await waitConnected(pc);
    const track = pc.getTransceivers()[0].sender.track!;
    for (let i = 0; i < 40; i++) {
      track.writeRtp(rtpPacket(8, 100 + i, 160 * i, 3333, 'bob!'));
      await new Promise((res) => setTimeout(res, 10));
    }
    await h.sipEvent((x) => x.event === 'hangup', 20000);
    assert.equal(await sipp.exited, 0, sipp.errors());
    // 180 Ringing went out before the answer; the 200 carried kamailio's Record-Route back.
    assert.match(sipp.messages(), /SIP\/2\.0 180 Ringing/);
    const sent = pcapRtp('/usr/share/sip-tester/g711a.pcap').filter((p) => p.pt === 8);
    const pcma = got.filter((p) => p.header.payloadType === 8 && p.payload.subarray(0, 4).toString() !== 'bob!');
    assert.ok(pcma.length >= 50, `PCMA packets from the far side: ${pcma.length}`);
    const known = new Set(sent.map((p) => p.payload.toString('hex')));
    assert.equal(pcma.filter((p) => known.has(p.payload.toString('hex'))).length, pcma.length, 'every far-side PCMA payload is one sipp played, unchanged');
    const dtmf = got.filter((p) => p.header.payloadType === 101);
    assert.ok(dtmf.length > 0, 'telephone-event packets arrived');
    assert.equal(dtmf[0].payload[0], 1);
    const played = pcapRtp('/usr/share/sip-tester/dtmf_2833_1.pcap').filter((p) => p.pt === 101);
    assert.ok(played.some((p) => p.payload.equals(dtmf[0].payload)));
    assert.ok(got.some((p) => p.payload.subarray(0, 4).toString() === 'bob!'), 'echo of the browser audio');
    await pc.close();
  } finally {
    sipp.stop();
    h.client.close();
  }
});

test('drachtio: incoming call declined, the far side gets 486', async () => {
  const { h } = await registered('carol', 'singer');
  const sipp = await startSipp('uac-declined.xml', { service: 'carol', remote: `127.0.0.1:${kamailio.port}` });
  try {
    await h.sipEvent((r) => r.event === 'incomingcall', 15000);
    await h.send({ request: 'decline', code: 486 });
    await h.sipEvent((r) => r.event === 'declining');
    assert.equal(await sipp.exited, 0, sipp.errors());
  } finally {
    sipp.stop();
    h.client.close();
  }
});
