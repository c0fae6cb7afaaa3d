/**
 * Release check: a werift peer on this host runs an EchoTest call with the appliance in a VM, through
 * UDP ports the VM's NAT forwards 1:1, using the address the appliance advertises. Exit 0 when Opus RTP
 * came back.
 *
 *   npx tsx appliance/checks/webrtc-echo.ts http://127.0.0.1:PORT/janus ADVERTISED_ADDRESS
 */
import { loopbackPeer, offerWith, rtpPacket, waitConnected } from '../../test/helpers/werift-peer.ts';

const [base, advertised] = process.argv.slice(2);
if (!base || !advertised) {
  process.stderr.write('usage: webrtc-echo.ts http://HOST:PORT/janus ADVERTISED_ADDRESS\n');
  process.exit(2);
}

type Reply = { janus: string; data?: { id: number }; jsep?: { type: 'answer'; sdp: string }; plugindata?: unknown };
let tx = 0;
async function post(path: string, body: Record<string, unknown>): Promise<Reply> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify({ ...body, transaction: `t${tx++}` }) });
  return (await r.json()) as Reply;
}

const session = (await post('', { janus: 'create' })).data!.id;
const handle = (await post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.echotest' })).data!.id;
const pc = loopbackPeer();
let echoed = 0;
pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => echoed++));
const offer = await offerWith(pc, ['audio'], false);
await post(`/${session}/${handle}`, { janus: 'message', body: { audio: true }, jsep: { type: 'offer', sdp: offer.sdp } });
let answer: { type: 'answer'; sdp: string } | undefined;
for (let i = 0; i < 30 && !answer; i++) {
  const events = (await (await fetch(`${base}/${session}?maxev=5`)).json()) as Reply | Reply[];
  for (const ev of Array.isArray(events) ? events : [events]) if (ev.jsep) answer = ev.jsep;
}
if (!answer) throw new Error('no answer from the EchoTest');
const candidates = answer.sdp.split('\n').filter((l) => l.startsWith('a=candidate'));
process.stdout.write(`answer candidates:\n${candidates.join('\n')}\n`);
if (!candidates.some((c) => c.includes(` ${advertised} `))) throw new Error(`the answer does not advertise ${advertised}`);
pc.iceConnectionStateChange.subscribe((s) => process.stdout.write(`ice: ${s}\n`));
pc.connectionStateChange.subscribe((s) => process.stdout.write(`pc: ${s}\n`));
await pc.setRemoteDescription(answer);
await waitConnected(pc, 90_000);
const [audio] = offer.tracks;
for (let i = 0; i < 100 && echoed < 10; i++) {
  audio.writeRtp(rtpPacket(111, 100 + i, 960 * i, 4242, 'through-nat'));
  await new Promise((r) => setTimeout(r, 50));
}
await pc.close();
await post(`/${session}`, { janus: 'destroy' });
if (echoed === 0) throw new Error('no RTP came back');
process.stdout.write(`EchoTest through the forwarded UDP ports: ${echoed} RTP packets echoed\n`);
process.exit(0);
