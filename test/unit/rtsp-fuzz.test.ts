/**
 * Fuzzing the RTSP parsers that read what a camera sends: the response/interleaved stream parser
 * (random bytes, valid streams cut at random points, mutated valid streams), the camera SDP parser
 * and the WWW-Authenticate parser. Only RtspProtocolError / CameraSdpError may escape; valid
 * streams split anywhere must give the same items as when fed whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspProtocolError, RtspStreamParser, parseTransport, parseSession, type RtspResponse } from '../../src/interop/rtsp/message.ts';
import { CameraSdpError, parseCameraSdp } from '../../src/interop/rtsp/sdp.ts';
import { parseChallenge, pickChallenge } from '../../src/interop/rtsp/auth.ts';
import { prng, fuzzSeed } from '../helpers/prng.ts';

const SDP = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=Session streamed with GStreamer', 't=0 0', 'a=control:*', 'a=range:npt=now-',
  'm=video 0 RTP/AVP 96', 'c=IN IP4 0.0.0.0', 'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets=Z0LAHtkBQfsBEAAAAwAQAAADAeDxgyQ=,aMuMsg==', 'a=control:stream=0',
  'm=audio 0 RTP/AVP 97', 'a=rtpmap:97 OPUS/48000/2', 'a=control:stream=1', '',
].join('\r\n');

function stream(): Buffer {
  const rtp = Buffer.alloc(40, 0xab);
  rtp[0] = 0x80;
  return Buffer.concat([
    Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER\r\n\r\n'),
    Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://127.0.0.1:8554/test/\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(SDP)}\r\n\r\n${SDP}`),
    Buffer.from([0x24, 0, 0, 40]), rtp,
    Buffer.from('RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\nWWW-Authenticate: Digest realm="GStreamer Server", nonce="abc"\r\nWWW-Authenticate: Basic realm="x"\r\n\r\n'),
    Buffer.from([0x24, 1, 0, 8]), Buffer.alloc(8, 1),
  ]);
}

function collect(chunks: Buffer[]): { responses: RtspResponse[]; frames: Array<[number, Buffer]> } {
  const responses: RtspResponse[] = [];
  const frames: Array<[number, Buffer]> = [];
  const p = new RtspStreamParser({ response: (r) => responses.push(r), frame: (c, b) => frames.push([c, b]) });
  for (const c of chunks) p.push(c);
  return { responses, frames };
}

test('a valid stream parses the same whole and split at random points', () => {
  const whole = collect([stream()]);
  assert.equal(whole.responses.length, 3);
  assert.equal(whole.responses[1].body, SDP);
  assert.equal(whole.responses[2].challenges.length, 2);
  assert.deepEqual(whole.frames.map(([c, b]) => [c, b.length]), [[0, 40], [1, 8]]);
  const sdp = parseCameraSdp(whole.responses[1].body, whole.responses[1].headers.get('content-base')!);
  assert.equal(sdp.control, 'rtsp://127.0.0.1:8554/test/');
  assert.equal(sdp.media[0].control, 'rtsp://127.0.0.1:8554/test/stream=0');
  assert.equal(sdp.media[1].codec, 'opus');
  assert.equal(pickChallenge(whole.responses[2].challenges)!.scheme, 'digest');
  const rnd = prng(fuzzSeed());
  const data = stream();
  for (let i = 0; i < 300; i++) {
    const chunks: Buffer[] = [];
    let off = 0;
    while (off < data.length) {
      const n = 1 + Math.floor(rnd() * 40);
      chunks.push(data.subarray(off, off + n));
      off += n;
    }
    const split = collect(chunks);
    assert.equal(split.responses.length, 3);
    assert.equal(split.responses[1].body, SDP);
    assert.deepEqual(split.frames.map(([c, b]) => [c, b.length]), [[0, 40], [1, 8]]);
  }
});

test('random and mutated streams: only RtspProtocolError escapes; caps hold', () => {
  const rnd = prng(fuzzSeed());
  const base = stream();
  for (let i = 0; i < 3000; i++) {
    let input: Buffer;
    if (i % 3 === 0) {
      input = Buffer.alloc(Math.floor(rnd() * 600));
      for (let j = 0; j < input.length; j++) input[j] = Math.floor(rnd() * 256);
    } else {
      input = Buffer.from(base);
      const flips = 1 + Math.floor(rnd() * 12);
      for (let j = 0; j < flips; j++) input[Math.floor(rnd() * input.length)] = Math.floor(rnd() * 256);
      if (i % 3 === 2) input = input.subarray(0, Math.floor(rnd() * input.length));
    }
    try {
      collect([input]);
    } catch (err) {
      assert.ok(err instanceof RtspProtocolError, `unexpected ${(err as Error)?.stack}`);
    }
  }
  // A header that never ends, a body too large, an endless frame series are cut off.
  assert.throws(() => collect([Buffer.from('RTSP/1.0 200 OK\r\n' + 'X-A: b\r\n'.repeat(5000))]), RtspProtocolError);
  assert.throws(() => collect([Buffer.from('RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n')]), RtspProtocolError);
  assert.throws(() => collect([Buffer.from('RTSP/1.0 200 OK\r\n' + 'X-A: b\r\n'.repeat(100) + '\r\n')]), RtspProtocolError);
});

test('camera SDP: random and mutated input, only CameraSdpError escapes; injection refused', () => {
  const rnd = prng(fuzzSeed());
  const lines = SDP.split('\r\n');
  for (let i = 0; i < 3000; i++) {
    let text: string;
    if (i % 4 === 0) {
      text = Array.from({ length: Math.floor(rnd() * 300) }, () => String.fromCharCode(Math.floor(rnd() * 128))).join('');
    } else {
      const l = [...lines];
      const k = Math.floor(rnd() * l.length);
      const pick = l[Math.floor(rnd() * l.length)];
      if (i % 4 === 1) l.splice(k, 0, pick);
      else if (i % 4 === 2) l.splice(k, 1);
      else l[k] = l[k].slice(0, Math.floor(rnd() * l[k].length)) + String.fromCharCode(Math.floor(rnd() * 256)) + l[k].slice(Math.floor(rnd() * l[k].length));
      text = l.join('\r\n');
    }
    try {
      const sdp = parseCameraSdp(text, 'rtsp://127.0.0.1/test');
      for (const m of sdp.media) assert.doesNotMatch(m.fmtp ?? '', /[\r\n]/);
    } catch (err) {
      assert.ok(err instanceof CameraSdpError, `unexpected ${(err as Error)?.stack}`);
    }
  }
  assert.throws(() => parseCameraSdp('v=0\r\n' + 'a=x\r\n'.repeat(10000), 'rtsp://h/'), CameraSdpError);
  assert.throws(() => parseCameraSdp('v=0\r\nm=video 0 RTP/AVP 96\r\n', 'rtsp://h/'), CameraSdpError);
});

test('Transport, Session and WWW-Authenticate parsers take any string', () => {
  const rnd = prng(fuzzSeed());
  assert.deepEqual(parseTransport('RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=DEADBEEF;mode="PLAY"').interleaved, [2, 3]);
  assert.deepEqual(parseTransport('RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001').serverPort, [6000, 6001]);
  assert.deepEqual(parseSession('abcd;timeout=30'), { id: 'abcd', timeout: 30 });
  assert.equal(parseChallenge('Digest realm="r", nonce="n\\"x", qop="auth"')!.params.get('nonce'), 'n"x');
  for (let i = 0; i < 2000; i++) {
    const s = Array.from({ length: Math.floor(rnd() * 120) }, () => String.fromCharCode(32 + Math.floor(rnd() * 95))).join('');
    parseTransport(s);
    parseChallenge(`Digest ${s}`);
    pickChallenge([s, `Basic ${s}`]);
    try {
      parseSession(s);
    } catch (err) {
      assert.ok(err instanceof RtspProtocolError);
    }
  }
});
