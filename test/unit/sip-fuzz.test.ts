/**
 * Fuzzing the SIP input paths: the message-head scanner (random bytes and mutations of real
 * messages), the SIP transport receiving garbage over UDP and TCP (no exception, socket stays up and
 * still answers a valid request), and the SDP translator (mutated SIP and WebRTC descriptions: only
 * SdpError may come out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { prng, fuzzSeed } from '../helpers/prng.ts';
import { scanSipMessage, topVia, uriTarget } from '../../src/interop/sip/message-scan.ts';
import { newViaToken, SipSocketTransport } from '../../src/interop/sip/transport.ts';
import { SdpError, sipAnswerFromWebrtc, sipMediaLines, sipOfferFromWebrtc, webrtcAnswerFromSip, webrtcOfferFromSip } from '../../src/interop/sip/sdp-translate.ts';
import { readFileSync } from 'node:fs';

const INVITE = [
  'INVITE sip:bob@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport', 'Max-Forwards: 70',
  'To: Bob <sip:bob@127.0.0.1>', 'From: Alice <sip:alice@127.0.0.1>;tag=1928301774', 'Call-ID: a84b4c76e66710@pc33', 'CSeq: 314159 INVITE',
  'Contact: <sip:alice@127.0.0.1:5070>', 'Content-Type: application/sdp', 'Content-Length: 0', '', '',
].join('\r\n');

const SIP_SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 9 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=rtcp:40001\r\na=sendrecv\r\n';
const CHROME = readFileSync(new URL('../fixtures/chrome-offer.sdp', import.meta.url), 'utf8');

function mutate(rng: () => number, src: Buffer): Buffer {
  const b = Buffer.from(src);
  const n = 1 + Math.floor(rng() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rng() * b.length);
    const r = rng();
    if (r < 0.5) b[at] = Math.floor(rng() * 256);
    else if (r < 0.7) b[at] = [13, 10, 58, 59, 32, 60, 62][Math.floor(rng() * 7)];
    else if (r < 0.85) return Buffer.concat([b.subarray(0, at), b.subarray(at + Math.floor(rng() * 40))]);
    else return Buffer.concat([b.subarray(0, at), Buffer.from('\r\nX: ' + 'a'.repeat(Math.floor(rng() * 3000))), b.subarray(at)]);
  }
  return b;
}

test('scanSipMessage: random and mutated input never throws', () => {
  const seed = fuzzSeed();
  const rng = prng(seed);
  const base = Buffer.from(INVITE);
  assert.ok(scanSipMessage(base));
  for (let i = 0; i < 20000; i++) {
    const input = i % 4 === 0 ? Buffer.from(Array.from({ length: Math.floor(rng() * 600) }, () => Math.floor(rng() * 256))) : mutate(rng, base);
    try {
      const head = scanSipMessage(input);
      if (head) {
        topVia(head);
        uriTarget(head.uri);
      }
    } catch (err) {
      assert.fail(`seed ${seed} case ${i}: ${(err as Error).message}`);
    }
  }
  assert.equal(scanSipMessage(Buffer.alloc(70_000, 65)), undefined, 'over the size cap');
});

test('SDP translator: mutated SIP and WebRTC descriptions give a result or SdpError only', () => {
  const seed = fuzzSeed();
  const rng = prng(seed);
  const ports = { rtpPort: (i: number) => 20000 + 2 * i };
  for (let i = 0; i < 1000; i++) {
    const sip = mutate(rng, Buffer.from(SIP_SDP)).toString('latin1');
    const web = mutate(rng, Buffer.from(CHROME)).toString('latin1');
    for (const f of [
      () => sipMediaLines(sip), () => webrtcOfferFromSip(sip), () => sipOfferFromWebrtc(web, '127.0.0.1', ports, '1'),
      () => webrtcAnswerFromSip(CHROME, sip), () => sipAnswerFromWebrtc(web, SIP_SDP, '127.0.0.1', ports, '1'),
    ]) {
      try {
        f();
      } catch (err) {
        if (!(err instanceof SdpError)) assert.fail(`seed ${seed} case ${i}: ${(err as Error).stack}`);
      }
    }
  }
});

test('the SIP transport survives garbage on UDP and TCP and still takes a valid request', async () => {
  const seed = fuzzSeed();
  const rng = prng(seed);
  for (const protocol of ['udp', 'tcp'] as const) {
    const t = new SipSocketTransport(undefined, { protocol, localIp: '127.0.0.1', viaToken: newViaToken() });
    const received: string[] = [];
    t.onMessage = (m) => received.push(m);
    await t.connect();
    if (protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      for (let i = 0; i < 2000; i++) s.send(mutate(rng, Buffer.from(INVITE.replace('314159', String(i)))), t.port, '127.0.0.1');
      // After the burst has drained (a burst can overflow the socket buffer; that is UDP, not us).
      await new Promise((r) => setTimeout(r, 500));
      s.send(Buffer.from(INVITE.replace('z9hG4bK776asdhds', 'z9hG4bKfinal')), t.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 200));
      s.close();
    } else {
      for (let c = 0; c < 20; c++) {
        const sock = net.connect(t.port, '127.0.0.1');
        sock.on('error', () => {});
        await new Promise((r) => sock.once('connect', r));
        for (let i = 0; i < 50; i++) sock.write(mutate(rng, Buffer.from(INVITE)));
        sock.end();
      }
      const ok = net.connect(t.port, '127.0.0.1');
      await new Promise((r) => ok.once('connect', r));
      // Split in two writes: framing must reassemble it.
      const msg = Buffer.from(INVITE.replace('z9hG4bK776asdhds', 'z9hG4bKfinal'));
      ok.write(msg.subarray(0, 40));
      await new Promise((r) => setTimeout(r, 50));
      ok.write(msg.subarray(40));
      await new Promise((r) => setTimeout(r, 300));
      ok.destroy();
    }
    assert.ok(received.some((m) => m.includes('z9hG4bKfinal')), `${protocol}: the valid request got through (seed ${seed})`);
    assert.ok(t.isConnected());
    await t.disconnect();
  }
});

test('UDP retransmissions: Timer E doubles from T1, stops at the final response; re-sent requests are absorbed', async () => {
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const got: Array<{ at: number; text: string; port: number }> = [];
  const start = Date.now();
  peer.on('message', (m, rinfo) => got.push({ at: Date.now() - start, text: m.toString(), port: rinfo.port }));
  const token = newViaToken();
  // T1 = 100 ms (t1x64 = 6400) to keep the test short.
  const t = new SipSocketTransport(undefined, { protocol: 'udp', localIp: '127.0.0.1', viaToken: token, t1x64: 6400 });
  const incoming: string[] = [];
  t.onMessage = (m) => incoming.push(m);
  await t.connect();
  const port = peer.address().port;
  await t.send([
    `OPTIONS sip:x@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP ${token};branch=z9hG4bKopt1;rport`, 'To: <sip:x@127.0.0.1>',
    'From: <sip:me@127.0.0.1>;tag=a', 'Call-ID: c1', 'CSeq: 1 OPTIONS', `Contact: <sip:me@${token};transport=udp>`, 'Content-Length: 0', '', '',
  ].join('\r\n'));
  await new Promise((r) => setTimeout(r, 780));
  // Sent at 0, then about 100, 300, 700 ms (intervals 100, 200, 400).
  assert.ok(got.length >= 3 && got.length <= 5, `sends: ${got.map((g) => g.at).join(',')}`);
  assert.match(got[0].text, new RegExp(`Via: SIP/2.0/UDP 127\\.0\\.0\\.1:${t.port};branch`));
  assert.match(got[0].text, new RegExp(`Contact: <sip:me@127\\.0\\.0\\.1:${t.port};transport=udp>`));
  const reply = (text: string) => peer.send(text, t.port, '127.0.0.1');
  reply(['SIP/2.0 200 OK', `Via: SIP/2.0/UDP 127.0.0.1:${t.port};branch=z9hG4bKopt1;rport=${t.port};received=127.0.0.1`, 'To: <sip:x@127.0.0.1>;tag=b',
    'From: <sip:me@127.0.0.1>;tag=a', 'Call-ID: c1', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'));
  await new Promise((r) => setTimeout(r, 100));
  const after = got.length;
  await new Promise((r) => setTimeout(r, 900));
  assert.equal(got.length, after, 'no retransmission after the final response');
  // sip.js gets the response with its placeholder back in the Via.
  assert.ok(incoming.some((m) => m.startsWith('SIP/2.0 200') && m.includes(`Via: SIP/2.0/UDP ${token};`)));
  // A request from the peer, answered once, then re-sent: the answer is repeated, sip.js sees it once.
  const req = [`MESSAGE sip:me@127.0.0.1:${t.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKmsg1;rport`, 'To: <sip:me@127.0.0.1>',
    'From: <sip:x@127.0.0.1>;tag=z', 'Call-ID: c2', 'CSeq: 5 MESSAGE', 'Content-Length: 0', '', ''].join('\r\n');
  reply(req);
  await new Promise((r) => setTimeout(r, 100));
  await t.send(['SIP/2.0 200 OK', `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKmsg1;rport=${port};received=127.0.0.1`, 'To: <sip:me@127.0.0.1>;tag=q',
    'From: <sip:x@127.0.0.1>;tag=z', 'Call-ID: c2', 'CSeq: 5 MESSAGE', 'Content-Length: 0', '', ''].join('\r\n'));
  reply(req);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(incoming.filter((m) => m.startsWith('MESSAGE')).length, 1);
  assert.equal(got.filter((g) => g.text.startsWith('SIP/2.0 200 OK') && g.text.includes('z9hG4bKmsg1')).length, 2);
  await t.disconnect();
  peer.close();
});
