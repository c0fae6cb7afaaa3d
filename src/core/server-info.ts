/** The `server_info` reply (info verb, GET /janus/info, Admin info): the keys janus.js and janode read. */
import { readFileSync } from 'node:fs';
import type { Gateway } from './gateway.ts';
import type { JanusMessage } from './transport.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The Janus API level Portunus implements: clients gate features on these. */
export const API_VERSION = 1102;
export const API_VERSION_STRING = '1.1.2';
export const PORTUNUS_VERSION: string = pkg.version;

const TRANSPORTS: Record<string, { name: string; description: string }> = {
  'janus.transport.http': { name: 'JANUS REST (HTTP/HTTPS) transport plugin', description: 'HTTP REST with long-poll' },
  'janus.transport.websockets': { name: 'JANUS WebSockets transport plugin', description: 'WebSocket janus-protocol' },
};

/** As Janus: "public-ip" is the first nat_1_1_mapping address, "public-ips" all of them when several. */
function publicIpKeys(mapping: string): Record<string, unknown> {
  const ips = mapping.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ips.length === 0) return {};
  return ips.length > 1 ? { 'public-ip': ips[0], 'public-ips': ips } : { 'public-ip': ips[0] };
}

export function buildServerInfo(gw: Gateway, transaction?: string): JanusMessage {
  const g = gw.config.general;
  const nat = gw.config.nat;
  const plugins: Record<string, unknown> = {};
  for (const p of gw.plugins.values()) {
    plugins[p.package] = { name: p.name, author: p.author, description: p.description, version_string: p.versionString, version: p.version };
  }
  const transports: Record<string, unknown> = {};
  for (const [id, t] of Object.entries(TRANSPORTS)) {
    transports[id] = { name: t.name, author: 'Portunus', description: t.description, version_string: PORTUNUS_VERSION, version: API_VERSION };
  }
  const info: JanusMessage = { janus: 'server_info' };
  if (transaction !== undefined) info.transaction = transaction;
  Object.assign(info, {
    name: 'Portunus',
    version: API_VERSION,
    version_string: API_VERSION_STRING,
    author: 'Portunus developers',
    'portunus-version': PORTUNUS_VERSION,
    'commit-hash': 'not-a-git-repo',
    'compile-time': '',
    'log-to-stdout': true,
    'log-to-file': false,
    data_channels: true,
    'accepting-new-sessions': gw.acceptNewSessions,
    'session-timeout': gw.sessionTimeout,
    'reclaim-session-timeout': g.reclaim_session_timeout,
    'candidates-timeout': g.candidates_timeout,
    'server-name': g.server_name,
    'local-ip': '127.0.0.1',
    ...publicIpKeys(nat.nat_1_1_mapping),
    // Not in Janus: where the advertised address came from (appliance first boot), when known.
    ...(nat.nat_1_1_origin ? { 'public-ip-origin': nat.nat_1_1_origin } : {}),
    ipv6: gw.config.media.ipv6,
    'ice-lite': nat.ice_lite,
    'ice-tcp': nat.ice_tcp,
    'full-trickle': nat.full_trickle,
    'ice-nomination': nat.ice_nomination,
    'ice-keepalive-conncheck': nat.ice_keepalive_conncheck,
    'mdns-enabled': !nat.ignore_mdns,
    'min-nack-queue': gw.config.media.min_nack_queue,
    'nack-optimizations': gw.config.media.nack_optimizations,
    'twcc-period': gw.config.media.twcc_period,
    'dtls-mtu': gw.config.media.dtls_mtu,
    'static-event-loops': 0,
    api_secret: g.api_secret !== '',
    auth_token: g.token_auth,
    event_handlers: false,
    opaqueid_in_api: g.opaqueid_in_api,
  });
  if (!g.hide_dependencies) {
    info.dependencies = { node: process.versions.node, openssl: process.versions.openssl ?? '' };
  }
  info.transports = transports;
  info.events = {};
  info.loggers = {};
  info.plugins = plugins;
  return info;
}
