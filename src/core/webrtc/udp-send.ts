/**
 * Node's dgram passes the destination of every unconnected send() through the socket's lookup
 * function (dns.lookup by default), even when it is an IP literal: a validation, an IP regex and a
 * process.nextTick before the datagram leaves, for every packet. ICE pairs always carry IP
 * addresses, so for the sockets of our ICE agent the lookup of a literal answers at once; anything
 * else still goes to the original lookup. The hook is the handle's `lookup` property that dgram
 * itself sets from createSocket's `lookup` option (lib/internal/dgram.js); when a Node version
 * lays it out differently nothing is changed.
 */
import { isIP } from 'node:net';

type LookupCallback = (err: Error | null, address?: string) => void;
interface UdpHandle {
  lookup?: (address: string, callback: LookupCallback) => void;
}

const prepared = new WeakSet<object>();

/**
 * Whether a send to an IP literal on `socket` reaches the kernel before send() returns (the hook
 * below is installed): only then does getSendQueueCount() tell whether the buffer is still held.
 */
export function sendsImmediately(socket: object): boolean {
  return prepared.has(socket);
}

/** Make sends to IP literals on `socket` skip the DNS step. Returns whether the hook was found. */
export function skipLookupForIpLiterals(socket: object): boolean {
  if (prepared.has(socket)) return true;
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state ? ((socket as Record<symbol, { handle?: UdpHandle } | undefined>)[state]?.handle) : undefined;
  const original = handle?.lookup;
  if (!handle || typeof original !== 'function') return false;
  let last = '';
  handle.lookup = (address, callback) => {
    if (address === last) return callback(null, address);
    if (typeof address === 'string' && isIP(address) !== 0 && !address.includes('%')) {
      last = address;
      return callback(null, address);
    }
    original.call(handle, address, callback);
  };
  prepared.add(socket);
  return true;
}
