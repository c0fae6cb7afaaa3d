/**
 * Writes a configuration object back as libconfig-style jcfg text (what parseJcfg reads), for
 * permanent rooms and mountpoints (Janus rewrites its plugins' .jcfg files the same way). The file is replaced
 * atomically: written beside, then renamed.
 */
import { rename, writeFile } from 'node:fs/promises';

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function value(v: unknown, indent: string): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // libconfig: arrays `[]` hold scalars only; groups go in a list `()` (the multistream `media`).
  if (Array.isArray(v)) {
    const scalars = v.every((x) => typeof x !== 'object' || x === null);
    return scalars ? `[${v.map((x) => value(x, indent)).join(', ')}]` : `(${v.map((x) => value(x, indent)).join(', ')})`;
  }
  if (typeof v === 'object' && v !== null) return group(v as Record<string, unknown>, indent);
  return '""';
}

function group(g: Record<string, unknown>, indent: string): string {
  const inner = indent + '\t';
  const lines = Object.entries(g).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${inner}${k} = ${value(v, inner)}`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}

export function writeJcfg(config: Record<string, unknown>): string {
  return Object.entries(config).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}: ${value(v, '')}`).join('\n\n') + '\n';
}

export async function saveJcfg(path: string, config: Record<string, unknown>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, writeJcfg(config));
  await rename(tmp, path);
}
