/**
 * Request validation by parameter tables, the way every Janus request is checked: a missing
 * mandatory element is 456, a present one of the wrong type is 467.
 */
import { Errors } from './errors.ts';

export type ParamType = 'string' | 'integer' | 'positive' | 'boolean' | 'object' | 'array' | 'number';

export interface ParamRule {
  name: string;
  type: ParamType;
  required?: boolean;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeMatches(v: unknown, type: ParamType): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'positive': return typeof v === 'number' && Number.isInteger(v) && v > 0;
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return isPlainObject(v);
    case 'array': return Array.isArray(v);
  }
}

const typeNames: Record<ParamType, string> = {
  string: 'a string', integer: 'an integer', positive: 'a positive integer', number: 'a number',
  boolean: 'a boolean', object: 'an object', array: 'an array',
};

/** Throws the Janus error for the first rule the object breaks. */
export function validate(obj: Record<string, unknown>, rules: readonly ParamRule[]): void {
  for (const r of rules) {
    const v = obj[r.name];
    // Only an absent key is missing: a JSON null is present with the wrong type (467), as in Janus.
    if (v === undefined) {
      if (r.required) throw Errors.missingElement(r.name);
      continue;
    }
    if (!typeMatches(v, r.type)) throw Errors.invalidElementType(r.name, typeNames[r.type]);
  }
}
