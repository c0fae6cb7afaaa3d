/**
 * The NAT helper's STUN client: one Binding request (RFC 5389 section 6) over UDP, retransmitted as
 * section 7.2.1 says (doubling from the initial RTO), to learn the address a NAT maps us to.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const HEADER = 20;

export function bindingRequest(transactionId: Buffer): Buffer {
  const msg = Buffer.alloc(HEADER);
  msg.writeUInt16BE(BINDING_REQUEST, 0);
  msg.writeUInt16BE(0, 2);
  msg.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(msg, 8, 0, 12);
  return msg;
}

export interface MappedAddress {
  address: string;
  port: number;
}

/**
 * The mapped address of a Binding success response to `transactionId`, or undefined when the packet is
 * anything else (wrong type, cookie or transaction, truncated, no address attribute). Never throws.
 * XOR-MAPPED-ADDRESS (section 15.2) wins over the legacy MAPPED-ADDRESS (section 15.1).
 */
export function parseBindingResponse(msg: Buffer, transactionId: Buffer): MappedAddress | undefined {
  if (msg.length < HEADER || msg.readUInt16BE(0) !== BINDING_SUCCESS || msg.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  if (!msg.subarray(8, HEADER).equals(transactionId)) return undefined;
  const end = Math.min(msg.length, HEADER + msg.readUInt16BE(2));
  let plain: MappedAddress | undefined;
  for (let off = HEADER; off + 4 <= end; ) {
    const type = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    const body = off + 4;
    if (body + len > end) return plain;
    if (type === ATTR_XOR_MAPPED_ADDRESS) {
      const a = readAddress(msg, body, len, true);
      if (a) return a;
    } else if (type === ATTR_MAPPED_ADDRESS) {
      plain ??= readAddress(msg, body, len, false);
    }
    off = body + len + ((4 - (len % 4)) % 4); // attributes are padded to 32 bits
  }
  return plain;
}

function readAddress(msg: Buffer, at: number, len: number, xor: boolean): MappedAddress | undefined {
  if (len < 8) return undefined;
  const family = msg[at + 1];
  let port = msg.readUInt16BE(at + 2);
  if (xor) port ^= MAGIC_COOKIE >>> 16;
  if (family === 0x01) {
    const ip = [0, 1, 2, 3].map((i) => msg[at + 4 + i] ^ (xor ? msg[4 + i] : 0));
    return { address: ip.join('.'), port };
  }
  if (family === 0x02 && len >= 20) {
    // IPv6: XORed with the cookie and the transaction id (bytes 4..19 of the header).
    const bytes = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) bytes[i] = msg[at + 4 + i] ^ (xor ? msg[4 + i] : 0);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return { address: groups.join(':'), port };
  }
  return undefined;
}

/** "host", "host:port", "[v6]:port" -> host and port (default 3478). */
export function parseServer(spec: string): { host: string; port: number } {
  const s = spec.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : 3478 };
  if (isIP(s) === 6) return { host: s, port: 3478 };
  const cut = s.lastIndexOf(':');
  if (cut > 0) return { host: s.slice(0, cut), port: Number(s.slice(cut + 1)) };
  return { host: s, port: 3478 };
}

/**
 * Ask a STUN server for our mapped address. Retransmits (500 ms doubling, capped at 4 s) until
 * `timeoutMs`; rejects when no valid answer came.
 */
export function discoverMappedAddress(server: string, timeoutMs = 8000, rtoMs = 500): Promise<MappedAddress> {
  const { host, port } = parseServer(server);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new Error(`bad STUN server ${server}`));
  const tid = randomBytes(12);
  const request = bindingRequest(tid);
  const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  return new Promise<MappedAddress>((resolve, reject) => {
    let rto = rtoMs;
    let timer: NodeJS.Timeout;
    let lastError = '';
    const finish = (err: Error | undefined, result?: MappedAddress) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      sock.close();
      if (err) reject(err);
      else resolve(result as MappedAddress);
    };
    const send = () => {
      // A send error (no route yet: DHCP may still be running at boot) is retried like a loss.
      sock.send(request, port, host, (err) => {
        if (err) lastError = err.message;
      });
      timer = setTimeout(send, rto);
      rto = Math.min(rto * 2, 4000);
    };
    const deadline = setTimeout(() => finish(new Error(`STUN ${server}: no answer in ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`)), timeoutMs);
    sock.on('message', (msg) => {
      const mapped = parseBindingResponse(msg, tid);
      if (mapped) finish(undefined, mapped);
    });
    sock.on('error', (err) => finish(new Error(`STUN ${server}: ${err.message}`)));
    send();
  });
}
