/**
 * What the VideoRoom differential tests share: the real Janus 1.1.2 and a Portunus server started
 * around a test file (optionally both loading Debian's janus.plugin.videoroom.jcfg), ids normalised
 * out of answers, waiting until a server lists a publisher, and the comparison of two runs.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { PortunusConfig } from '../../src/config/types.ts';
import { parseJcfg } from '../../src/config/jcfg.ts';
import type { RunningServer } from '../../src/server.ts';
import { startReferenceJanus, type ReferenceJanus, type StartReferenceOptions } from '../helpers/reference-janus.ts';
import { closeAll, sleep, startVideoRoomServer, VR, type Participant } from './videoroom-helpers.ts';

export interface ReferencePair {
  /** Janus API WebSocket URLs of the reference and of Portunus (valid inside tests). */
  readonly theirs: string;
  readonly ours: string;
}

/**
 * Start both servers before the file's tests and stop them after. `sameRooms` gives Portunus the
 * reference's own videoroom config (its demo rooms); `mutate` adjusts Portunus' config further.
 */
export function referencePair(opts: { reference?: StartReferenceOptions; sameRooms?: boolean; mutate?: (c: PortunusConfig) => void } = {}): ReferencePair {
  let ref: ReferenceJanus | undefined;
  let server: RunningServer | undefined;
  before(async () => {
    ref = await startReferenceJanus(opts.reference);
    const rooms = opts.sameRooms ? parseJcfg(readFileSync('/etc/janus/janus.plugin.videoroom.jcfg', 'utf8')) : undefined;
    server = await startVideoRoomServer((c) => {
      if (rooms) c.pluginConfigs = { ...(c.pluginConfigs ?? {}), [VR]: rooms };
      opts.mutate?.(c);
    });
  });
  after(async () => {
    await closeAll();
    await server?.close();
    await ref?.stop();
  });
  return {
    get theirs() {
      return ref!.wsUrl;
    },
    get ours() {
      return `ws://127.0.0.1:${server!.ports.ws}`;
    },
  };
}

/** Replace the values of ids that differ between runs (the given keys, when numeric). */
export function normaliseIds(x: unknown, keys: readonly string[] = ['id', 'feed_id', 'private_id']): unknown {
  return JSON.parse(JSON.stringify(x, (k, v) => (keys.includes(k) && typeof v === 'number' ? 'ID' : v)));
}

/** Janus lists a publisher only once its PeerConnection is up on its side (DTLS done): wait for it. */
export async function waitPublishing(admin: Participant, room: number): Promise<void> {
  for (let i = 0; ; i++) {
    const list = await admin.sync({ request: 'listparticipants', room });
    if ((list.participants as { publisher?: boolean }[] | undefined)?.some((p) => p.publisher)) return;
    if (i > 100) throw new Error('the publisher never showed up as publishing');
    await sleep(50);
  }
}

/** Every key of the reference's run must be the same in ours; the differences are listed together. */
export function assertSameRuns(ours: Record<string, unknown>, theirs: Record<string, unknown>): void {
  const diffs: string[] = [];
  for (const k of Object.keys(theirs)) {
    try {
      assert.deepEqual(ours[k], theirs[k]);
    } catch {
      diffs.push(`${k}:\n ours   ${JSON.stringify(ours[k])}\n theirs ${JSON.stringify(theirs[k])}`);
    }
  }
  assert.deepEqual(diffs, []);
}
