/**
 * Differential test against the real Janus 1.1.2 with real werift peers, for room options that shape
 * the SDP and who may publish: opus_fec and opus_dtx (answer and subscriber-offer fmtp, `fec`/`dtx` in
 * `streams`), audiolevel_ext / videoorient_ext / playoutdelay_ext / transport_wide_cc_ext (answered
 * extmaps), and require_e2ee (publishers and subscribers declaring `e2ee` in their JSEP as janus.js
 * does with Insertable Streams, and the `e2ee` flag on our JSEPs).
 */
import { test } from 'node:test';
import {
  MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, useAbsSendTime, useAudioLevelIndication, useSdesMid, useTransportWideCC, useVideoOrientation,
} from 'werift';
import { answerTo, loopbackPeer, noStun, VP8, waitConnected, waitGathered } from '../helpers/werift-peer.ts';
import { Participant, track } from './videoroom-helpers.ts';
import { assertSameRuns, normaliseIds, referencePair, waitPublishing } from './videoroom-reference-common.ts';

const servers = referencePair();

const opus = (parameters: string) => new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111, parameters });

/** A browser-like offer: Opus (with FEC unless told), VP8, the usual header extensions. */
async function browserOffer(opusFmtp = 'minptime=10;useinbandfec=1'): Promise<{ pc: RTCPeerConnection; sdp: string }> {
  const pc = track(new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' }, bundlePolicy: 'max-bundle', codecs: { audio: [opus(opusFmtp)], video: [VP8] },
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication(), useTransportWideCC(), useAbsSendTime()],
      video: [useSdesMid(), useVideoOrientation(), useTransportWideCC(), useAbsSendTime()],
    },
  }));
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  const offer = await pc.createOffer();
  noStun(pc);
  await pc.setLocalDescription(offer);
  await waitGathered(pc);
  return { pc, sdp: pc.localDescription!.sdp };
}

const lines = (sdp: string | undefined, re: RegExp): string[] => (sdp ?? '').split('\r\n').filter((l) => re.test(l));
/**
 * Known differences left out of the comparison: the core implements no transport-cc feedback (so
 * neither side's TWCC is compared) and writes no abs-send-time or mid extensions into what it sends
 * subscribers (Janus offers them both).
 */
const CORE_EXTS = new Set(['http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time']);
const extUris = (sdp: string | undefined, offer = false): string[] => lines(sdp, /^a=extmap:/).map((l) => l.split(' ')[1])
  .filter((u) => !CORE_EXTS.has(u) && !(offer && u === 'urn:ietf:params:rtp-hdrext:sdes:mid')).sort();

const VARIANTS: Array<[string, Record<string, unknown>, string?]> = [
  ['defaults', {}],
  ['no fec, dtx', { opus_fec: false, opus_dtx: true }],
  ['dtx offered and wanted', { opus_dtx: true }, 'minptime=10;useinbandfec=1;usedtx=1'],
  ['dtx offered, not wanted', {}, 'minptime=10;usedtx=1'],
  ['fec not offered', {}, 'minptime=10'],
  ['no extensions', { audiolevel_ext: false, videoorient_ext: false, playoutdelay_ext: false, transport_wide_cc_ext: false }],
];

async function sdpOptions(wsUrl: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const admin = await Participant.attach(wsUrl);
  let room = 8820;
  for (const [name, opts, fmtp] of VARIANTS) {
    room++;
    await admin.sync({ request: 'create', room, publishers: 2, ...opts });
    const pub = await Participant.attach(wsUrl);
    const { pc, sdp } = await browserOffer(fmtp);
    const ev = await pub.async({ request: 'joinandconfigure', room, ptype: 'publisher', id: 7 }, { type: 'offer', sdp });
    const answer = ev.jsep?.sdp as string | undefined;
    await pc.setRemoteDescription(ev.jsep);
    await waitConnected(pc);
    await waitPublishing(admin, room);
    const sub = await Participant.attach(wsUrl);
    const att = await sub.async({ request: 'join', room, ptype: 'subscriber', streams: [{ feed: 7 }] });
    out[name] = {
      answerFmtp: lines(answer, /^a=fmtp:111 /), answerExt: extUris(answer), streams: ev.plugindata.data.streams,
      subFmtp: lines(att.jsep?.sdp, /^a=fmtp:111 /), subExt: extUris(att.jsep?.sdp, true),
    };
    await pc.close();
    pub.close();
    sub.close();
  }
  admin.close();
  return normaliseIds(out) as Record<string, unknown>;
}

async function e2ee(wsUrl: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const admin = await Participant.attach(wsUrl);
  const room = 8830;
  out.created = await admin.sync({ request: 'create', room, publishers: 3, require_e2ee: true });
  out.listed = (await admin.sync({ request: 'list' })).list.filter((r: any) => r.room === room).map((r: any) => r.require_e2ee);
  // Without e2ee in the JSEP the offer is refused.
  const plain = await Participant.attach(wsUrl);
  const { sdp: plainSdp } = await browserOffer();
  const refused = await plain.async({ request: 'joinandconfigure', room, ptype: 'publisher', id: 9 }, { type: 'offer', sdp: plainSdp });
  out.refused = { data: refused.plugindata.data, jsep: refused.jsep !== undefined };
  // janus.js marks Insertable Streams offers and answers with "e2ee": true.
  const pub = await Participant.attach(wsUrl);
  const { pc, sdp } = await browserOffer();
  const ok = await pub.async({ request: 'joinandconfigure', room, ptype: 'publisher', id: 10 }, { type: 'offer', sdp, e2ee: true });
  out.accepted = { videoroom: ok.plugindata.data.videoroom, jsepE2ee: ok.jsep?.e2ee, jsepType: ok.jsep?.type };
  await pc.setRemoteDescription(ok.jsep);
  await waitConnected(pc);
  await waitPublishing(admin, room);
  const watcher = await Participant.attach(wsUrl);
  out.publishers = (await watcher.async({ request: 'join', room, ptype: 'publisher', display: 'w' })).plugindata.data.publishers;
  // A subscriber gets an offer marked e2ee; it answers with or without the flag.
  for (const flag of [false, true]) {
    const sub = await Participant.attach(wsUrl);
    const att = await sub.async({ request: 'join', room, ptype: 'subscriber', streams: [{ feed: 10 }] });
    const spc = track(loopbackPeer());
    const answer = await answerTo(spc, att.jsep);
    const st = await sub.async({ request: 'start' }, { type: 'answer', sdp: answer, ...(flag ? { e2ee: true } : {}) });
    out[`subscriber${flag ? 'E2ee' : 'Plain'}`] = { attached: att.plugindata.data.videoroom, offerE2ee: att.jsep?.e2ee, started: st.plugindata.data };
    await spc.close();
    sub.close();
  }
  await pc.close();
  for (const p of [admin, plain, pub, watcher]) p.close();
  return normaliseIds(out) as Record<string, unknown>;
}

test('opus_fec, opus_dtx and the extension switches shape the SDP as in Janus 1.1.2', { timeout: 120_000 }, async () => {
  const theirs = await sdpOptions(servers.theirs);
  assertSameRuns(await sdpOptions(servers.ours), theirs);
});

test('require_e2ee: publishers must declare e2ee, JSEPs carry it, as in Janus 1.1.2', { timeout: 120_000 }, async () => {
  const theirs = await e2ee(servers.theirs);
  assertSameRuns(await e2ee(servers.ours), theirs);
});
