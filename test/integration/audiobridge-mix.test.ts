/**
 * AudioBridge with three real werift participants sending distinct tones as Opus: each hears the
 * other two and not itself (Goertzel on the decoded audio), in 16 and 48 kHz rooms; then mute,
 * volume (measured gain) and changeroom change what they hear.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAudioBridgeServer, ToneParticipant, AbClient, sleep, until } from './audiobridge-common.ts';
import { db } from '../helpers/audio-tones.ts';

const TONES = [440, 1000, 1700];
const server = await startAudioBridgeServer();
after(() => server.close());
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

function describeAmps(a: number[]): string {
  return a.map((x, i) => `${TONES[i]}Hz:${x.toFixed(0)}`).join(' ');
}

/** Asserts participant `i` hears exactly the tones of `expected` (indices), well above the rest. */
function assertHears(p: ToneParticipant, i: number, since: number, expected: number[]): number[] {
  const amp = p.hears(TONES, since);
  for (let k = 0; k < TONES.length; k++) {
    if (expected.includes(k)) assert.ok(amp[k] > 1500, `participant ${i} hears ${TONES[k]} Hz: ${describeAmps(amp)}`);
    else assert.ok(amp[k] < 400, `participant ${i} does not hear ${TONES[k]} Hz: ${describeAmps(amp)}`);
  }
  return amp;
}

for (const rate of [16000, 48000]) {
  test(`three participants at ${rate} Hz: each hears the other two tones, not its own`, async () => {
    const admin = await AbClient.open(wsUrl);
    const room = 7000 + rate / 1000;
    const created = await admin.sync({ request: 'create', room, sampling_rate: rate });
    assert.deepEqual(created, { audiobridge: 'created', room, permanent: false });
    // The first two offer in the join, the third in a configure after joining (as janus.js does).
    const ps = [
      await ToneParticipant.join(wsUrl, room, TONES[0], { display: 'a' }),
      await ToneParticipant.join(wsUrl, room, TONES[1], { display: 'b' }),
      await ToneParticipant.join(wsUrl, room, TONES[2], { display: 'c' }, true),
    ];
    try {
      ps.forEach((p) => p.start());
      await Promise.all(ps.map((p) => p.flowing()));
      const since = performance.now();
      await sleep(1800);
      ps.forEach((p, i) => assertHears(p, i, since, [0, 1, 2].filter((k) => k !== i)));
      // About 50 frames a second reach each participant.
      for (const p of ps) {
        const n = p.received.filter((f) => f.at >= since + 300).length;
        assert.ok(n >= 60, `50 frames/s: got ${n} in 1.5 s`);
      }
      const list = await admin.sync({ request: 'listparticipants', room });
      assert.equal(list.participants.length, 3);
      assert.ok(list.participants.every((x: any) => x.setup === true && x.muted === false));
    } finally {
      await Promise.all(ps.map((p) => p.close()));
      await admin.sync({ request: 'destroy', room });
      await admin.close();
    }
  });
}

test('mute, volume and changeroom change what the others hear', async () => {
  const admin = await AbClient.open(wsUrl);
  const room = 7100;
  const other = 7101;
  await admin.sync({ request: 'create', room, sampling_rate: 16000 });
  await admin.sync({ request: 'create', room: other, sampling_rate: 16000 });
  const ps = [
    await ToneParticipant.join(wsUrl, room, TONES[0]),
    await ToneParticipant.join(wsUrl, room, TONES[1]),
    await ToneParticipant.join(wsUrl, room, TONES[2]),
  ];
  try {
    ps.forEach((p) => p.start());
    await Promise.all(ps.map((p) => p.flowing()));
    await sleep(500);
    let since = performance.now();
    await sleep(1000);
    assertHears(ps[2], 2, since, [0, 1]);
    const before = ps[2].medianAmplitude(TONES[1], since);

    // Participant 0 mutes itself: the others are told, and its tone leaves their mix.
    const muted = await ps[0].client.async({ request: 'configure', muted: true });
    assert.deepEqual(muted.plugindata.data, { audiobridge: 'event', result: 'ok' });
    const note = await ps[1].client.waitNotification((d) => d.participants?.[0]?.id === ps[0].id);
    assert.equal(note.plugindata.data.participants[0].muted, true);
    // Participant 1 at volume 50: its tone at half the amplitude (-6 dB).
    await ps[1].client.async({ request: 'configure', volume: 50 });
    await sleep(400);
    since = performance.now();
    await sleep(1000);
    assertHears(ps[2], 2, since, [1]);
    const gain = ps[2].medianAmplitude(TONES[1], since) / before;
    assert.ok(gain > 0.4 && gain < 0.62, `volume 50 measured as gain ${gain.toFixed(2)} (${db(gain).toFixed(1)} dB)`);

    // A moderator mute/unmute is announced to everyone, the muted one included.
    const m = await admin.sync({ request: 'unmute', room, id: ps[0].id });
    assert.deepEqual(m, { audiobridge: 'success', room });
    await ps[0].client.waitNotification((d) => d.participants?.[0]?.id === ps[0].id && d.participants[0].muted === false);

    // Participant 2 moves to the other room: the two left stop hearing it, and are told it left.
    const changed = await ps[2].client.async({ request: 'changeroom', room: other });
    assert.equal(changed.plugindata.data.audiobridge, 'roomchanged');
    assert.equal(changed.plugindata.data.room, other);
    assert.deepEqual(changed.plugindata.data.participants, []);
    await ps[0].client.waitNotification((d) => d.leaving === ps[2].id);
    await sleep(400);
    since = performance.now();
    await sleep(1000);
    assertHears(ps[0], 0, since, [1]);
    // Alone in its new room it hears nothing of the old one.
    assertHears(ps[2], 2, since, []);
    const list = await admin.sync({ request: 'listparticipants', room: other });
    assert.deepEqual(list.participants.map((x: any) => x.id), [changed.plugindata.data.id]);
  } finally {
    await Promise.all(ps.map((p) => p.close()));
    await admin.sync({ request: 'destroy', room });
    await admin.sync({ request: 'destroy', room: other });
    await admin.close();
  }
});
