/**
 * The SIP plugin on its embedded stack with kamailio as registrar and proxy and sipp as the far
 * phone: the flows of sip-kamailio-flows.ts, the outgoing call over UDP and over TCP. What only this
 * backend shows: a REGISTER with an HA1 instead of the password, and, in sipp's log, that kamailio's
 * 407 was answered (CSeq 2) and that our Via and Contact name the transport used.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import sipPlugin from '../../src/plugins/sip/index.ts';
import { kamailioFlows } from './sip-kamailio-flows.ts';

const server = await startServer(transportConfig((c) => {
  c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '40000-49999' } };
}), { logger: silentLogger(), plugins: [sipPlugin()] });

kamailioFlows({
  label: '',
  wsUrl: `ws://127.0.0.1:${server.ports.ws}`,
  transports: ['udp', 'tcp'],
  // The gateway first: its user agents unregister while kamailio still answers.
  beforeKamailioStops: () => server.close(),
  register: {
    async registered(login) {
      // HA1 instead of the password: MD5(user:realm:password), realm = the domain kamailio challenges with.
      const ha1 = createHash('md5').update('bob:127.0.0.1:builder').digest('hex');
      const viaHa1 = await login('bob', '', { secret: undefined, ha1_secret: ha1 });
      assert.equal(viaHa1.reg.event, 'registered');
      viaHa1.h.client.close();
    },
  },
  outgoingInvite(sipp, transport) {
    // kamailio challenged the first INVITE (407) and consumed the credentials of the second.
    assert.match(sipp.messages(), /INVITE sip:echo@127\.0\.0\.1[^]*?CSeq: 2 INVITE/);
    // Our own Via and Contact (below kamailio's) name the transport we used.
    assert.match(sipp.messages(), new RegExp(`Via: SIP/2\\.0/${transport.toUpperCase()} 127\\.0\\.0\\.1:\\d+;[^\\r\\n]*branch=z9hG4bK\\d`));
    assert.match(sipp.messages(), new RegExp(`Contact: <sip:alice@127\\.0\\.0\\.1:\\d+;transport=${transport}`));
  },
});
