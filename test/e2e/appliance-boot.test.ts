/**
 * The appliance image, built and booted: packaging/build-deb.sh + appliance/build-image.sh, then qemu
 * (software emulation) with user networking whose forwards listen on 127.0.0.1 only and which routes
 * nothing out (restrict=on), a FAT config drive labelled PORTUNUS carrying a NAT 1:1 address, and an
 * SMBIOS type 11 credential carrying the admin secret. From the host: /janus/info answers through the
 * forward and reports the mapped address; the Admin API takes the credential's secret and refuses the
 * Janus sample default; the root file system grew into the disk enlarged before boot. The serial log
 * is printed when anything fails; qemu is killed by its PID.
 *
 * Runs in every `npm test` (measured in appliance/README.md); PORTUNUS_SKIP_APPLIANCE_BOOT=1 skips it.
 * PORTUNUS_APPLIANCE_IMAGE=path.qcow2 boots an already built image instead of building one.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePorts, processAlive } from '../helpers/reference-janus.ts';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const skip = process.env.PORTUNUS_SKIP_APPLIANCE_BOOT === '1' ? 'PORTUNUS_SKIP_APPLIANCE_BOOT=1' : false;

const MAPPED = '203.0.113.7';
const ADMIN_SECRET = `boot-test-${process.pid}-${Date.now()}`;
/** Passed as a qemu fw_cfg credential; /janus/info shows it as server-name. */
const SERVER_NAME = `fwcfg-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'portunus-boot-test-'));
const serialLog = join(work, 'serial.log');
const pidFile = join(work, 'qemu.pid');

function qemuPid(): number | undefined {
  try {
    return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function killQemu(): void {
  const pid = qemuPid();
  if (pid && processAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

let failed = false;
after(() => {
  killQemu();
  if (failed && existsSync(serialLog)) {
    process.stderr.write(`\n----- appliance serial log -----\n${readFileSync(serialLog, 'utf8')}\n----- end of serial log -----\n`);
  }
  rmSync(work, { recursive: true, force: true });
});

async function buildImage(): Promise<string> {
  if (process.env.PORTUNUS_APPLIANCE_IMAGE) {
    const copy = join(work, 'disk.qcow2');
    copyFileSync(process.env.PORTUNUS_APPLIANCE_IMAGE, copy);
    return copy;
  }
  const opts = { env: { ...process.env, PORTUNUS_DEB_COMPRESSION: 'gzip' }, timeout: 1_200_000, maxBuffer: 1 << 26 };
  const deb = (await run('bash', [join(repo, 'packaging/build-deb.sh'), work], opts)).stdout.trim().split('\n').pop() as string;
  const raw = (await run('bash', [join(repo, 'appliance/build-image.sh'), '--deb', deb, '--out', work, '--formats', 'qcow2'], opts)).stdout.trim().split('\n').pop() as string;
  rmSync(raw);
  rmSync(deb);
  return raw.replace(/\.raw$/, '.qcow2');
}

async function configDrive(): Promise<string> {
  const img = join(work, 'config-drive.img');
  const env = join(work, 'portunus.env');
  writeFileSync(env, `# the public address of this VM's 1:1 NAT\nNAT_1_1_MAPPING=${MAPPED}\n`);
  await run('mkfs.vfat', ['-C', '-n', 'PORTUNUS', img, '1024']);
  await run('mcopy', ['-i', img, env, '::portunus.env']);
  return img;
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const pid = qemuPid();
    if (pid && !processAlive(pid)) throw new Error(`qemu exited while waiting for ${what}`);
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('appliance image boots configured', { skip, timeout: 1_800_000 }, () => {
  it('answers /janus/info with the mapped address; the Admin API takes the SMBIOS secret only', async () => {
    try {
      const t0 = Date.now();
      const disk = await buildImage();
      const built = Date.now();
      // A bigger disk than the image: the root file system must grow into it on first boot.
      await run('qemu-img', ['resize', '-q', disk, '+1G']);
      const drive = await configDrive();
      const [httpPort, adminPort] = await freePorts(2);
      const qemu = spawn(
        'qemu-system-x86_64',
        [
          '-accel', 'tcg',
          '-m', '1024',
          '-smp', '2',
          '-display', 'none',
          '-monitor', 'none',
          '-serial', `file:${serialLog}`,
          '-pidfile', pidFile,
          '-drive', `file=${disk},if=virtio,format=qcow2`,
          '-drive', `file=${drive},if=virtio,format=raw,readonly=on`,
          '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${httpPort}-:8088,hostfwd=tcp:127.0.0.1:${adminPort}-:7088`,
          '-device', 'virtio-net-pci,netdev=n0',
          '-smbios', `type=11,value=io.systemd.credential:portunus.admin_secret=${ADMIN_SECRET}`,
          '-fw_cfg', `name=opt/io.systemd.credentials/portunus.general.server_name,string=${SERVER_NAME}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let qemuErr = '';
      qemu.stderr?.on('data', (d: Buffer) => (qemuErr += d.toString()));
      qemu.on('exit', (code) => {
        if (code) qemuErr += `\nqemu exited with ${code}`;
      });

      const info = await waitFor('/janus/info', 900_000, async () => {
        const r = await fetch(`http://127.0.0.1:${httpPort}/janus/info`, { signal: AbortSignal.timeout(5000) });
        return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
      }).catch((err: Error) => {
        throw new Error(`${err.message}; qemu: ${qemuErr}`);
      });
      const ready = Date.now();
      process.stdout.write(`# appliance: image built in ${((built - t0) / 1000).toFixed(0)} s, booted to /janus/info in ${((ready - built) / 1000).toFixed(0)} s\n`);

      assert.equal(info.janus, 'server_info');
      assert.equal(info['public-ip'], MAPPED, 'the NAT 1:1 address from the config drive');
      assert.equal(info['server-name'], SERVER_NAME, 'the server name from a qemu fw_cfg credential');
      assert.equal(info['public-ip-origin'], `advertising ${MAPPED} (nat_1_1_mapping from the config drive)`, 'and why');

      const admin = async (secret: string) => {
        const r = await fetch(`http://127.0.0.1:${adminPort}/admin`, {
          method: 'POST',
          body: JSON.stringify({ janus: 'list_sessions', transaction: 'boot', admin_secret: secret }),
          signal: AbortSignal.timeout(20_000),
        });
        return (await r.json()) as { janus: string; error?: { code: number } };
      };
      assert.equal((await admin(ADMIN_SECRET)).janus, 'success', 'the SMBIOS credential is the admin secret');
      assert.equal((await admin('janusoverlord')).error?.code, 403, 'the Janus sample default is refused');

      // The console says what is advertised and why (the first-boot service logs there too).
      const serial = readFileSync(serialLog, 'utf8');
      assert.match(serial, new RegExp(`nat: advertising ${MAPPED.replace(/\./g, '\\.')} \\(nat_1_1_mapping from the config drive\\)`));
      assert.match(serial, /general\.admin_secret: from the credentials/);
      assert.doesNotMatch(serial, new RegExp(ADMIN_SECRET), 'the secret is not printed');
      const grew = /portunus-growroot: root file system grew from (\d+) MiB to (\d+) MiB/.exec(serial);
      assert.ok(grew, 'the root file system grows on first boot');
      assert.ok(Number(grew[2]) >= Number(grew[1]) + 900, `grew by the added GiB: ${grew[0]}`);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
