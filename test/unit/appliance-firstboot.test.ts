/**
 * The appliance's first-boot settings: source parsers, names and aliases, the precedence
 * (config drive < credentials < kernel command line), the env file portunus.service reads, the kept
 * admin secret and TLS files. runFirstboot is run on temporary folders standing in for the config
 * drive, /run/credentials/@system and /proc/cmdline.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { runFirstboot } from '../../appliance/firstboot/main.ts';
import { keptSecret } from '../../appliance/firstboot/secret.ts';
import { canonicalName, mergeSources, quoteEnvValue, renderEnvFile } from '../../appliance/firstboot/settings.ts';
import { parseEnvFile, parseKernelCmdline, parseSmbiosType11, readCredentials } from '../../appliance/firstboot/sources.ts';
import { prng } from '../helpers/prng.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portunus-firstboot-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Parse an EnvironmentFile the way systemd does for the simple cases we write (KEY="..." lines). */
function envFromFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)="((?:[^"\\]|\\.)*)"$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/\\(.)/g, '$1');
  }
  return env;
}

interface Fixture {
  drive?: string;
  credentials?: Record<string, string>;
  cmdline?: string;
}

function fixture(f: Fixture) {
  const root = tempDir();
  const driveDir = join(root, 'drive');
  const credentialsDir = join(root, 'creds');
  mkdirSync(driveDir);
  mkdirSync(credentialsDir);
  if (f.drive !== undefined) writeFileSync(join(driveDir, 'portunus.env'), f.drive);
  for (const [name, value] of Object.entries(f.credentials ?? {})) writeFileSync(join(credentialsDir, name), value);
  const cmdlineFile = join(root, 'cmdline');
  writeFileSync(cmdlineFile, f.cmdline ?? 'BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet\n');
  const lines: string[] = [];
  return {
    root,
    driveDir,
    lines,
    opts: {
      driveDir,
      credentialsDir,
      smbiosDir: join(root, 'no-smbios'),
      fwCfgDir: join(root, 'no-fwcfg'),
      cmdlineFile,
      stateDir: join(root, 'state'),
      runDir: join(root, 'run'),
      serviceGroup: 'no-such-group',
      stunTimeoutMs: 1000,
      log: (l: string) => lines.push(l),
    },
  };
}

describe('appliance first boot: parsers', () => {
  it('reads KEY=VALUE env files with comments, quotes and export', () => {
    const problems: string[] = [];
    const got = parseEnvFile(
      '# a comment\n\nPORTUNUS_NAT_NAT_1_1_MAPPING=203.0.113.7\nexport ADMIN_SECRET="s3 cr\\"et"\nrtp_port_range = \'20000-20100\'\nnot a line\n',
      (p) => problems.push(p),
    );
    assert.deepEqual(got, [
      { name: 'PORTUNUS_NAT_NAT_1_1_MAPPING', value: '203.0.113.7' },
      { name: 'ADMIN_SECRET', value: 's3 cr"et' },
      { name: 'rtp_port_range', value: '20000-20100' },
    ]);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /line 6/);
  });

  it('takes only portunus.* words from the kernel command line, quoted values included', () => {
    const got = parseKernelCmdline('root=UUID=1 ro portunus.nat_1_1_mapping="198.51.100.1,198.51.100.2" quiet portunus.http.port=9000 portunus.flag\n');
    assert.deepEqual(got, [
      { name: 'nat_1_1_mapping', value: '198.51.100.1,198.51.100.2' },
      { name: 'http.port', value: '9000' },
    ]);
  });

  it('reads portunus.* credentials, dropping one trailing newline, and no others', () => {
    const d = tempDir();
    writeFileSync(join(d, 'portunus.admin_secret'), 'from-smbios\n');
    writeFileSync(join(d, 'portunus.general.api_secret'), 'api\n\n');
    writeFileSync(join(d, 'other.thing'), 'x');
    assert.deepEqual(readCredentials(d), [
      { name: 'admin_secret', value: 'from-smbios' },
      { name: 'general.api_secret', value: 'api\n' },
    ]);
    assert.deepEqual(readCredentials(join(d, 'missing')), []);
  });

  it('reads portunus.* credentials from an SMBIOS type 11 structure, text and base64', () => {
    const strings = [
      'io.systemd.credential:portunus.admin_secret=from-smbios',
      `io.systemd.credential.binary:portunus.tls_key=${Buffer.from('-----BEGIN PRIVATE KEY-----\nK\n').toString('base64')}`,
      'io.systemd.credential:other.thing=x',
      'unrelated OEM string',
    ];
    const raw = Buffer.concat([Buffer.from([11, 5, 0x20, 0x00, strings.length]), Buffer.from(`${strings.join('\0')}\0\0`, 'latin1')]);
    assert.deepEqual(parseSmbiosType11(raw), [
      { name: 'admin_secret', value: 'from-smbios' },
      { name: 'tls_key', value: '-----BEGIN PRIVATE KEY-----\nK\n' },
    ]);
    assert.deepEqual(parseSmbiosType11(Buffer.from([1, 5, 0, 0, 0])), [], 'not type 11');
    const rnd = prng(11);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(raw.subarray(0, Math.floor(rnd() * (raw.length + 1))));
      for (let k = 0; k < 3; k++) if (b.length) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      parseSmbiosType11(b); // never throws
    }
  });

  it('gives every spelling of a setting one name', () => {
    for (const n of ['nat.nat_1_1_mapping', 'PORTUNUS_NAT_NAT_1_1_MAPPING', 'nat_1_1_mapping', 'NAT_1_1_MAPPING']) {
      assert.equal(canonicalName(n), 'nat.nat_1_1_mapping', n);
    }
    assert.equal(canonicalName('PORTUNUS_HTTP_ADMIN_PORT'), 'http.admin_port');
    assert.equal(canonicalName('tls_cert'), 'appliance.tls_cert');
    assert.equal(canonicalName('nat.no_such_key'), undefined);
    assert.equal(canonicalName('PORTUNUS_NOPE_X'), undefined);
    assert.equal(canonicalName('__proto__'), undefined);
  });

  it('survives random env files and command lines (fuzz)', () => {
    const rnd = prng(8);
    const alphabet = 'aZ_=."\'# \n\\$`PORTUNUS_nat.1';
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 80);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const merged = mergeSources({ 'config drive': parseEnvFile(s), 'kernel command line': parseKernelCmdline(s) });
      const env = envFromFile(renderEnvFile(merged.settings));
      // Whatever survives the merge must load in Portunus.
      loadConfig({ env });
    }
  });
});

describe('appliance first boot: precedence', () => {
  it('config drive < credentials < kernel command line, per setting', () => {
    const { settings, problems } = mergeSources({
      'config drive': [
        { name: 'NAT_1_1_MAPPING', value: '192.0.2.1' },
        { name: 'PORTUNUS_MEDIA_RTP_PORT_RANGE', value: '10000-10100' },
        { name: 'api_secret', value: 'drive-api' },
      ],
      credentials: [
        { name: 'nat.nat_1_1_mapping', value: '192.0.2.2' },
        { name: 'api_secret', value: 'cred-api' },
      ],
      'kernel command line': [{ name: 'nat_1_1_mapping', value: '192.0.2.3' }],
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.get('nat.nat_1_1_mapping'), { value: '192.0.2.3', source: 'kernel command line' });
    assert.deepEqual(settings.get('general.api_secret'), { value: 'cred-api', source: 'credentials' });
    assert.deepEqual(settings.get('media.rtp_port_range'), { value: '10000-10100', source: 'config drive' });
  });

  it('a bad value is reported and does not hide the lower source', () => {
    const { settings, problems } = mergeSources({
      'config drive': [{ name: 'http.port', value: '9000' }],
      'kernel command line': [
        { name: 'http.port', value: 'ninety' },
        { name: 'nat.keep_private_host', value: 'maybe' },
        { name: 'bogus', value: '1' },
        { name: 'nat_1_1_mapping', value: 'not-an-ip' },
        { name: 'rtp_port_range', value: '9-1' },
      ],
    });
    assert.equal(settings.get('http.port')?.value, '9000');
    assert.equal(settings.has('nat.keep_private_host'), false);
    assert.equal(settings.has('nat.nat_1_1_mapping'), false);
    assert.equal(settings.has('media.rtp_port_range'), false);
    assert.equal(problems.length, 5, problems.join('\n'));
  });

  it('renders an env file Portunus loads back to the same values, specials quoted', () => {
    const { settings } = mergeSources({
      credentials: [
        { name: 'admin_secret', value: 'a"b$c`d\\e f' },
        { name: 'keep_private_host', value: 'yes' },
        { name: 'tls_key', value: '-----BEGIN KEY-----\nabc\n' },
      ],
    });
    const text = renderEnvFile(settings);
    assert.doesNotMatch(text, /BEGIN KEY/, 'appliance.* settings are not Portunus options');
    const { config } = loadConfig({ env: envFromFile(text) });
    assert.equal(config.general.admin_secret, 'a"b$c`d\\e f');
    assert.equal(config.nat.keep_private_host, true);
    assert.equal(quoteEnvValue('x$y'), '"x\\$y"');
  });
});

describe('appliance first boot: runFirstboot', () => {
  it('writes portunus.env from all three sources, with the precedence and a root-only mode', async () => {
    const f = fixture({
      drive: 'NAT_1_1_MAPPING=203.0.113.7\nRTP_PORT_RANGE=20000-20100\nKEEP_PRIVATE_HOST=true\n',
      credentials: { 'portunus.admin_secret': 'smbios-secret\n', 'portunus.rtp_port_range': '30000-30100' },
      cmdline: 'root=UUID=x ro portunus.http.port=8080 portunus.rtp_port_range=40000-40100',
    });
    await runFirstboot(f.opts);
    const file = join(f.opts.runDir, 'portunus.env');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const { config } = loadConfig({ env: envFromFile(readFileSync(file, 'utf8')) });
    assert.equal(config.nat.nat_1_1_mapping, '203.0.113.7');
    assert.equal(config.nat.keep_private_host, true);
    assert.equal(config.general.admin_secret, 'smbios-secret');
    assert.equal(config.media.rtp_port_range, '40000-40100');
    assert.equal(config.http.port, 8080);
    const log = f.lines.join('\n');
    assert.match(log, /nat: advertising 203\.0\.113\.7 \(nat_1_1_mapping from the config drive\)/);
    assert.equal(config.nat.nat_1_1_origin, 'advertising 203.0.113.7 (nat_1_1_mapping from the config drive)', 'the why reaches /janus/info');
    assert.match(log, /general\.admin_secret: from the credentials/);
    assert.doesNotMatch(log, /smbios-secret/, 'secrets are never logged');
  });

  it('generates an admin secret when none is given and keeps it across boots', async () => {
    const f = fixture({ drive: 'HTTP_PORT=9000\n' });
    await runFirstboot(f.opts);
    const first = envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8')).PORTUNUS_GENERAL_ADMIN_SECRET;
    assert.match(first, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(first, 'janusoverlord');
    assert.equal(statSync(join(f.opts.stateDir, 'admin_secret')).mode & 0o777, 0o600);
    await runFirstboot(f.opts); // second boot
    const second = envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8')).PORTUNUS_GENERAL_ADMIN_SECRET;
    assert.equal(second, first);
    assert.match(f.lines.join('\n'), /using the one generated on first boot/);
    assert.doesNotMatch(f.lines.join('\n'), new RegExp(first));
    // A different machine gets a different secret.
    const g = fixture({});
    await runFirstboot(g.opts);
    assert.notEqual(keptSecret(join(g.opts.stateDir, 'admin_secret')).secret, first);
  });

  it('SMBIOS credentials systemd did not import are read; an imported one of the same name wins', async () => {
    const f = fixture({ credentials: { 'portunus.api_secret': 'imported' } });
    const entry = join(f.opts.smbiosDir, '11-0');
    mkdirSync(entry, { recursive: true });
    const strings = 'io.systemd.credential:portunus.admin_secret=smbios-admin\0io.systemd.credential:portunus.api_secret=smbios-api\0\0';
    writeFileSync(join(entry, 'raw'), Buffer.concat([Buffer.from([11, 5, 0, 0, 2]), Buffer.from(strings)]));
    await runFirstboot(f.opts);
    const env = envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8'));
    assert.equal(env.PORTUNUS_GENERAL_ADMIN_SECRET, 'smbios-admin');
    assert.equal(env.PORTUNUS_GENERAL_API_SECRET, 'imported');
    assert.match(f.lines.join('\n'), /read from SMBIOS or fw_cfg directly, not imported by systemd: portunus\.admin_secret\)/);
  });

  it('qemu fw_cfg credentials are read too; SMBIOS, then fw_cfg, for the same name', async () => {
    const f = fixture({});
    for (const [name, value] of [['portunus.general.server_name', 'from-fwcfg\n'], ['portunus.api_secret', 'fwcfg-api'], ['other.thing', 'ignored']]) {
      mkdirSync(join(f.opts.fwCfgDir, name), { recursive: true });
      writeFileSync(join(f.opts.fwCfgDir, name, 'raw'), value);
    }
    const entry = join(f.opts.smbiosDir, '11-0');
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(entry, 'raw'), Buffer.concat([Buffer.from([11, 5, 0, 0, 1]), Buffer.from('io.systemd.credential:portunus.api_secret=smbios-api\0\0')]));
    await runFirstboot(f.opts);
    const env = envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8'));
    assert.equal(env.PORTUNUS_GENERAL_SERVER_NAME, 'from-fwcfg');
    assert.equal(env.PORTUNUS_GENERAL_API_SECRET, 'smbios-api');
  });

  it('a given admin secret wins over the kept one without erasing it', async () => {
    const f = fixture({});
    await runFirstboot(f.opts);
    const kept = keptSecret(join(f.opts.stateDir, 'admin_secret')).secret;
    writeFileSync(join(f.opts.credentialsDir, 'portunus.admin_secret'), 'given');
    await runFirstboot(f.opts);
    assert.equal(envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8')).PORTUNUS_GENERAL_ADMIN_SECRET, 'given');
    assert.equal(keptSecret(join(f.opts.stateDir, 'admin_secret')).secret, kept);
  });

  it('TLS from files on the config drive: written to the state folder, HTTPS and WSS on', async () => {
    const f = fixture({ drive: 'TLS_CERT=tls/cert.pem\nTLS_KEY=tls/key.pem\n' });
    mkdirSync(join(f.driveDir, 'tls'));
    writeFileSync(join(f.driveDir, 'tls/cert.pem'), '-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n');
    writeFileSync(join(f.driveDir, 'tls/key.pem'), '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n');
    await runFirstboot(f.opts);
    const env = envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8'));
    assert.equal(env.PORTUNUS_HTTP_HTTPS, 'true');
    assert.equal(env.PORTUNUS_WEBSOCKETS_WSS, 'true');
    assert.match(readFileSync(env.PORTUNUS_HTTP_CERT_KEY, 'utf8'), /KEY/);
    assert.match(readFileSync(env.PORTUNUS_WEBSOCKETS_CERT_PEM, 'utf8'), /CERT/);
    assert.equal(statSync(env.PORTUNUS_HTTP_CERT_KEY).mode & 0o777, 0o640);
  });

  it('TLS key as a PEM credential; a file outside the drive is refused', async () => {
    const f = fixture({
      credentials: { 'portunus.tls_cert': '-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----', 'portunus.tls_key': '-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----' },
    });
    await runFirstboot(f.opts);
    const env = envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8'));
    assert.equal(env.PORTUNUS_HTTP_HTTPS, 'true');
    const g = fixture({ drive: 'TLS_CERT=../../etc/passwd\nTLS_KEY=../key\n' });
    await runFirstboot(g.opts);
    const genv = envFromFile(readFileSync(join(g.opts.runDir, 'portunus.env'), 'utf8'));
    assert.equal(genv.PORTUNUS_HTTP_HTTPS, undefined);
    assert.match(g.lines.join('\n'), /TLS left off/);
  });

  it('no drive, no credentials: says it advertises the interface addresses', async () => {
    const f = fixture({});
    await runFirstboot(f.opts);
    assert.match(f.lines.join('\n'), /no nat_1_1_mapping and no stun_server given: advertising the interface addresses/);
    const { config } = loadConfig({ env: envFromFile(readFileSync(join(f.opts.runDir, 'portunus.env'), 'utf8')) });
    assert.match(config.nat.nat_1_1_origin, /^no nat_1_1_mapping and no stun_server given/);
  });
});
