/**
 * Real SIP peers for the SIP plugin tests, all on 127.0.0.1: sipp (Debian sip-tester) running the
 * scenario files of sip-scenarios/, kamailio with a generated minimal config (registrar + proxy with
 * digest auth), and baresip. Each is a child process the test starts and stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RTCPeerConnection, RTCRtpCodecParameters, type MediaStreamTrack, type RtpPacket } from 'werift';
import { rtpPacket } from '../helpers/werift-peer.ts';

export const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), 'sip-scenarios');

/** A UDP port free right now on 127.0.0.1 (even, with the next one free too, for RTP/RTCP). */
export async function freeUdpPort(pair = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const s = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
    s.close();
    if (!pair) return port;
    const base = port & ~1;
    const ok = await Promise.all([base, base + 1].map((p) => new Promise<boolean>((resolve) => {
      const t = dgram.createSocket('udp4');
      t.once('error', () => resolve(false));
      t.bind(p, '127.0.0.1', () => { t.close(); resolve(true); });
    })));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free UDP port');
}

export interface SippRun {
  proc: ChildProcess;
  port: number;
  mediaPort: number;
  dir: string;
  /** Resolves with sipp's exit code (0: every call passed the scenario). */
  exited: Promise<number>;
  messages(): string;
  errors(): string;
  stop(): void;
}

export interface SippOptions {
  /** Call this target as UAC (`host:port`), otherwise run as UAS. */
  remote?: string;
  /** Request-URI user (-s). */
  service?: string;
  rtpEcho?: boolean;
  extra?: string[];
}

export async function startSipp(scenario: string, opts: SippOptions = {}): Promise<SippRun> {
  const port = await freeUdpPort();
  const mediaPort = await freeUdpPort(true);
  const dir = mkdtempSync(join(tmpdir(), 'portunus-sipp-'));
  const args = [
    '-sf', join(SCENARIOS, scenario), '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mediaPort),
    '-m', '1', '-nostdin', '-trace_msg', '-message_file', join(dir, 'messages.log'), '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-timeout', '90s', '-timeout_error',
    ...(opts.rtpEcho ? ['-rtp_echo'] : []), ...(opts.service ? ['-s', opts.service] : []), ...(opts.extra ?? []),
    ...(opts.remote ? [opts.remote] : []),
  ];
  const proc = spawn('/usr/bin/sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number>((resolve) => proc.on('exit', (code) => resolve(code ?? -1)));
  const read = (f: string): string => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  // sipp needs a moment to bind before anyone sends to it.
  await new Promise((r) => setTimeout(r, 300));
  return {
    proc, port, mediaPort, dir, exited, messages: () => read('messages.log'), errors: () => read('errors.log') + stderr,
    stop: () => { if (proc.exitCode === null) proc.kill('SIGTERM'); },
  };
}

export interface Kamailio {
  port: number;
  /** The TLS listener's port when started with certificates. */
  tlsPort?: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * kamailio as registrar and proxy on 127.0.0.1 with digest authentication (auth_db-less: a fixed
 * user table in the config, checked with pv_auth_check over plain-text passwords), record-routing
 * in-dialog requests, and `echo` forwarded to a sipp far phone at `farPort`.
 */
export async function startKamailio(users: Record<string, string>, farPort: number, tls?: { certFile: string; keyFile: string }): Promise<Kamailio> {
  const port = await freeUdpPort();
  const tlsPort = tls ? await freeUdpPort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'portunus-kamailio-'));
  const cfg = join(dir, 'kamailio.cfg');
  if (tls) {
    // kamailio's tls module (Debian kamailio-tls-modules): a server that asks for no client certificate.
    writeFileSync(join(dir, 'tls.cfg'), `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = ${tls.keyFile}\ncertificate = ${tls.certFile}\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n`);
  }
  const tlsCfg = tls ? `enable_tls=yes\nlisten=tls:127.0.0.1:${tlsPort}\nalias="127.0.0.1:${tlsPort}"\nloadmodule "/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"\nmodparam("tls", "config", "${join(dir, 'tls.cfg')}")\n` : '';
  const userChecks = Object.entries(users).map(([u, p]) => `    if ($fU == "${u}") $var(pw) = "${p}";`).join('\n');
  const authChecks = Object.entries(users).map(([u, p]) => `    if ($au == "${u}") $var(pw) = "${p}";`).join('\n');
  writeFileSync(cfg, `#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=1
tcp_children=1
listen=udp:127.0.0.1:${port}
listen=tcp:127.0.0.1:${port}
auto_aliases=no
alias="127.0.0.1:${port}"
${tlsCfg}mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "auth.so"
loadmodule "nathelper.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 1)
modparam("rr", "append_fromtag", 1)
modparam("nathelper", "received_avp", "$avp(RECEIVED)")
modparam("registrar", "received_avp", "$avp(RECEIVED)")

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  force_rport();
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  if (is_method("REGISTER")) {
    $var(pw) = "";
${authChecks}
    if ($var(pw) == "" || !pv_auth_check("$fd", "$var(pw)", "0", "0")) { auth_challenge("$fd", "0"); exit; }
    fix_nated_register();
    if (!save("location")) sl_reply_error();
    exit;
  }
  if (is_method("INVITE|MESSAGE|SUBSCRIBE|REFER")) {
    $var(pw) = "";
${userChecks}
    if ($var(pw) != "" && $si == "127.0.0.1" && $sp != ${farPort}) {
      if (!pv_proxy_authenticate("$fd", "$var(pw)", "0")) { proxy_challenge("$fd", "0"); exit; }
      consume_credentials();
    }
  }
  record_route();
  if ($rU == "echo") { $du = "sip:127.0.0.1:${farPort}"; t_relay(); exit; }
  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  t_relay();
}
`);
  const proc = spawn('/usr/sbin/kamailio', ['-f', cfg, '-DD', '-E', '-n', '1', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-w', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  await new Promise((r) => setTimeout(r, 1200));
  if (proc.exitCode !== null) throw new Error(`kamailio did not start: ${log.slice(-2000)}`);
  return {
    port, proc, ...(tlsPort ? { tlsPort } : {}),
    stop: async () => {
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}

import assert from 'node:assert/strict';
import { JanusWsClient, type JanusReply } from '../helpers/janus-client.ts';

export type SipResult = Record<string, unknown> & { event?: string };

/**
 * Sends 50 Opus packets tagged 'tone' (sequence 500-549, 10 ms apart) on `track` of a call to a sipp
 * that echoes RTP, and checks what came back into `got` through the bridge: our payload bytes, Opus
 * payload type, one of our sequence tags.
 */
export async function toneEchoedBack(track: MediaStreamTrack, got: RtpPacket[]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    track.writeRtp(rtpPacket(111, 500 + i, 960 * i, 4242, 'tone'));
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => got.length >= 30);
  assert.equal(got[0].header.payloadType, 111);
  assert.equal(got[0].payload.subarray(0, 4).toString(), 'tone');
  const seq = got[got.length - 1].payload.readUInt16BE(4);
  assert.ok(seq >= 500 && seq < 550, `echoed sequence tag ${seq}`);
}

export async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A janus.plugin.sip handle over WebSocket with helpers to send requests and wait for results. */
export async function sipHandle(wsUrl: string) {
  const client = await JanusWsClient.connect(wsUrl);
  const sid = await client.createSession();
  const hid = await client.attach(sid, 'janus.plugin.sip');
  let n = 0;
  const send = async (body: Record<string, unknown>, jsep?: Record<string, unknown>): Promise<string> => {
    const tx = `sip-${++n}`;
    const ack = await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: tx, body, ...(jsep ? { jsep } : {}) });
    assert.equal(ack.janus, 'ack');
    return tx;
  };
  const sipEvent = (pred: (r: SipResult, m: JanusReply) => boolean, ms = 10000) => client.waitFor((m) => {
    const data = (m.plugindata as { data?: Record<string, unknown> } | undefined)?.data;
    return m.janus === 'event' && data !== undefined && pred((data.result ?? {}) as SipResult, m);
  }, ms);
  const resultOf = (m: JanusReply): SipResult => ((m.plugindata as { data?: { result?: SipResult } } | undefined)?.data?.result ?? {});
  const errorFor = (tx: string) => client.waitFor((m) => m.janus === 'event' && m.transaction === tx && (m.plugindata as { data: Record<string, unknown> }).data.error_code !== undefined);
  return { client, sid, hid, send, sipEvent, errorFor, resultOf };
}

/** RTP payloads (PT, payload) of a pcap of Ethernet/IPv4/UDP/RTP frames, as sipp plays them. */
export function pcapRtp(file: string): Array<{ pt: number; payload: Buffer }> {
  const b = readFileSync(file);
  const out: Array<{ pt: number; payload: Buffer }> = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = b.readUInt32LE(off + 8);
    const frame = b.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.length < 14 + 20 + 8 + 12 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (frame[14] & 0x0f) * 4;
    const udp = 14 + ihl;
    const rtp = frame.subarray(udp + 8);
    const cc = rtp[0] & 0x0f;
    out.push({ pt: rtp[1] & 0x7f, payload: Buffer.from(rtp.subarray(12 + cc * 4)) });
  }
  return out;
}

/** Peers made through `make` are remembered; `closeAll` closes them (open peers keep a test process alive). */
export function peerTracker<T extends { close(): Promise<unknown> }>(make: () => T): { peer: () => T; closeAll: () => Promise<void> } {
  const peers: T[] = [];
  return {
    peer: () => {
      const pc = make();
      peers.push(pc);
      return pc;
    },
    closeAll: async () => {
      for (const pc of peers) await pc.close().catch(() => undefined);
    },
  };
}

const PCMA = new RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, payloadType: 8 });
const DTMF = new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, payloadType: 101 });

/** A werift peer on 127.0.0.1 offering only PCMA and telephone-event (the far phones' codecs). */
export function pcmaPeer(): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
    bundlePolicy: 'max-bundle', codecs: { audio: [PCMA, DTMF] },
  });
}
