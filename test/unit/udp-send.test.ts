import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { sendsImmediately, skipLookupForIpLiterals } from '../../src/core/webrtc/udp-send.ts';

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

test('sends to IP literals skip the DNS step (synchronous lookup), names still resolve, datagrams arrive', async () => {
  const rx = await bound();
  const tx = await bound();
  try {
    assert.equal(skipLookupForIpLiterals(tx), true);
    assert.equal(skipLookupForIpLiterals(tx), true, 'idempotent');
    const port = rx.address().port;
    const got: string[] = [];
    rx.on('message', (m) => got.push(m.toString()));
    // The lookup of an IP literal answers at once: the datagram is handed to the kernel inside send().
    const state = Object.getOwnPropertySymbols(tx).find((s) => s.description === 'state symbol')!;
    const handle = (tx as unknown as Record<symbol, { handle: { lookup(a: string, cb: (e: Error | null, ip?: string) => void): void } }>)[state].handle;
    let sync = false;
    handle.lookup('127.0.0.1', (e, ip) => { sync = e === null && ip === '127.0.0.1'; });
    assert.equal(sync, true);
    for (let i = 0; i < 5; i++) tx.send(Buffer.from(`ip ${i}`), port, '127.0.0.1');
    tx.send(Buffer.from('name'), port, 'localhost');
    const end = Date.now() + 5000;
    while (got.length < 6 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got.sort(), ['ip 0', 'ip 1', 'ip 2', 'ip 3', 'ip 4', 'name']);
  } finally {
    rx.close();
    tx.close();
  }
});

test('with the hook, a send leaves the buffer at once (nothing queued), so the sender may reuse it', async () => {
  const rx = await bound();
  const tx = await bound();
  try {
    assert.equal(sendsImmediately(tx), false, 'not before the hook');
    skipLookupForIpLiterals(tx);
    assert.equal(sendsImmediately(tx), true);
    const port = rx.address().port;
    const got: string[] = [];
    rx.on('message', (m) => got.push(m.toString()));
    // PeerEndpoint protects every packet into one buffer and sends a view of it: each send must be
    // done with the bytes before the next packet overwrites them.
    const buf = Buffer.alloc(16);
    for (let i = 0; i < 50; i++) {
      buf.write(`pkt ${String(i).padStart(2, '0')}`);
      tx.send(buf.subarray(0, 6), port, '127.0.0.1');
      assert.equal(tx.getSendQueueCount(), 0);
    }
    const end = Date.now() + 5000;
    while (got.length < 50 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got.sort(), Array.from({ length: 50 }, (_, i) => `pkt ${String(i).padStart(2, '0')}`));
  } finally {
    rx.close();
    tx.close();
  }
});
