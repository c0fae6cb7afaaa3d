/**
 * AudioBridge with string_ids = true side by side with the real Janus 1.1.2 (its plugin set the
 * same way): the same requests against both, replies compared after masking the random ids.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { startAudioBridgeServer, AbClient } from './audiobridge-common.ts';
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

type Step = { body: Record<string, unknown>; async?: boolean; second?: boolean };

const SCRIPT: Step[] = [
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

async function run(wsUrl: string): Promise<{ replies: unknown[]; notes: unknown[] }> {
  const a = await AbClient.open(wsUrl);
  const b = await AbClient.open(wsUrl);
  const replies: unknown[] = [];
  for (const step of SCRIPT) {
    const c = step.second ? b : a;
    if (step.async) replies.push((await c.async(step.body)).plugindata.data);
    else replies.push(await c.sync(step.body));
  }
  await new Promise((r) => setTimeout(r, 300));
  const notes = [...a.notifications().map((n) => ['a', n]), ...b.notifications().map((n) => ['b', n])];
  await a.close();
  await b.close();
  return { replies, notes };
}

test('string_ids: requests answer as Janus 1.1.2 does', async () => {
  const theirs = await run(ref.wsUrl);
  const ours = await run(`ws://127.0.0.1:${server.ports.ws}`);
  if (process.env.AB_DEBUG) console.log(JSON.stringify(theirs));
  for (let i = 0; i < SCRIPT.length; i++) {
    assert.deepEqual(ours.replies[i], theirs.replies[i], `step ${i}: ${JSON.stringify(SCRIPT[i].body)}`);
  }
  assert.deepEqual(ours.notes, theirs.notes, 'notifications');
});
