/**
 * The appliance NAT helper: the STUN Binding client (RFC 5389) against a tiny STUN server on loopback
 * written here, the response parser (hand-made and fuzzed packets), and runFirstboot choosing the
 * advertised address from STUN only when none was given.
 */
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runFirstboot } from '../../appliance/firstboot/main.ts';
import { bindingRequest, discoverMappedAddress, parseBindingResponse, parseServer } from '../../appliance/firstboot/stun.ts';
import { fuzzSeed, prng } from '../helpers/prng.ts';

const COOKIE = Buffer.from([0x21, 0x12, 0xa4, 0x42]);

/** A Binding success response carrying `address:port` as XOR-MAPPED-ADDRESS (RFC 5389 section 15.2). */
function successResponse(tid: Buffer, address: string, port: number, attrType = 0x0020): Buffer {
  const xor = attrType === 0x0020;
  const attr = Buffer.alloc(12);
  attr.writeUInt16BE(attrType, 0);
  attr.writeUInt16BE(8, 2);
  attr[5] = 0x01;
  attr.writeUInt16BE(xor ? port ^ 0x2112 : port, 6);
  address.split('.').forEach((b, i) => {
    attr[8 + i] = Number(b) ^ (xor ? COOKIE[i] : 0);
  });
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0101, 0);
  head.writeUInt16BE(attr.length, 2);
  COOKIE.copy(head, 4);
  tid.copy(head, 8);
  return Buffer.concat([head, attr]);
}

/** A STUN server on 127.0.0.1 answering with the address it sees; drops the first `drop` requests. */
async function startStunServer(drop = 0): Promise<{ port: number; requests: number; sock: Socket }> {
  const sock = createSocket('udp4');
  const state = { port: 0, requests: 0, sock };
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    state.requests++;
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001) return;
    if (state.requests <= drop) return;
    sock.send(successResponse(msg.subarray(8, 20), from.address, from.port), from.port, from.address);
  });
  await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', ok));
  state.port = sock.address().port;
  return state;
}

const closers: Array<() => void> = [];
after(() => closers.forEach((c) => c()));

describe('appliance NAT helper: STUN', () => {
  it('a Binding request is a 20-byte header with the magic cookie', () => {
    const tid = Buffer.alloc(12, 7);
    const req = bindingRequest(tid);
    assert.equal(req.length, 20);
    assert.equal(req.readUInt16BE(0), 0x0001);
    assert.deepEqual(req.subarray(4, 8), COOKIE);
    assert.deepEqual(req.subarray(8), tid);
  });

  it('parses XOR-MAPPED-ADDRESS and MAPPED-ADDRESS, refuses other transactions', () => {
    const tid = Buffer.alloc(12, 1);
    assert.deepEqual(parseBindingResponse(successResponse(tid, '203.0.113.7', 40000), tid), { address: '203.0.113.7', port: 40000 });
    assert.deepEqual(parseBindingResponse(successResponse(tid, '198.51.100.2', 5, 0x0001), tid), { address: '198.51.100.2', port: 5 });
    assert.equal(parseBindingResponse(successResponse(tid, '203.0.113.7', 1), Buffer.alloc(12, 2)), undefined);
    assert.equal(parseBindingResponse(Buffer.alloc(10), tid), undefined);
  });

  it('server specs: host, host:port, [v6]:port', () => {
    assert.deepEqual(parseServer('stun.example.net'), { host: 'stun.example.net', port: 3478 });
    assert.deepEqual(parseServer('127.0.0.1:19302'), { host: '127.0.0.1', port: 19302 });
    assert.deepEqual(parseServer('[::1]:3479'), { host: '::1', port: 3479 });
    assert.deepEqual(parseServer('::1'), { host: '::1', port: 3478 });
  });

  it('never throws on random or mutated responses (fuzz)', () => {
    const seed = fuzzSeed();
    const rnd = prng(seed);
    const tid = Buffer.alloc(12, 9);
    const valid = successResponse(tid, '203.0.113.7', 4000);
    for (let i = 0; i < 20000; i++) {
      let pkt: Buffer;
      if (i % 2 === 0) {
        pkt = Buffer.from(valid);
        const flips = 1 + Math.floor(rnd() * 4);
        for (let f = 0; f < flips; f++) pkt[Math.floor(rnd() * pkt.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.3) pkt = pkt.subarray(0, Math.floor(rnd() * pkt.length));
      } else {
        pkt = Buffer.alloc(Math.floor(rnd() * 64));
        for (let j = 0; j < pkt.length; j++) pkt[j] = Math.floor(rnd() * 256);
      }
      const got = parseBindingResponse(pkt, tid);
      if (got) assert.ok(typeof got.address === 'string' && got.port >= 0 && got.port <= 65535, `seed ${seed}`);
    }
  });

  it('asks a loopback STUN server and retransmits when a request is lost', async () => {
    const server = await startStunServer(1);
    closers.push(() => server.sock.close());
    const mapped = await discoverMappedAddress(`127.0.0.1:${server.port}`, 10_000, 100);
    assert.equal(mapped.address, '127.0.0.1');
    assert.ok(mapped.port > 0);
    assert.ok(server.requests >= 2, 'the first request was dropped, so a retransmission answered');
  });

  it('gives up after its deadline when nobody answers', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((ok) => silent.bind(0, '127.0.0.1', ok));
    closers.push(() => silent.close());
    await assert.rejects(discoverMappedAddress(`127.0.0.1:${silent.address().port}`, 400, 100), /no answer in 400 ms/);
  });
});

describe('appliance NAT helper: what first boot advertises and why', () => {
  const root = mkdtempSync(join(tmpdir(), 'portunus-nat-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  async function boot(drive: string): Promise<{ env: string; log: string }> {
    const dir = join(root, String(n++));
    mkdirSync(join(dir, 'drive'), { recursive: true });
    writeFileSync(join(dir, 'drive', 'portunus.env'), drive);
    writeFileSync(join(dir, 'cmdline'), 'ro');
    const lines: string[] = [];
    await runFirstboot({
      driveDir: join(dir, 'drive'),
      credentialsDir: join(dir, 'none'),
      smbiosDir: join(dir, 'none'),
      fwCfgDir: join(dir, 'none'),
      cmdlineFile: join(dir, 'cmdline'),
      stateDir: join(dir, 'state'),
      runDir: join(dir, 'run'),
      serviceGroup: 'no-such-group',
      stunTimeoutMs: 3000,
      log: (l) => lines.push(l),
    });
    return { env: readFileSync(join(dir, 'run', 'portunus.env'), 'utf8'), log: lines.join('\n') };
  }

  it('no nat_1_1_mapping given: the address the STUN server saw is advertised, and the log says so', async () => {
    const server = await startStunServer();
    closers.push(() => server.sock.close());
    const { env, log } = await boot(`STUN_SERVER=127.0.0.1:${server.port}\n`);
    assert.match(env, /^PORTUNUS_NAT_NAT_1_1_MAPPING="127\.0\.0\.1"$/m);
    assert.match(env, /^PORTUNUS_NAT_NAT_1_1_ORIGIN=".*STUN server 127\.0\.0\.1:\d+ saw us as 127\.0\.0\.1:\d+\)"$/m, 'the why goes to /janus/info');
    assert.match(log, new RegExp(`nat: advertising 127\\.0\\.0\\.1 \\(no nat_1_1_mapping given; STUN server 127\\.0\\.0\\.1:${server.port} saw us as 127\\.0\\.0\\.1:\\d+\\)`));
  });

  it('a given nat_1_1_mapping wins: STUN is not asked', async () => {
    const server = await startStunServer();
    closers.push(() => server.sock.close());
    const { env, log } = await boot(`STUN_SERVER=127.0.0.1:${server.port}\nNAT_1_1_MAPPING=203.0.113.7\n`);
    assert.match(env, /^PORTUNUS_NAT_NAT_1_1_MAPPING="203\.0\.113\.7"$/m);
    assert.match(log, /nat: advertising 203\.0\.113\.7 \(nat_1_1_mapping from the config drive\)/);
    assert.equal(server.requests, 0);
  });

  it('a STUN server that does not answer: interface addresses, and the log says why', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((ok) => silent.bind(0, '127.0.0.1', ok));
    closers.push(() => silent.close());
    const { env, log } = await boot(`STUN_SERVER=127.0.0.1:${silent.address().port}\n`);
    assert.doesNotMatch(env, /NAT_1_1_MAPPING/);
    assert.match(log, /nat: STUN 127\.0\.0\.1:\d+: no answer in 3000 ms; advertising the interface addresses/);
  });
});
