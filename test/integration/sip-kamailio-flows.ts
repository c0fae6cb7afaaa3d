/**
 * The kamailio flows every SIP backend passes, registered as node:test tests by the backend's test
 * file (embedded stack: sip-kamailio.test.ts; drachtio: sip-drachtio-kamailio.test.ts). kamailio is
 * registrar and proxy (digest auth, generated config on 127.0.0.1) and sipp the far phone:
 * - REGISTER answered with a 401 challenge: wrong password refused, right one registered, refresh,
 *   unregister;
 * - an outgoing call through kamailio (407 on the INVITE) with audio both ways, a blind REFER and a
 *   BYE from the far side;
 * - an incoming call through kamailio (180 Ringing, incomingcall, accept) where the far side's PCMA
 *   audio and RFC 2833 digit arrive byte for byte at the browser peer and the browser's packets reach
 *   the far side and come back, BYE from the far side;
 * - an incoming call declined with 486.
 * What differs between backends is what each can show of the wire; it comes in through the hooks.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { MediaStreamTrack, type RtpPacket } from 'werift';
import { loopbackPeer as makePeer, offerWith, waitConnected, rtpPacket, answerTo } from '../helpers/werift-peer.ts';
import { startKamailio, startSipp, sipHandle, until, pcapRtp, freeUdpPort, pcmaPeer, peerTracker, type Kamailio, type SippRun, type SipResult } from './sip-peers.ts';

export type SipTransport = 'udp' | 'tcp';
type Handle = Awaited<ReturnType<typeof sipHandle>>;
/** Registers `user` through kamailio on a new handle; the handle and the final register event. */
export type Login = (user: string, secret: string, extra?: Record<string, unknown>) => Promise<{ h: Handle; reg: SipResult }>;

export interface KamailioBackend {
  /** Prefix of the test names, e.g. 'drachtio: '. */
  label: string;
  /** The gateway's Janus API WebSocket. */
  wsUrl: string;
  /** Transports the outgoing call is placed over. */
  transports: readonly SipTransport[];
  /** Runs before kamailio stops at the end (a gateway closed first unregisters while kamailio answers). */
  beforeKamailioStops?: () => Promise<void>;
  register?: {
    /** Just before the REGISTER with the right password. */
    before?(): void;
    /** Just after it succeeded. */
    registered?(login: Login): Promise<void> | void;
    /** After the refresh was confirmed. */
    refreshed?(): void;
    /** After `unregistered`. */
    unregistered?(): void;
  };
  /** Wire checks once the outgoing call has audio: kamailio's 407 answered, our Via/Contact. */
  outgoingInvite(sipp: SippRun, transport: SipTransport): void;
}

export function kamailioFlows(backend: KamailioBackend): void {
  const { label, wsUrl } = backend;
  // Every peer is closed at the end, even when a test fails half-way.
  const tracker = peerTracker(makePeer);
  const loopbackPeer = tracker.peer;
  after(tracker.closeAll);
  let kamailio: Kamailio;
  let farPort = 0;
  before(async () => {
    farPort = await freeUdpPort();
    kamailio = await startKamailio({ alice: 'wonderland', bob: 'builder', carol: 'singer' }, farPort);
  });
  after(async () => {
    await backend.beforeKamailioStops?.();
    await kamailio?.stop();
  });

  const registered: Login = async (user, secret, extra = {}) => {
    const h = await sipHandle(wsUrl);
    await h.send({ request: 'register', username: `sip:${user}@127.0.0.1`, secret, proxy: `sip:127.0.0.1:${kamailio.port}`, ...extra });
    const first = await h.sipEvent((r, m) => r.event === 'registering' || (m.plugindata as { data: Record<string, unknown> }).data.error_code !== undefined);
    assert.equal(h.resultOf(first)?.event, 'registering', JSON.stringify(first.plugindata));
    const reg = h.resultOf(await h.sipEvent((r) => r.event === 'registered' || r.event === 'registration_failed'));
    return { h, reg };
  };

  test(`${label}REGISTER: 401 challenge, wrong password refused, right one registered, refresh, unregister`, async () => {
    const bad = await registered('alice', 'nope');
    assert.equal(bad.reg.event, 'registration_failed');
    assert.equal(bad.reg.code, 401);
    bad.h.client.close();
    backend.register?.before?.();
    const { h, reg } = await registered('alice', 'wonderland', { register_ttl: 120, display_name: 'Alice' });
    assert.deepEqual({ event: reg.event, username: reg.username, register_sent: reg.register_sent }, { event: 'registered', username: 'sip:alice@127.0.0.1', register_sent: true });
    assert.equal(reg.expires, 120);
    await backend.register?.registered?.(registered);
    const registeredCount = () => h.client.messages.filter((m) => h.resultOf(m)?.event === 'registered').length;
    await h.send({ request: 'register', refresh: true });
    await until(() => registeredCount() >= 2, 10000);
    backend.register?.refreshed?.();
    await h.send({ request: 'unregister' });
    await h.sipEvent((r) => r.event === 'unregistering');
    await h.sipEvent((r) => r.event === 'unregistered');
    backend.register?.unregistered?.();
    h.client.close();
  });

  for (const transport of backend.transports) {
    test(`${label}outgoing call through kamailio over ${transport} (407 answered) with audio both ways, REFER, BYE from the far side`, async () => {
      const sipp = await startSipp('uas-transfer.xml', { rtpEcho: true, extra: ['-p', String(farPort)] });
      try {
        const { h, reg } = await registered('alice', 'wonderland', transport === 'tcp' ? { force_tcp: true } : {});
        assert.equal(reg.event, 'registered');
        const pc = loopbackPeer();
        const got: RtpPacket[] = [];
        pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
        const offer = await offerWith(pc, ['audio'], false);
        await h.send({ request: 'call', uri: `sip:echo@127.0.0.1:${kamailio.port}` }, { type: 'offer', sdp: offer.sdp });
        const accepted = await h.sipEvent((r) => r.event === 'accepted');
        await pc.setRemoteDescription(accepted.jsep);
        await waitConnected(pc);
        for (let i = 0; i < 40; i++) {
          offer.tracks[0].writeRtp(rtpPacket(111, 900 + i, 960 * i, 7777, 'kama'));
          await new Promise((r) => setTimeout(r, 10));
        }
        await until(() => got.length >= 25);
        assert.equal(got[0].payload.subarray(0, 4).toString(), 'kama');
        backend.outgoingInvite(sipp, transport);
        await h.send({ request: 'transfer', uri: 'sip:carol@example.com' });
        await h.sipEvent((r) => r.event === 'hangup');
        assert.equal(await sipp.exited, 0, sipp.errors());
        await pc.close();
        h.client.close();
      } finally {
        sipp.stop();
      }
    });
  }

  test(`${label}incoming call through kamailio: 180, incomingcall, accept, far-side PCMA and RFC 2833 byte for byte, browser audio echoed, BYE from the far side`, async () => {
    const { h } = await registered('bob', 'builder');
    const sipp = await startSipp('uac-incoming.xml', { rtpEcho: true, service: 'bob', remote: `127.0.0.1:${kamailio.port}` });
    try {
      const inc = await h.sipEvent((r) => r.event === 'incomingcall', 15000);
      const r = h.resultOf(inc);
      assert.match(String(r.username), /^sip:far@127\.0\.0\.1/);
      assert.equal(r.displayname, 'Far Phone');
      assert.equal(inc.jsep.type, 'offer');
      assert.match(inc.jsep.sdp, /a=rtpmap:8 PCMA\/8000/);
      assert.match(inc.jsep.sdp, /a=rtpmap:101 telephone-event\/8000/);
      const pc = pcmaPeer();
      const got: RtpPacket[] = [];
      pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
      pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
      const answer = await answerTo(pc, inc.jsep);
      await h.send({ request: 'accept' }, { type: 'answer', sdp: answer });
      await h.sipEvent((x) => x.event === 'accepted');
      await waitConnected(pc);
      const track = pc.getTransceivers()[0].sender.track!;
      for (let i = 0; i < 40; i++) {
        track.writeRtp(rtpPacket(8, 100 + i, 160 * i, 3333, 'bob!'));
        await new Promise((res) => setTimeout(res, 10));
      }
      await h.sipEvent((x) => x.event === 'hangup', 20000);
      assert.equal(await sipp.exited, 0, sipp.errors());
      // 180 Ringing went out before the answer.
      assert.match(sipp.messages(), /SIP\/2\.0 180 Ringing/);
      // The far side's audio: g711a.pcap's PCMA payloads arrived unchanged.
      const sent = pcapRtp('/usr/share/sip-tester/g711a.pcap').filter((p) => p.pt === 8);
      const pcma = got.filter((p) => p.header.payloadType === 8 && p.payload.subarray(0, 4).toString() !== 'bob!');
      assert.ok(pcma.length >= 50, `PCMA packets from the far side: ${pcma.length}`);
      const known = new Set(sent.map((p) => p.payload.toString('hex')));
      assert.equal(pcma.filter((p) => known.has(p.payload.toString('hex'))).length, pcma.length, 'every far-side PCMA payload is one sipp played, unchanged');
      // RFC 2833: the digit's events passed through with their payload type and bytes (event 1).
      const dtmf = got.filter((p) => p.header.payloadType === 101);
      assert.ok(dtmf.length > 0, 'telephone-event packets arrived');
      assert.equal(dtmf[0].payload[0], 1);
      const played = pcapRtp('/usr/share/sip-tester/dtmf_2833_1.pcap').filter((p) => p.pt === 101);
      assert.ok(played.some((p) => p.payload.equals(dtmf[0].payload)));
      // The browser's packets reached the far side and its echo came back.
      assert.ok(got.some((p) => p.payload.subarray(0, 4).toString() === 'bob!'), 'echo of the browser audio');
      await pc.close();
    } finally {
      sipp.stop();
      h.client.close();
    }
  });

  test(`${label}incoming call declined: the far side gets 486`, async () => {
    const { h } = await registered('carol', 'singer');
    const sipp = await startSipp('uac-declined.xml', { service: 'carol', remote: `127.0.0.1:${kamailio.port}` });
    try {
      await h.sipEvent((r) => r.event === 'incomingcall', 15000);
      await h.send({ request: 'decline', code: 486 });
      await h.sipEvent((r) => r.event === 'declining');
      assert.equal(await sipp.exited, 0, sipp.errors());
    } finally {
      sipp.stop();
      h.client.close();
    }
  });
}
