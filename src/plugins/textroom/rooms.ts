/**
 * TextRoom rooms and participants, rooms read from janus.plugin.textroom.jcfg (`room-<id>` groups,
 * as Janus reads them), and the group a permanent room is written back as.
 */

export type RoomId = number | string;

export interface Participant {
  session: TextSession;
  room: Room;
  username: string;
  display: string | undefined;
}

export interface Room {
  id: RoomId;
  /** The id as text: the key of every map. */
  key: string;
  description: string;
  secret: string | undefined;
  pin: string | undefined;
  isPrivate: boolean;
  /** HTTP backend every public message and announcement is POSTed to. */
  post: string | undefined;
  historySize: number;
  /** Serialised message/announcement events, oldest first (at most historySize). */
  history: string[];
  checkTokens: boolean;
  allowed: Set<string>;
  participants: Map<string, Participant>;
}

export interface TextSession {
  handle: import('../../core/plugin.ts').PluginHandle;
  /** Room key -> this session's participant there. */
  rooms: Map<string, Participant>;
  setup: boolean;
  dataReady: boolean;
  destroyed: boolean;
  queue: Promise<void>;
}

export function newRoom(id: RoomId, description: string): Room {
  return {
    id, key: String(id), description, secret: undefined, pin: undefined, isPrivate: false, post: undefined,
    historySize: 0, history: [], checkTokens: false, allowed: new Set(), participants: new Map(),
  };
}

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|yes|1)$/i.test(v)) || v === 1;
const text = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/**
 * The rooms of a configuration object: every group but `general`, named `room-<id>` (or `<id>`);
 * with numeric ids only whole positive numbers are taken, as Janus does. Returns warnings for
 * groups it skipped.
 */
export function roomsFromConfig(config: Record<string, unknown>, stringIds: boolean): { rooms: Room[]; warnings: string[] } {
  const rooms: Room[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(config)) {
    if (name === 'general' || typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const g = value as Record<string, unknown>;
    const idText = name.startsWith('room-') ? name.slice(5) : name;
    let id: RoomId = idText;
    if (!stringIds) {
      if (!/^[1-9]\d*$/.test(idText) || !Number.isSafeInteger(Number(idText))) {
        warnings.push(`textroom: room '${name}' skipped: the id is not a positive number`);
        continue;
      }
      id = Number(idText);
    }
    if (seen.has(String(id))) {
      warnings.push(`textroom: room '${name}' skipped: it already exists`);
      continue;
    }
    seen.add(String(id));
    const desc = text(g.description);
    const room = newRoom(id, desc && desc.length > 0 ? desc : name);
    room.isPrivate = truthy(g.is_private);
    room.secret = text(g.secret);
    room.pin = text(g.pin);
    room.post = text(g.post);
    const history = Number(g.history ?? 0);
    if (Number.isInteger(history) && history >= 0 && history <= 65535) room.historySize = history;
    else warnings.push(`textroom: room '${name}': invalid history size, history disabled`);
    rooms.push(room);
  }
  return { rooms, warnings };
}

/** The config group of a permanent room (the keys Janus writes). */
export function roomConfigGroup(room: Room): Record<string, string> {
  const g: Record<string, string> = { description: room.description };
  if (room.isPrivate) g.is_private = 'true';
  if (room.secret !== undefined) g.secret = room.secret;
  if (room.pin !== undefined) g.pin = room.pin;
  if (room.historySize) g.history = String(room.historySize);
  if (room.post !== undefined) g.post = room.post;
  return g;
}

/** strftime("%FT%T%z") in local time, the `date` of messages and announcements. */
export function janusDate(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`;
}

/** Serialise as Janus' `json` option says: compact (default), plain or indented. */
export function serializer(format: unknown): (v: unknown) => string {
  const f = typeof format === 'string' ? format.toLowerCase() : 'compact';
  if (f === 'indented') return (v) => JSON.stringify(v, null, 3);
  if (f === 'plain') return (v) => plain(v);
  return (v) => JSON.stringify(v);
}

/** jansson's JSON_INDENT(0): no new lines, a space after ',' and ':'. */
function plain(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(plain).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}: ${plain(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}
