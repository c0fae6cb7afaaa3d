import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadOptions } from '../../src/config/load.ts';
import { envName, listOptions } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/core/errors.ts';

const JANUS_SAMPLES = '/etc/janus';

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'portunus-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function withDir<T>(files: Record<string, string>, fn: (dir: string) => T): T {
  const dir = tempDir(files);
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function configError(opts: LoadOptions): ConfigError {
  try {
    loadConfig(opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('defaults without any folder', () => {
  const { config, warnings } = loadConfig();
  assert.deepEqual(warnings, []);
  assert.equal(config.general.session_timeout, 60);
  assert.equal(config.general.reclaim_session_timeout, 0);
  assert.equal(config.general.candidates_timeout, 45);
  assert.equal(config.general.admin_secret, 'janusoverlord');
  assert.equal(config.general.server_name, 'Portunus');
  assert.equal(config.general.debug_level, 4);
  assert.deepEqual(config.general.protected_folders, []);
  assert.equal(config.media.no_media_timer, 1);
  assert.equal(config.media.min_nack_queue, 200);
  assert.equal(config.media.dtls_mtu, 1200);
  assert.equal(config.media.twcc_period, 200);
  assert.equal(config.media.rtp_port_range, '');
  assert.equal(config.nat.ice_ignore_list, 'vmnet');
  assert.deepEqual(
    [config.http.http, config.http.port, config.http.base_path, config.http.https, config.http.secure_port],
    [true, 8088, '/janus', false, 8089],
  );
  assert.deepEqual(
    [config.http.admin_http, config.http.admin_port, config.http.admin_base_path, config.http.admin_https, config.http.admin_secure_port],
    [false, 7088, '/admin', false, 7889],
  );
  assert.deepEqual([config.http.allow_origin, config.http.enforce_cors, config.http.json], ['', false, 'indented']);
  assert.deepEqual([config.http.max_body_size, config.http.long_poll_timeout, config.http.demos], [1048576, 30, true]);
  assert.deepEqual([config.http.ip, config.websockets.ws_ip, config.http.admin_ip], ['', '', '']);
  const ws = config.websockets;
  assert.deepEqual([ws.ws, ws.ws_port, ws.wss, ws.wss_port], [true, 8188, false, 8989]);
  assert.deepEqual([ws.admin_ws, ws.admin_ws_port, ws.admin_wss, ws.admin_wss_port], [false, 7188, false, 7989]);
  assert.deepEqual([ws.pingpong_trigger, ws.max_message_size], [0, 1048576]);
  assert.deepEqual(config.pluginConfigs, {});
});

test('process.env is not read unless passed', () => {
  const name = envName('general', 'session_timeout');
  const saved = process.env[name];
  process.env[name] = '5';
  try {
    assert.equal(loadConfig().config.general.session_timeout, 60);
    assert.equal(loadConfig({ env: process.env }).config.general.session_timeout, 5);
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
});

test('every stock Janus 1.1.2 sample file loads unchanged', { skip: !existsSync(JANUS_SAMPLES) && 'no /etc/janus' }, () => {
  const dir = tempDir();
  try {
    cpSync(JANUS_SAMPLES, dir, { recursive: true });
    const { config, warnings } = loadConfig({ configDir: dir });
    assert.equal(new Set(warnings).size, warnings.length, 'each warning once');
    for (const unimplemented of ['transport.mqtt', 'transport.rabbitmq', 'transport.nanomsg', 'transport.pfunix', 'eventhandler.sampleevh', 'eventhandler.wsevh', 'logger.jsonlog']) {
      assert.ok(warnings.some((w) => w.includes(`janus.${unimplemented}.jcfg`)), `warning for ${unimplemented}: ${warnings.join('\n')}`);
    }
    assert.equal(config.general.admin_secret, 'janusoverlord');
    assert.equal(config.general.configs_folder, '/etc/janus');
    assert.equal(config.general.debug_level, 4);
    assert.ok(config.general.protected_folders.includes('/usr'));
    assert.equal(config.general.protected_folders.length, 20);
    assert.equal(config.nat.nice_debug, false);
    assert.equal(config.http.port, 8088);
    assert.equal(config.http.base_path, '/janus');
    assert.equal(config.http.admin_port, 7088);
    assert.equal(config.http.cert_pem, '/etc/ssl/certs/ssl-cert-snakeoil.pem');
    assert.equal(config.websockets.ws_port, 8188);
    assert.equal(config.websockets.admin_ws, false);
    for (const p of ['echotest', 'videoroom', 'streaming', 'audiobridge', 'sip', 'textroom', 'videocall', 'recordplay', 'nosip']) {
      assert.ok(config.pluginConfigs[`janus.plugin.${p}`], `pluginConfigs for ${p}`);
    }
    assert.equal(typeof config.pluginConfigs['janus.plugin.echotest'].general, 'object');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('precedence: defaults < file < environment < CLI', () => {
  withDir({ 'janus.jcfg': 'general: { session_timeout = 30\n admin_secret = "file" }' }, (dir) => {
    const env = { PORTUNUS_GENERAL_SESSION_TIMEOUT: '40', PORTUNUS_HTTP_PORT: '9000' };
    assert.equal(loadConfig({ configDir: dir }).config.general.session_timeout, 30);
    const fromEnv = loadConfig({ configDir: dir, env }).config;
    assert.equal(fromEnv.general.session_timeout, 40);
    assert.equal(fromEnv.general.admin_secret, 'file');
    assert.equal(fromEnv.http.port, 9000);
    const fromCli = loadConfig({ configDir: dir, env, cliOverrides: { 'general.session_timeout': '50', 'general.admin_secret': 'x' } }).config;
    assert.equal(fromCli.general.session_timeout, 50);
    assert.equal(fromCli.general.admin_secret, 'x');
    assert.equal(fromCli.http.port, 9000);
  });
});

test('transport files are flattened into http and websockets', () => {
  const http = 'general: { port = 8000\n ip = "127.0.0.1" }\nadmin: { admin_http = true; admin_port = 7000 }\ncors: { allow_origin = "https://a.example" }\ncertificates: { cert_pem = "/c.pem" }';
  const ws = 'general: { ws_port = 8100; pingpong_trigger = 30 }\nadmin: { admin_ws = "yes" }\ncors: { enforce_cors = 1 }';
  withDir({ 'janus.transport.http.jcfg': http, 'janus.transport.websockets.jcfg': ws }, (dir) => {
    const { config, warnings } = loadConfig({ configDir: dir });
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      [config.http.port, config.http.ip, config.http.admin_http, config.http.admin_port, config.http.allow_origin, config.http.cert_pem],
      [8000, '127.0.0.1', true, 7000, 'https://a.example', '/c.pem'],
    );
    assert.deepEqual([config.websockets.ws_port, config.websockets.pingpong_trigger, config.websockets.admin_ws, config.websockets.enforce_cors], [8100, 30, true, true]);
  });
});

test('Janus-style values: quoted numbers, yes/no booleans, comma lists, case-insensitive enums', () => {
  const janus = 'general: { session_timeout = "15"; token_auth = "yes"; accept_new_sessions = "no"; hide_dependencies = 1; protected_folders = "/a, /b" }\nnat: { ice_lite = "TRUE"; ice_nomination = "Regular"; turn_rest_api_method = "get" }';
  withDir({ 'janus.jcfg': janus, 'janus.transport.http.jcfg': 'general: { json = "Plain"; base_path = 5 }' }, (dir) => {
    const { config } = loadConfig({ configDir: dir });
    const g = config.general;
    assert.deepEqual([g.session_timeout, g.token_auth, g.accept_new_sessions, g.hide_dependencies], [15, true, false, true]);
    assert.deepEqual(g.protected_folders, ['/a', '/b']);
    assert.deepEqual([config.nat.ice_lite, config.nat.ice_nomination, config.nat.turn_rest_api_method], [true, 'regular', 'GET']);
    assert.equal(config.http.json, 'plain');
    assert.equal(config.http.base_path, '5');
  });
  const env = { PORTUNUS_HTTP_HTTPS: 'on', PORTUNUS_GENERAL_PROTECTED_FOLDERS: '/x,/y', PORTUNUS_NAT_NAT_1_1_MAPPING: '1.2.3.4' };
  const { config } = loadConfig({ env, cliOverrides: { 'websockets.ws': 'false', 'http.admin_http': 'true' } });
  assert.equal(config.http.https, true);
  assert.deepEqual(config.general.protected_folders, ['/x', '/y']);
  assert.equal(config.nat.nat_1_1_mapping, '1.2.3.4');
  assert.equal(config.websockets.ws, false);
  assert.equal(config.http.admin_http, true);
});

test('a known key with the wrong type in a file names file, line and key', () => {
  withDir({ 'janus.jcfg': '# comment\ngeneral: {\n\tdebug_level = 4\n\tsession_timeout = "soon"\n}\n' }, (dir) => {
    const err = configError({ configDir: dir });
    assert.equal(err.file, join(dir, 'janus.jcfg'));
    assert.equal(err.line, 4);
    assert.equal(err.key, 'general.session_timeout');
    assert.match(err.message, /janus\.jcfg, line 4, key 'general\.session_timeout': .*integer/);
  });
  withDir({ 'janus.transport.http.jcfg': 'general: {\n}\nadmin: {\n\tadmin_port = 99999\n}' }, (dir) => {
    const err = configError({ configDir: dir });
    assert.equal(err.line, 4);
    assert.equal(err.key, 'admin.admin_port');
    assert.match(err.message, /between 0 and 65535/);
  });
  const cases: Array<[string, RegExp]> = [
    ['general: { token_auth = "maybe" }', /boolean/],
    ['general: { admin_secret = true }', /string/],
    ['general: { admin_secret = { a = 1 } }', /group/],
    ['general: { session_timeout = 1.5 }', /integer/],
    ['general: { session_timeout = -1 }', /between/],
    ['general: { session_timeout = 99999999999999999999 }', /out of 64-bit range/],
    ['general: { session_timeout = 9999999999999999 }', /between/],
    ['general: { protected_folders = ( "/a", { x = 1 } ) }', /list of strings/],
    ['general: { debug_level = 8 }', /between 0 and 7/],
    ['nat: { ice_nomination = "eager" }', /one of regular, aggressive/],
    ['general = 1', /expected a group/],
  ];
  for (const [text, re] of cases) {
    withDir({ 'janus.jcfg': text }, (dir) => {
      const err = configError({ configDir: dir });
      assert.match(err.message, re, text);
      assert.equal(err.file, join(dir, 'janus.jcfg'), text);
      assert.equal(err.line, 1, text);
    });
  }
});

test('a syntax error in a file that is read is a ConfigError', () => {
  withDir({ 'janus.plugin.echotest.jcfg': 'general: {\n\tevents = \n}' }, (dir) => {
    const err = configError({ configDir: dir });
    assert.equal(err.file, join(dir, 'janus.plugin.echotest.jcfg'));
    assert.equal(err.line, 3);
  });
});

test('unknown keys and groups in known files are warnings, each once', () => {
  const janus = 'general: { debug_locks = true; daemonize = true }\nextra: { a = 1 }\nnat: { ice_lite = false }';
  const http = 'general: { events = true; admin_port = 7000 }\nadmin: { admin_port = 7001 }';
  withDir({ 'janus.jcfg': janus, 'janus.transport.http.jcfg': http, 'janus.cfg': '[general]', 'janus.other.jcfg': 'this is not parsed' }, (dir) => {
    const { config, warnings } = loadConfig({ configDir: dir });
    assert.equal(warnings.length, 7, warnings.join('\n'));
    assert.equal(new Set(warnings).size, warnings.length);
    const has = (re: RegExp) => assert.ok(warnings.some((w) => re.test(w)), `${re}: ${warnings.join('\n')}`);
    has(/janus\.jcfg line 1: 'general\.debug_locks' is not implemented/);
    has(/'general\.daemonize'/);
    has(/line 2: unknown group 'extra'/);
    has(/'general\.events' is not implemented/);
    has(/'general\.admin_port' belongs in group 'admin'/);
    has(/janus\.cfg: legacy INI/);
    has(/janus\.other\.jcfg: unknown configuration file/);
    assert.equal(config.http.admin_port, 7001);
  });
});

test('unknown options from the CLI or the environment are errors', () => {
  let err = configError({ cliOverrides: { 'http.no_such_key': '1' } });
  assert.equal(err.key, '--http.no_such_key');
  assert.match(err.message, /unknown option/);
  assert.match(configError({ cliOverrides: { 'nosuchgroup.port': '1' } }).message, /unknown option/);
  assert.match(configError({ cliOverrides: { pluginConfigs: '{}' } }).message, /unknown option/);
  err = configError({ env: { PORTUNUS_HTTP_NO_SUCH_KEY: '1' } });
  assert.equal(err.key, 'PORTUNUS_HTTP_NO_SUCH_KEY');
  assert.match(configError({ env: { PORTUNUS_GENERAL: 'x' } }).message, /unknown option/);
  // Variables that do not start with a config group are someone else's.
  assert.doesNotThrow(() => loadConfig({ env: { PORTUNUS_SLOW_TESTS: '1', HOME: '/root' } }));
});

test('ill-typed values from the CLI or the environment name their source', () => {
  const err = configError({ env: { PORTUNUS_HTTP_PORT: 'eighty' } });
  assert.equal(err.file, 'environment');
  assert.equal(err.key, 'PORTUNUS_HTTP_PORT');
  assert.match(err.message, /expected an integer, got "eighty" \(option http\.port\)/);
  assert.match(configError({ cliOverrides: { 'http.https': 'perhaps' } }).message, /command line, key '--http\.https'.*boolean/);
});

test('a missing folder is a ConfigError', () => {
  const err = configError({ configDir: join(tmpdir(), 'portunus-no-such-folder-xyz') });
  assert.match(err.message, /cannot read the configuration folder/);
});

test('every option has an environment name and a doc line', () => {
  const names = new Set<string>();
  for (const { group, key, spec } of listOptions()) {
    assert.ok(spec.doc.length > 0, `${group}.${key} doc`);
    names.add(envName(group, key));
  }
  assert.equal(names.size, listOptions().length, 'environment names are unique');
});
