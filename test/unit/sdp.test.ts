/** The SDP parser and writer: a real browser offer, round trips, errors, and a seeded fuzz. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSdp, writeSdp, SdpError, transportOf } from '../../src/core/webrtc/sdp.ts';
import { prng } from '../helpers/prng.ts';

const offer = readFileSync(new URL('../fixtures/chrome-offer.sdp', import.meta.url), 'utf8').replace(/\n/g, '\r\n');

test('parses a browser offer: bundle, mids, codecs with fmtp and feedback, extmaps, transport', () => {
  const s = parseSdp(offer);
  assert.deepEqual(s.groups, [{ semantics: 'BUNDLE', mids: ['0', '1', '2'] }]);
  assert.deepEqual(s.media.map((m) => [m.kind, m.mid, m.direction]), [['audio', '0', 'sendrecv'], ['video', '1', 'sendrecv'], ['application', '2', 'sendrecv']]);
  const [audio, video, data] = s.media;
  assert.deepEqual(audio.codecs[0], { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', rtcpFb: ['transport-cc'] });
  assert.equal(audio.formats.length, 8);
  assert.deepEqual(audio.extmaps[0], { id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' });
  assert.ok(audio.rtcpMux && audio.rtcpRsize);
  const vp8 = video.codecs.find((c) => c.name === 'VP8')!;
  assert.deepEqual(vp8.rtcpFb, ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']);
  assert.deepEqual(video.ssrcGroups, [{ semantics: 'FID', ssrcs: [2222, 3333] }]);
  assert.equal(data.sctpPort, 5000);
  assert.equal(data.maxMessageSize, 262144);
  assert.equal(data.candidates.length, 1);
  assert.ok(data.endOfCandidates);
  const t = transportOf(s, video);
  assert.equal(t.ufrag, 'Kq3a');
  assert.equal(t.setup, 'actpass');
  assert.equal(t.fingerprint?.algorithm, 'sha-256');
});

test('write then parse gives the same description', () => {
  const s = parseSdp(offer);
  const again = parseSdp(writeSdp(s));
  assert.deepEqual(again, s);
});

test('malformed SDP raises SdpError with a reason', () => {
  const bad = ['', 'x', 'v=1\r\nm=audio 9 RTP/AVP 0\r\n', 'v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\n', 'v=0\r\nm=audio 99999 RTP/AVP 0\r\n',
    'v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:abc opus/48000\r\n', 'v=0\r\nm=audio 9 RTP/AVP 0\r\nbad line\r\n',
    'v=0\r\nm=audio 9 RTP/AVP 96\r\na=fmtp:96 x=1\r\n', 'v=0\r\nm=audio\r\n', 'v=0\r\nm=audio 9 RTP/AVP 0\r\na=extmap:0 urn:x\r\n'];
  for (const b of bad) assert.throws(() => parseSdp(b), SdpError, JSON.stringify(b));
});

test('fuzz: mutated and random SDPs either parse (and round-trip) or raise SdpError', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  const r = prng(seed);
  const lines = offer.split('\r\n');
  const pieces = ['a=', 'm=', '=', ':', ' ', '/', '\r\n', '\n', '9999999999', '-1', 'a=rtpmap:', 'a=fmtp:', 'a=extmap:', 'a=ssrc:', 'a=rid:', '\u0000', 'é'];
  for (let i = 0; i < 3000; i++) {
    let text: string;
    const kind = r();
    if (kind < 0.4) {
      const copy = lines.slice();
      const n = 1 + Math.floor(r() * 4);
      for (let k = 0; k < n; k++) {
        const at = Math.floor(r() * copy.length);
        const op = r();
        if (op < 0.3) copy.splice(at, 1);
        else if (op < 0.6) copy.splice(at, 0, copy[Math.floor(r() * copy.length)]);
        else {
          const l = copy[at] ?? '';
          const pos = Math.floor(r() * (l.length + 1));
          copy[at] = l.slice(0, pos) + pieces[Math.floor(r() * pieces.length)] + l.slice(pos + Math.floor(r() * 3));
        }
      }
      text = copy.join('\r\n');
    } else if (kind < 0.7) {
      const buf = Buffer.from(offer);
      for (let k = 0; k < 5; k++) buf[Math.floor(r() * buf.length)] = Math.floor(r() * 256);
      text = buf.toString('latin1');
    } else {
      text = 'v=0\r\n' + Array.from({ length: Math.floor(r() * 30) }, () => pieces[Math.floor(r() * pieces.length)] + Math.floor(r() * 200)).join('');
    }
    try {
      const s = parseSdp(text);
      assert.deepEqual(parseSdp(writeSdp(s)).media.length, s.media.length, `seed ${seed} case ${i}`);
    } catch (err) {
      if (!(err instanceof SdpError)) assert.fail(`seed ${seed} case ${i}: ${String(err)}`);
    }
  }
});
