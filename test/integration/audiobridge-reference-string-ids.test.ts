/**
 * AudioBridge with string_ids = true side by side with the real Janus 1.1.2 (its plugin set the
 * same way): the same requests against both, replies compared after masking the random ids.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { startAudioBridgeServer, runScript, type ScriptStep } from './audiobridge-common.ts';
import type { RunningServer } from '../../src/server.ts';

let ref: ReferenceJanus;
let server: RunningServer;
before(async () => {
  ref = await startReferenceJanus({ pluginSettings: { 'janus.plugin.audiobridge.jcfg': { string_ids: 'true' } } });
  server = await startAudioBridgeServer({ general: { string_ids: true } });
});
after(async () => {
  await server?.close();
  await ref?.stop();
});

const SCRIPT: ScriptStep[] = [
  { body: { request: 'create', room: 'abc', description: 'x', sampling_rate: 16000 } },
  { body: { request: 'create', room: 'abc' } },
  { body: { request: 'create', room: 5 } },
  { body: { request: 'exists', room: 'abc' } },
  { body: { request: 'exists', room: 'nope' } },
  { body: { request: 'exists', room: 5 } },
  { body: { request: 'listparticipants', room: 'abc' } },
  { body: { request: 'join', room: 'abc', id: 'alice', display: 'A' }, async: true },
  { body: { request: 'join', room: 'abc', id: 'alice' }, async: true, second: true },
  { body: { request: 'join', room: 'abc', id: 7 }, async: true, second: true },
  { body: { request: 'join', room: 5 }, async: true, second: true },
  { body: { request: 'join', room: 'abc', id: 'bob' }, async: true, second: true },
  { body: { request: 'listparticipants', room: 'abc' } },
  { body: { request: 'mute', room: 'abc', id: 'bob' } },
  { body: { request: 'mute', room: 'abc', id: 3 } },
  { body: { request: 'mute', room: 'abc', id: 'nobody' } },
  { body: { request: 'leave' }, async: true, second: true },
  { body: { request: 'leave' }, async: true },
  { body: { request: 'destroy', room: 'abc' } },
];

test('string_ids: requests answer as Janus 1.1.2 does', async () => {
  const theirs = await runScript(ref.wsUrl, SCRIPT);
  const ours = await runScript(`ws://127.0.0.1:${server.ports.ws}`, SCRIPT);
  if (process.env.AB_DEBUG) console.log(JSON.stringify(theirs));
  for (let i = 0; i < SCRIPT.length; i++) {
    assert.deepEqual(ours.replies[i], theirs.replies[i], `step ${i}: ${JSON.stringify(SCRIPT[i].body)}`);
  }
  assert.deepEqual(ours.notes, theirs.notes, 'notifications');
});
