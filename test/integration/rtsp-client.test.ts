/**
 * Our RTSP client against a real GStreamer RTSP server on loopback: DESCRIBE with H.264
 * (packetization-mode 1, sprop-parameter-sets) and Opus, SETUP with one session for both tracks,
 * PLAY on the aggregate URL, RTP over UDP and over TCP-interleaved, Digest and Basic auth, wrong
 * credentials refused, UDP-to-TCP fallback when the server offers TCP only, TEARDOWN.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RtspClient, RtspError, type RtspTransport } from '../../src/interop/rtsp/client.ts';
import { RtspIngest } from '../../src/interop/rtsp/ingest.ts';
import { isH264Keyframe } from '../../src/media/keyframe.ts';
import { RtpView } from '../../src/media/rtp.ts';
import { startRtspServer, type TestRtspServer } from './rtsp-common.ts';

const servers: TestRtspServer[] = [];
after(async () => { for (const s of servers) await s.stop(); });
async function server(o: Parameters<typeof startRtspServer>[0] = {}): Promise<TestRtspServer> {
  const s = await startRtspServer(o);
  servers.push(s);
  return s;
}

const plain = await server();
const digest = await server({ user: 'cam', password: 's3cret', auth: 'digest' });

async function play(url: string, transport: RtspTransport, creds?: { user: string; password: string }) {
  const packets: Buffer[][] = [[], []];
  let closed = '';
  const c = new RtspClient({ url, transport, connectTimeoutMs: 5000, requestTimeoutMs: 10000, bindAddress: '127.0.0.1', portRange: [42000, 42999], ...(creds ? { credentials: creds } : {}) }, {
    rtp: (i, p) => { if (packets[i].length < 2000) packets[i].push(p); },
    closed: (r) => { closed = r; },
  });
  const sdp = await c.start();
  return { c, sdp, packets, closed: () => closed };
}

async function until(cond: () => boolean, ms = 15000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function hasKeyframe(list: Buffer[]): boolean {
  const v = new RtpView();
  return list.some((p) => v.wrap(p) && isH264Keyframe(p, v.payloadOffset, v.payloadLength));
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`H.264 + Opus over ${transport}: SDP, one session, SPS/PPS/IDR and Opus packets`, async () => {
    const s = await play(plain.url, transport);
    assert.equal(s.sdp.media.length, 2);
    const [v, a] = s.sdp.media;
    assert.equal(v.codec, 'h264');
    assert.equal(v.clockRate, 90000);
    assert.match(v.fmtp ?? '', /packetization-mode=1/);
    assert.match(v.fmtp ?? '', /sprop-parameter-sets=[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+/);
    assert.equal(a.codec, 'opus');
    assert.equal(a.clockRate, 48000);
    assert.ok(v.control.startsWith(plain.url), v.control);
    await until(() => hasKeyframe(s.packets[0]) && s.packets[1].length > 20, 20000, 'H.264 keyframe and Opus');
    const view = new RtpView();
    assert.ok(view.wrap(s.packets[1][0]));
    assert.equal(view.payloadType, 97);
    // NAL types seen: SPS (7), PPS (8) and IDR (5), directly or in STAP-A/FU-A.
    const nals = new Set<number>();
    for (const p of s.packets[0]) {
      if (!view.wrap(p)) continue;
      const b = p[view.payloadOffset] & 0x1f;
      if (b === 28) nals.add(p[view.payloadOffset + 1] & 0x1f);
      else if (b === 24) { let o = view.payloadOffset + 1; while (o + 2 < p.length) { const n = p.readUInt16BE(o); nals.add(p[o + 2] & 0x1f); o += 2 + n; } }
      else nals.add(b);
    }
    assert.ok(nals.has(7) && nals.has(8) && nals.has(5), `NAL types ${[...nals]}`);
    await s.c.close();
    assert.equal(s.closed(), '');
  });
}

test('Digest authentication: right credentials play (also from the URL), wrong ones are refused', async () => {
  const s = await play(digest.url, 'tcp', { user: 'cam', password: 's3cret' });
  await until(() => s.packets[0].length > 10);
  await s.c.close();
  const u = await play(digest.url.replace('rtsp://', 'rtsp://cam:s3cret@'), 'udp');
  await until(() => u.packets[0].length > 10);
  await u.c.close();
  await assert.rejects(play(digest.url, 'tcp', { user: 'cam', password: 'wrong' }), (e: unknown) => e instanceof RtspError && e.status === 401);
  await assert.rejects(play(digest.url, 'tcp'), (e: unknown) => e instanceof RtspError && e.status === 401);
});

test('Basic authentication', async () => {
  const basic = await server({ user: 'b', password: 'pw', auth: 'basic' });
  const s = await play(basic.url, 'udp', { user: 'b', password: 'pw' });
  await until(() => s.packets[0].length > 10);
  await s.c.close();
  await basic.stop();
});

test('ingest: a TCP-only server is reached by falling back from UDP to TCP-interleaved', async () => {
  const tcpOnly = await server({ protocols: 'tcp' });
  let playing: string[] = [];
  let n = 0;
  const ingest = new RtspIngest({
    url: tcpOnly.url, transport: 'udp', connectTimeoutMs: 5000, requestTimeoutMs: 10000, reconnectDelayMs: 200, silenceMs: 5000, udpFallbackMs: 1500, bindAddress: '127.0.0.1',
  }, {
    playing: (_sdp, t) => { playing.push(t); },
    rtp: () => { n++; },
    failed: () => {},
  });
  ingest.want(true);
  await until(() => n > 20, 30000, 'media after fallback');
  assert.equal(ingest.transport, 'tcp');
  assert.equal(playing.at(-1), 'tcp');
  ingest.close();
  await tcpOnly.stop();
});

test('connection refused and timeouts give RtspError, not a crash', async () => {
  await assert.rejects(play('rtsp://127.0.0.1:1/nothing', 'tcp'), RtspError);
  await assert.rejects(play(`rtsp://127.0.0.1:${plain.port}/missing`, 'tcp'), (e: unknown) => e instanceof RtspError && e.status === 404);
});

/**
 * A scripted RTSP server (a fake, named so: GStreamer's server does not redirect or misbehave on
 * demand): answers OPTIONS, and DESCRIBE with what `describe` returns.
 */
async function scripted(describe: (cseq: string) => string | null, requests: string[] = []): Promise<{ url: string; close(): void }> {
  const { createServer } = await import('node:net');
  const srv = createServer((sock) => {
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf += d.toString();
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const req = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const cseq = /CSeq: (\d+)/i.exec(req)?.[1] ?? '0';
        if (req.startsWith('OPTIONS')) sock.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER\r\n\r\n`);
        else if (!req.startsWith('DESCRIBE')) {
          requests.push(req);
          sock.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: s1;timeout=2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`);
        } else {
          const reply = describe(cseq);
          if (reply !== null) sock.write(reply);
        }
      }
    });
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const port = (srv.address() as { port: number }).port;
  return { url: `rtsp://127.0.0.1:${port}/cam`, close: () => srv.close() };
}

test('a 302 redirect is followed to the real server; garbage and silence give RtspError', async () => {
  const redirect = await scripted((cseq) => `RTSP/1.0 302 Moved Temporarily\r\nCSeq: ${cseq}\r\nLocation: ${plain.url}\r\n\r\n`);
  const s = await play(redirect.url, 'tcp');
  assert.equal(s.c.url, plain.url);
  await until(() => s.packets[0].length > 10, 15000, 'media after redirect');
  await s.c.close();
  redirect.close();
  const garbage = await scripted(() => '\x00\x01garbage that is not RTSP\r\n\r\n');
  await assert.rejects(play(garbage.url, 'tcp'), RtspError);
  garbage.close();
  const silent = await scripted(() => null);
  const c = new RtspClient({ url: silent.url, transport: 'tcp', connectTimeoutMs: 2000, requestTimeoutMs: 500, bindAddress: '127.0.0.1' }, { rtp: () => {}, closed: () => {} });
  await assert.rejects(c.start(), /timed out/);
  await c.close();
  silent.close();
});

test('keep-alive: GET_PARAMETER with the Session within the session timeout; TEARDOWN on close', async () => {
  const requests: string[] = [];
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n';
  const cam = await scripted((cseq) => `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`, requests);
  const c = new RtspClient({ url: cam.url, transport: 'tcp', connectTimeoutMs: 2000, requestTimeoutMs: 2000, bindAddress: '127.0.0.1' }, { rtp: () => {}, closed: () => {} });
  await c.start();
  assert.match(requests[0], new RegExp(`^SETUP ${cam.url}/track1 RTSP/1.0`));
  assert.match(requests[1], new RegExp(`^PLAY ${cam.url} RTSP/1.0[\\s\\S]*Session: s1`));
  await until(() => requests.some((r) => r.startsWith('GET_PARAMETER')), 5000, 'keep-alive');
  assert.match(requests.find((r) => r.startsWith('GET_PARAMETER'))!, /Session: s1/);
  await c.close();
  await until(() => requests.some((r) => r.startsWith('TEARDOWN')), 2000, 'TEARDOWN');
  cam.close();
});
