/**
 * Shared setup of the drachtio-backend SIP tests: the drachtio STAND-IN (test/helpers/drachtio-standin.ts,
 * since no drachtio server can be installed here) and Portunus with janus.plugin.sip configured
 * `sip_backend = "drachtio"` against it. The far side stays real (sipp, kamailio, baresip).
 */
import { after } from 'node:test';
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
