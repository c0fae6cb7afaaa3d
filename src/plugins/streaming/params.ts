/**
 * Parameter tables for the Streaming requests, checked in order as Janus does (the first bad one is
 * reported): 453 "Missing element (x)" and 454 "Invalid element type (x should be ...)".
 */
import { invalidType, missing } from './errors.ts';

export type Kind = 'string' | 'integer' | 'positive' | 'boolean' | 'array' | 'object' | 'id';
export type Rule = readonly [name: string, kind: Kind, required?: boolean];

const WHAT: Record<Kind, string> = {
  string: 'a string', integer: 'an integer', positive: 'a positive integer', boolean: 'a boolean', array: 'an array', object: 'an object',
  id: 'a positive integer',
};

function ok(v: unknown, kind: Kind, stringIds: boolean): boolean {
  switch (kind) {
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isSafeInteger(v);
    case 'positive': return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'boolean': return typeof v === 'boolean';
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'id': return stringIds ? typeof v === 'string' : typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  }
}

/** Throws the Janus error for the first missing or ill-typed parameter. */
export function check(body: Record<string, unknown>, rules: readonly Rule[], stringIds = false): void {
  for (const [name, kind, required] of rules) {
    const v = body[name];
    if (v === undefined) {
      if (required) throw missing(name);
      continue;
    }
    if (!ok(v, kind, stringIds)) throw invalidType(name, kind === 'id' && stringIds ? 'a string' : WHAT[kind]);
  }
}

/** Janus' lenient booleans in .jcfg files ("yes", "true", 1). */
export function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === 'yes' || v === 'true' || v === '1';
}
