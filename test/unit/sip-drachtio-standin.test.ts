/**
 * The drachtio server STAND-IN (test/helpers/drachtio-standin.ts) on its own: control-protocol
 * framing, authentication, bad client messages, and SIP round trips between a drachtio-srf client
 * and a plain UDP socket playing the far side; plus the drachtio backend's behaviour when no server
 * answers. All on 127.0.0.1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import { DrachtioStandin, FrameReader, frame, STANDIN_VERSION } from '../helpers/drachtio-standin.ts';
import { Srf, stopSrf, type SrfConnection, type SrfRequest, type SrfResponse } from '../../src/interop/sip/drachtio/srf.ts';
import { DrachtioSipBackend, sipHostport } from '../../src/interop/sip/drachtio/backend.ts';

const standin = await DrachtioStandin.start({ secret: 's3cret', t1: 40 });
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await standin.close();
});

/** A raw control-protocol client: send frames, collect the frames received, see the close. */
async function rawClient() {
  const socket = net.connect(standin.controlPort, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const reader = new FrameReader();
  const got: string[] = [];
  let closed = false;
  socket.on('data', (d) => got.push(...reader.push(d)));
  socket.on('close', () => { closed = true; });
  socket.on('error', () => undefined);
  const waitFor = async (pred: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + 3000;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { socket, got, waitFor, isClosed: () => closed };
}

async function srfClient(secret = 's3cret'): Promise<{ srf: SrfConnection; hostport: string }> {
  const srf = new Srf();
  srf.on('error', () => undefined);
  const hostport = await new Promise<string>((resolve, reject) => {
    srf.on('connect', (err, hp) => (err ? reject(err) : resolve(hp)));
    srf.connect({ host: '127.0.0.1', port: standin.controlPort, secret, reconnect: { maxAttempts: 1 } });
  });
  cleanups.push(() => stopSrf(srf));
  return { srf, hostport };
}

async function udpPeer(sipPort = standin.sipPort) {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  cleanups.push(() => sock.close());
  const send = (text: string) => sock.send(text, sipPort, '127.0.0.1');
  return { sock, port: sock.address().port, got, send };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('framing: <byte length>#<message>, split anywhere, several per chunk, UTF-8 counted in bytes', () => {
  const r = new FrameReader();
  const msgs = ['a|ping', 'b|route|invite', 'c|sip|||\r\nMESSAGE sip:x SIP/2.0\r\n\r\nhé ☎'];
  const wire = Buffer.from(msgs.map(frame).join(''), 'utf8');
  assert.equal(frame('hé'), '3#hé');
  const out: string[] = [];
  for (let i = 0; i < wire.length; i++) out.push(...r.push(wire.subarray(i, i + 1)));
  assert.deepEqual(out, msgs);
  assert.deepEqual(new FrameReader().push(wire), msgs);
  for (const bad of ['abc#x', '0#', '123456#x', '12a', '-1#x']) assert.throws(() => new FrameReader().push(Buffer.from(bad)), /length/, bad);
});

test('authenticate: the right secret gets the SIP address and version, a wrong one NO and the connection closed', async () => {
  const ok = await rawClient();
  ok.socket.write(frame('m1|authenticate|s3cret|'));
  await ok.waitFor(() => ok.got.length > 0, 'the OK');
  assert.match(ok.got[0], new RegExp(`^[0-9a-f-]+\\|response\\|m1\\|OK\\|udp/127\\.0\\.0\\.1:${standin.sipPort}\\|${STANDIN_VERSION}$`));
  ok.socket.write(frame('m2|ping'));
  await ok.waitFor(() => ok.got.length > 1, 'the pong');
  assert.match(ok.got[1], /\|response\|m2\|OK\|pong$/);
  ok.socket.destroy();

  const bad = await rawClient();
  bad.socket.write(frame('m1|authenticate|guess|'));
  await bad.waitFor(() => bad.isClosed(), 'the close');
  assert.match(bad.got[0], /\|response\|m1\|NO\|incorrect secret$/);
  // drachtio-srf reports the failure as a connect error.
  await assert.rejects(srfClient('guess'), /failed to authenticate/);
  const { hostport } = await srfClient();
  assert.deepEqual(sipHostport(hostport, 'udp'), { transport: 'udp', hostport: `127.0.0.1:${standin.sipPort}` });
  assert.deepEqual(sipHostport('udp/10.0.0.1:5060,tcp/10.0.0.1:5080', 'tcp'), { transport: 'tcp', hostport: '10.0.0.1:5080' });
  assert.deepEqual(sipHostport(hostport, 'tcp'), { transport: 'udp', hostport: `127.0.0.1:${standin.sipPort}` });
  assert.equal(sipHostport('', 'udp'), undefined);
});

test('bad client messages: garbage length, unknown type, requests before authenticating, bad SIP; the stand-in keeps serving', async () => {
  const garbage = await rawClient();
  garbage.socket.write('hello#world');
  await garbage.waitFor(() => garbage.isClosed(), 'the close after a bad length');

  const early = await rawClient();
  early.socket.write(frame('m1|route|invite'));
  await early.waitFor(() => early.isClosed(), 'the close before authentication');
  assert.match(early.got[0], /\|response\|m1\|NO\|not authenticated$/);

  const unknown = await rawClient();
  unknown.socket.write(frame('m1|authenticate|s3cret|') + frame('m2|teleport|now'));
  await unknown.waitFor(() => unknown.isClosed(), 'the close after an unknown type');
  assert.match(unknown.got[1], /\|response\|m2\|NO\|Unknown message type$/);

  const badSip = await rawClient();
  badSip.socket.write(frame('m1|authenticate|s3cret|') + frame('m2|sip|||\r\nnot sip at all') + frame('m3|sip|||\r\nSIP/2.0 200 OK\r\n\r\n') + frame('m4|sip||nodialog|\r\nBYE sip:x@127.0.0.1 SIP/2.0\r\n\r\n'));
  await badSip.waitFor(() => badSip.got.length >= 4, 'three NO replies');
  assert.match(badSip.got[1], /\|m2\|NO\|invalid SIP message$/);
  assert.match(badSip.got[2], /\|m3\|NO\|transaction id missing$/);
  assert.match(badSip.got[3], /\|m4\|NO\|unable to find dialog/);
  assert.equal(badSip.isClosed(), false);
  badSip.socket.destroy();

  // Garbage on the SIP side is dropped.
  const far = await udpPeer();
  far.send('\x00\x01garbage\r\n\r\n');
  far.send('INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n');
  await srfClient();
});

test('SIP out and in through srf: OPTIONS to a UDP peer, MESSAGE routed to the app, 503 without a route, CDRs', async () => {
  const { srf } = await srfClient();
  const far = await udpPeer();
  // Out: srf -> stand-in -> UDP, the stand-in fills Via, tags, Call-ID, CSeq.
  const req = await srf.request(`sip:far@127.0.0.1:${far.port}`, { method: 'OPTIONS', headers: { From: '<sip:me@127.0.0.1>', 'X-Test': 'yes' } });
  await until(() => far.got.length > 0);
  const options = far.got[0];
  assert.match(options, /^OPTIONS sip:far@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
  assert.match(options, new RegExp(`Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${standin.sipPort};branch=z9hG4bK\\w+;rport`));
  assert.match(options, /From: <sip:me@127\.0\.0\.1>;tag=\w+/);
  assert.match(options, /X-Test: yes/);
  const head = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(options)?.[1] ?? '';
  const response = new Promise<SrfResponse>((resolve) => req.on('response', resolve));
  far.send(`SIP/2.0 200 OK\r\nVia: ${head('Via')}\r\nFrom: ${head('From')}\r\nTo: ${head('To')};tag=far1\r\nCall-ID: ${head('Call-ID')}\r\nCSeq: ${head('CSeq')}\r\nContent-Length: 0\r\n\r\n`);
  assert.equal((await response).status, 200);

  // In: a MESSAGE without a route gets 503... once routed, srf gets it and its 200 goes back.
  const inbound = (n: number, method: string) => `${method} sip:app@127.0.0.1:${standin.sipPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${far.port};branch=z9hG4bKin${n}\r\nFrom: <sip:far@127.0.0.1>;tag=f${n}\r\nTo: <sip:app@127.0.0.1>\r\nCall-ID: in-${n}@far\r\nCSeq: 1 ${method}\r\nMax-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi`;
  far.send(inbound(1, 'SUBSCRIBE'));
  await until(() => far.got.some((m) => /^SIP\/2\.0 404/.test(m) && m.includes('in-1@far')));
  const seen: SrfRequest[] = [];
  srf.message((rq: SrfRequest, rs: SrfResponse) => {
    seen.push(rq);
    rs.send(200, { headers: { 'X-Answer': 'ok' } });
  });
  await new Promise((r) => setTimeout(r, 100));
  far.send(inbound(2, 'MESSAGE'));
  await until(() => far.got.some((m) => /^SIP\/2\.0 200/.test(m) && m.includes('in-2@far')));
  assert.equal(seen[0].body, 'hi');
  const ok = far.got.find((m) => m.includes('in-2@far') && m.startsWith('SIP/2.0 200'))!;
  assert.match(ok, /Via: SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bKin2/);
  assert.match(ok, /To: <sip:app@127\.0\.0\.1>;tag=\w+/);
  assert.match(ok, /X-Answer: ok/);
  // The re-sent MESSAGE is answered from the transaction, not passed up again.
  far.send(inbound(2, 'MESSAGE'));
  await until(() => far.got.filter((m) => m.includes('in-2@far') && m.startsWith('SIP/2.0 200')).length === 2);
  assert.equal(seen.length, 1);
  // An INVITE nobody routed: 100 Trying then 503; with cdr:attempt routed, the app hears of it.
  const cdrs: string[] = [];
  srf.on('cdr:attempt', (source: string) => cdrs.push(source));
  await new Promise((r) => setTimeout(r, 100));
  far.send(inbound(3, 'INVITE'));
  await until(() => far.got.some((m) => /^SIP\/2\.0 503/.test(m) && m.includes('in-3@far')));
  await until(() => cdrs.length > 0);
  assert.deepEqual(cdrs, ['network']);
});

test('retransmission: an unanswered request is re-sent (Timer E) and srf gets a 408 after 64*T1', async () => {
  const { srf } = await srfClient();
  const far = await udpPeer();
  const req = await srf.request(`sip:far@127.0.0.1:${far.port}`, { method: 'OPTIONS', headers: { From: '<sip:me@127.0.0.1>' } });
  const res = await new Promise<SrfResponse>((resolve) => req.on('response', resolve));
  assert.equal(res.status, 408);
  assert.ok(far.got.length >= 4, `${far.got.length} copies`);
  assert.ok(far.got.every((m) => m === far.got[0]), 'the same request each time');
});

test('backend: no drachtio server answering makes createAccount fail with a clear error, in time', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const logs: string[] = [];
  const backend = new DrachtioSipBackend({ host: '127.0.0.1', port, secret: 'x', connectTimeoutMs: 300 }, { debug: (m) => logs.push(m), warn: (m) => logs.push(m) });
  await assert.rejects(backend.createAccount({ identity: 'sip:a@127.0.0.1', registerTtl: 60, headers: [], transport: 'udp', localIp: '127.0.0.1' }, {
    registered() {}, registrationFailed() {}, unregistered() {}, incomingCall() {}, message() {}, notify() {},
  }), /not reachable/);
  await backend.close();
});

test('backend: after the server connection drops, srf reconnects and routes come back (an incoming MESSAGE reaches the account)', async () => {
  // A server of its own: the other tests' srf clients route MESSAGE too.
  const server = await DrachtioStandin.start({ secret: 's3cret' });
  cleanups.push(() => server.close());
  const got: string[] = [];
  const backend = new DrachtioSipBackend({ host: '127.0.0.1', port: server.controlPort, secret: 's3cret' }, { debug: () => undefined, warn: () => undefined });
  cleanups.push(() => backend.close());
  const account = await backend.createAccount({ identity: 'sip:ivy@127.0.0.1', registerTtl: 60, headers: [], transport: 'udp', localIp: '127.0.0.1' }, {
    registered() {}, registrationFailed() {}, unregistered() {}, incomingCall() {}, notify() {},
    message: (info) => got.push(info.body),
  });
  const far = await udpPeer(server.sipPort);
  const message = (n: number) => `MESSAGE ${account.contact} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${far.port};branch=z9hG4bKrc${n}\r\nFrom: <sip:far@127.0.0.1>;tag=r${n}\r\nTo: <sip:ivy@127.0.0.1>\r\nCall-ID: rc-${n}@far\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: ${`ping ${n}`.length}\r\n\r\nping ${n}`;
  far.send(message(1));
  await until(() => got.includes('ping 1'));
  server.dropClients();
  // Until srf is back the stand-in has no route for MESSAGE (404); then it has again.
  let n = 1;
  await until(() => {
    far.send(message(++n));
    return got.some((b) => b.startsWith('ping') && b !== 'ping 1');
  }, 8000);
});

test('backend: ha1_secret alone is refused with registration_failed (srf digest only takes a password), nothing sent', async () => {
  const backend = new DrachtioSipBackend({ host: '127.0.0.1', port: standin.controlPort, secret: 's3cret' }, { debug: () => undefined, warn: () => undefined });
  cleanups.push(() => backend.close());
  const failures: Array<[number, string]> = [];
  const account = await backend.createAccount({ identity: 'sip:jo@127.0.0.1', ha1Secret: '0123456789abcdef0123456789abcdef', proxy: 'sip:127.0.0.1:9', registerTtl: 60, headers: [], transport: 'udp', localIp: '127.0.0.1' }, {
    registered() {}, unregistered() {}, incomingCall() {}, message() {}, notify() {},
    registrationFailed: (code, reason) => failures.push([code, reason]),
  });
  const before = standin.sipLog.length;
  await account.register();
  assert.deepEqual(failures, [[500, 'ha1_secret is not supported by the drachtio backend']]);
  assert.equal(standin.sipLog.slice(before).filter((m) => m.startsWith('> REGISTER')).length, 0);
});
