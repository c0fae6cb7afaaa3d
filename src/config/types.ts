/**
 * The shape of Portunus' configuration once every source is merged (see src/config/schema.ts for
 * the convict schema with defaults and docs). Groups mirror the Janus .jcfg files: `general`,
 * `nat`, `media`, `certificates`, `plugins`, `transports`, `events` come from janus.jcfg;
 * `http`, `websockets` from janus.transport.http.jcfg / janus.transport.websockets.jcfg.
 * Keys keep their Janus names so a Janus user recognises every one.
 */
export interface GeneralConfig {
  configs_folder: string;
  plugins_folder: string;
  transports_folder: string;
  events_folder: string;
  loggers_folder: string;
  log_to_stdout: boolean;
  log_to_file: string;
  debug_level: number;
  debug_timestamps: boolean;
  debug_colors: boolean;
  interface: string;
  server_name: string;
  session_timeout: number;
  candidates_timeout: number;
  reclaim_session_timeout: number;
  recordings_tmp_ext: string;
  event_loops: number;
  allow_loop_indication: boolean;
  opaqueid_in_api: boolean;
  hide_dependencies: boolean;
  exit_on_dl_error: boolean;
  api_secret: string;
  token_auth: boolean;
  token_auth_secret: string;
  admin_secret: string;
  protected_folders: string[];
  accept_new_sessions: boolean;
}

export interface CertificatesConfig {
  cert_pem: string;
  cert_key: string;
  cert_pwd: string;
  dtls_accept_selfsigned: boolean;
  dtls_ciphers: string;
  rsa_private_key: boolean;
}

export interface MediaConfig {
  ipv6: boolean;
  ipv6_linklocal: boolean;
  min_nack_queue: number;
  rtp_port_range: string;
  dtls_mtu: number;
  dtls_timeout: number;
  no_media_timer: number;
  slowlink_threshold: number;
  twcc_period: number;
  nack_optimizations: boolean;
  dscp: number;
}

export interface NatConfig {
  stun_server: string;
  stun_port: number;
  nice_debug: boolean;
  full_trickle: boolean;
  ice_nomination: string;
  ice_keepalive_conncheck: boolean;
  ice_lite: boolean;
  ice_tcp: boolean;
  hangup_on_failed: boolean;
  ignore_mdns: boolean;
  nat_1_1_mapping: string;
  keep_private_host: boolean;
  nat_1_1_origin: string;
  turn_server: string;
  turn_port: number;
  turn_type: string;
  turn_user: string;
  turn_pwd: string;
  turn_rest_api: string;
  turn_rest_api_key: string;
  turn_rest_api_method: string;
  turn_rest_api_timeout: number;
  allow_force_relay: boolean;
  ice_enforce_list: string;
  ice_ignore_list: string;
  ignore_unreachable_ice_server: boolean;
}

export interface LibrariesDisableConfig {
  /** Comma-separated plugin/transport/event-handler names to skip (Janus lib names or package names). */
  disable: string;
}

export interface EventsConfig {
  broadcast: boolean;
  combine_media_stats: boolean;
  disable: string;
  stats_period: number;
}

export interface HttpTransportConfig {
  json: 'indented' | 'plain' | 'compact';
  base_path: string;
  http: boolean;
  port: number;
  interface: string;
  ip: string;
  https: boolean;
  secure_port: number;
  secure_interface: string;
  secure_ip: string;
  acl: string;
  mhd_connection_limit: number;
  mhd_debug: boolean;
  /** Largest request body accepted, bytes (ours; Janus has no cap). */
  max_body_size: number;
  /** Seconds an idle long-poll is held before `{"janus":"keepalive"}` (Janus: 30). */
  long_poll_timeout: number;
  admin_base_path: string;
  admin_http: boolean;
  admin_port: number;
  admin_interface: string;
  admin_ip: string;
  admin_https: boolean;
  admin_secure_port: number;
  admin_secure_interface: string;
  admin_secure_ip: string;
  admin_acl: string;
  allow_origin: string;
  enforce_cors: boolean;
  cert_pem: string;
  cert_key: string;
  cert_pwd: string;
  ciphers: string;
  /** Serve the demo pages on the HTTP transport port (ours). */
  demos: boolean;
}

export interface WebSocketTransportConfig {
  json: 'indented' | 'plain' | 'compact';
  pingpong_trigger: number;
  pingpong_timeout: number;
  ws: boolean;
  ws_port: number;
  ws_interface: string;
  ws_ip: string;
  ws_unix: string;
  wss: boolean;
  wss_port: number;
  wss_interface: string;
  wss_ip: string;
  wss_unix: string;
  ws_logging: string;
  ws_acl: string;
  admin_ws: boolean;
  admin_ws_port: number;
  admin_ws_interface: string;
  admin_ws_ip: string;
  admin_wss: boolean;
  admin_wss_port: number;
  admin_wss_interface: string;
  admin_wss_ip: string;
  admin_ws_acl: string;
  allow_origin: string;
  enforce_cors: boolean;
  cert_pem: string;
  cert_key: string;
  cert_pwd: string;
  ciphers: string;
  /** Largest WebSocket message accepted, bytes (ours). */
  max_message_size: number;
}

export interface PortunusConfig {
  general: GeneralConfig;
  certificates: CertificatesConfig;
  media: MediaConfig;
  nat: NatConfig;
  plugins: LibrariesDisableConfig;
  transports: LibrariesDisableConfig;
  loggers: LibrariesDisableConfig;
  events: EventsConfig;
  http: HttpTransportConfig;
  websockets: WebSocketTransportConfig;
  /**
   * Raw parsed janus.plugin.<name>.jcfg contents, keyed by plugin package name
   * (e.g. "janus.plugin.echotest"); plugins validate their own sections.
   */
  pluginConfigs: Record<string, Record<string, unknown>>;
}
