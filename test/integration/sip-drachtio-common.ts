/**
 * Shared setup of the drachtio-backend SIP tests: the drachtio STAND-IN (test/helpers/drachtio-standin.ts,
 * since no drachtio server can be installed here) and Portunus with janus.plugin.sip configured
 * `sip_backend = "drachtio"` against it. The far side stays real (sipp, kamailio, baresip).
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import type { RTCPeerConnection, RtpPacket } from 'werift';
import { offerWith } from '../helpers/werift-peer.ts';
import { startSipp, sipHandle, type SippOptions, type SippRun } from './sip-peers.ts';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { DrachtioStandin } from '../helpers/drachtio-standin.ts';
import sipPlugin from '../../src/plugins/sip/index.ts';

export async function drachtioGateway(rtpRange: string) {
  const standin = await DrachtioStandin.start({ secret: 'portunus-test', ...(process.env.PORTUNUS_SIP_TRACE ? { log: (l: string) => process.stderr.write(`${l}\n`) } : {}) });
  const server = await startServer(transportConfig((c) => {
    c.pluginConfigs['janus.plugin.sip'] = {
      general: {
        local_ip: '127.0.0.1', rtp_port_range: rtpRange,
        sip_backend: 'drachtio', drachtio_host: '127.0.0.1', drachtio_port: standin.controlPort, drachtio_secret: 'portunus-test',
      },
    };
  }), { logger: silentLogger(), plugins: [sipPlugin()] });
  after(async () => {
    if (process.env.PORTUNUS_SIP_TRACE) process.stderr.write(standin.sipLog.join('\n----\n'));
    await server.close();
    await standin.close();
  });
  return { standin, server, wsUrl: `ws://127.0.0.1:${server.ports.ws}` };
}

type Handle = Awaited<ReturnType<typeof sipHandle>>;

/** A guest account (no REGISTER sent) on a new handle. */
export async function guest(wsUrl: string, user: string): Promise<Handle> {
  const h = await sipHandle(wsUrl);
  await h.send({ request: 'register', type: 'guest', username: `sip:${user}@127.0.0.1` });
  await h.sipEvent((r) => r.event === 'registered' && r.register_sent === false);
  return h;
}

/** Offer audio from `pc` and send the call; `got` collects what the peer receives. */
export async function placeCall(h: Handle, uri: string, pc: RTCPeerConnection, extra: Record<string, unknown> = {}) {
  const got: RtpPacket[] = [];
  pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
  const offer = await offerWith(pc, ['audio'], false);
  await h.send({ request: 'call', uri, ...extra }, { type: 'offer', sdp: offer.sdp });
  return { got, offer };
}

/** Run `body` with a sipp far phone; sipp must finish its scenario (exit 0). */
export async function withSipp(scenario: string, opts: SippOptions, body: (sipp: SippRun) => Promise<void>): Promise<void> {
  const sipp = await startSipp(scenario, opts);
  try {
    await body(sipp);
    assert.equal(await sipp.exited, 0, sipp.errors());
  } finally {
    sipp.stop();
  }
}
