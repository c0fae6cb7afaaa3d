/**
 * The Portunus .deb, built here by packaging/build-deb.sh (gzip, for speed): control data, the pinned
 * Node runtime, conffiles and what they hold (no sample secrets), production-only node_modules, the
 * systemd units (systemd-analyze verify and security), shellcheck of every appliance script, a refused
 * wrong runtime pin, and the packaged app really serving /janus/info and the Admin API.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePorts } from '../helpers/reference-janus.ts';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const pin = Object.fromEntries(
  readFileSync(join(repo, 'packaging/node-runtime.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

const work = mkdtempSync(join(tmpdir(), 'portunus-deb-test-'));
const x = join(work, 'x'); // the package's files
const ctl = join(work, 'control');
let deb = '';
let app: ChildProcess | undefined;

before(async () => {
  const { stdout } = await run('bash', [join(repo, 'packaging/build-deb.sh'), work], {
    env: { ...process.env, PORTUNUS_DEB_COMPRESSION: 'gzip' },
    timeout: 600_000,
    maxBuffer: 1 << 24,
  });
  deb = stdout.trim().split('\n').pop() as string;
  await run('dpkg-deb', ['-x', deb, x]);
  await run('dpkg-deb', ['-e', deb, ctl]);
}, { timeout: 600_000 });

after(() => {
  if (app?.pid && app.exitCode === null) app.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('appliance .deb', { timeout: 900_000 }, () => {
  it('control: name, version, architecture, dependencies', () => {
    const control = readFileSync(join(ctl, 'control'), 'utf8');
    assert.match(control, /^Package: portunus$/m);
    assert.match(control, new RegExp(`^Version: ${version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(control, /^Architecture: amd64$/m);
    assert.match(control, /^Depends: .*libc6.*libstdc\+\+6/m);
    for (const s of ['postinst', 'prerm', 'postrm']) assert.ok(existsSync(join(ctl, s)), s);
    for (const f of ['usr/bin/portunus', 'usr/lib/sysusers.d/portunus.conf', 'usr/lib/portunus/app/appliance/bin/portunus-firstboot.js', 'usr/share/doc/portunus/README.md']) {
      assert.ok(existsSync(join(x, f)), f);
    }
    assert.match(readFileSync(join(x, 'usr/lib/sysusers.d/portunus.conf'), 'utf8'), /^u portunus /m);
  });

  it('carries the pinned Node runtime, which runs', async () => {
    const node = join(x, 'usr/lib/portunus/node/bin/node');
    const { stdout } = await run(node, ['--version']);
    assert.equal(stdout.trim(), `v${pin.NODE_RUNTIME_VERSION}`);
    assert.match(pin.NODE_RUNTIME_VERSION, /^20\.\d+\.\d+$/, 'an exact Node 20 version');
    assert.match(pin.NODE_RUNTIME_INTEGRITY, /^sha512-[A-Za-z0-9+/]{86}==$/);
  });

  it('refuses a runtime whose checksum is not the pinned one', async () => {
    const bad = join(work, 'bad-pin.env');
    writeFileSync(bad, `NODE_RUNTIME_VERSION=${pin.NODE_RUNTIME_VERSION}\nNODE_RUNTIME_INTEGRITY=sha512-${'A'.repeat(86)}==\n`);
    await assert.rejects(
      run('bash', [join(repo, 'packaging/build-deb.sh'), join(work, 'bad-out')], {
        env: { ...process.env, PORTUNUS_NODE_RUNTIME_ENV: bad, PORTUNUS_CACHE_DIR: join(work, 'empty-cache') },
        timeout: 300_000,
      }),
      (err: Error & { stderr?: string }) => /integrity mismatch/.test(err.stderr ?? ''),
    );
    assert.equal(existsSync(join(work, 'bad-out', `portunus_${version}_amd64.deb`)), false);
  });

  it('conffiles: every file under /etc/portunus, and only those', () => {
    const listed = readFileSync(join(ctl, 'conffiles'), 'utf8').trim().split('\n').sort();
    const present = filesUnder(join(x, 'etc')).map((f) => f.slice(x.length)).sort();
    assert.deepEqual(listed, present);
    assert.ok(listed.includes('/etc/portunus/janus.jcfg'));
  });

  it('ships no sample secret: no admin_secret default, no filled secret/pin/password; Admin API on, fixed RTP range', () => {
    for (const f of filesUnder(join(x, 'etc/portunus'))) {
      const text = readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /janusoverlord/, f);
      for (const line of text.split('\n')) {
        if (/^\s*#/.test(line)) continue;
        assert.doesNotMatch(line, /^\s*\w*(secret|pin|pwd|password)\w*\s*=\s*"[^"]+"/, `${f}: ${line}`);
      }
    }
    assert.match(readFileSync(join(x, 'etc/portunus/janus.jcfg'), 'utf8'), /^\s*#admin_secret = ""/m);
    assert.match(readFileSync(join(x, 'etc/portunus/janus.transport.http.jcfg'), 'utf8'), /^\s*admin_http = true/m);
    assert.match(readFileSync(join(x, 'etc/portunus/janus.jcfg'), 'utf8'), /^\s*rtp_port_range = "20000-40000"/m, 'a fixed range to open and forward');
  });

  it('node_modules holds the production dependencies only', async () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: object; devDependencies: object };
    const nm = join(x, 'usr/lib/portunus/app/node_modules');
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(nm, dep, 'package.json')), dep);
    // A dev dependency may also be a production one's dependency (ws is @fastify/websocket's).
    const prodTree = (await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repo, maxBuffer: 1 << 24 }).catch((e: { stdout: string }) => e)).stdout;
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => !prodTree.includes(`/node_modules/${d}\n`));
    assert.ok(devOnly.includes('typescript'));
    for (const dep of devOnly) assert.equal(existsSync(join(nm, dep)), false, `dev dependency ${dep} shipped`);
  });

  it('systemd units pass systemd-analyze verify, and the gateway unit is hardened', async () => {
    const units = join(work, 'units');
    await run('mkdir', ['-p', units]);
    for (const u of ['portunus.service', 'portunus-firstboot.service']) {
      // Point ExecStart at the extracted files: verify checks the executables exist.
      const text = readFileSync(join(x, 'lib/systemd/system', u), 'utf8').replaceAll('/usr/lib/portunus/', `${x}/usr/lib/portunus/`);
      writeFileSync(join(units, u), text);
    }
    const verify = await run('systemd-analyze', ['verify', '--man=no', join(units, 'portunus.service'), join(units, 'portunus-firstboot.service')]).catch(
      (err: Error & { stderr: string }) => ({ stdout: '', stderr: `${err.message}\n${err.stderr}` }),
    );
    const problems = verify.stderr.split('\n').filter((l) => /portunus/.test(l) && !/Unit sysinit\.target not found/.test(l));
    assert.deepEqual(problems, []);
    const unit = readFileSync(join(units, 'portunus.service'), 'utf8');
    for (const d of ['User=portunus', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'Restart=on-failure', 'LimitNOFILE=65536', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'SystemCallFilter=@system-service']) {
      assert.ok(unit.includes(`\n${d}\n`), d);
    }
    const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(units, 'portunus.service')]).catch(
      (err: Error & { stdout: string }) => ({ stdout: err.stdout }),
    );
    const m = /Overall exposure level for portunus\.service: (\d+\.\d+)/.exec(stdout);
    assert.ok(m, stdout.slice(-500));
    assert.ok(Number(m[1]) <= 3.0, `exposure ${m[1]} should be at most 3.0 (OK)`);
  });

  it('shellcheck: every appliance and packaging script is clean', async () => {
    const scripts = [
      'packaging/build-deb.sh',
      'packaging/debian/postinst',
      'packaging/debian/prerm',
      'packaging/debian/postrm',
      'packaging/debian/portunus.sh',
      ...readdirSync(join(repo, 'appliance')).filter((f) => f.endsWith('.sh')).map((f) => `appliance/${f}`),
      'appliance/rootfs/usr/local/sbin/portunus-growroot',
      'appliance/oci/entrypoint.sh',
    ];
    const r = await run('shellcheck', ['-x', '-P', 'SCRIPTDIR', ...scripts], { cwd: repo }).catch((err: Error & { stdout: string }) => ({ stdout: err.stdout || err.message }));
    assert.equal(r.stdout, '');
  });

  it('the packaged app serves /janus/info and the Admin API with the /etc/portunus defaults', async () => {
    const [http, admin] = await freePorts(2);
    const root = join(x, 'usr/lib/portunus');
    app = spawn(join(root, 'node/bin/node'), [join(root, 'app/bin/portunus.js'), '--config-dir', join(x, 'etc/portunus')], {
      env: {
        PATH: process.env.PATH,
        PORTUNUS_GENERAL_ADMIN_SECRET: 'from-firstboot',
        PORTUNUS_HTTP_IP: '127.0.0.1',
        PORTUNUS_HTTP_PORT: String(http),
        PORTUNUS_HTTP_ADMIN_IP: '127.0.0.1',
        PORTUNUS_HTTP_ADMIN_PORT: String(admin),
        PORTUNUS_WEBSOCKETS_WS: 'false',
        PORTUNUS_NAT_NAT_1_1_MAPPING: '203.0.113.7',
        PORTUNUS_NAT_ICE_ENFORCE_LIST: 'lo',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    app.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let info: Record<string, unknown> | undefined;
    for (let i = 0; i < 300 && !info; i++) {
      info = await fetch(`http://127.0.0.1:${http}/janus/info`).then((r) => r.json() as Promise<Record<string, unknown>>, () => undefined);
      if (!info) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(info, `no answer; stderr: ${stderr}`);
    assert.equal(info.janus, 'server_info');
    assert.equal(info['public-ip'], '203.0.113.7');
    const adminCall = (secret: string) =>
      fetch(`http://127.0.0.1:${admin}/admin`, { method: 'POST', body: JSON.stringify({ janus: 'list_sessions', transaction: 't', admin_secret: secret }) }).then(
        (r) => r.json() as Promise<{ janus: string; error?: { code: number } }>,
      );
    assert.equal((await adminCall('from-firstboot')).janus, 'success');
    assert.equal((await adminCall('janusoverlord')).error?.code, 403);
    app.kill('SIGTERM');
  });
});
