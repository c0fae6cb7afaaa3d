/**
 * One call on the drachtio backend: before the answer it is an srf INVITE transaction (outgoing:
 * the Request we can CANCEL; incoming: the req/res pair we answer), afterwards an srf Dialog whose
 * in-dialog requests (re-INVITE, INFO, MESSAGE, REFER, BYE) map onto CallEvents. The drachtio server
 * runs the transaction and dialog layers (CSeq, Route sets, ACK of non-2xx, retransmissions).
 */
import type { CallEvents, SipCall, SipResponseInfo } from '../backend.ts';
import { headerObject, nameAddr, requestInfo, responseInfo, type SrfDialog, type SrfRequest, type SrfResponse } from './srf.ts';

export interface CallContext {
  /** Our Contact header value. */
  contact: string;
  /** Our identity (Referred-By of the REFERs we send). */
  identity: string;
  createUAS(req: SrfRequest, res: SrfResponse, sdp: string, headers: Record<string, string>): Promise<SrfDialog>;
  log(msg: string): void;
}

export class DrachtioCall implements SipCall {
  localSdp: string | undefined;
  #events: CallEvents | undefined;
  #dialog: SrfDialog | undefined;
  /** Outgoing call: the INVITE we sent (CANCEL goes through it). */
  #invite: SrfRequest | undefined;
  /** Incoming call: the INVITE and its response object, until we answer. */
  #uas: { req: SrfRequest; res: SrfResponse } | undefined;
  #ended = false;

  constructor(readonly callId: string, readonly incoming: boolean, private readonly ctx: CallContext) {}

  setEvents(events: CallEvents): void {
    this.#events = events;
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  /** Outgoing call: the INVITE went out. */
  sent(req: SrfRequest): void {
    this.#invite = req;
  }

  /** Incoming call: keep the transaction; a CANCEL from the far side ends the call (487). */
  received(req: SrfRequest, res: SrfResponse): void {
    this.#uas = { req, res };
    req.on('cancel', () => this.end(487, 'Request Terminated', false));
  }

  /** The dialog exists (200 sent or received): wire its in-dialog requests. */
  attachDialog(dialog: SrfDialog, offerless = false): void {
    this.#dialog = dialog;
    // Late offer (RFC 3264 section 4): our offer went in the 200 OK, the far side answers in the ACK.
    if (offerless) dialog.on('ack', (req) => {
      if (req.body) this.#events?.lateAnswer?.(req.body);
    });
    this.#invite = undefined;
    this.#uas = undefined;
    dialog.on('destroy', () => this.end(200, 'Session Terminated', false));
    dialog.on('modify', (req, res) => {
      // A re-INVITE offer from the far side (hold, unhold, address change): the plugin answers.
      const answer = this.#events ? this.#events.reoffer(req.body ?? '') : this.localSdp ?? '';
      this.localSdp = answer;
      res.send(200, { body: answer, headers: { 'Content-Type': 'application/sdp', Contact: this.ctx.contact } });
    });
    dialog.on('info', (req, res) => {
      res.send(200);
      this.#events?.info(requestInfo(req));
    });
    dialog.on('message', (req, res) => {
      res.send(200);
      this.#events?.message(requestInfo(req));
    });
    dialog.on('refer', (req, res) => {
      // RFC 3515: accept (202); the plugin tells the app, which places the new call itself.
      res.send(202);
      // Referred-By as the header gives it, as the embedded backend passes it on; an attended
      // transfer's Replaces (RFC 3891) comes escaped in the Refer-To URI's headers.
      const referTo = nameAddr(req.get('refer-to')).uri;
      this.#events?.refer(referTo, req.get('referred-by'), uriReplaces(referTo));
    });
  }

  end(code: number, reason: string, byUs: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#events?.ended(code, reason, byUs);
  }

  async ring(): Promise<void> {
    this.#uas?.res.send(180);
  }

  async accept(sdp: string, headers: string[] = []): Promise<void> {
    const uas = this.#uas;
    if (!uas) throw new Error('not an incoming call');
    this.localSdp = sdp;
    const offerless = !uas.req.body;
    const dialog = await this.ctx.createUAS(uas.req, uas.res, sdp, headerObject(headers, { Contact: this.ctx.contact, 'Content-Type': 'application/sdp' }));
    this.attachDialog(dialog, offerless);
  }

  async decline(code: number, headers: string[] = []): Promise<void> {
    const uas = this.#uas;
    if (!uas) throw new Error('not an incoming call');
    this.#uas = undefined;
    this.#ended = true;
    uas.res.send(code, { headers: headerObject(headers) });
    this.#events?.ended(code, 'Declined', true);
  }

  async hangup(headers: string[] = []): Promise<void> {
    const wasEnded = this.#ended;
    this.#ended = true;
    try {
      if (this.#dialog) await this.#dialog.destroy({ headers: headerObject(headers) });
      else if (this.#invite) {
        const invite = this.#invite;
        await new Promise<void>((resolve) => invite.cancel(() => resolve()));
      } else if (this.#uas && !this.#uas.res.finished) this.#uas.res.send(480);
    } finally {
      if (!wasEnded) this.#events?.ended(200, 'Session Terminated', true);
    }
  }

  async reinvite(sdp: string): Promise<string | undefined> {
    if (!this.#dialog) throw new Error('no dialog');
    this.localSdp = sdp;
    try {
      return await this.#dialog.modify(sdp, { headers: { Contact: this.ctx.contact, 'Content-Type': 'application/sdp' } });
    } catch (err) {
      this.ctx.log(`drachtio: re-INVITE refused: ${(err as Error).message}`);
      return undefined;
    }
  }

  async #request(method: string, headers: Record<string, string>, body?: string): Promise<SipResponseInfo> {
    if (!this.#dialog) throw new Error('no dialog');
    const res = await this.#dialog.request({ method, headers, ...(body !== undefined ? { body } : {}) });
    return responseInfo(res);
  }

  info(contentType: string, body: string, headers: string[] = []): Promise<SipResponseInfo> {
    return this.#request('INFO', headerObject(headers, { 'Content-Type': contentType }), body);
  }

  message(contentType: string, body: string, headers: string[] = []): Promise<SipResponseInfo> {
    return this.#request('MESSAGE', headerObject(headers, { 'Content-Type': contentType }), body);
  }

  /** Blind, or attended with `replaces` escaped into the Refer-To URI (RFC 3891, RFC 3261 19.1.1). */
  refer(target: string, replaces?: string): Promise<SipResponseInfo> {
    const referTo = replaces === undefined ? `<${target}>` : `<${target}?Replaces=${encodeURIComponent(replaces)}>`;
    return this.#request('REFER', { 'Refer-To': referTo, 'Referred-By': `<${this.ctx.identity}>`, Contact: this.ctx.contact });
  }

  dialogIds(): { callId: string; localTag: string; remoteTag: string } | undefined {
    const d = this.#dialog;
    return d ? { callId: d.sip.callId, localTag: d.sip.localTag, remoteTag: d.sip.remoteTag } : undefined;
  }
}

/** The unescaped Replaces header of a URI's headers part (sip:x@y?Replaces=...), if any. */
export function uriReplaces(uri: string): string | undefined {
  const m = /[?&]replaces=([^&]*)/i.exec(uri);
  if (!m) return undefined;
  try {
    const v = decodeURIComponent(m[1]);
    return /[\r\n\0]/.test(v) || v.length > 512 ? undefined : v;
  } catch {
    return undefined;
  }
}
