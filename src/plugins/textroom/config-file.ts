/**
 * Writing janus.plugin.textroom.jcfg back for `permanent: true` create/edit/destroy, as Janus does
 * with janus_config_save: the file is read, the `room-<id>` group replaced or removed, and the whole
 * file written again (comments are not kept). Written to a temporary name and renamed, so a crash
 * never leaves half a file. The writer emits the libconfig subset Janus files use.
 */
import { readFile, writeFile, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { parseJcfg } from '../../config/jcfg.ts';

type Value = string | number | bigint | boolean | Value[] | { [k: string]: Value };

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

function scalar(v: Value, indent: string): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => scalar(x, indent)).join(', ')}]`;
  return `{\n${body(v, `${indent}\t`)}${indent}}`;
}

function body(group: { [k: string]: Value }, indent: string): string {
  let out = '';
  for (const [k, v] of Object.entries(group)) out += `${indent}${k} = ${scalar(v, indent)}\n`;
  return out;
}

/** libconfig text for a whole file: top-level groups as `name: { ... }`. */
export function writeJcfg(file: { [k: string]: Value }): string {
  let out = '';
  for (const [k, v] of Object.entries(file)) {
    out += typeof v === 'object' && !Array.isArray(v) ? `${k}: {\n${body(v as { [k: string]: Value }, '\t')}}\n\n` : `${k} = ${scalar(v, '')}\n`;
  }
  return out;
}

/** Replace (or with `undefined`, remove) one top-level group of the file at `path`. */
export async function saveGroup(path: string, name: string, group: { [k: string]: Value } | undefined): Promise<void> {
  const current = existsSync(path) ? (parseJcfg(await readFile(path, 'utf8'), path) as { [k: string]: Value }) : {};
  delete current[name];
  if (group) current[name] = group;
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, writeJcfg(current));
  await rename(tmp, path);
}
