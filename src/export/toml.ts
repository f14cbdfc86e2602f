// TOML text for exported values: basic strings with escapes, bare or quoted keys, and arrays and
// inline tables on one line (TOML 1.0 has no multi-line inline tables). The loaders read it back.
import type { JsonValue } from '../config/types.js';

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
/** A UTF-16 surrogate without its partner: JSON can carry one (`"\ud800"`), TOML (UTF-8) cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** A TOML basic string: quotes, backslashes and control characters escaped, other characters as they are. */
export function tomlString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const escape = ESCAPES[char];
    if (escape) out += escape;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0').toUpperCase()}`;
    else out += char;
  }
  return `${out}"`;
}

/** A key as written: bare when TOML allows it (`A-Z a-z 0-9 _ -`), else a quoted string. */
export function tomlKey(key: string): string {
  return BARE_KEY.test(key) ? key : tomlString(key);
}

/** A dotted table name such as `work_pools."my pool".queues.default`. */
export function tomlTableName(path: readonly string[]): string {
  return path.map(tomlKey).join('.');
}

/** Why `value` cannot be written as TOML, with the place inside it (`hosts[1].port`); undefined when it can. */
export function tomlProblem(value: JsonValue, path = ''): string | undefined {
  const at = path ? ` at ${path}` : '';
  if (value === null) return `null${at}: TOML has no null`;
  if (typeof value === 'string') {
    return LONE_SURROGATE.test(value) ? `a string${at} holds an unpaired UTF-16 surrogate, which TOML (UTF-8) cannot hold` : undefined;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = tomlProblem(item, `${path}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = tomlProblem(key, path);
      if (keyProblem) return keyProblem.replace('a string', 'a key');
      const problem = tomlProblem(item, path ? `${path}.${key}` : key);
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * A JSON value as a TOML value. JSON numbers that are safe integers become TOML integers, all
 * others floats; objects keep their key order. Call `tomlProblem` first: null has no TOML form.
 */
export function tomlValue(value: JsonValue): string {
  if (value === null) throw new Error('null has no TOML form; check tomlProblem first');
  if (typeof value === 'string') return tomlString(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return tomlNumber(value);
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  const entries = Object.entries(value).map(([key, item]) => `${tomlKey(key)} = ${tomlValue(item)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

function tomlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`${value} has no TOML form in JSON`);
  if (Number.isSafeInteger(value)) return String(Object.is(value, -0) ? 0 : value);
  // An integer past 2^53 read as an integer would be refused by the loader: write it as the float it is.
  if (Number.isInteger(value)) return value.toExponential();
  const text = String(value);
  // String() writes 1e-7 and 1.5e+300, both valid TOML floats; a plain form always has a `.`.
  return text;
}
