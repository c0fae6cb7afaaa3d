/**
 * baresip (Debian) as an independent SIP phone for the SIP plugin tests: started with a generated
 * config on 127.0.0.1, auto-answering, playing a 1000 Hz sine (ausine) and writing what it decodes
 * to WAV files (sndfile). Plus the G.711 mu-law coding and the frequency measure the tests use to
 * check audio by decoding it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from './sip-peers.ts';

export const HAVE_BARESIP = readdirSync('/usr/bin').includes('baresip');

/** G.711 mu-law (ITU-T G.711) encode of a 16-bit linear sample. */
export function muEncode(sample: number): number {
  const BIAS = 0x84;
  let sign = 0;
  let s = sample;
  if (s < 0) { s = -s; sign = 0x80; }
  if (s > 32635) s = 32635;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

export function muDecode(u: number): number {
  const x = ~u & 0xff;
  const t = (((x & 0x0f) << 3) + 0x84) << ((x & 0x70) >> 4);
  return x & 0x80 ? 0x84 - t : t - 0x84;
}

/** Frequency from zero crossings of a signal sampled at `rate`. */
export function frequency(samples: number[], rate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1] < 0) !== (samples[i] < 0)) crossings++;
  return (crossings / 2) * (rate / samples.length);
}

export interface Baresip {
  port: number;
  proc: ChildProcess;
  log(): string;
  /** The frequency of what baresip decoded from us (its sndfile dump), after the call. */
  heardHz(): number;
  stop(): void;
}

export interface BaresipOptions {
  /** Extra account parameters, e.g. `;mediaenc=srtp-mand`. */
  accountParams?: string;
  modules?: string[];
  rtpPorts: string;
  /** Commands run at start-up (baresip -e), e.g. `/dial sip:...`. */
  execute?: string[];
}

export async function startBaresip(opts: BaresipOptions): Promise<Baresip> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'portunus-baresip-'));
  const dumps = join(dir, 'dumps');
  mkdirSync(dumps);
  writeFileSync(join(dir, 'config'), [
    'poll_method epoll', `sip_listen 127.0.0.1:${port}`, 'sip_transports udp', 'audio_player aubridge,nil', 'audio_source ausine,1000',
    'audio_alert aubridge,nil', 'ausrc_srate 48000', 'ausrc_channels 2', `snd_path ${dumps}`, 'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module ausine.so', 'module aubridge.so', 'module sndfile.so', ...(opts.modules ?? []).map((m) => `module ${m}`),
    'module_app account.so', 'module_app menu.so', `rtp_ports ${opts.rtpPorts}`, 'net_interface 127.0.0.1', '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), `<sip:baresip@127.0.0.1:${port}>;regint=0;answermode=auto;audio_codecs=PCMU${opts.accountParams ?? ''}\n`);
  const proc = spawn('/usr/bin/baresip', ['-f', dir, ...(opts.execute ?? []).flatMap((c) => ['-e', c])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise((r) => setTimeout(r, 1500));
  if (proc.exitCode !== null) throw new Error(`baresip did not start: ${out}`);
  return {
    port, proc, log: () => out,
    heardHz: () => {
      const files = readdirSync(dumps);
      const dec = files.find((x) => x.includes('dec'));
      if (!dec) throw new Error(`sndfile wrote ${files.join(',')}\n${out.slice(-2000)}`);
      const wav = readFileSync(join(dumps, dec));
      const data = wav.subarray(44);
      const samples: number[] = [];
      for (let i = 0; i + 1 < data.length; i += 2) samples.push(data.readInt16LE(i));
      const rate = wav.readUInt32LE(24);
      const channels = wav.readUInt16LE(22);
      const mono = samples.filter((_, i) => i % channels === 0);
      return frequency(mono.slice(Math.floor(mono.length / 4), Math.floor(mono.length / 4) + rate), rate);
    },
    stop: () => { if (proc.exitCode === null) proc.kill('SIGTERM'); },
  };
}
