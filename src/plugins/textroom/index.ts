/**
 * janus.plugin.textroom (JANUS-REFERENCE 2.4): text chat rooms over data channels, with Janus
 * 1.1.2's requests, events, error codes (requests.ts) and wire format:
 *
 * - Janus API, asynchronous: `setup` (we offer a PeerConnection with only a data channel), `ack`
 *   (the client's answer), `restart` (a new offer); answered {textroom:"event", result:"ok"};
 * - Janus API and Admin API, synchronous: list, listparticipants, exists, create, edit,
 *   announcement, allowed, kick, destroy (create/edit/destroy answer "created"/"edited"/"destroyed"
 *   there, as Janus does); other requests are 415;
 * - over the data channel, JSON with `textroom` and `transaction`: join, leave, message (room,
 *   `to` or `tos` whispers, `ack`), announcement, and the room management requests; answers
 *   {textroom:"success", transaction, ...} or {textroom:"error", error_code, error}; events join,
 *   leave, message, announcement, kicked, destroyed; history replayed on join; `post` backends get
 *   every public message and announcement by HTTP POST;
 * - rooms from janus.plugin.textroom.jcfg and by API; `permanent` writes the file in
 *   `general.configs_folder` back (config-file.ts).
 *
 * Checked against Janus 1.1.2 (test/integration/textroom-reference.test.ts). One deliberate
 * difference: a successful data-channel `kick` is answered {textroom:"success"}, where 1.1.2 writes
 * "textbridge" (a typo fixed upstream since).
 */
import path from 'node:path';
import type { GatewayFacade, Jsep, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { isObject } from '../../core/plugin-params.ts';
import { allStrings, check, checkSecret, P, TEXTROOM_ERROR as E, TextRoomError } from './requests.ts';
import { janusDate, newRoom, roomConfigGroup, roomsFromConfig, serializer, type Participant, type Room, type RoomId, type TextSession } from './rooms.ts';
import { saveGroup } from './config-file.ts';

export { TEXTROOM_ERROR } from './requests.ts';

type Json = Record<string, unknown>;
/** Where a request came from: the data channel, the Janus API (`message`) or the Admin API. */
type Via = 'data' | 'api' | 'admin';

const SYNC_REQUESTS = new Set(['list', 'listparticipants', 'exists', 'create', 'edit', 'announcement', 'allowed', 'kick', 'destroy']);
const CONFIG_FILE = 'janus.plugin.textroom.jcfg';

export class TextRoomPlugin implements Plugin {
  readonly package = 'janus.plugin.textroom';
  readonly name = 'JANUS TextRoom plugin';
  readonly description = 'This is a plugin implementing a text-only room for Janus, using DataChannels.';
  readonly author = 'Portunus developers';
  readonly version = 2;
  readonly versionString = '0.0.2';
  #gw!: GatewayFacade;
  #stringIds = false;
  #adminKey: string | undefined;
  #notifyEvents = true;
  #dump: (v: unknown) => string = JSON.stringify;
  /** The file permanent changes go to; undefined: no configuration folder, as Janus without a file. */
  #configPath: string | undefined;
  readonly #rooms = new Map<string, Room>();
  readonly #sessions = new Set<TextSession>();
  /** Permanent writes one after the other. */
  #saving: Promise<void> = Promise.resolve();

  init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): void {
    this.#gw = gateway;
    const general = (isObject(config.general) ? config.general : {}) as Json;
    if (general.json !== undefined) this.#dump = serializer(general.json);
    if (typeof general.admin_key === 'string') this.#adminKey = general.admin_key;
    if (general.events !== undefined) this.#notifyEvents = general.events === true || general.events === 'true' || general.events === 'yes';
    this.#stringIds = general.string_ids === true || general.string_ids === 'true' || general.string_ids === 'yes';
    const folder = global.general.configs_folder;
    if (folder) this.#configPath = path.join(folder, CONFIG_FILE);
    const { rooms, warnings } = roomsFromConfig(config, this.#stringIds);
    for (const w of warnings) gateway.log.warn(w);
    for (const r of rooms) this.#rooms.set(r.key, r);
  }

  destroy(): void {
    this.#rooms.clear();
    this.#sessions.clear();
  }

  createSession(handle: PluginHandle): void {
    const s: TextSession = { handle, rooms: new Map(), setup: false, dataReady: false, destroyed: false, queue: Promise.resolve() };
    handle.pluginState = s;
    this.#sessions.add(s);
  }

  async handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<PluginResult> {
    const s = handle.pluginState as TextSession | undefined;
    if (!s || s.destroyed) return { kind: 'ok', data: { textroom: 'event', error_code: E.UNKNOWN_ERROR, error: 'No session associated with this handle...' } };
    const fail = (err: TextRoomError): PluginResult => ({ kind: 'ok', data: { textroom: 'event', error_code: err.code, error: err.message } });
    try {
      if (body === undefined || body === null) throw new TextRoomError(E.NO_MESSAGE, 'No message??');
      if (!isObject(body)) throw new TextRoomError(E.INVALID_JSON, 'JSON error: not an object');
      check(body, P.request);
      const name = (body.request as string).toLowerCase();
      if (SYNC_REQUESTS.has(name)) {
        const req: Json = { ...body, transaction };
        if (req.textroom === undefined) req.textroom = body.request;
        return { kind: 'ok', data: (await this.#request(s, req, 'api')) ?? { textroom: 'success' } };
      }
      if (name === 'setup' || name === 'ack' || name === 'restart') {
        s.queue = s.queue.then(() => this.#peerConnection(s, name, transaction, jsep)).catch((err: unknown) => {
          this.#gw.log.warn(`textroom: ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
        });
        return { kind: 'ack' };
      }
      throw new TextRoomError(E.INVALID_REQUEST, `Unknown request '${String(body.request)}'`);
    } catch (err) {
      if (err instanceof TextRoomError) return fail(err);
      throw err;
    }
  }

  async handleAdminMessage(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      check(body, P.request);
      const name = (body.request as string).toLowerCase();
      if (!SYNC_REQUESTS.has(name)) throw new TextRoomError(E.INVALID_REQUEST, `Unknown request '${String(body.request)}'`);
      const req: Json = { ...body };
      if (req.textroom === undefined) req.textroom = body.request;
      return (await this.#request(undefined, req, 'admin')) ?? { textroom: 'success' };
    } catch (err) {
      if (err instanceof TextRoomError) return { textroom: 'event', error_code: err.code, error: err.message };
      throw err;
    }
  }

  /** setup / restart: our data-channel-only offer; ack: the client's answer arrived. */
  async #peerConnection(s: TextSession, name: string, transaction: string, _jsep: Jsep | undefined): Promise<void> {
    if (s.destroyed) return;
    const error = (code: number, msg: string) => this.#gw.pushEvent(s.handle, { textroom: 'error', error_code: code, error: msg }, { transaction });
    if (name === 'setup' && s.setup) return void error(E.ALREADY_SETUP, 'PeerConnection already setup');
    if (name === 'restart' && !s.setup) return void error(E.ALREADY_SETUP, 'PeerConnection not setup');
    if (name === 'ack') return void this.#gw.pushEvent(s.handle, { textroom: 'event', result: 'ok' }, { transaction });
    s.setup = true;
    const sdp = [
      'v=0', `o=- ${Date.now() * 1000} 1 IN IP4 127.0.0.1`, 's=Janus TextRoom plugin', 't=0 0',
      'm=application 1 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 1.1.1.1', 'a=sctp-port:5000', '',
    ].join('\r\n');
    this.#gw.pushEvent(s.handle, { textroom: 'event', result: 'ok' }, { transaction, jsep: { type: 'offer', sdp, ...(name === 'restart' ? { restart: true } : {}) } });
  }

  // ---- data channel ----

  incomingData(handle: PluginHandle, _label: string, data: Buffer | string, binary: boolean): void {
    const s = handle.pluginState as TextSession | undefined;
    // Binary messages are not TextRoom requests (Janus drops them too).
    if (!s || s.destroyed || binary || data.length === 0) return;
    const text = typeof data === 'string' ? data : data.toString('utf8');
    s.queue = s.queue.then(() => this.#fromChannel(s, text)).catch((err: unknown) => {
      this.#gw.log.warn(`textroom: data request failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async #fromChannel(s: TextSession, text: string): Promise<void> {
    let req: unknown;
    try {
      req = JSON.parse(text);
    } catch {
      // As Janus: a message that is not JSON gets no answer.
      return;
    }
    if (!isObject(req)) return;
    const reply = await this.#request(s, req, 'data');
    if (reply && !s.destroyed) this.#send(s, reply);
  }

  #send(s: TextSession, msg: Json | string): void {
    this.#gw.relayData(s.handle, '', typeof msg === 'string' ? msg : this.#dump(msg));
  }

  /**
   * One TextRoom request from any source. Returns the answer (with the transaction for the data
   * channel), or undefined when none is due (a message with ack:false).
   */
  async #request(s: TextSession | undefined, req: Json, via: Via): Promise<Json | undefined> {
    const transaction = typeof req.transaction === 'string' ? req.transaction : undefined;
    let reply: Json | undefined;
    try {
      if (via !== 'admin') check(req, P.transaction);
      else check(req, [P.transaction[0]]);
      reply = await this.#dispatch(s, req, via);
    } catch (err) {
      if (!(err instanceof TextRoomError)) throw err;
      reply = { textroom: 'error', error_code: err.code, error: err.message };
    }
    if (reply === undefined) return undefined;
    if (via === 'data' && transaction !== undefined) reply.transaction = transaction;
    return reply;
  }

  #roomOf(req: Json): Room {
    check(req, this.#stringIds ? P.roomStr : P.room);
    const key = String(req.room);
    const room = this.#rooms.get(key);
    if (!room) throw new TextRoomError(E.NO_SUCH_ROOM, `No such room (${key})`);
    return room;
  }

  #idOf(room: Room): RoomId {
    return room.id;
  }

  async #dispatch(s: TextSession | undefined, req: Json, via: Via): Promise<Json | undefined> {
    const verb = String(req.textroom).toLowerCase();
    // Participation needs a session of our own (not possible from the Admin API).
    const session = (): TextSession => {
      if (!s) throw new TextRoomError(E.INVALID_REQUEST, `Unsupported request ${String(req.textroom)}`);
      return s;
    };
    switch (verb) {
      case 'message': return this.#message(session(), req, via);
      case 'join': return this.#join(session(), req);
      case 'leave': return this.#leave(session(), req);
      case 'list': return this.#list(req);
      case 'listparticipants': {
        const room = this.#roomOf(req);
        const participants = [...room.participants.values()].map(describe);
        // Janus 1.1.2 answers this one without "textroom" (checked against it, data channel and API).
        return { room: room.id, participants };
      }
      case 'allowed': return this.#allowed(req);
      case 'kick': return this.#kick(req);
      case 'announcement': return this.#announcement(req);
      case 'create': return this.#create(s, req, via);
      case 'exists': {
        check(req, this.#stringIds ? P.roomStr : P.room);
        return { textroom: 'success', room: req.room, exists: this.#rooms.has(String(req.room)) };
      }
      case 'edit': return this.#edit(req, via);
      case 'destroy': return this.#destroyRoom(s, req, via);
      default:
        throw new TextRoomError(E.INVALID_REQUEST, `Unsupported request ${String(req.textroom)}`);
    }
  }

  #message(s: TextSession, req: Json, via: Via): Json | undefined {
    check(req, P.message);
    const room = this.#roomOf(req);
    const me = s.rooms.get(room.key);
    if (!me) throw new TextRoomError(E.NOT_IN_ROOM, `Not in room ${room.key}`);
    const to = req.to as string | undefined;
    const tos = req.tos as unknown[] | undefined;
    if (to !== undefined && tos !== undefined) throw new TextRoomError(E.INVALID_ELEMENT, 'Both to and tos array provided');
    if (tos !== undefined && !allStrings(tos)) throw new TextRoomError(E.INVALID_ELEMENT, 'Invalid tos provided');
    const whisper = to !== undefined || tos !== undefined;
    const msg: Json = { textroom: 'message', room: room.id, from: me.username, date: janusDate(), text: req.text };
    if (whisper) msg.whisper = true;
    const wire = this.#dump(msg);
    const reply: Json = { textroom: 'success' };
    if (whisper) {
      const sent: Json = {};
      for (const name of to !== undefined ? [to] : (tos as string[])) {
        const target = room.participants.get(name);
        if (target) this.#send(target.session, wire);
        sent[name] = target !== undefined;
      }
      reply.sent = sent;
    } else {
      for (const p of room.participants.values()) this.#send(p.session, wire);
      if (room.historySize > 0) this.#remember(room, this.#dump({ ...msg, display: me.display }));
      this.#post(room, wire);
    }
    // By default the sender gets an ack; `ack: false` asks for none.
    if (via === 'data' && req.ack === false) return undefined;
    return reply;
  }

  #remember(room: Room, text: string): void {
    room.history.push(text);
    while (room.history.length > room.historySize) room.history.shift();
  }

  /** The room's HTTP backend gets the event as JSON (fire and forget, as Janus). */
  #post(room: Room, wire: string): void {
    if (!room.post) return;
    fetch(room.post, { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: wire, signal: AbortSignal.timeout(5000) })
      .then((r) => r.body?.cancel())
      .catch((err: unknown) => this.#gw.log.warn(`textroom: could not post to the backend: ${err instanceof Error ? err.message : String(err)}`));
  }

  #join(s: TextSession, req: Json): Json {
    check(req, P.join);
    const room = this.#roomOf(req);
    checkSecret(room.pin, req, 'pin');
    if (s.rooms.has(room.key)) throw new TextRoomError(E.ALREADY_IN_ROOM, `Already in room ${room.key}`);
    const username = req.username as string;
    if (room.participants.has(username)) throw new TextRoomError(E.USERNAME_EXISTS, 'Username already taken');
    if (room.checkTokens && (typeof req.token !== 'string' || !room.allowed.has(req.token))) {
      throw new TextRoomError(E.UNAUTHORIZED, 'Unauthorized (not in the allowed list)');
    }
    const display = req.display as string | undefined;
    const p: Participant = { session: s, room, username, display };
    s.rooms.set(room.key, p);
    room.participants.set(username, p);
    if (req.history !== false) for (const h of room.history) this.#send(s, h);
    const event = this.#dump({ textroom: 'join', room: room.id, username, ...(display !== undefined ? { display } : {}) });
    const others: Json[] = [];
    this.#send(s, event);
    for (const other of room.participants.values()) {
      if (other === p) continue;
      this.#send(other.session, event);
      others.push(describe(other));
    }
    this.#notify(s, { event: 'join', room: room.id, username, ...(display !== undefined ? { display } : {}) });
    return { textroom: 'success', participants: others };
  }

  #leave(s: TextSession, req: Json): Json {
    const room = this.#roomOf(req);
    const p = s.rooms.get(room.key);
    if (!p) throw new TextRoomError(E.NOT_IN_ROOM, `Not in room ${room.key}`);
    this.#removeParticipant(p, true);
    return { textroom: 'success' };
  }

  /** Take a participant out of its room; `tell` sends the leave event (to it and the others). */
  #removeParticipant(p: Participant, tell: boolean): void {
    const room = p.room;
    p.session.rooms.delete(room.key);
    room.participants.delete(p.username);
    if (!tell) return;
    const event = this.#dump({ textroom: 'leave', room: room.id, username: p.username });
    if (!p.session.destroyed) this.#send(p.session, event);
    for (const other of room.participants.values()) this.#send(other.session, event);
    this.#notify(p.session, { event: 'leave', room: room.id, username: p.username });
  }

  #list(req: Json): Json {
    let showPrivate = false;
    if (this.#adminKey !== undefined && typeof req.admin_key === 'string' && req.admin_key.length > 0) {
      checkSecret(this.#adminKey, req, 'admin_key');
      showPrivate = true;
    }
    const list = [...this.#rooms.values()].filter((r) => showPrivate || !r.isPrivate).map((r) => ({
      room: r.id, description: r.description, pin_required: r.pin !== undefined, num_participants: r.participants.size, history: r.historySize,
    }));
    return { textroom: 'success', list };
  }

  #allowed(req: Json): Json {
    check(req, P.allowed);
    check(req, this.#stringIds ? P.roomStr : P.room);
    const action = String(req.action).toLowerCase();
    if (!['enable', 'disable', 'add', 'remove'].includes(action)) {
      throw new TextRoomError(E.INVALID_ELEMENT, `Unsupported action '${String(req.action)}' (allowed)`);
    }
    const room = this.#roomOf(req);
    checkSecret(room.secret, req, 'secret');
    if (action === 'enable') room.checkTokens = true;
    else if (action === 'disable') room.checkTokens = false;
    else if (req.allowed !== undefined) {
      if (!allStrings(req.allowed)) throw new TextRoomError(E.INVALID_ELEMENT, 'Invalid element in the allowed array (not a string)');
      for (const t of req.allowed as string[]) {
        if (action === 'add') room.allowed.add(t);
        else room.allowed.delete(t);
      }
    }
    const reply: Json = { textroom: 'success', room: room.id };
    if (action !== 'disable') reply.allowed = [...room.allowed];
    return reply;
  }

  #kick(req: Json): Json {
    check(req, P.kick);
    const room = this.#roomOf(req);
    checkSecret(room.secret, req, 'secret');
    const username = req.username as string;
    const p = room.participants.get(username);
    if (!p) throw new TextRoomError(E.NO_SUCH_USER, `No such user ${username} in room ${room.key}`);
    const event = this.#dump({ textroom: 'kicked', room: room.id, username });
    for (const other of room.participants.values()) this.#send(other.session, event);
    this.#notify(p.session, { textroom: 'kicked', room: room.id, username });
    this.#removeParticipant(p, false);
    return { textroom: 'success' };
  }

  #announcement(req: Json): Json {
    check(req, P.announcement);
    const room = this.#roomOf(req);
    checkSecret(room.secret, req, 'secret');
    const wire = this.#dump({ textroom: 'announcement', room: room.id, date: janusDate(), text: req.text });
    for (const p of room.participants.values()) this.#send(p.session, wire);
    if (room.historySize > 0) this.#remember(room, wire);
    this.#post(room, wire);
    return { textroom: 'success' };
  }

  async #create(s: TextSession | undefined, req: Json, via: Via): Promise<Json> {
    check(req, P.create);
    check(req, this.#stringIds ? P.roomStrOpt : P.roomOpt);
    if (this.#adminKey !== undefined) {
      check(req, P.adminKey);
      checkSecret(this.#adminKey, req, 'admin_key');
    }
    if (req.allowed !== undefined && !allStrings(req.allowed)) throw new TextRoomError(E.INVALID_ELEMENT, 'Invalid element in the allowed array (not a string)');
    const save = req.permanent === true;
    if (save && !this.#configPath) throw new TextRoomError(E.UNKNOWN_ERROR, "No configuration file, can't create permanent room");
    let id: RoomId | undefined = this.#stringIds ? (req.room as string | undefined) : ((req.room as number | undefined) || undefined);
    if (id !== undefined && this.#rooms.has(String(id))) throw new TextRoomError(E.ROOM_EXISTS, `Room ${String(id)} already exists`);
    while (id === undefined || this.#rooms.has(String(id))) id = this.#stringIds ? crypto.randomUUID() : 1 + Math.floor(Math.random() * (Number.MAX_SAFE_INTEGER - 1));
    const desc = req.description as string | undefined;
    const room = newRoom(id, desc && desc.length > 0 ? desc : `Room ${String(id)}`);
    room.isPrivate = req.is_private === true;
    room.secret = req.secret as string | undefined;
    room.pin = req.pin as string | undefined;
    room.post = req.post as string | undefined;
    room.historySize = Math.min(Number(req.history ?? 0), 65535);
    if (req.allowed !== undefined) {
      for (const t of req.allowed as string[]) room.allowed.add(t);
      room.checkTokens = true;
    }
    this.#rooms.set(room.key, room);
    const permanent = save ? await this.#persist(room.key, roomConfigGroup(room)) : false;
    this.#notify(s, { event: 'created', room: room.id });
    return { textroom: via === 'data' ? 'success' : 'created', room: room.id, permanent };
  }

  async #edit(req: Json, via: Via): Promise<Json> {
    check(req, P.edit);
    check(req, this.#stringIds ? P.roomStr : P.room);
    const save = req.permanent === true;
    if (save && !this.#configPath) throw new TextRoomError(E.UNKNOWN_ERROR, "No configuration file, can't edit room permanently");
    const room = this.#roomOf(req);
    checkSecret(room.secret, req, 'secret');
    const set = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
    room.description = set(req.new_description) ?? room.description;
    if (req.new_is_private !== undefined) room.isPrivate = req.new_is_private === true;
    room.secret = set(req.new_secret) ?? room.secret;
    room.post = set(req.new_post) ?? room.post;
    room.pin = set(req.new_pin) ?? room.pin;
    const permanent = save ? await this.#persist(room.key, roomConfigGroup(room)) : false;
    this.#notify(undefined, { event: 'edited', room: room.id });
    return { textroom: via === 'data' ? 'success' : 'edited', room: room.id, permanent };
  }

  async #destroyRoom(s: TextSession | undefined, req: Json, via: Via): Promise<Json> {
    check(req, P.destroy);
    check(req, this.#stringIds ? P.roomStr : P.room);
    const save = req.permanent === true;
    if (save && !this.#configPath) throw new TextRoomError(E.UNKNOWN_ERROR, "No configuration file, can't destroy room permanently");
    const room = this.#roomOf(req);
    checkSecret(room.secret, req, 'secret');
    this.#rooms.delete(room.key);
    const permanent = save ? await this.#persist(room.key, undefined) : false;
    const event = this.#dump({ textroom: 'destroyed', room: room.id });
    // As Janus: the requester hears it first (on its data channel, whatever the request came
    // over), then every participant, so a requester in the room hears it twice.
    if (s) this.#send(s, event);
    for (const p of [...room.participants.values()]) {
      this.#send(p.session, event);
      this.#removeParticipant(p, false);
    }
    this.#notify(s, { event: 'destroyed', room: room.id });
    return { textroom: via === 'data' ? 'success' : 'destroyed', room: room.id, permanent };
  }

  /** Write a room group (or remove it); false when the file could not be written. */
  #persist(key: string, group: Record<string, string> | undefined): Promise<boolean> {
    const file = this.#configPath!;
    const job = this.#saving.then(() => saveGroup(file, `room-${key}`, group)).then(() => true, (err: unknown) => {
      this.#gw.log.warn(`textroom: could not save ${file}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    });
    this.#saving = job.then(() => undefined);
    return job;
  }

  #notify(s: TextSession | undefined, info: Json): void {
    if (this.#notifyEvents) this.#gw.notifyEvent(s?.handle, info);
  }

  setupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as TextSession | undefined;
    if (s) s.dataReady = false;
  }

  dataReady(handle: PluginHandle): void {
    const s = handle.pluginState as TextSession | undefined;
    if (s && !s.destroyed) s.dataReady = true;
  }

  /** The PeerConnection went: the user leaves every room (the others hear a leave). */
  hangupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as TextSession | undefined;
    if (!s || s.destroyed) return;
    this.#leaveAll(s);
    s.dataReady = false;
    s.setup = false;
  }

  #leaveAll(s: TextSession): void {
    for (const p of [...s.rooms.values()]) this.#removeParticipant(p, true);
  }

  destroySession(handle: PluginHandle): void {
    const s = handle.pluginState as TextSession | undefined;
    if (!s || s.destroyed) return;
    s.destroyed = true;
    this.#leaveAll(s);
    this.#sessions.delete(s);
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as TextSession;
    const rooms: Json = {};
    for (const p of s.rooms.values()) rooms[p.room.key] = { username: p.username, ...(p.display !== undefined ? { display: p.display } : {}) };
    return { setup: s.setup, dataready: s.dataReady, rooms, destroyed: s.destroyed ? 1 : 0 };
  }

  /** For tests and diagnostics: the ids of the rooms that exist. */
  roomIds(): RoomId[] {
    return [...this.#rooms.values()].map((r) => this.#idOf(r));
  }
}

function describe(p: Participant): Json {
  return { username: p.username, ...(p.display !== undefined ? { display: p.display } : {}) };
}

export default (): Plugin => new TextRoomPlugin();
