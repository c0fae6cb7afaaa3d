/**
 * Turning raw option values (from .jcfg files, environment variables, CLI flags) into typed values,
 * Janus style: booleans may be written "yes"/"no"/"true"/1/0, numbers may be quoted, strings may be
 * written as numbers, and a comma list may be a string or an array.
 */
import type { OptionSpec } from './schema.ts';

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

/** A short description of a raw value for error messages. */
export function describe(raw: unknown): string {
  if (Array.isArray(raw)) return 'a list';
  if (raw === null || raw === undefined) return String(raw);
  if (typeof raw === 'object') return 'a group';
  if (typeof raw === 'string') return `"${raw.length > 40 ? `${raw.slice(0, 40)}...` : raw}"`;
  return String(raw);
}

/** Error message if `value` (already typed) breaks the option's format, else undefined. */
export function checkValue(spec: OptionSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be an integer';
      const { min = 0, max = Number.MAX_SAFE_INTEGER } = spec;
      return value < min || value > max ? `must be between ${min} and ${max}` : undefined;
    }
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'string-list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? undefined : 'must be a list of strings';
    case 'enum':
      return spec.values?.includes(value as string) ? undefined : `must be one of ${spec.values?.join(', ')}`;
    case 'raw':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : 'must be an object';
  }
}

function toBoolean(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  if (raw === 0 || raw === 1) return raw === 1;
  if (typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return undefined;
}

function toInteger(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'bigint') return Number.MAX_SAFE_INTEGER + 1; // out of every range
  if (typeof raw === 'string' && /^\s*[-+]?\d+\s*$/.test(raw)) return Number(raw);
  return undefined;
}

function toText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  return undefined;
}

function toList(raw: unknown): string[] | undefined {
  if (typeof raw === 'string') {
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (!Array.isArray(raw)) return undefined;
  const out = raw.map(toText);
  return out.every((s): s is string => s !== undefined) ? out : undefined;
}

const EXPECTED: Record<OptionSpec['kind'], string> = {
  boolean: 'a boolean (true/false, yes/no, 1/0)',
  integer: 'an integer',
  string: 'a string',
  'string-list': 'a string or a list of strings',
  enum: 'a string',
  raw: 'a group',
};

/** Convert `raw` to the option's type. Throws Error with a readable message when it cannot. */
export function coerceOption(spec: OptionSpec, raw: unknown): unknown {
  let value: unknown;
  switch (spec.kind) {
    case 'boolean':
      value = toBoolean(raw);
      break;
    case 'integer':
      value = toInteger(raw);
      break;
    case 'string':
      value = toText(raw);
      break;
    case 'string-list':
      value = toList(raw);
      break;
    case 'enum':
      // Case-insensitive like Janus, giving back the schema's spelling.
      value = typeof raw === 'string' ? (spec.values?.find((v) => v.toLowerCase() === raw.trim().toLowerCase()) ?? raw) : undefined;
      break;
    case 'raw':
      value = raw;
      break;
  }
  if (value === undefined) throw new Error(`expected ${EXPECTED[spec.kind]}, got ${describe(raw)}`);
  const problem = checkValue(spec, value);
  if (problem) throw new Error(`${problem}, got ${describe(raw)}`);
  return value;
}
