/**
 * Streaming plugin, multicast RTP sources (`mcast` per stream): the mountpoint's sockets join the
 * groups and a viewer receives what a sender multicasts. Multicast must not leave this machine, so
 * the whole scene (Portunus, sender, werift viewer: streaming-mcast-netns.ts) runs in a network
 * namespace this test creates with `unshare --net` (root), holding only `lo` with multicast on and
 * 239.0.0.0/8 routed to it. Skipped, saying why, where namespaces cannot be created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./streaming-mcast-netns.ts', import.meta.url));
const SETUP = 'ip link set lo up && ip link set lo multicast on && ip route add 239.0.0.0/8 dev lo';

function namespacesUsable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  const probe = spawnSync('unshare', ['--net', 'sh', '-c', SETUP], { encoding: 'utf8', timeout: 10000 });
  if (probe.error) return `unshare not usable: ${probe.error.message}`;
  if (probe.status !== 0) return `cannot create a network namespace here: ${probe.stderr.trim().slice(0, 200)}`;
  return undefined;
}

const skip = namespacesUsable();

test('multicast RTP source: groups joined on lo in the test\'s own namespace, media reaches a werift viewer', { skip: skip ?? false, timeout: 90000 }, () => {
  const r = spawnSync('unshare', ['--net', 'sh', '-c', `${SETUP} && exec "$0" --import tsx "$1"`, process.execPath, CHILD], { encoding: 'utf8', timeout: 80000 });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  assert.ok(line, `no result from the namespace (status ${r.status}): ${r.stderr.slice(-2000)}`);
  const result = JSON.parse(line) as Record<string, unknown>;
  assert.equal(result.error, undefined, String(result.error));
  assert.deepEqual(result.mcastInfo, ['239.77.1.1', '239.77.1.2'], 'info lists the groups');
  assert.equal(result.ok, true, `viewer got ${result.audio} audio, ${result.video} video packets`);
  assert.equal(result.audioPayloadsMatch, true, 'Opus payloads byte for byte');
  assert.equal(result.firstVideoKey, true, 'video starts on a keyframe');
});
