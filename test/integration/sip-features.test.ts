/**
 * SIP plugin features against sipp far phones (issue #7, second round): the no-answer timeout
 * (CANCEL, hangup 408), RFC 2833 telephone-events from the browser reaching the far side with the
 * far side's payload number, offerless incoming INVITEs (late offer: our offer in the 200 OK, the
 * answer in the ACK) and attended transfer (REFER with Replaces, both ways).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { answerTo, noStun, offerWith, waitConnected, rtpPacket } from '../helpers/werift-peer.ts';
import sipPlugin from '../../src/plugins/sip/index.ts';
import { freeUdpPort, peerTracker, startKamailio, startSipp, sipHandle as makeHandle, until, type Kamailio } from './sip-peers.ts';

const server = await startServer(transportConfig((c) => {
  c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '40000-40999', no_answer_timeout: 1.5 } };
}), { logger: silentLogger(), plugins: [sipPlugin()] });
let kamailio: Kamailio;
before(async () => {
  kamailio = await startKamailio({ lena: 'late', tess: 'target' }, await freeUdpPort());
});
after(async () => {
  // The gateway first: its user agents unregister while kamailio still answers.
  await server.close();
  await kamailio?.stop();
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

const PCMU = new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 });
const DTMF = new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, payloadType: 101 });
const tracker = peerTracker(() => {
  const pc = new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
    bundlePolicy: 'max-bundle', codecs: { audio: [PCMU, DTMF] },
  });
  noStun(pc);
  return pc;
});
after(tracker.closeAll);
const peer = tracker.peer;

async function guest(user: string) {
  const h = await makeHandle(wsUrl);
  await h.send({ request: 'register', type: 'guest', username: `sip:${user}@127.0.0.1` });
  await h.sipEvent((r) => r.event === 'registered');
  return h;
}

test('no answer: the call is CANCELled after no_answer_timeout and ends with hangup 408', async () => {
  const sipp = await startSipp('uas-noanswer.xml');
  try {
    const h = await guest('nora');
    const pc = peer();
    const offer = await offerWith(pc, ['audio'], false);
    const started = Date.now();
    await h.send({ request: 'call', uri: `sip:far@127.0.0.1:${sipp.port}` }, { type: 'offer', sdp: offer.sdp });
    await h.sipEvent((r) => r.event === 'ringing');
    const hangup = h.resultOf(await h.sipEvent((r) => r.event === 'hangup', 15000));
    assert.equal(hangup.code, 408);
    assert.equal(hangup.reason, 'Request Timeout');
    assert.ok(Date.now() - started >= 1400, 'not before the timeout');
    // sipp saw the CANCEL, answered 200 + 487 and got the ACK: the scenario passed.
    assert.equal(await sipp.exited, 0, sipp.errors());
    assert.match(sipp.messages(), /CANCEL sip:far@127\.0\.0\.1/);
    h.client.close();
  } finally {
    sipp.stop();
  }
});

test('RFC 2833 from the browser: telephone-event packets reach the far side as its payload 96, bytes unchanged', async () => {
  const sink = dgram.createSocket('udp4');
  const sinkPort = await freeUdpPort(true);
  await new Promise<void>((r) => sink.bind(sinkPort, '127.0.0.1', () => r()));
  const seen: Buffer[] = [];
  sink.on('message', (m) => seen.push(Buffer.from(m)));
  const sipp = await startSipp('uas-sink.xml', { extra: ['-key', 'sink_port', String(sinkPort)] });
  try {
    const h = await guest('dora');
    const pc = peer();
    const offer = await offerWith(pc, ['audio'], false);
    assert.match(offer.sdp, /a=rtpmap:101 telephone-event\/8000/);
    await h.send({ request: 'call', uri: `sip:far@127.0.0.1:${sipp.port}` }, { type: 'offer', sdp: offer.sdp });
    const accepted = await h.sipEvent((r) => r.event === 'accepted');
    // The browser keeps its own number for telephone-event.
    assert.match(accepted.jsep.sdp, /a=rtpmap:101 telephone-event\/8000/);
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    const [track] = offer.tracks;
    // Some audio, then digit 7 (RFC 4733 section 2.5: same timestamp, growing duration, marker on
    // the first packet, the end packet three times), then digit # (event 11).
    let seq = 1000;
    for (let i = 0; i < 10; i++) {
      track.writeRtp(rtpPacket(0, seq++, 160 * i, 777, 'pcmu'));
      await new Promise((r) => setTimeout(r, 10));
    }
    // werift stamps every packet with the sender's codec: switch it to telephone-event for the
    // digits, as a browser's insertDTMF does (same SSRC, the negotiated event payload number).
    const transceiver = pc.getTransceivers()[0];
    const sender = transceiver.sender as unknown as { codec: unknown; sendRtp(p: RtpPacket): Promise<void> };
    const pcmu = sender.codec;
    sender.codec = transceiver.codecs.find((c) => c.mimeType.toLowerCase() === 'audio/telephone-event');
    assert.ok(sender.codec, 'telephone-event negotiated');
    const events: Buffer[] = [];
    for (const [event, ts] of [[7, 1600], [11, 4800]]) {
      for (let i = 1; i <= 6; i++) {
        const end = i >= 4;
        const payload = Buffer.from([event, (end ? 0x80 : 0) | 10, 0, 0]);
        payload.writeUInt16BE(Math.min(i, 4) * 160, 2);
        const p = rtpPacket(101, seq++, ts, 777, 'x', i === 1);
        p.payload = payload;
        events.push(payload);
        await sender.sendRtp(p);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    sender.codec = pcmu;
    await until(() => seen.filter((m) => (m[1] & 0x7f) === 96).length >= events.length, 5000);
    const te = seen.filter((m) => (m[1] & 0x7f) === 96);
    assert.deepEqual(te.map((m) => m.subarray(12).toString('hex')), events.map((e) => e.toString('hex')));
    assert.equal(te[0][1] & 0x80, 0x80, 'marker bit of the first event packet kept');
    assert.equal(te[0].readUInt32BE(4), 1600);
    // No packet kept the browser's number 101; the audio went as PCMU (0).
    assert.ok(!seen.some((m) => (m[1] & 0x7f) === 101));
    assert.ok(seen.some((m) => (m[1] & 0x7f) === 0 && m.subarray(12, 16).toString() === 'pcmu'));
    await hangUp(h, sipp);
    h.client.close();
  } finally {
    sipp.stop();
    sink.close();
  }
});

test('late offer: an INVITE without SDP gives incomingcall without JSEP; accept with an offer, the answer comes from the ACK', async () => {
  const h = await makeHandle(wsUrl);
  await h.send({ request: 'register', username: 'sip:lena@127.0.0.1', secret: 'late', proxy: `sip:127.0.0.1:${kamailio.port}` });
  await h.sipEvent((r) => r.event === 'registered');
  const sipp = await startSipp('uac-offerless.xml', { rtpEcho: true, service: 'lena', remote: `127.0.0.1:${kamailio.port}` });
  try {
    const inc = await h.sipEvent((r) => r.event === 'incomingcall');
    assert.equal(inc.jsep, undefined, 'no JSEP: the INVITE had no offer');
    assert.equal(h.resultOf(inc).displayname, 'Late Phone');
    const pc = peer();
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'accept' }, { type: 'offer', sdp: offer.sdp });
    await h.sipEvent((r) => r.event === 'accepting');
    const accepted = await h.sipEvent((r) => r.event === 'accepted');
    assert.equal(accepted.jsep?.type, 'answer');
    assert.match(accepted.jsep.sdp, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 0 101/);
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    const [track] = offer.tracks;
    for (let i = 0; i < 40; i++) {
      track.writeRtp(rtpPacket(0, 200 + i, 160 * i, 4444, 'late'));
      await new Promise((r) => setTimeout(r, 10));
    }
    // sipp echoes what reached it: the browser's audio went out on the address from the ACK's SDP.
    await until(() => got.filter((p) => p.payload.subarray(0, 4).toString() === 'late').length >= 20);
    await h.sipEvent((r) => r.event === 'hangup', 10000);
    assert.equal(await sipp.exited, 0, sipp.errors());
    assert.match(sipp.messages(), /SIP\/2\.0 200 OK[\s\S]*Content-Type: application\/sdp[\s\S]*m=audio \d+ RTP\/AVP 0 101/);
  } finally {
    sipp.stop();
    h.client.close();
  }
});

test('outgoing late offer (late_offer, after Janus 1.1.2): INVITE without SDP, accepted carries the far offer, late_ack puts the answer in the ACK', async () => {
  const sipp = await startSipp('uas-late.xml', { rtpEcho: true });
  try {
    const h = await guest('lola');
    await h.send({ request: 'call', uri: `sip:far@127.0.0.1:${sipp.port}`, late_offer: true });
    await h.sipEvent((r) => r.event === 'calling');
    await h.sipEvent((r) => r.event === 'ringing');
    const accepted = await h.sipEvent((r) => r.event === 'accepted');
    assert.equal(accepted.jsep?.type, 'offer');
    assert.match(accepted.jsep.sdp, /a=rtpmap:0 PCMU\/8000/);
    const pc = peer();
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
    const answer = await answerTo(pc, accepted.jsep);
    await h.send({ request: 'late_ack' }, { type: 'answer', sdp: answer });
    await h.sipEvent((r) => r.event === 'ack_sent');
    await waitConnected(pc);
    const track = pc.getTransceivers()[0].sender.track!;
    for (let i = 0; i < 30; i++) {
      track.writeRtp(rtpPacket(0, 700 + i, 160 * i, 321, 'lola'));
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => got.some((p) => p.payload.subarray(0, 4).toString() === 'lola'));
    await hangUp(h, sipp);
    h.client.close();
  } finally {
    sipp.stop();
  }
});

/** A guest account on a master handle plus a helper handle for a second call (as Janus' transfers need). */
async function masterAndHelper(user: string) {
  const master = await guest(user);
  const reg = master.resultOf(await master.sipEvent((r) => r.event === 'registered' && typeof r.master_id === 'number', 2000).catch(async () => {
    throw new Error('no master_id');
  }));
  const helper = await makeHandle(wsUrl);
  await helper.send({ request: 'register', type: 'helper', master_id: reg.master_id });
  await helper.sipEvent((r) => r.event === 'registered');
  return { master, helper };
}

/** Hang up the handle's call and check the far sipp went through its whole scenario. */
async function hangUp(h: Awaited<ReturnType<typeof guest>>, far: Awaited<ReturnType<typeof startSipp>>): Promise<void> {
  await h.send({ request: 'hangup' });
  await h.sipEvent((r) => r.event === 'hangup');
  assert.equal(await far.exited, 0, far.errors());
}

async function placeCall(h: Awaited<ReturnType<typeof guest>>, uri: string, extra: Record<string, unknown> = {}) {
  const pc = peer();
  const offer = await offerWith(pc, ['audio'], false);
  await h.send({ request: 'call', uri, ...extra }, { type: 'offer', sdp: offer.sdp });
  const accepted = await h.sipEvent((r) => r.event === 'accepted');
  await pc.setRemoteDescription(accepted.jsep);
  return { pc, callId: String((accepted.plugindata as { data: { call_id: string } }).data.call_id) };
}

test('attended transfer: transfer with replace sends REFER with Refer-To <target?Replaces=other call;to-tag;from-tag>', async () => {
  const transferee = await startSipp('uas-attended.xml', { rtpEcho: true });
  const target = await startSipp('uas-echo.xml', { rtpEcho: true });
  try {
    const { master, helper } = await masterAndHelper('tina');
    await placeCall(master, `sip:far@127.0.0.1:${transferee.port}`);
    const second = await placeCall(helper, `sip:far@127.0.0.1:${target.port}`);
    // An unknown call-id is refused with Janus' 454.
    const bad = await master.send({ request: 'transfer', uri: `sip:far@127.0.0.1:${target.port}`, replace: 'no-such-call' });
    assert.equal(((await master.errorFor(bad)).plugindata as { data: { error_code: number } }).data.error_code, 454);
    await master.send({ request: 'transfer', uri: `sip:far@127.0.0.1:${target.port}`, replace: second.callId });
    await master.sipEvent((r) => r.event === 'transferring');
    assert.equal(master.resultOf(await master.sipEvent((r) => r.event === 'referred')).code, 202);
    await master.sipEvent((r) => r.event === 'hangup'); // the transferee hangs up after the 202
    assert.equal(await transferee.exited, 0, transferee.errors());
    // The Replaces value names the helper's dialog with the target, tags from the target's view.
    const tlog = target.messages();
    const ourTag = /^From: .*;tag=([^;\s]+)/m.exec(tlog)![1];
    const theirTag = /^To: .*;tag=([^;\s]+)/m.exec(tlog.slice(tlog.indexOf('SIP/2.0 200 OK')))![1];
    const referTo = /^Refer-To: (.*)$/m.exec(transferee.messages())![1].trim();
    assert.equal(referTo, `<sip:far@127.0.0.1:${target.port}?Replaces=${encodeURIComponent(`${second.callId};to-tag=${theirTag};from-tag=${ourTag}`)}>`);
    await hangUp(helper, target);
    master.client.close();
    helper.client.close();
  } finally {
    transferee.stop();
    target.stop();
  }
});

test('incoming REFER with Replaces: transfer event with refer_id and replaces; the call with refer_id carries Replaces and Referred-By, the referrer gets the NOTIFY', async () => {
  const target = await startSipp('uas-replaces-target.xml', { rtpEcho: true });
  const transferor = await startSipp('uas-refer-replaces.xml', { rtpEcho: true, extra: ['-key', 'target_port', String(target.port)] });
  try {
    const { master, helper } = await masterAndHelper('uma');
    await placeCall(master, `sip:far@127.0.0.1:${transferor.port}`);
    const transfer = master.resultOf(await master.sipEvent((r) => r.event === 'transfer'));
    assert.equal(typeof transfer.refer_id, 'number');
    assert.equal(transfer.replaces, 'held-call@far.example;to-tag=tt1;from-tag=ft2');
    assert.match(String(transfer.refer_to), new RegExp(`^sip:target@127\\.0\\.0\\.1:${target.port}\\?Replaces=held-call%40far\\.example%3Bto-tag%3Dtt1%3Bfrom-tag%3Dft2$`));
    assert.match(String(transfer.referred_by), /sip:far@127\.0\.0\.1/);
    // The app follows the transfer from a helper handle, as the Janus SIP demo does.
    const followed = await placeCall(helper, String(transfer.refer_to), { refer_id: transfer.refer_id });
    assert.ok(followed.callId);
    await master.sipEvent((r) => r.event === 'hangup', 10000); // the transferor hangs up after the NOTIFY
    assert.equal(await transferor.exited, 0, transferor.errors());
    assert.match(transferor.messages(), /NOTIFY sip:[\s\S]*Content-Type: message\/sipfrag[\s\S]*SIP\/2\.0 200 OK/);
    await hangUp(helper, target);
    // A refer_id is good once.
    const again = await helper.send({ request: 'call', uri: 'sip:x@127.0.0.1', refer_id: transfer.refer_id });
    assert.equal(((await helper.errorFor(again)).plugindata as { data: { error_code: number } }).data.error_code, 444);
    master.client.close();
    helper.client.close();
  } finally {
    transferor.stop();
    target.stop();
  }
});

test('TLS: with sips_certs_dir set, an account registers and calls through kamailio over TLS (certificate verified against cafile.pem)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portunus-sip-tls-'));
  // One self-signed certificate for 127.0.0.1 serves kamailio; our agent.pem is a second one.
  const selfSigned = (name: string) => execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
  ], { stdio: 'ignore' });
  selfSigned('kamailio');
  selfSigned('agent');
  const certs = join(dir, 'certs');
  mkdirSync(certs);
  writeFileSync(join(certs, 'agent.pem'), Buffer.concat([readFileSync(join(dir, 'agent.key')), readFileSync(join(dir, 'agent.crt'))]));
  writeFileSync(join(certs, 'cafile.pem'), readFileSync(join(dir, 'kamailio.crt')));
  const tlsServer = await startServer(transportConfig((c) => {
    c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '41000-41999', sips_certs_dir: certs } };
  }), { logger: silentLogger(), plugins: [sipPlugin()] });
  const far = await freeUdpPort();
  const k = await startKamailio({ tls1: 'secret' }, far, { certFile: join(dir, 'kamailio.crt'), keyFile: join(dir, 'kamailio.key') });
  try {
    const sipp = await startSipp('uas-echo-rr.xml', { rtpEcho: true, extra: ['-p', String(far)] });
    const h = await makeHandle(`ws://127.0.0.1:${tlsServer.ports.ws}`);
    try {
      await h.send({ request: 'register', username: 'sip:tls1@127.0.0.1', secret: 'secret', proxy: `sips:127.0.0.1:${k.tlsPort}` });
      const reg = h.resultOf(await h.sipEvent((r) => r.event === 'registered' || r.event === 'registration_failed', 15000));
      assert.equal(reg.event, 'registered', JSON.stringify(reg));
      const pc = peer();
      const got: RtpPacket[] = [];
      pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
      const offer = await offerWith(pc, ['audio'], false);
      await h.send({ request: 'call', uri: 'sip:echo@127.0.0.1' }, { type: 'offer', sdp: offer.sdp });
      const accepted = await h.sipEvent((r) => r.event === 'accepted', 15000);
      await pc.setRemoteDescription(accepted.jsep);
      await waitConnected(pc);
      for (let i = 0; i < 30; i++) {
        offer.tracks[0].writeRtp(rtpPacket(0, 300 + i, 160 * i, 999, 'tls!'));
        await new Promise((r) => setTimeout(r, 10));
      }
      await until(() => got.some((p) => p.payload.subarray(0, 4).toString() === 'tls!'));
      await h.send({ request: 'hangup' });
      await h.sipEvent((r) => r.event === 'hangup');
      assert.equal(await sipp.exited, 0, sipp.errors());
      // Our hop was TLS: our Via (below kamailio's) and Contact say so.
      const log = sipp.messages();
      assert.match(log, /^Via: SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;/m);
      assert.match(log, /^Contact: <sip:tls1@127\.0\.0\.1:\d+;transport=tls/m);
    } finally {
      sipp.stop();
      h.client.close();
    }
    // A CA that did not sign kamailio's certificate: the handshake fails and the REGISTER fails
    // at once as a transport error (503), not after 64*T1.
    const wrongCa = join(dir, 'wrong');
    mkdirSync(wrongCa);
    writeFileSync(join(wrongCa, 'agent.pem'), readFileSync(join(certs, 'agent.pem')));
    writeFileSync(join(wrongCa, 'cafile.pem'), readFileSync(join(dir, 'agent.crt')));
    const strict = await startServer(transportConfig((c) => {
      c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '41000-41999', sips_certs_dir: wrongCa } };
    }), { logger: silentLogger(), plugins: [sipPlugin()] });
    try {
      const x = await makeHandle(`ws://127.0.0.1:${strict.ports.ws}`);
      await x.send({ request: 'register', username: 'sip:tls1@127.0.0.1', secret: 'secret', proxy: `sips:127.0.0.1:${k.tlsPort}` });
      const failed = x.resultOf(await x.sipEvent((r) => r.event === 'registered' || r.event === 'registration_failed', 5000));
      assert.deepEqual([failed.event, failed.code], ['registration_failed', 503]);
      x.client.close();
    } finally {
      await strict.close();
    }
    // Without sips_certs_dir, asking for TLS is refused (444).
    const plain = await makeHandle(wsUrl);
    const tx = await plain.send({ request: 'register', username: 'sip:tls1@127.0.0.1', secret: 'secret', proxy: `sips:127.0.0.1:${k.tlsPort}` });
    assert.equal(((await plain.errorFor(tx)).plugindata as { data: { error_code: number } }).data.error_code, 444);
    plain.client.close();
  } finally {
    await tlsServer.close();
    await k.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
