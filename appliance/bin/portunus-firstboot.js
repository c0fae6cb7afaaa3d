#!/usr/bin/env node
// The appliance's first-boot settings service (see appliance/firstboot/main.ts), run by
// portunus-firstboot.service before portunus.service on every boot.
import { register } from 'tsx/esm/api';

register();
const { runFirstboot } = await import('../firstboot/main.ts');
try {
  await runFirstboot();
} catch (err) {
  process.stderr.write(`portunus-firstboot: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
}
