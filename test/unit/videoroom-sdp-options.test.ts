/**
 * VideoRoom answers shaped by room options, without a network: the Opus fmtp (opus_fec / DTX as
 * measured against Janus 1.1.2 in videoroom-reference-options), the extensions each switch keeps,
 * and how a publisher's streams describe FEC, DTX and SVC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, writeSdp } from '../../src/core/webrtc/sdp.ts';
import { negotiatePublisher, opusFmtp } from '../../src/plugins/videoroom/publisher-sdp.ts';
import { settingsFrom } from '../../src/plugins/videoroom/room-settings.ts';
import { describePubStream } from '../../src/plugins/videoroom/model.ts';

const OFFER = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=fingerprint:sha-256 00:11', 'a=setup:actpass',
  'm=video 9 UDP/TLS/RTP/SAVPF 98', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendonly', 'a=rtcp-mux', 'a=rtpmap:98 VP9/90000',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=extmap:4 urn:3gpp:video-orientation',
  'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=fingerprint:sha-256 00:11', 'a=setup:actpass', '',
].join('\r\n');

test('opus fmtp: FEC when the room wants it and the offer has it, DTX when offered, nothing else', () => {
  const room = (o: Record<string, unknown>) => settingsFrom(1, o);
  assert.equal(opusFmtp('minptime=10;useinbandfec=1', room({})), 'useinbandfec=1');
  assert.equal(opusFmtp('minptime=10;useinbandfec=1', room({ opus_fec: false })), undefined);
  assert.equal(opusFmtp('useinbandfec=1; usedtx=1', room({})), 'useinbandfec=1;usedtx=1');
  assert.equal(opusFmtp('usedtx=1', room({ opus_dtx: false })), 'usedtx=1');
  assert.equal(opusFmtp(undefined, room({ opus_dtx: true })), undefined);
});

test('the answer and the streams: fmtp, extensions per switch, fec/dtx/svc flags', () => {
  const n = negotiatePublisher(parseSdp(OFFER), settingsFrom(1, { videocodec: 'vp9', video_svc: true }), undefined);
  const answer = writeSdp(n.answer);
  assert.match(answer, /a=fmtp:111 useinbandfec=1;usedtx=1\r\n/);
  assert.doesNotMatch(answer, /minptime/);
  assert.doesNotMatch(answer, /abs-send-time/);
  assert.match(answer, /ssrc-audio-level/);
  assert.match(answer, /video-orientation/);
  assert.deepEqual(describePubStream(n.streams[0]), { type: 'audio', mindex: 0, mid: '0', codec: 'opus', fec: true, dtx: true });
  assert.deepEqual(describePubStream(n.streams[0], false), { type: 'audio', mindex: 0, mid: '0', codec: 'opus', fec: true, dtx: true, talking: false });
  assert.equal(n.streams[1].svc, true);
  const off = writeSdp(negotiatePublisher(parseSdp(OFFER), settingsFrom(1, { videocodec: 'vp9', audiolevel_ext: false, videoorient_ext: false }), undefined).answer);
  assert.doesNotMatch(off, /ssrc-audio-level|video-orientation/);
  assert.equal(negotiatePublisher(parseSdp(OFFER), settingsFrom(1, { videocodec: 'vp9' }), undefined).streams[1].svc, undefined, 'no SVC without video_svc');
});
