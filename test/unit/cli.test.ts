import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCliArgs } from '../../src/cli.ts';
import { ConfigError } from '../../src/core/errors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/portunus.js');

/** Run the command from another folder, with no PORTUNUS_* variables of the caller. */
function run(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PORTUNUS_')));
  return spawnSync(process.execPath, [BIN, ...args], { cwd: tmpdir(), env, encoding: 'utf8', timeout: 30_000 });
}

test('--version prints the package version', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = run(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), version);
});

test('--help lists the flags, the environment naming and the options', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0, r.stderr);
  for (const s of ['--config-dir', '--version', 'PORTUNUS_<GROUP>_<KEY>', '--http.port', 'PORTUNUS_HTTP_PORT', '--general.admin_secret']) {
    assert.ok(r.stdout.includes(s), `help mentions ${s}`);
  }
});

test('a config folder with a type error exits 1 naming file, line and key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portunus-cli-'));
  try {
    writeFileSync(join(dir, 'janus.jcfg'), 'general: {\n\tsession_timeout = "never"\n}\n');
    const r = run(['--config-dir', dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /janus\.jcfg, line 2, key 'general\.session_timeout'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad flags exit 1 with a message', () => {
  let r = run(['--no-such-flag']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown flag --no-such-flag/);
  r = run(['--http.no_such_key', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--http\.no_such_key.*unknown option/);
  r = run(['--http.port=notaport']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /expected an integer.*\(option http\.port\)/);
});

test('parseCliArgs: --config-dir and option overrides in both spellings', () => {
  const a = parseCliArgs(['--config-dir', '/x', '--http.port', '9000', '--general.admin_secret=a=b', '--http.https', '--nat.stun_port', '-1']);
  assert.equal(a.configDir, '/x');
  assert.deepEqual(a.overrides, { 'http.port': '9000', 'general.admin_secret': 'a=b', 'http.https': 'true', 'nat.stun_port': '-1' });
  assert.equal(parseCliArgs(['--config-dir=/y']).configDir, '/y');
  assert.equal(parseCliArgs(['-h']).help, true);
  assert.throws(() => parseCliArgs(['stray']), ConfigError);
  assert.throws(() => parseCliArgs(['--config-dir']), ConfigError);
});

test(
  'starts the server and exits 0 on SIGTERM',
  { skip: !existsSync(join(ROOT, 'src/server.ts')) && 'src/server.ts not written yet', timeout: 30_000 },
  async () => {
    const args = ['--http.ip', '127.0.0.1', '--http.port', '0', '--websockets.ws_ip', '127.0.0.1', '--websockets.ws_port', '0'];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const listening = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/listener started/.test(out)) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then((code) => reject(new Error(`exited early (${code}): ${out}`)));
    });
    try {
      await listening;
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  },
);
