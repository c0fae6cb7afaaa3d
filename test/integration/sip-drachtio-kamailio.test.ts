/**
 * The SIP plugin on the drachtio backend (drachtio-srf and the drachtio STAND-IN, see
 * sip-drachtio-common.ts) with kamailio as registrar and proxy and sipp as the far phone: the flows
 * of sip-kamailio-flows.ts. What only this backend shows, from the REGISTERs and INVITEs the
 * stand-in put on the wire: the 401 answered with digest credentials on the same Call-ID, the
 * refresh keeping the Call-ID and raising the CSeq, the unregister with Expires: 0, and kamailio's
 * 407 answered by srf on the next CSeq.
 */
import assert from 'node:assert/strict';
import { drachtioGateway } from './sip-drachtio-common.ts';
import { kamailioFlows } from './sip-kamailio-flows.ts';

const { standin, wsUrl } = await drachtioGateway('37000-37999');

/** REGISTERs kamailio got from the stand-in, as the stand-in sent them. */
const registers = () => standin.sipLog.filter((m) => m.startsWith('> REGISTER '));
const callId = (t: string) => /Call-ID: (\S+)/.exec(t)?.[1];
const cseq = (t: string | undefined) => Number(/CSeq: (\d+)/.exec(t ?? '')?.[1]);
let sentBefore = 0;
let authorized = '';

kamailioFlows({
  label: 'drachtio: ',
  wsUrl,
  transports: ['udp'],
  register: {
    before() {
      sentBefore = registers().length;
    },
    registered() {
      // The challenge was answered: a first REGISTER without, a second with digest credentials, same Call-ID.
      const sent = registers().slice(sentBefore);
      assert.ok(sent.length >= 2, `${sent.length} REGISTERs`);
      assert.doesNotMatch(sent[0], /Authorization:/);
      assert.match(sent[1], /Authorization: Digest username="alice",realm="127\.0\.0\.1"/);
      assert.equal(callId(sent[0]), callId(sent[1]));
      authorized = sent[1];
    },
    refreshed() {
      // The refresh kept the Call-ID and raised the CSeq (RFC 3261 10.2.4).
      const refresh = registers().slice(-1)[0];
      assert.equal(callId(refresh), callId(authorized));
      assert.ok(cseq(refresh) > cseq(authorized));
    },
    unregistered() {
      assert.match(registers().slice(-1)[0], /Expires: 0/);
    },
  },
  outgoingInvite(sipp) {
    // kamailio challenged the first INVITE (407); srf answered it with credentials on the next CSeq.
    const invites = standin.sipLog.filter((m) => m.startsWith('> INVITE sip:echo@'));
    const challenged = standin.sipLog.find((m) => m.startsWith('< SIP/2.0 407') && m.includes('INVITE'));
    assert.ok(challenged, 'a 407 to the INVITE');
    const authed = invites.find((m) => /Proxy-Authorization: Digest username="alice"/.test(m));
    assert.ok(authed, 'an INVITE with Proxy-Authorization');
    assert.equal(cseq(authed), cseq(invites[0]) + 1);
    assert.match(sipp.messages(), new RegExp(`Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${standin.sipPort};[^\\r\\n]*branch=z9hG4bK`));
  },
});
