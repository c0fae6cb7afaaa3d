import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NackBuffer } from '../../src/media/nack-buffer.ts';

function pkt(seq: number, size = 100, fill = seq & 0xff): Buffer {
  const b = Buffer.alloc(size, fill);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  return b;
}

test('stores copies and finds them by sequence number', () => {
  const nb = new NackBuffer({ minNackQueueMs: 200, initialSlots: 16 });
  const src = pkt(10, 300);
  assert.equal(nb.store(src, 0, src.length, 0), true);
  src.fill(0); // the buffer keeps its own copy
  const slot = nb.find(10, 50);
  assert.ok(slot >= 0);
  assert.equal(nb.slotLength(slot), 300);
  const p = nb.packet(slot);
  assert.equal(p.readUInt16BE(2), 10);
  assert.equal(p[299], 10);
  assert.equal(nb.data[nb.slotOffset(slot) + 5], 10);
  assert.equal(nb.find(11, 50), -1);
});

test('sequence numbers wrap: 65535 and 0 coexist', () => {
  const nb = new NackBuffer({ initialSlots: 8 });
  for (let s = 65530; s < 65536 + 5; s++) nb.store(pkt(s), 0, 100, 0);
  for (let s = 65530; s < 65536 + 5; s++) {
    const slot = nb.find(s & 0xffff, 10);
    assert.ok(slot >= 0, `seq ${s & 0xffff}`);
    assert.equal(nb.packet(slot).readUInt16BE(2), s & 0xffff);
  }
});

test('keeps packets at least min_nack_queue ms: grows instead of evicting young packets', () => {
  const nb = new NackBuffer({ minNackQueueMs: 200, initialSlots: 16, maxSlots: 1024 });
  // 1000 packets per second for 300 ms: 300 packets must fit the 200 ms horizon (200 packets)
  for (let i = 0; i < 300; i++) nb.store(pkt(60000 + i), 0, 100, i);
  assert.ok(nb.capacity >= 256, `capacity ${nb.capacity}`);
  const now = 299;
  for (let i = 100; i < 300; i++) assert.ok(nb.find((60000 + i) & 0xffff, now) >= 0, `seq ${60000 + i}`);
  assert.equal(nb.evictedEarly, 0);
  // older than the horizon: gone
  assert.equal(nb.find(60000, 250), -1);
  // packets outlive the minimum when the horizon is raised (RTT-adaptive)
  assert.equal(nb.find(60000 + 50, 290), -1);
  nb.setKeepTimeMs(1000);
  assert.ok(nb.find(60000 + 50, 290) >= 0);
  nb.setKeepTimeMs(10); // never below min_nack_queue
  assert.equal(nb.keepTimeMs, 200);
});

test('at maxSlots it overwrites and counts early evictions', () => {
  const nb = new NackBuffer({ minNackQueueMs: 1000, initialSlots: 4, maxSlots: 8 });
  for (let i = 0; i < 20; i++) nb.store(pkt(i), 0, 100, 0);
  assert.equal(nb.capacity, 8);
  assert.equal(nb.evictedEarly, 12);
  assert.ok(nb.find(19, 0) >= 0);
  assert.equal(nb.find(3, 0), -1);
});

test('refuses oversized or non-RTP-sized packets; flush forgets everything', () => {
  const nb = new NackBuffer({ slotSize: 200 });
  assert.equal(nb.store(pkt(1, 201), 0, 201, 0), false);
  assert.equal(nb.store(pkt(1, 11), 0, 11, 0), false);
  assert.equal(nb.store(pkt(1, 50), 10, 50, 0), false);
  assert.equal(nb.refused, 3);
  nb.store(pkt(2), 0, 100, 0);
  assert.ok(nb.find(2, 0) >= 0);
  nb.flush();
  assert.equal(nb.find(2, 0), -1);
});

test('a stale slot holding the same seq from an older cycle is not returned once expired', () => {
  const nb = new NackBuffer({ minNackQueueMs: 100, initialSlots: 16 });
  nb.store(pkt(5), 0, 100, 0);
  assert.equal(nb.find(5, 10_000), -1);
});
