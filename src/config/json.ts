// JSON values as the inputs and the API hold them.
import { MAX_NESTING_DEPTH, NESTING_PROBLEM } from './nesting.js';
import type { JsonValue } from './types.js';

export type JsonObject = { [key: string]: JsonValue };

/** A mapping: not null, not a list. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a value is, for a message that says what was found instead: `a list`, `nothing (null)`, `the number 3`. */
export function kindOf(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return `${value}`;
  return `the ${typeof value} ${String(value)}`;
}

/** Where JSON text is wrong: line and column (1-based) and a reason that never quotes the text. */
export interface JsonTextProblem {
  problem: string;
  line: number;
  column: number;
}

/**
 * JSON text as a value, or where and why it is not JSON. JSON.parse's own messages quote the text
 * (`Unexpected token 'S', "SENTINEL_P"...`), which may be a secret given by mistake, and say no line;
 * so the text is first checked here, without recursion, nesting at most MAX_NESTING_DEPTH deep.
 */
export function parseJsonText(text: string): { value: JsonValue } | JsonTextProblem {
  const found = scanJson(text);
  if (found) return { problem: found.reason, ...lineAndColumn(text, found.offset) };
  try {
    return { value: JSON.parse(text) as JsonValue };
  } catch {
    // Not reached: the scan accepts exactly JSON. Never pass the parser's message on.
    return { problem: 'not valid JSON', line: 1, column: 1 };
  }
}

/** 1-based line and column of `offset`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++;
    lineStart = index + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const SIMPLE_ESCAPES = '"\\/bfnrt';

/** The first offset where `text` stops being JSON, with the reason; undefined for valid JSON. */
function scanJson(text: string): { offset: number; reason: string } | undefined {
  const open: Array<'[' | '{'> = [];
  // `value`: a value is expected; `first*`: right after `[` or `{`, where the close may come; `key`: a property name.
  let state: 'value' | 'firstValue' | 'key' | 'firstKey' | 'after' = 'value';
  let at = 0;
  const fail = (reason: string, offset = at) => ({ offset, reason });
  for (;;) {
    while (at < text.length && (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r')) at++;
    if (at >= text.length) {
      if (state === 'after' && open.length === 0) return undefined;
      return fail(text.trim() === '' ? 'holds no JSON value' : 'the JSON ends too early: a bracket, brace or value is missing');
    }
    const char = text[at]!;
    if (state === 'after') {
      const top = open.at(-1);
      if (top === undefined) return fail('unexpected text after the JSON value');
      if (char === ',') {
        at++;
        state = top === '[' ? 'value' : 'key';
      } else if ((char === ']' && top === '[') || (char === '}' && top === '{')) {
        open.pop();
        at++;
      } else {
        return fail(top === '[' ? 'expected "," or "]" after a list item' : 'expected "," or "}" after a property value');
      }
      continue;
    }
    if (state === 'key' || state === 'firstKey') {
      if (char === '}' && state === 'firstKey') {
        open.pop();
        at++;
        state = 'after';
        continue;
      }
      if (char !== '"') return fail('expected a property name in double quotes');
      const end = scanString(text, at);
      if (typeof end !== 'number') return end;
      at = end;
      while (at < text.length && (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r')) at++;
      if (text[at] !== ':') return fail('expected ":" after the property name');
      at++;
      state = 'value';
      continue;
    }
    // A value is expected.
    if (char === ']' && state === 'firstValue') {
      open.pop();
      at++;
      state = 'after';
      continue;
    }
    if (char === '[' || char === '{') {
      if (open.length >= MAX_NESTING_DEPTH) return fail(NESTING_PROBLEM);
      open.push(char);
      at++;
      state = char === '[' ? 'firstValue' : 'firstKey';
      continue;
    }
    state = 'after';
    if (char === '"') {
      const end = scanString(text, at);
      if (typeof end !== 'number') return end;
      at = end;
      continue;
    }
    const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, at));
    if (literal) {
      at += literal.length;
      continue;
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (number) {
      if (!Number.isFinite(Number(number[0]))) return fail('a number is too large for JSON (it would become infinity)');
      at += number[0].length;
      continue;
    }
    return fail('expected a value: a string in double quotes, a number, true, false, null, a list [...] or an object {...}');
  }
}

/** The offset after the string that starts at `start`, or where it goes wrong. */
function scanString(text: string, start: number): number | { offset: number; reason: string } {
  for (let at = start + 1; at < text.length; ) {
    const char = text[at]!;
    if (char === '"') return at + 1;
    if (char === '\\') {
      const next = text[at + 1];
      if (next !== undefined && SIMPLE_ESCAPES.includes(next)) at += 2;
      else if (next === 'u' && HEX4.test(text.slice(at + 2, at + 6))) at += 6;
      else return { offset: at, reason: 'invalid escape sequence in a string (JSON knows \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX)' };
    } else if (char.charCodeAt(0) < 0x20) {
      return { offset: at, reason: 'a control character (such as a line break or a tab) inside a string; write it as an escape such as \\n' };
    } else {
      at++;
    }
  }
  return { offset: start, reason: 'a string is never closed: a double quote is missing' };
}
