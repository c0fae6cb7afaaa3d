/**
 * The admin secret of an appliance that was given none: generated once on first boot from the kernel's
 * random source and kept, so it survives reboots; never a well-known default.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** 32 random bytes, base64url (43 characters, no padding): safe in env files and JSON. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The secret kept in `file`, creating it (mode 0600) when missing or empty. */
export function keptSecret(file: string): { secret: string; created: boolean } {
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept) return { secret: kept, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o711 });
  const secret = newSecret();
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, created: true };
}
