/**
 * VideoRoom room settings: jcfg values (strings or numbers) and `create` attributes read the same
 * way, codec lists checked with Janus' wording, and permanent rooms written as jcfg that parses
 * back to the same settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJcfg } from '../../src/config/jcfg.ts';
import { jcfgGroup, listEntry, parseCodecs, settingsFrom } from '../../src/plugins/videoroom/room-settings.ts';
import { writeJcfg } from '../../src/config/jcfg-write.ts';
import { VideoRoomError } from '../../src/plugins/videoroom/errors.ts';
import { check } from '../../src/plugins/videoroom/params.ts';

test('jcfg strings and request values give the same settings', () => {
  const fromFile = settingsFrom(5, { description: 'D', publishers: '6', bitrate: '128000', fir_freq: '10', audiocodec: 'opus,pcmu', is_private: 'yes', audiolevel_event: 'true', audio_active_packets: '50' });
  const fromApi = settingsFrom(5, { description: 'D', publishers: 6, bitrate: 128000, fir_freq: 10, audiocodec: 'opus,pcmu', is_private: true, audiolevel_event: true, audio_active_packets: 50 });
  assert.deepEqual(fromFile, fromApi);
  assert.deepEqual(fromFile.audiocodec, ['opus', 'pcmu']);
  assert.equal(settingsFrom(1, { bitrate: 1000 }).bitrate, 64000, 'Janus floors a room bitrate at 64 kbit/s');
  assert.equal(settingsFrom(1, {}).description, 'Room 1');
});

test('codec lists: known names only, at most five, Janus wording', () => {
  assert.deepEqual(parseCodecs('VP8, h264', true), ['vp8', 'h264']);
  assert.throws(() => parseCodecs('opus,speex', false), (e: unknown) => e instanceof VideoRoomError && e.code === 430 && e.message === 'Invalid element (audiocodec can only be or contain opus, isac32, isac16, pcmu, pcma or g722)');
  assert.throws(() => parseCodecs('', true), VideoRoomError);
  assert.equal(parseCodecs('vp8,vp9,h264,av1,h265,vp8', true).length, 5);
});

test('permanent rooms round-trip through the jcfg writer and parser', () => {
  const s = settingsFrom(77, { description: 'a "quoted" \\ name', secret: 's', pin: '1', publishers: 4, videocodec: 'vp9', record: true, rec_dir: '/tmp/x', notify_joining: true, opus_fec: false });
  const text = writeJcfg({ general: { admin_key: 'k', string_ids: false }, 'room-77': jcfgGroup(s, ['t1', 't2']) });
  const back = parseJcfg(text) as Record<string, Record<string, unknown>>;
  assert.equal(back.general.admin_key, 'k');
  assert.deepEqual(back['room-77'].allowed, ['t1', 't2']);
  assert.deepEqual(settingsFrom(77, back['room-77']), s);
  assert.deepEqual(listEntry(settingsFrom(77, back['room-77']), 0), listEntry(s, 0));
});

test('attribute checks report the first failure as Janus does', () => {
  const ids = { stringIds: false };
  assert.throws(() => check({}, [['room', 'id', true]], ids), /Missing mandatory element \(room\)/);
  assert.throws(() => check({ room: 'x' }, [['room', 'id', true]], ids), /Invalid element type \(room should be a positive integer\)/);
  check({ room: 'x' }, [['room', 'id', true]], { stringIds: true });
  assert.throws(() => check({ room: null }, [['room', 'id', true]], ids), /should be a positive integer/, 'null is a wrong type');
  assert.throws(() => check({ a: 1, b: 'x' }, [['b', 'boolean'], ['a', 'string']], ids), /b should be a boolean/);
});
