/**
 * Untrusted SIP reaching the drachtio backend: random mutations of INVITE / MESSAGE / INFO / BYE
 * requests (and well-formed ones with broken SDP, no Contact, odd URIs) are sent over UDP to the
 * drachtio STAND-IN, which passes on whatever parses to drachtio-srf and so to the backend and the
 * plugin. Afterwards the gateway must still be up and the account still work: a clean MESSAGE
 * reaches the app and a call to sipp completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { prng, fuzzSeed, type Rng } from '../helpers/prng.ts';
import { loopbackPeer } from '../helpers/werift-peer.ts';
import { startSipp } from './sip-peers.ts';
import { drachtioGateway, guest, placeCall } from './sip-drachtio-common.ts';

const { standin, wsUrl } = await drachtioGateway('39000-39999');

const SDP = 'v=0\r\no=far 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';

function request(method: string, n: number, opts: { body?: string; contentType?: string; contact?: boolean; uri?: string; toTag?: string } = {}): string {
  const body = opts.body ?? '';
  return [
    `${method} ${opts.uri ?? `sip:fuzz@127.0.0.1:${standin.sipPort}`} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKfz${n}`,
    'Max-Forwards: 70', `From: "Fuzzer" <sip:far@127.0.0.1>;tag=ft${n}`, `To: <sip:fuzz@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    `Call-ID: fuzz-${n}@far`, `CSeq: ${n + 1} ${method}`, ...(opts.contact === false ? [] : ['Contact: <sip:far@127.0.0.1:9>']),
    ...(body ? [`Content-Type: ${opts.contentType ?? 'application/sdp'}`] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
  ].join('\r\n');
}

/** A few byte-level damages: overwrite, cut, duplicate a span, inject a separator. */
function damage(rng: Rng, text: string): string {
  let s = text;
  const rounds = 1 + Math.floor(rng() * 5);
  for (let i = 0; i < rounds; i++) {
    const at = Math.floor(rng() * s.length);
    const pick = rng();
    if (pick < 0.4) s = s.slice(0, at) + String.fromCharCode(Math.floor(rng() * 256)) + s.slice(at + 1);
    else if (pick < 0.6) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rng() * 30));
    else if (pick < 0.8) s = s.slice(0, at) + s.slice(at, at + 20) + s.slice(at);
    else s = s.slice(0, at) + ['\r\n', ';', ':', '<', '>', '"', ',', '|', '#'][Math.floor(rng() * 9)] + s.slice(at);
  }
  return s;
}

test('drachtio: mutated and odd SIP from the network never takes the gateway down', async () => {
  const h = await guest(wsUrl, 'fuzz');
  const seed = fuzzSeed();
  const rng = prng(seed);
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const send = (text: string) => new Promise<void>((r) => sock.send(Buffer.from(text, 'latin1'), standin.sipPort, '127.0.0.1', () => r()));
  const odd = [
    request('INVITE', 1, { body: 'v=0\r\nthis is not sdp\r\n' }),
    request('INVITE', 2, { body: SDP, contact: false }),
    request('INVITE', 3, { body: SDP, uri: 'sip:127.0.0.1' }),
    request('INVITE', 4, {}),
    request('INFO', 5, { toTag: 'nosuchdialog', body: 'Signal=1', contentType: 'application/dtmf-relay' }),
    request('BYE', 6, { toTag: 'nosuchdialog' }),
    request('MESSAGE', 7, { body: 'x'.repeat(20000), contentType: 'text/plain' }),
    request('MESSAGE', 8, { body: '\u00ff\u0000\u0001', contentType: 'application/octet-stream' }),
  ];
  // One clean incoming call first, left ringing: the INVITEs that follow find the account busy (486,
  // missed_call). A burst of INVITEs to an idle account is the next test.
  await send(request('INVITE', 0, { body: SDP }));
  await h.sipEvent((r) => r.event === 'incomingcall');
  for (const t of odd) await send(t);
  const bases = [request('INVITE', 100, { body: SDP }), request('MESSAGE', 101, { body: 'hello', contentType: 'text/plain' }), request('INFO', 102, { body: 'Signal=5', contentType: 'application/dtmf-relay' })];
  for (let i = 0; i < 300; i++) {
    // Distinct branch and Call-ID per case, so each is a new transaction.
    const base = bases[i % bases.length].replaceAll(/fz10\d|fuzz-10\d/g, (m) => `${m}x${i}`);
    await send(damage(rng, base));
    if (i % 25 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  // Still alive: a clean MESSAGE reaches the app...
  await new Promise((r) => setTimeout(r, 500));
  await send(request('MESSAGE', 999, { body: 'still there?', contentType: 'text/plain' }));
  const msg = h.resultOf(await h.sipEvent((r) => r.event === 'message' && r.content === 'still there?', 10000));
  assert.match(String(msg.sender), /^sip:far@127\.0\.0\.1/, `seed ${seed}`);
  // Many damaged requests were still valid SIP and went all the way up to the plugin.
  const reached = h.client.messages.filter((m) => ['message', 'incomingcall', 'missed_call'].includes(String(h.resultOf(m)?.event))).length;
  assert.ok(reached > 30, `${reached} requests reached the app (seed ${seed})`);
  sock.close();
  h.client.close();
  // ...and a fresh account still calls out.
  const sipp = await startSipp('uas-busy.xml');
  try {
    const h2 = await guest(wsUrl, 'after');
    const pc = loopbackPeer();
    await placeCall(h2, `sip:far@127.0.0.1:${sipp.port}`, pc);
    const hangup = h2.resultOf(await h2.sipEvent((r) => r.event === 'hangup'));
    assert.equal(hangup.code, 486, `seed ${seed}`);
    assert.equal(await sipp.exited, 0, sipp.errors());
    await pc.close();
    h2.client.close();
  } finally {
    sipp.stop();
  }
});

test('three INVITEs at once to an idle account: one incomingcall, two missed_call (486)', async () => {
  const h = await guest(wsUrl, 'race');
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const send = (text: string) => new Promise<void>((r) => sock.send(Buffer.from(text, 'latin1'), standin.sipPort, '127.0.0.1', () => r()));
  // Sent back to back: each reaches the plugin while the previous one's RTP bridge is still opening.
  for (const n of [501, 502, 503]) await send(request('INVITE', n, { body: SDP, uri: `sip:race@127.0.0.1:${standin.sipPort}` }));
  await h.sipEvent((r) => r.event === 'incomingcall', 10000);
  const deadline = Date.now() + 5000;
  const count = (ev: string) => h.client.messages.filter((m) => h.resultOf(m)?.event === ev).length;
  while (count('missed_call') < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(count('incomingcall'), 1, 'one INVITE takes the handle');
  assert.equal(count('missed_call'), 2, 'the other two are answered busy');
  sock.close();
  h.client.close();
});
