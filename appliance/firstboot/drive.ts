/**
 * The config drive: a small FAT or ISO 9660 disk labelled PORTUNUS (or the cloud-standard cidata)
 * carrying `portunus.env` and, optionally, TLS files it names. Found with blkid (which reads
 * /proc/partitions, so it does not wait for udev) and mounted read-only for as long as it is read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DRIVE_LABELS = ['PORTUNUS', 'portunus', 'CIDATA', 'cidata'];
export const DRIVE_ENV_FILE = 'portunus.env';

export interface MountedDrive {
  device: string;
  dir: string;
  unmount(): void;
}

/** The first block device carrying one of the labels, or undefined. */
export function findDriveDevice(labels = DRIVE_LABELS): string | undefined {
  for (const label of labels) {
    try {
      const dev = execFileSync('blkid', ['-L', label], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (dev) return dev;
    } catch {
      // blkid exits 2 when no device has the label
    }
  }
  return undefined;
}

/** Mount the drive read-only in a fresh folder; undefined when there is no drive. */
export function mountDrive(device = findDriveDevice()): MountedDrive | undefined {
  if (!device) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'portunus-drive-'));
  try {
    execFileSync('mount', ['-o', 'ro,nosuid,nodev,noexec', device, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount config drive ${device}: ${(err as Error).message}`);
  }
  return {
    device,
    dir,
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
