/**
 * SDP translation between the WebRTC and SIP sides: codecs carried with their numbers and fmtp,
 * WebRTC-only attributes dropped, sdp_ip and bridge ports advertised, payload maps for the bridge,
 * directions (hold) carried both ways, c=0.0.0.0 hold understood.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  answerReoffer, sipAnswerFromWebrtc, sipMediaLines, sipOfferFromWebrtc, webrtcAnswerFromSip, webrtcOfferFromSip, withDirection,
} from '../../src/interop/sip/sdp-translate.ts';

const CHROME = readFileSync(new URL('../fixtures/chrome-offer.sdp', import.meta.url), 'utf8');
const ports = { rtpPort: (i: number) => 30000 + 2 * i };

test('a browser offer becomes a plain RTP/AVP offer with the codecs we carry', () => {
  const sip = sipOfferFromWebrtc(CHROME, '203.0.113.7', ports, '42');
  assert.match(sip, /^o=- 42 \d+ IN IP4 203\.0\.113\.7$/m);
  assert.match(sip, /^c=IN IP4 203\.0\.113\.7$/m);
  assert.match(sip, /^m=audio 30000 RTP\/AVP 111( \d+)*/m);
  assert.match(sip, /a=rtpmap:111 opus\/48000\/2/);
  assert.match(sip, /a=rtcp:30001/);
  for (const gone of ['ice-ufrag', 'fingerprint', 'rtcp-fb', 'extmap', 'ssrc', 'setup', 'mid', 'rtcp-mux']) assert.doesNotMatch(sip, new RegExp(`a=${gone}`));
  // Nothing but the carried codecs is offered.
  const audio = /^m=audio \d+ RTP\/AVP (.*)$/m.exec(sip)![1].split(' ');
  for (const pt of audio) assert.match(sip, new RegExp(`a=rtpmap:${pt} (opus|G722|PCMU|PCMA|telephone-event)/`, 'i'));
  const held = sipOfferFromWebrtc(CHROME, '203.0.113.7', ports, '42', 'sendonly');
  assert.match(held, /a=sendonly/);
});

test('the SIP answer becomes the browser answer; payload maps bridge differing numbers', () => {
  const sipAnswer = 'v=0\r\no=- 1 1 IN IP4 198.51.100.2\r\ns=-\r\nc=IN IP4 198.51.100.2\r\nt=0 0\r\nm=audio 7000 RTP/AVP 96 97\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:97 telephone-event/8000\r\na=recvonly\r\n';
  const a = webrtcAnswerFromSip(CHROME, sipAnswer);
  assert.match(a.sdp, /a=rtpmap:111 opus\/48000\/2/);
  assert.match(a.sdp, /a=sendonly/); // the SIP side only receives: the browser only sends
  assert.equal(a.toSip[111], 96);
  assert.equal(a.toWebrtc[96], 111);
  assert.deepEqual(a.lines.map((l) => [l.host, l.port, l.rtcpPort, l.direction]), [['198.51.100.2', 7000, 7001, 'recvonly']]);
  const te = /a=rtpmap:(\d+) telephone-event\/8000/.exec(CHROME);
  if (te) {
    assert.equal(a.toSip[Number(te[1])], 97);
    assert.match(a.sdp, new RegExp(`a=rtpmap:${te[1]} telephone-event/8000`));
  }
});

test('a SIP offer with static payload types becomes a browser offer, and its answer goes back', () => {
  const sipOffer = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n';
  const o = webrtcOfferFromSip(sipOffer);
  assert.match(o.sdp, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 0 8 101/);
  assert.match(o.sdp, /a=rtpmap:0 PCMU\/8000/);
  assert.match(o.sdp, /a=rtpmap:8 PCMA\/8000/);
  assert.match(o.sdp, /a=fmtp:101 0-16/);
  const browserAnswer = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 8 101\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';
  const ans = sipAnswerFromWebrtc(browserAnswer, sipOffer, '203.0.113.7', ports, '7');
  assert.match(ans, /^m=audio 30000 RTP\/AVP 8 101$/m);
  assert.match(ans, /^c=IN IP4 203\.0\.113\.7$/m);
  assert.doesNotMatch(ans, /0\.0\.0\.0/);
});

test('hold and unhold: directions of our re-offers and answers to the peer\'s', () => {
  const ours = sipOfferFromWebrtc(CHROME, '203.0.113.7', ports, '42');
  const held = withDirection(ours, 'sendonly');
  assert.match(held, /a=sendonly/);
  assert.notEqual(/^o=.*$/m.exec(held)![0], /^o=.*$/m.exec(ours)![0], 'origin version bumped');
  const peerHold = 'v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n';
  assert.match(answerReoffer(ours, peerHold), /a=recvonly/);
  // RFC 2543 hold: c=0.0.0.0 means the peer wants nothing sent to it.
  const old = 'v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
  assert.equal(sipMediaLines(old)[0].direction, 'sendonly');
});
