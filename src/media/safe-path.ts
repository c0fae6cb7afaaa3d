/**
 * Path checks for files a client can name (recordings, pcap dumps, mountpoint files): Janus had
 * path-traversal fixes here (JANUS-REFERENCE s6), so every such name goes through this.
 *
 * Rules: no NUL byte, no '..' segment anywhere; relative paths resolve under `baseDir`; an absolute
 * path is accepted only inside `baseDir` or one of `allowedBases`; nothing may land inside a
 * protected folder (Janus `protected_folders`). `confirmRealPath` repeats the checks on the real
 * path once the parent folder exists, so a symlink cannot lead outside.
 */
import path from 'node:path';
import { realpath } from 'node:fs/promises';

export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

export interface PathPolicy {
  /** Folder relative names resolve against (absolute). */
  baseDir: string;
  /** Further folders absolute names may point into. */
  allowedBases?: readonly string[];
  /** Folders nothing may be written into (their sub-folders included). */
  protectedFolders?: readonly string[];
}

function hasDotDot(p: string): boolean {
  return p.split(/[\\/]/).some((seg) => seg === '..');
}

/** True when `p` is `folder` or inside it (both absolute, normalised). */
export function isInside(p: string, folder: string): boolean {
  const rel = path.relative(folder, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

function checkResolved(full: string, roots: readonly string[], protectedFolders: readonly string[]): void {
  if (!roots.some((r) => isInside(full, r))) throw new UnsafePathError(`path '${full}' is outside the allowed folders`);
  for (const f of protectedFolders) {
    if (isInside(full, f)) throw new UnsafePathError(`path '${full}' is in protected folder '${f}'`);
  }
}

function roots(policy: PathPolicy): string[] {
  return [path.resolve(policy.baseDir), ...(policy.allowedBases ?? []).map((b) => path.resolve(b))];
}

/**
 * Resolve `dir` (optional) and `name` into an absolute path, or throw UnsafePathError. With a
 * `dir`, `name` must be relative.
 */
export function resolveSafePath(policy: PathPolicy, dir: string | undefined, name: string): string {
  if (name.length === 0) throw new UnsafePathError('empty file name');
  for (const s of [dir ?? '', name]) {
    if (s.includes('\0')) throw new UnsafePathError('NUL byte in path');
    if (hasDotDot(s)) throw new UnsafePathError(`'..' not allowed in path '${s}'`);
  }
  if (dir !== undefined && dir !== '' && path.isAbsolute(name)) throw new UnsafePathError('absolute file name with a folder');
  const full = path.resolve(policy.baseDir, dir ?? '', name);
  checkResolved(full, roots(policy), (policy.protectedFolders ?? []).map((f) => path.resolve(f)));
  return full;
}

async function realOrSelf(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    return p;
  }
}

/**
 * Re-check `full` (from resolveSafePath) with symlinks resolved: the deepest existing ancestor is
 * replaced by its real path (the missing rest cannot hold symlinks yet). Call it before creating
 * folders and again after. Returns the real path of the file to create.
 */
export async function confirmRealPath(policy: PathPolicy, full: string): Promise<string> {
  let existing = path.dirname(full);
  const rest: string[] = [path.basename(full)];
  let real: string | null = null;
  for (;;) {
    try {
      real = await realpath(existing);
      break;
    } catch {
      const up = path.dirname(existing);
      if (up === existing) break;
      rest.unshift(path.basename(existing));
      existing = up;
    }
  }
  const target = path.join(real ?? existing, ...rest);
  const r = await Promise.all(roots(policy).map(realOrSelf));
  const prot = await Promise.all((policy.protectedFolders ?? []).map((f) => realOrSelf(path.resolve(f))));
  checkResolved(target, r, prot);
  return target;
}
