/**
 * The SIP plugin on the drachtio backend (drachtio-srf talking to the drachtio STAND-IN) against sipp
 * as the far phone, the same flows as sip-sipp.test.ts: an outgoing call with audio both ways (sipp
 * echoes), dtmf_info (INFO body), hold/unhold (re-INVITE directions), in-dialog MESSAGE, BYE from us;
 * a busy far side (486); one that never answers (hangup -> CANCEL); a blind transfer (REFER sent);
 * and requests from the far side inside the call (hold re-INVITE, INFO, MESSAGE, REFER received).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import { loopbackPeer as makePeer, offerWith, waitConnected, rtpPacket } from '../helpers/werift-peer.ts';
import { until, peerTracker, sipHandle, toneEchoedBack } from './sip-peers.ts';
import { drachtioGateway, guest, placeCall, withSipp } from './sip-drachtio-common.ts';

const { standin, wsUrl } = await drachtioGateway('36000-36999');
const tracker = peerTracker(makePeer);
after(tracker.closeAll);
const far = (port: number) => `sip:far@127.0.0.1:${port}`;
const PCMU = new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 });
const DTMF = new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, payloadType: 101 });

test('drachtio: outgoing call to sipp, audio both ways, dtmf_info, hold/unhold, MESSAGE, BYE from us', () => withSipp('uas-call.xml', { rtpEcho: true }, async (sipp) => {
  const h = await guest(wsUrl, 'alice');
  const pc = tracker.peer();
  const { got, offer } = await placeCall(h, far(sipp.port), pc);
  const calling = await h.sipEvent((r) => r.event === 'calling');
  const callId = (calling.plugindata as { data: { call_id: string } }).data.call_id;
  assert.ok(callId.length > 0);
  await h.sipEvent((r) => r.event === 'ringing');
  const accepted = await h.sipEvent((r) => r.event === 'accepted');
  assert.match(accepted.jsep.sdp, /a=rtpmap:111 opus\/48000\/2/);
  await pc.setRemoteDescription(accepted.jsep);
  await waitConnected(pc);
  // sipp echoed our packets: they went out to the far side and came back through the bridge.
  await toneEchoedBack(offer.tracks[0], got);
  for (const [request, reply] of [[{ request: 'dtmf_info', digit: '5', duration: 200 }, 'dtmfsent'], [{ request: 'hold' }, 'holding'], [{ request: 'unhold' }, 'resuming']] as const) {
    await h.send(request);
    await h.sipEvent((r) => r.event === reply);
  }
  await new Promise((r) => setTimeout(r, 300));
  await h.send({ request: 'message', content: 'hello far side' });
  await h.sipEvent((r) => r.event === 'messagesent');
  await h.send({ request: 'hangup' });
  const hangup = await h.sipEvent((r) => r.event === 'hangup');
  assert.equal((hangup.plugindata as { data: Record<string, unknown> }).data.call_id, callId);
  assert.equal(await sipp.exited, 0, sipp.errors());
  const log = sipp.messages();
  assert.match(log, /Content-Type: application\/dtmf-relay[\s\S]*Signal=5\r?\nDuration=200/);
  const reinvites = log.split(/^INVITE sip:/m).slice(2);
  assert.equal(reinvites.length, 2, 'two re-INVITEs');
  assert.match(reinvites[0], /a=sendonly/);
  assert.match(reinvites[1], /a=sendrecv/);
  // The SIP went through the drachtio server: its Via, and our Contact on its address.
  assert.match(log, new RegExp(`Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${standin.sipPort};branch=z9hG4bK`));
  assert.match(log, new RegExp(`Contact: <sip:alice@127\\.0\\.0\\.1:${standin.sipPort};transport=udp;acct=`));
  h.client.close();
}));

test('drachtio: busy far side, 486 ends the call with a hangup event', () => withSipp('uas-busy.xml', {}, async (sipp) => {
  const h = await guest(wsUrl, 'bob');
  await placeCall(h, far(sipp.port), tracker.peer());
  const hangup = h.resultOf(await h.sipEvent((r) => r.event === 'hangup'));
  assert.deepEqual([hangup.code, hangup.reason], [486, 'Busy Here']);
  h.client.close();
}));

test('drachtio: far side never answers, hangup sends CANCEL', () => withSipp('uas-noanswer.xml', {}, async (sipp) => {
  const h = await guest(wsUrl, 'carol');
  await placeCall(h, far(sipp.port), tracker.peer());
  await h.sipEvent((r) => r.event === 'ringing');
  await h.send({ request: 'hangup' });
  await h.sipEvent((r) => r.event === 'hangup');
  assert.equal(await sipp.exited, 0, sipp.errors());
  assert.match(sipp.messages(), /CANCEL sip:far@127\.0\.0\.1/);
  h.client.close();
}));

test('drachtio: blind transfer, REFER with Refer-To, then BYE from the far side', () => withSipp('uas-transfer.xml', { rtpEcho: true }, async (sipp) => {
  const h = await guest(wsUrl, 'dave');
  const pc = tracker.peer();
  await placeCall(h, far(sipp.port), pc);
  await pc.setRemoteDescription((await h.sipEvent((r) => r.event === 'accepted')).jsep);
  await h.send({ request: 'transfer', uri: 'sip:carol@example.com' });
  await h.sipEvent((r) => r.event === 'transferring');
  assert.equal(h.resultOf(await h.sipEvent((r) => r.event === 'referred')).code, 202);
  await h.sipEvent((r) => r.event === 'hangup');
  assert.equal(await sipp.exited, 0, sipp.errors());
  assert.match(sipp.messages(), /REFER sip:\S+ SIP\/2\.0[\s\S]*Refer-To: <?sip:carol@example\.com/);
  h.client.close();
}));

test('drachtio: requests from the far side in the call: hold re-INVITE, INFO, MESSAGE, REFER (transfer event), BYE', () => withSipp('uas-far-requests.xml', { rtpEcho: true }, async (sipp) => {
  const h = await guest(wsUrl, 'erin');
  const pc = tracker.peer();
  await placeCall(h, far(sipp.port), pc);
  await pc.setRemoteDescription((await h.sipEvent((r) => r.event === 'accepted')).jsep);
  // sipp checks our answer to its hold is recvonly.
  assert.equal(h.resultOf(await h.sipEvent((r) => r.event === 'holding')).direction, 'sendonly');
  const info = h.resultOf(await h.sipEvent((r) => r.event === 'info'));
  assert.equal(info.type, 'application/dtmf-relay');
  assert.match(String(info.content), /^Signal=7\r?\nDuration=160/);
  const msg = h.resultOf(await h.sipEvent((r) => r.event === 'message'));
  assert.equal(String(msg.content).trim(), 'hello from the far side');
  assert.match(String(msg.sender), /^sip:far@127\.0\.0\.1/);
  const transfer = h.resultOf(await h.sipEvent((r) => r.event === 'transfer'));
  assert.equal(transfer.refer_to, 'sip:transfer-target@example.com');
  assert.match(String(transfer.referred_by), /^<sip:far@127\.0\.0\.1:\d+>$/);
  await h.sipEvent((r) => r.event === 'hangup');
  h.client.close();
}));

test('drachtio: incoming call straight to the server (user part routing), the caller CANCELs while it rings: hangup 487', async () => {
  const h = await guest(wsUrl, 'frank');
  await withSipp('uac-cancel.xml', { service: 'frank', remote: `127.0.0.1:${standin.sipPort}` }, async () => {
    const inc = h.resultOf(await h.sipEvent((r) => r.event === 'incomingcall', 15000));
    assert.match(String(inc.username), /^sip:far@127\.0\.0\.1/);
    const hangup = h.resultOf(await h.sipEvent((r) => r.event === 'hangup', 15000));
    assert.deepEqual([hangup.code, hangup.reason], [487, 'Request Terminated']);
  });
  h.client.close();
});

test('drachtio: a helper handle (master_id) places a second call on the same account at the same time', async () => {
  const master = await guest(wsUrl, 'gina');
  const reg = master.resultOf(master.client.messages.find((m) => master.resultOf(m)?.event === 'registered')!);
  const helper = await sipHandle(wsUrl);
  await helper.send({ request: 'register', type: 'helper', master_id: reg.master_id });
  assert.equal(helper.resultOf(await helper.sipEvent((r) => r.event === 'registered')).helper, true);
  await withSipp('uas-echo.xml', { rtpEcho: true }, (far1) => withSipp('uas-echo.xml', { rtpEcho: true }, async (far2) => {
    await Promise.all([[master, far1], [helper, far2]].map(async ([h, farSide]) => {
      const hh = h as typeof master;
      const pc = tracker.peer();
      await placeCall(hh, far((farSide as typeof far1).port), pc);
      await pc.setRemoteDescription((await hh.sipEvent((r) => r.event === 'accepted')).jsep);
    }));
    for (const h of [master, helper]) await h.send({ request: 'hangup' });
    // Both calls from the one account: the same Contact (acct token) on the server's address.
    const contact = (log: string) => /Contact: <(sip:gina@[^>]+)>/.exec(log)?.[1];
    await Promise.all([far1.exited, far2.exited]);
    assert.ok(contact(far1.messages())?.includes(';acct='));
    assert.equal(contact(far1.messages()), contact(far2.messages()));
  }));
  master.client.close();
  helper.client.close();
});

test('drachtio: subscribe, NOTIFY passed up, unsubscribe inside the subscription dialog', () => withSipp('uas-notify.xml', {}, async (sipp) => {
  const h = await guest(wsUrl, 'hank');
  await h.send({ request: 'subscribe', event: 'presence', to: far(sipp.port) });
  assert.equal(h.resultOf(await h.sipEvent((r) => r.event === 'subscribe_succeeded')).code, 200);
  const notify = h.resultOf(await h.sipEvent((r) => r.event === 'notify'));
  assert.equal(notify.notify, 'presence');
  assert.equal(String(notify.content).trim(), 'far is online');
  await h.send({ request: 'unsubscribe', event: 'presence' });
  await h.sipEvent((r) => r.event === 'unsubscribed');
  assert.equal(await sipp.exited, 0, sipp.errors());
  // The un-SUBSCRIBE carried the far side's tag: it went inside the dialog.
  assert.match(sipp.messages(), /SUBSCRIBE sip:far@[^\r\n]+\r\n[\s\S]*To: [^\r\n]*tag=\d+SIPpTag01[\s\S]*Expires: 0/);
  h.client.close();
}));

test('drachtio: late offer, an INVITE without SDP, accept with an offer, the answer from the ACK, audio echoed', async () => {
  const h = await guest(wsUrl, 'lena');
  await withSipp('uac-offerless.xml', { rtpEcho: true, service: 'lena', remote: `127.0.0.1:${standin.sipPort}` }, async (sipp) => {
    const inc = await h.sipEvent((r) => r.event === 'incomingcall', 15000);
    assert.equal(inc.jsep, undefined, 'no JSEP: the INVITE had no offer');
    const pc = new RTCPeerConnection({
      iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
      bundlePolicy: 'max-bundle', codecs: { audio: [PCMU, DTMF] },
    });
    after(() => pc.close());
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'accept' }, { type: 'offer', sdp: offer.sdp });
    const accepted = await h.sipEvent((r) => r.event === 'accepted');
    assert.equal(accepted.jsep?.type, 'answer');
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    for (let i = 0; i < 40; i++) {
      offer.tracks[0].writeRtp(rtpPacket(0, 200 + i, 160 * i, 4444, 'late'));
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => got.filter((p) => p.payload.subarray(0, 4).toString() === 'late').length >= 20);
    await h.sipEvent((r) => r.event === 'hangup', 10000);
    assert.equal(await sipp.exited, 0, sipp.errors());
    assert.match(sipp.messages(), /SIP\/2\.0 200 OK[\s\S]*Content-Type: application\/sdp[\s\S]*m=audio \d+ RTP\/AVP 0 101/);
  });
  h.client.close();
});

test('drachtio: attended transfer, REFER with Refer-To <target?Replaces=other call;to-tag;from-tag>', async () => {
  const master = await guest(wsUrl, 'tina');
  const reg = master.resultOf(master.client.messages.find((m) => master.resultOf(m)?.event === 'registered')!);
  const helper = await sipHandle(wsUrl);
  await helper.send({ request: 'register', type: 'helper', master_id: reg.master_id });
  await helper.sipEvent((r) => r.event === 'registered');
  await withSipp('uas-attended.xml', { rtpEcho: true }, (transferee) => withSipp('uas-echo.xml', { rtpEcho: true }, async (target) => {
    const callIds: string[] = [];
    for (const [h, farSide] of [[master, transferee], [helper, target]] as const) {
      const pc = tracker.peer();
      await placeCall(h, far(farSide.port), pc);
      const accepted = await h.sipEvent((r) => r.event === 'accepted');
      callIds.push((accepted.plugindata as { data: { call_id: string } }).data.call_id);
      await pc.setRemoteDescription(accepted.jsep);
    }
    await master.send({ request: 'transfer', uri: far(target.port), replace: callIds[1] });
    assert.equal(master.resultOf(await master.sipEvent((r) => r.event === 'referred')).code, 202);
    await master.sipEvent((r) => r.event === 'hangup');
    assert.equal(await transferee.exited, 0, transferee.errors());
    const tlog = target.messages();
    const ourTag = /^From: .*;tag=([^;\s]+)/m.exec(tlog)![1];
    const theirTag = /^To: .*;tag=([^;\s]+)/m.exec(tlog.slice(tlog.indexOf('SIP/2.0 200 OK')))![1];
    const referTo = /^Refer-To: (.*)$/m.exec(transferee.messages())![1].trim();
    assert.equal(referTo, `<${far(target.port)}?Replaces=${encodeURIComponent(`${callIds[1]};to-tag=${theirTag};from-tag=${ourTag}`)}>`);
    await helper.send({ request: 'hangup' });
    await helper.sipEvent((r) => r.event === 'hangup');
  }));
  master.client.close();
  helper.client.close();
});
