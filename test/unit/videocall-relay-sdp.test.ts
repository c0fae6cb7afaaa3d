/**
 * relay-sdp.ts: what VideoCall takes out of a relayed offer (RTX, simulcast) and puts back in the
 * answer to the caller (simulcast acceptance).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relayOffer, answerForCaller } from '../../src/plugins/videocall/relay-sdp.ts';

const offer = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2', 'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', 'a=ssrc:11 cname:x',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendrecv', 'a=rtcp-mux',
  'a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:5 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
  'a=rtpmap:98 H264/90000', 'a=fmtp:98 profile-level-id=42e01f;packetization-mode=1', 'a=rtpmap:99 RTX/90000', 'a=fmtp:99 apt=98',
  'a=rid:h send', 'a=rid:l send', 'a=simulcast:send h;l',
  'a=ssrc-group:FID 21 22', 'a=ssrc:21 cname:x', 'a=ssrc:22 cname:x', '',
].join('\r\n');

test('relayOffer: RTX (any case) and its FID group go, simulcast goes, RED and the other codecs stay', () => {
  const r = relayOffer(offer);
  assert.match(r.sdp, /^m=video 9 UDP\/TLS\/RTP\/SAVPF 96 98\r$/m);
  assert.doesNotMatch(r.sdp, /rtx|apt=|FID|a=rid|a=simulcast|rtp-stream-id/i);
  assert.match(r.sdp, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111 63\r$/m);
  assert.match(r.sdp, /a=rtpmap:63 red\/48000\/2/);
  assert.match(r.sdp, /a=fmtp:98 profile-level-id=42e01f;packetization-mode=1/);
  assert.deepEqual([...r.dropPt.entries()].filter(([, v]) => v === 1).map(([pt]) => pt), [97, 99]);
  assert.deepEqual(r.simulcast?.rids, ['l', 'h']);
  assert.equal(r.simulcast?.ridExtId, 4);
});

test('relayOffer: nothing to drop in an offer without RTX; answerForCaller accepts the caller\'s simulcast again', () => {
  const plain = offer.replace(/ 97 98 99/, ' 98').replace(/a=rtpmap:97[^\r]*\r\na=fmtp:97[^\r]*\r\n/, '').replace(/a=rtpmap:99[^\r]*\r\na=fmtp:99[^\r]*\r\n/, '');
  const r = relayOffer(plain, 'lmh');
  assert.equal(r.dropPt.reduce((a, b) => a + b, 0), 0);
  assert.deepEqual(r.simulcast?.rids, ['h', 'l']);
  const answer = ['v=0', 'o=- 2 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendrecv', 'a=rtpmap:111 opus/48000/2',
    'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendrecv', 'a=rtpmap:96 VP8/90000', ''].join('\r\n');
  const back = answerForCaller(answer, r);
  assert.match(back, /a=rid:h recv/);
  assert.match(back, /a=rid:l recv/);
  assert.match(back, /a=simulcast:recv h;l/);
  assert.match(back, /a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id/);
});
