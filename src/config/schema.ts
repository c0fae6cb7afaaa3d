/**
 * The one configuration schema: every option of PortunusConfig with its Janus name, default, type and
 * doc. Groups are the Janus ones; `http` and `websockets` flatten the groups of
 * janus.transport.http.jcfg / janus.transport.websockets.jcfg (`section` says which group a key sits in).
 * Environment: PORTUNUS_<GROUP>_<KEY>; CLI: --<group>.<key>.
 */
import convict from 'convict';
import { checkValue } from './coerce.ts';
import type { PortunusConfig } from './types.ts';

export type OptionKind = 'boolean' | 'integer' | 'string' | 'string-list' | 'enum' | 'raw';
/** Group of a janus.transport.*.jcfg file that holds the key. */
export type JcfgSection = 'general' | 'admin' | 'cors' | 'certificates';

export interface OptionSpec<T = unknown> extends convict.SchemaObj<T> {
  doc: string;
  default: T;
  kind: OptionKind;
  min?: number;
  max?: number;
  values?: readonly string[];
  section?: JcfgSection;
}

type Extra = { section?: JcfgSection; sensitive?: boolean; min?: number; max?: number };

function spec<T>(kind: OptionKind, def: T, doc: string, extra: Extra & { values?: readonly string[] } = {}): OptionSpec<T> {
  const s: OptionSpec<T> = { doc, default: def, kind, ...extra };
  s.format = (value: unknown) => {
    const problem = checkValue(s as OptionSpec, value);
    if (problem) throw new Error(problem);
  };
  return s;
}

const bool = (def: boolean, doc: string, extra?: Extra) => spec('boolean', def, doc, extra);
const int = (def: number, doc: string, extra?: Extra) => spec('integer', def, doc, extra);
const port = (def: number, doc: string, section?: JcfgSection) => spec('integer', def, doc, { section, max: 65535 });
const str = (def: string, doc: string, extra?: Extra) => spec('string', def, doc, extra);
const list = (def: string[], doc: string, extra?: Extra) => spec('string-list', def, doc, extra);
const oneOf = <T extends string>(values: readonly T[], def: T, doc: string, extra?: Extra) =>
  spec<T>('enum', def, doc, { ...extra, values });
const secret = (doc: string, section?: JcfgSection) => str('', doc, { section, sensitive: true });

const JSON_STYLES = ['indented', 'plain', 'compact'] as const;

const libraries = (what: string) => ({
  disable: str('', `Comma-separated ${what} to skip (Janus library file names or package names)`),
});

const certificates = (section: JcfgSection) => ({
  cert_pem: str('', 'Certificate (PEM file) for the secure listeners', { section }),
  cert_key: str('', 'Private key (PEM file) for the secure listeners', { section }),
  cert_pwd: secret('Passphrase of cert_key, if any', section),
  ciphers: str('', 'OpenSSL cipher list for the secure listeners ("" = Node default)', { section }),
});

const cors = (section: JcfgSection) => ({
  allow_origin: str('', 'Access-Control-Allow-Origin value ("" = "*")', { section }),
  enforce_cors: bool(false, 'Reject (403) requests whose Origin does not match allow_origin', { section }),
});

export const schema = {
  general: {
    configs_folder: str('', 'Janus configuration folder (informational: Portunus reads the folder given by --config-dir)'),
    plugins_folder: str('', 'Janus plugins folder (unused: Portunus plugins are built in)'),
    transports_folder: str('', 'Janus transports folder (unused: Portunus transports are built in)'),
    events_folder: str('', 'Janus event handlers folder (unused)'),
    loggers_folder: str('', 'Janus external loggers folder (unused)'),
    log_to_stdout: bool(true, 'Write the log to stdout'),
    log_to_file: str('', 'Also write the log to this file ("" = no file)'),
    debug_level: int(4, 'Log level 0 (none) .. 4 (info) .. 7 (debug/trace)', { max: 7 }),
    debug_timestamps: bool(false, 'Show a timestamp on each log line'),
    debug_colors: bool(true, 'Colour the log'),
    interface: str('', 'Address to advertise in SDP ("" = pick automatically)'),
    server_name: str('Portunus', 'Public name of this instance (shown by "info")'),
    session_timeout: int(60, 'Seconds without a keepalive before a session is destroyed (0 = never)'),
    candidates_timeout: int(45, 'Seconds to hold trickled candidates that arrive before the SDP', { min: 1 }),
    reclaim_session_timeout: int(0, 'Seconds a session survives its transport closing, to be claimed (0 = none)'),
    recordings_tmp_ext: str('', 'Extension appended to recordings while they are being written ("" = none)'),
    event_loops: int(0, 'Number of shared event loops (0 = one per handle)'),
    allow_loop_indication: bool(false, 'Let "attach" choose the event loop (with event_loops > 0)'),
    opaqueid_in_api: bool(false, 'Include opaque_id in API events'),
    hide_dependencies: bool(false, 'Hide dependency versions from "info"'),
    exit_on_dl_error: bool(false, 'Stop start-up if a plugin or transport fails to load'),
    api_secret: secret('Secret every Janus API request must carry ("" = none)'),
    token_auth: bool(false, 'Require a token on every request (tokens stored by the admin API)'),
    token_auth_secret: secret('HMAC-SHA1 secret for signed tokens (with token_auth)'),
    admin_secret: str('janusoverlord', 'Secret every Admin API request must carry', { sensitive: true }),
    protected_folders: list([], 'Folders recordings and pcap dumps may not be written to (comma list or array)'),
    accept_new_sessions: bool(true, 'Accept new sessions (false = drain)'),
  },
  certificates: {
    cert_pem: str('', 'DTLS certificate (PEM file, "" = generate one at start)'),
    cert_key: str('', 'DTLS private key (PEM file)'),
    cert_pwd: secret('Passphrase of cert_key, if any'),
    dtls_accept_selfsigned: bool(true, 'Accept self-signed certificates from peers'),
    dtls_ciphers: str('', 'DTLS cipher list ("" = default)'),
    rsa_private_key: bool(false, 'Generate an RSA key instead of P-256'),
  },
  media: {
    ipv6: bool(false, 'Gather IPv6 candidates'),
    ipv6_linklocal: bool(false, 'Also gather link-local IPv6 candidates'),
    min_nack_queue: int(200, 'Floor of the retransmission buffer, ms'),
    rtp_port_range: str('', 'UDP port range for ICE, "min-max" ("" = ephemeral)'),
    dtls_mtu: int(1200, 'Initial DTLS MTU, bytes'),
    dtls_timeout: int(1000, 'DTLS retransmission step, ms'),
    no_media_timer: int(1, 'Seconds without media before a "media receiving:false" event'),
    slowlink_threshold: int(0, 'Lost packets per second that fire a slowlink event (0 = off)'),
    twcc_period: int(200, 'TWCC feedback interval, ms', { min: 1 }),
    nack_optimizations: bool(false, 'Flush the NACK buffer when a keyframe is sent'),
    dscp: int(0, 'DSCP mark on outgoing media (0 = none)', { max: 63 }),
  },
  nat: {
    stun_server: str('', 'STUN server for server-reflexive candidates ("" = none)'),
    stun_port: port(3478, 'STUN server port'),
    nice_debug: bool(false, 'Verbose ICE agent logging'),
    full_trickle: bool(false, 'Also trickle our own candidates (default: half-trickle)'),
    ice_nomination: oneOf(['regular', 'aggressive'], 'aggressive', 'ICE nomination mode'),
    ice_keepalive_conncheck: bool(false, 'Use connectivity checks as keepalives'),
    ice_lite: bool(false, 'Run as an ICE-lite agent'),
    ice_tcp: bool(false, 'Offer ICE-TCP candidates'),
    hangup_on_failed: bool(false, 'Hang up the PeerConnection when ICE fails'),
    ignore_mdns: bool(false, 'Drop .local (mDNS) candidates instead of resolving them'),
    nat_1_1_mapping: str('', 'Public IP(s) replacing host candidate addresses (comma list)'),
    keep_private_host: bool(false, 'With nat_1_1_mapping, advertise the private host candidates too'),
    nat_1_1_origin: str('', 'Why nat_1_1_mapping holds what it holds (the appliance first boot sets it), shown in /janus/info as "public-ip-origin"'),
    turn_server: str('', 'TURN server for relay candidates ("" = none)'),
    turn_port: port(3478, 'TURN server port'),
    turn_type: oneOf(['udp', 'tcp', 'tls'], 'udp', 'TURN transport'),
    turn_user: str('', 'TURN username'),
    turn_pwd: secret('TURN password'),
    turn_rest_api: str('', 'TURN REST API backend URL ("" = none)'),
    turn_rest_api_key: secret('API key sent to the TURN REST API'),
    turn_rest_api_method: oneOf(['POST', 'GET'], 'POST', 'HTTP method for the TURN REST API'),
    turn_rest_api_timeout: int(10, 'TURN REST API request timeout, seconds', { min: 1 }),
    allow_force_relay: bool(false, 'Honour force_relay in JSEP'),
    ice_enforce_list: str('', 'Only gather on these interfaces/IP prefixes (comma list; wins over ignore)'),
    ice_ignore_list: str('vmnet', 'Never gather on these interfaces/IP prefixes (comma list)'),
    ignore_unreachable_ice_server: bool(false, 'Start even if the STUN/TURN server cannot be reached'),
  },
  plugins: libraries('plugins'),
  transports: libraries('transports'),
  loggers: libraries('loggers'),
  events: {
    broadcast: bool(false, 'Send events to event handlers'),
    combine_media_stats: bool(false, 'One media statistics event for all media of a handle'),
    disable: str('', 'Comma-separated event handlers to skip'),
    stats_period: int(1, 'Seconds between media statistics events (0 = none)'),
  },
  http: {
    json: oneOf(JSON_STYLES, 'indented', 'JSON layout of responses: indented, plain or compact', { section: 'general' }),
    base_path: str('/janus', 'Path of the Janus API', { section: 'general' }),
    http: bool(true, 'Enable the plain HTTP API listener', { section: 'general' }),
    port: port(8088, 'HTTP API port', 'general'),
    interface: str('', 'Interface name to bind the HTTP API to ("" = all)', { section: 'general' }),
    ip: str('', 'Address to bind the HTTP API to ("" = all)', { section: 'general' }),
    https: bool(false, 'Enable the HTTPS API listener', { section: 'general' }),
    secure_port: port(8089, 'HTTPS API port', 'general'),
    secure_interface: str('', 'Interface name to bind the HTTPS API to ("" = all)', { section: 'general' }),
    secure_ip: str('', 'Address to bind the HTTPS API to ("" = all)', { section: 'general' }),
    acl: str('', 'Address prefixes allowed to use the API (comma list, "" = all)', { section: 'general' }),
    mhd_connection_limit: int(1020, 'Maximum open connections', { section: 'general', min: 1 }),
    mhd_debug: bool(false, 'Log HTTP server warnings and errors', { section: 'general' }),
    max_body_size: int(1048576, 'Largest request body accepted, bytes (Portunus)', { section: 'general', min: 1 }),
    long_poll_timeout: int(30, 'Seconds an idle long poll is held before a keepalive (Portunus)', { section: 'general', min: 1 }),
    demos: bool(true, 'Serve the demo pages on the HTTP listener (Portunus)', { section: 'general' }),
    admin_base_path: str('/admin', 'Path of the Admin API', { section: 'admin' }),
    admin_http: bool(false, 'Enable the plain HTTP Admin API listener', { section: 'admin' }),
    admin_port: port(7088, 'HTTP Admin API port', 'admin'),
    admin_interface: str('', 'Interface name to bind the HTTP Admin API to ("" = all)', { section: 'admin' }),
    admin_ip: str('', 'Address to bind the HTTP Admin API to ("" = all)', { section: 'admin' }),
    admin_https: bool(false, 'Enable the HTTPS Admin API listener', { section: 'admin' }),
    admin_secure_port: port(7889, 'HTTPS Admin API port', 'admin'),
    admin_secure_interface: str('', 'Interface name to bind the HTTPS Admin API to ("" = all)', { section: 'admin' }),
    admin_secure_ip: str('', 'Address to bind the HTTPS Admin API to ("" = all)', { section: 'admin' }),
    admin_acl: str('', 'Address prefixes allowed to use the Admin API (comma list, "" = all)', { section: 'admin' }),
    ...cors('cors'),
    ...certificates('certificates'),
  },
  websockets: {
    json: oneOf(JSON_STYLES, 'indented', 'JSON layout of messages: indented, plain or compact', { section: 'general' }),
    pingpong_trigger: int(0, 'Seconds of idle before a WebSocket PING (0 = never)', { section: 'general' }),
    pingpong_timeout: int(0, 'Seconds to wait for the PONG before closing (0 = never)', { section: 'general' }),
    ws: bool(true, 'Enable the WebSocket API listener', { section: 'general' }),
    ws_port: port(8188, 'WebSocket API port', 'general'),
    ws_interface: str('', 'Interface name to bind the WebSocket API to ("" = all)', { section: 'general' }),
    ws_ip: str('', 'Address to bind the WebSocket API to ("" = all)', { section: 'general' }),
    ws_unix: str('', 'Unix socket path for the WebSocket API ("" = none)', { section: 'general' }),
    wss: bool(false, 'Enable the secure WebSocket API listener', { section: 'general' }),
    wss_port: port(8989, 'Secure WebSocket API port', 'general'),
    wss_interface: str('', 'Interface name to bind the secure WebSocket API to ("" = all)', { section: 'general' }),
    wss_ip: str('', 'Address to bind the secure WebSocket API to ("" = all)', { section: 'general' }),
    wss_unix: str('', 'Unix socket path for the secure WebSocket API ("" = none)', { section: 'general' }),
    ws_logging: str('', 'WebSocket library log levels, e.g. "err,warn" ("" = none)', { section: 'general' }),
    ws_acl: str('', 'Address prefixes allowed to use the WebSocket API (comma list, "" = all)', { section: 'general' }),
    max_message_size: int(1048576, 'Largest WebSocket message accepted, bytes (Portunus)', { section: 'general', min: 1 }),
    admin_ws: bool(false, 'Enable the WebSocket Admin API listener', { section: 'admin' }),
    admin_ws_port: port(7188, 'WebSocket Admin API port', 'admin'),
    admin_ws_interface: str('', 'Interface name to bind the WebSocket Admin API to ("" = all)', { section: 'admin' }),
    admin_ws_ip: str('', 'Address to bind the WebSocket Admin API to ("" = all)', { section: 'admin' }),
    admin_wss: bool(false, 'Enable the secure WebSocket Admin API listener', { section: 'admin' }),
    admin_wss_port: port(7989, 'Secure WebSocket Admin API port', 'admin'),
    admin_wss_interface: str('', 'Interface name to bind the secure WebSocket Admin API to ("" = all)', { section: 'admin' }),
    admin_wss_ip: str('', 'Address to bind the secure WebSocket Admin API to ("" = all)', { section: 'admin' }),
    admin_ws_acl: str('', 'Address prefixes allowed to use the WebSocket Admin API (comma list, "" = all)', { section: 'admin' }),
    ...cors('cors'),
    ...certificates('certificates'),
  },
  pluginConfigs: spec<Record<string, Record<string, unknown>>>(
    'raw',
    {},
    'Raw contents of each janus.plugin.<name>.jcfg, keyed "janus.plugin.<name>" (plugins validate their own)',
  ),
} satisfies convict.Schema<PortunusConfig>;

/** The option groups (everything but pluginConfigs, which is not set option by option). */
export type OptionGroup = Exclude<keyof typeof schema, 'pluginConfigs'>;
export const OPTION_GROUPS = Object.keys(schema).filter((g) => g !== 'pluginConfigs') as OptionGroup[];

const groups = schema as unknown as Record<string, Record<string, OptionSpec>>;

/** The option `group.key`, or undefined when there is none. */
export function optionSpec(group: string, key: string): OptionSpec | undefined {
  if (!(OPTION_GROUPS as string[]).includes(group)) return undefined;
  return Object.hasOwn(groups[group], key) ? groups[group][key] : undefined;
}

/** Every option, in schema order. */
export function listOptions(): Array<{ group: OptionGroup; key: string; spec: OptionSpec }> {
  return OPTION_GROUPS.flatMap((group) => Object.entries(groups[group]).map(([key, spec]) => ({ group, key, spec })));
}

export const ENV_PREFIX = 'PORTUNUS_';

/** PORTUNUS_<GROUP>_<KEY>, e.g. PORTUNUS_HTTP_ADMIN_PORT. */
export function envName(group: string, key: string): string {
  return `${ENV_PREFIX}${group}_${key}`.toUpperCase();
}

/** A convict instance holding the schema defaults; it never reads process.env or argv itself. */
export function createConvict(): convict.Config<PortunusConfig> {
  return convict<PortunusConfig>(schema, { env: {}, args: [] });
}
