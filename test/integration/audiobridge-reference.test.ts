/**
 * The AudioBridge request set side by side with the real Janus 1.1.2: the same script of sync and
 * async requests against both, replies compared after masking random ids.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { startAudioBridgeServer, runScript, type ScriptStep } from './audiobridge-common.ts';
import type { RunningServer } from '../../src/server.ts';

let ref: ReferenceJanus;
let server: RunningServer;
before(async () => {
  ref = await startReferenceJanus();
  server = await startAudioBridgeServer({ 'room-1234': { description: 'Demo Room', secret: 'adminpwd', sampling_rate: 16000, record: false } });
});
after(async () => {
  await server?.close();
  await ref?.stop();
});

const SCRIPT: ScriptStep[] = [
  { body: { request: 'list' } },
  { body: { request: 'create', room: 5555, description: 'x', sampling_rate: 16000, allow_rtp_participants: true } },
  { body: { request: 'create', room: 5555 } },
  { body: { request: 'create', room: 'abc' } },
  { body: { request: 'create', room: 10, sampling_rate: 44100 } },
  { body: { request: 'exists', room: 5555 } },
  { body: { request: 'exists', room: 777 } },
  { body: { request: 'exists' } },
  { body: { request: 'foo' } },
  { body: { request: 'edit', room: 5555, new_description: 'y' } },
  { body: { request: 'allowed', room: 5555, action: 'add', allowed: ['a'] } },
  { body: { request: 'allowed', room: 5555, action: 'remove', allowed: ['a'] } },
  { body: { request: 'allowed', room: 5555, action: 'disable' } },
  { body: { request: 'listparticipants', room: 5555 } },
  { body: { request: 'listparticipants', room: 1 } },
  { body: { request: 'mute', room: 5555, id: 3 } },
  { body: { request: 'mute_room', room: 5555 } },
  { body: { request: 'unmute_room', room: 5555 } },
  { body: { request: 'kick', room: 5555, id: 3 } },
  { body: { request: 'kick_all', room: 5555 } },
  { body: { request: 'resetdecoder' } },
  { body: { request: 'hangup' }, async: true },
  { body: { request: 'suspend' } },
  { body: { request: 'listforwarders', room: 5555 } },
  { body: { request: 'enable_recording', room: 5555, record: false } },
  { body: { request: 'enable_mjrs', room: 5555, mjrs: false } },
  { body: { request: 'is_playing', room: 5555, file_id: 'x' } },
  { body: { request: 'stop_file', room: 5555, file_id: 'x' } },
  { body: { request: 'play_file', room: 5555, filename: '/nonexistent.opus' } },
  { body: { request: 'create', room: 6666, pin: 'p', secret: 's', groups: ['g1', 'g2'] } },
  { body: { request: 'destroy', room: 6666 } },
  { body: { request: 'destroy', room: 6666, secret: 'x' } },
  { body: { request: 'edit', room: 6666, secret: 'x' } },
  { body: { request: 'join', room: 6666 }, async: true },
  { body: { request: 'join', room: 6666, pin: 'x' }, async: true },
  { body: { request: 'join', room: 777, pin: 'p' }, async: true },
  { body: { request: 'join', room: 6666, pin: 'p', group: 'nope' }, async: true },
  { body: { request: 'join', room: 6666, pin: 'p', group: 'g1', rtp: { ip: '127.0.0.1', port: 6000 } }, async: true },
  { body: { request: 'configure', muted: true }, async: true },
  { body: { request: 'changeroom', room: 6666 }, async: true },
  { body: { request: 'leave' }, async: true },
  { body: { request: 'join', room: 6666, pin: 'p', id: 7, group: 'g1', display: 'x' }, async: true },
  { body: { request: 'join', room: 6666, pin: 'p', id: 7 }, async: true, second: true },
  { body: { request: 'join', room: 6666, pin: 'p', id: 'str' }, async: true, second: true },
  { body: { request: 'join', room: 6666, pin: 'p', group: 'g2', volume: 'x' }, async: true, second: true },
  { body: { request: 'join', room: 6666, pin: 'p', id: 8, group: 'g2', display: 'y' }, async: true, second: true },
  { body: { request: 'join', room: 6666, pin: 'p', group: 'g2' }, async: true },
  { body: { request: 'listparticipants', room: 6666 } },
  { body: { request: 'configure', muted: true, display: 'z' }, async: true, second: true },
  { body: { request: 'mute', room: 6666, id: 7, secret: 's' } },
  { body: { request: 'listparticipants', room: 6666 } },
  { body: { request: 'kick', room: 6666, id: 7 } },
  { body: { request: 'rtp_forward', room: 6666, host: '127.0.0.1', port: 5000, secret: 's', group: 'nope' } },
  { body: { request: 'play_file', room: 6666, secret: 's', filename: '/nonexistent.opus' } },
  { body: { request: 'leave' }, async: true, second: true },
  // A successful kick is left out: Janus 1.1.2 keeps a kicked participant that never set up a
  // PeerConnection in the room (it goes on hangup, which never comes); Portunus removes it at once.
  { body: { request: 'leave' }, async: true },
  { body: { request: 'listparticipants', room: 6666 } },
  { body: { request: 'destroy', room: 6666, secret: 's' } },
  { body: { request: 'destroy', room: 5555 } },
];

/** Masks what is random by design (ids Janus draws) so replies compare. */
function mask(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (k, x) => {
    if ((k === 'id' || k === 'room' || k === 'stream_id' || k === 'ssrc') && typeof x === 'number' && x > 100000) return '<random>';
    if (k === 'leaving' && typeof x === 'number' && x > 100000) return '<random>';
    return x;
  });
}

test('sync and async requests answer as Janus 1.1.2 does', async () => {
  const theirs = await runScript(ref.wsUrl, SCRIPT);
  const ours = await runScript(`ws://127.0.0.1:${server.ports.ws}`, SCRIPT);
  for (let i = 0; i < SCRIPT.length; i++) {
    assert.deepEqual(mask(ours.replies[i]), mask(theirs.replies[i]), `step ${i}: ${JSON.stringify(SCRIPT[i].body)}`);
  }
  assert.deepEqual(mask(ours.notes), mask(theirs.notes), 'notifications');
});
