/**
 * Plugin request validation by parameter tables, as Janus plugins do with JANUS_VALIDATE_JSON_OBJECT:
 * rules are checked in table order and the first broken one is reported with the plugin's own
 * "missing element" or "invalid element" code and Janus' wording. Unlike src/core/validate.ts (the
 * Janus API's 456/467) the codes are the plugin's, and a failure is a value, not an exception, because
 * plugins answer errors as events.
 */

/** 'positive' is Janus' JANUS_JSON_PARAM_POSITIVE: an integer >= 0. */
export type PluginParamType = 'string' | 'integer' | 'positive' | 'boolean' | 'object' | 'array' | 'stringOrPositive';

export interface PluginParam {
  readonly name: string;
  readonly type: PluginParamType;
  readonly required?: boolean;
  /** Janus' JANUS_JSON_PARAM_NONEMPTY for strings and arrays. */
  readonly nonEmpty?: boolean;
}

export interface ParamCodes {
  readonly missing: number;
  readonly invalid: number;
}

export interface ParamError {
  readonly code: number;
  readonly error: string;
}

const NAMES: Record<PluginParamType, string> = {
  string: 'a string', integer: 'an integer', positive: 'a positive integer', boolean: 'a boolean',
  object: 'an object', array: 'an array', stringOrPositive: 'a string or a positive integer',
};

function matches(v: unknown, type: PluginParamType): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isSafeInteger(v);
    case 'positive': return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'boolean': return typeof v === 'boolean';
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    case 'stringOrPositive': return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  }
}

/** The first broken rule as the plugin's error, or undefined when `obj` passes them all. */
export function checkParams(obj: Record<string, unknown>, rules: readonly PluginParam[], codes: ParamCodes): ParamError | undefined {
  for (const r of rules) {
    const v = obj[r.name];
    if (v === undefined) {
      if (r.required) return { code: codes.missing, error: `Missing mandatory element (${r.name})` };
      continue;
    }
    // As Janus (janus_get_json_type_name): a NONEMPTY rule names its type "a non-empty ..." for
    // a value of the wrong type too, not only for an empty one.
    const name = r.nonEmpty ? `a non-empty ${r.type === 'array' ? 'array' : 'string'}` : NAMES[r.type];
    if (!matches(v, r.type)) return { code: codes.invalid, error: `Invalid element type (${r.name} should be ${name})` };
    if (r.nonEmpty && ((typeof v === 'string' && v === '') || (Array.isArray(v) && v.length === 0))) {
      return { code: codes.invalid, error: `Invalid element type (${r.name} should be ${name})` };
    }
  }
  return undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
