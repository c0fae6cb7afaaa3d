/**
 * Request attribute checks with Janus' wording (JANUS_VALIDATE_JSON_OBJECT): a missing mandatory
 * attribute is 429 "Missing mandatory element (x)", a wrong type 430 "Invalid element type (x should
 * be ...)". A JSON null counts as present and of the wrong type, as jansson sees it.
 */
import { VR_ERROR, vrError } from './errors.ts';

export type Kind = 'string' | 'boolean' | 'positive' | 'integer' | 'array' | 'object' | 'id';

export type Spec = readonly [name: string, kind: Kind, mandatory?: boolean];

const WHAT: Record<Exclude<Kind, 'id'>, string> = {
  string: 'a string', boolean: 'a boolean', positive: 'a positive integer', integer: 'an integer', array: 'an array', object: 'an object',
};

/** How room and participant ids are typed: numbers below 2^53, or strings with string_ids. */
export interface IdMode {
  stringIds: boolean;
}

function ok(v: unknown, kind: Kind, ids: IdMode): boolean {
  switch (kind) {
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'positive': return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'integer': return typeof v === 'number' && Number.isSafeInteger(v);
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'id': return ids.stringIds ? typeof v === 'string' : typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  }
}

function what(kind: Kind, ids: IdMode): string {
  if (kind === 'id') return ids.stringIds ? 'a string' : 'a positive integer';
  return WHAT[kind];
}

/** Throws the first failing check, in the order given (Janus reports the first one). */
export function check(body: Record<string, unknown>, specs: readonly Spec[], ids: IdMode): void {
  for (const [name, kind, mandatory] of specs) {
    const v = body[name];
    if (v === undefined) {
      if (mandatory) throw vrError(VR_ERROR.MISSING_ELEMENT, `Missing mandatory element (${name})`);
      continue;
    }
    if (!ok(v, kind, ids)) throw vrError(VR_ERROR.INVALID_ELEMENT, `Invalid element type (${name} should be ${what(kind, ids)})`);
  }
}

export type Id = number | string;

export function idOf(v: unknown): Id | undefined {
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
export const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
