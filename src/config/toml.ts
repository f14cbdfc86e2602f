// TOML input: smol-toml parses, a line scanner finds where each key is (smol-toml keeps no positions).
import { parse, TomlDate, TomlError, type TomlTable, type TomlValue } from 'smol-toml';
import type { IssueList } from '../errors.js';
import { readTextFile } from './files.js';
import { oneLine } from './names.js';
import { MAX_NESTING_DEPTH, NESTING_PROBLEM, tooDeepPath } from './nesting.js';
import type { JsonValue } from './types.js';

export type { TomlTable, TomlValue };

export interface TomlHeader {
  path: string[];
  line: number;
  /** `[[path]]`, an array of tables. */
  isArray: boolean;
}

export interface TomlLayout {
  /** Every `[table]` and `[[array]]` header, in file order. */
  headers: TomlHeader[];
  /** The line of the key at `path`; for a key inside an inline table, the line of the nearest enclosing key. */
  lineOf(path: readonly string[]): number | undefined;
  /** Whether a header names `path` or a table below it, i.e. `path` is a `[group]` rather than a key = value. */
  hasHeader(path: readonly string[]): boolean;
}

export interface TomlDocument {
  /** Integers are `bigint`, so that `1` and `1.0` stay distinguishable. */
  data: TomlTable;
  layout: TomlLayout;
}

export type TomlKind = 'string' | 'integer' | 'float' | 'boolean' | 'date' | 'array' | 'table';

export const KIND_NAMES: Record<TomlKind, string> = {
  string: 'a string',
  integer: 'an integer',
  float: 'a float',
  boolean: 'a boolean',
  date: 'a date',
  array: 'an array',
  table: 'a table',
};

/** Reads and parses a TOML file; `undefined` after reporting why it cannot be used. */
export function readTomlFile(file: string, options: { what: string; maxBytes: number }, issues: IssueList): TomlDocument | undefined {
  // An empty file is far more often a wrong mount or path than an intent to declare nothing.
  const text = readTextFile(file, { ...options, rejectEmpty: true }, issues);
  return text === undefined ? undefined : parseToml(text, file, issues);
}

export function parseToml(text: string, file: string, issues: IssueList): TomlDocument | undefined {
  let data: TomlTable;
  try {
    data = parse(text, { integersAsBigInt: true, maxDepth: MAX_NESTING_DEPTH });
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    issues.error({ file, line: error.line, column: error.column }, `invalid TOML: ${tomlReason(error)}; fix the syntax here`);
    return undefined;
  }
  const layout = scanLayout(text);
  // Tables opened by headers and dotted keys nest without limit in smol-toml; arrays and inline tables stop at maxDepth.
  const deep = tooDeepPath(data);
  if (deep) {
    issues.error({ file, line: layout.lineOf(deep.map(String)) }, NESTING_PROBLEM);
    return undefined;
  }
  return { data, layout };
}

/**
 * smol-toml's reason, when it is one of its fixed phrases. Its message goes on with an excerpt of the
 * file, and the file may be a secret given by mistake: no text of the file is ever passed on.
 */
function tomlReason(error: TomlError): string {
  const reason = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
  if (reason.startsWith('document contains excessively nested structures')) return NESTING_PROBLEM;
  return TOML_REASONS.has(reason) ? reason : 'this is not valid TOML';
}

/** smol-toml's messages that hold no text of the document (smol-toml 1.9). */
const TOML_REASONS = new Set([
  'invalid value',
  'illegal leading zero',
  'illegal underscore',
  'illegal character in numeric literal',
  'unfinished numeric value',
  'integer value cannot be represented losslessly',
  'invalid date-time: date part is malformed',
  'invalid date-time: time part is malformed',
  'invalid date',
  'trying to redefine an already defined table or value',
  'document contains an unsafe property',
  'expected end of table array declaration',
  'each key-value declaration must be followed by an end-of-line',
  'control characters are not allowed in strings',
  'invalid non-hex character in unicode escape',
  'invalid unicode escape',
  'unrecognised escape sequence',
  'invalid escape: only line-ending whitespace may be escaped',
  'unfinished string',
  'unexpected end of key',
  'illegal empty bare key',
  'illegal quoted key: multiline strings are not allowed',
  'illegal character in key',
  'incomplete key-value: cannot find end of key',
  'trying to redefine an already defined value',
  'expected comma or end of structure',
  'unfinished table',
  'unfinished array',
  'control characters are not allowed in comments',
]);

/**
 * `a.b.c`, the dotted key of an issue; a part holding a control character is quoted with its escapes
 * (`work_pools."a\nb"`), so that every issue stays one readable line.
 */
export function dottedKey(path: readonly string[]): string {
  return path.map((part) => (/[\p{Cc}\p{Cs}\u2028\u2029]/u.test(part) ? oneLine(JSON.stringify(part)) : part)).join('.');
}

export function isTable(value: TomlValue): value is TomlTable {
  return typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

export function tomlKind(value: TomlValue): TomlKind {
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return 'float';
  if (typeof value === 'string' || typeof value === 'boolean') return typeof value as 'string' | 'boolean';
  if (value instanceof Date) return 'date';
  return Array.isArray(value) ? 'array' : 'table';
}

/** The value as JSON holds it, or why it cannot be held: NaN, infinity, integers past 2^53. */
export function toJsonValue(value: TomlValue): { value: JsonValue } | { problem: string } {
  return convert(value, '');
}

/** `path` locates an element inside the value, e.g. `hosts[1].port`, for the message. */
function convert(value: TomlValue, path: string): { value: JsonValue } | { problem: string } {
  const problem = (reason: string) => ({ problem: path ? `at ${path}: ${reason}` : reason });
  if (typeof value === 'bigint') {
    return Number.isSafeInteger(Number(value))
      ? { value: Number(value) }
      : problem(`integer ${value} is too large for JSON numbers (at most ±${Number.MAX_SAFE_INTEGER}); write it as a string`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    const written = Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
    return problem(`${written} cannot be stored: JSON has no NaN or infinity; write a finite number or a string`);
  }
  // Local dates and times have no offset; smol-toml's toISOString writes them as authored (1979-05-27, 07:32:00.000).
  if (value instanceof TomlDate) return { value: value.toISOString() };
  if (Array.isArray(value)) {
    const items: JsonValue[] = [];
    for (const [index, item] of value.entries()) {
      const result = convert(item, `${path}[${index}]`);
      if ('problem' in result) return result;
      items.push(result.value);
    }
    return { value: items };
  }
  if (isTable(value)) {
    const entries: [string, JsonValue][] = [];
    for (const [key, item] of Object.entries(value)) {
      const result = convert(item, path ? `${path}.${dottedKey([key])}` : dottedKey([key]));
      if ('problem' in result) return result;
      entries.push([key, result.value]);
    }
    // fromEntries defines own properties, so a key such as `__proto__` stays data.
    return { value: Object.fromEntries(entries) };
  }
  return { value: value as string | number | boolean };
}

/** Finds the header and key lines of a document smol-toml has accepted (so the scanner may assume valid TOML). */
export function scanLayout(text: string): TomlLayout {
  const scanner = new Scanner(text);
  const lines = new Map<string, number>();
  const headers: TomlHeader[] = [];
  const id = (path: readonly string[]) => path.join('\u0000');
  const record = (path: string[], line: number) => {
    // The first mention of a table is where it starts, e.g. `[a]` before a later `a.b = 1`.
    // Past the nesting limit nothing is looked up (parseToml refuses such a file), so a key of
    // thousands of parts costs no more than one of MAX_NESTING_DEPTH + 1.
    for (let length = 1; length <= Math.min(path.length, MAX_NESTING_DEPTH + 1); length++) {
      const prefix = id(path.slice(0, length));
      if (!lines.has(prefix)) lines.set(prefix, line);
    }
  };
  let table: string[] = [];
  for (scanner.skipTrivia(); !scanner.done(); scanner.skipTrivia()) {
    const line = scanner.line;
    if (scanner.peek() === '[') {
      const isArray = scanner.peek(1) === '[';
      scanner.pos += isArray ? 2 : 1;
      table = scanner.readKey();
      scanner.pos += isArray ? 2 : 1;
      headers.push({ path: table, line, isArray });
      record(table, line);
    } else {
      const key = scanner.readKey();
      scanner.pos++; // the `=`
      scanner.skipSpaces();
      scanner.skipValue();
      record([...table, ...key], line);
    }
  }
  return {
    headers,
    lineOf(path) {
      for (let length = path.length; length > 0; length--) {
        const line = lines.get(id(path.slice(0, length)));
        if (line !== undefined) return line;
      }
      return undefined;
    },
    hasHeader(path) {
      return headers.some((header) => path.every((part, index) => header.path[index] === part));
    },
  };
}

class Scanner {
  pos = 0;
  line = 1;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }
  /** Moves on, counting the newlines passed. */
  advance(count = 1): void {
    for (let step = 0; step < count && !this.done(); step++) {
      if (this.text[this.pos] === '\n') this.line++;
      this.pos++;
    }
  }
  skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  skipComment(): void {
    while (!this.done() && this.peek() !== '\n') this.pos++;
  }
  /** Whitespace, newlines and comments between statements. */
  skipTrivia(): void {
    for (;;) {
      if (/^[ \t\r\n]$/.test(this.peek())) this.advance();
      else if (this.peek() === '#') this.skipComment();
      else return;
    }
  }

  /** A dotted key such as `a."b.c".d`, as its parts. */
  readKey(): string[] {
    const path: string[] = [];
    for (;;) {
      this.skipSpaces();
      path.push(this.readKeyPart());
      this.skipSpaces();
      if (this.peek() !== '.') return path;
      this.pos++;
    }
  }
  private readKeyPart(): string {
    const start = this.pos;
    const quote = this.peek();
    if (quote === '"' || quote === "'") {
      this.skipString();
      const written = this.text.slice(start, this.pos);
      // Let smol-toml decode the escapes of a quoted key rather than repeat its rules here.
      return quote === '"' ? (parse(`k = ${written}`).k as string) : written.slice(1, -1);
    }
    while (/^[A-Za-z0-9_-]$/.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  skipValue(): void {
    const first = this.peek();
    if (first === '"' || first === "'") this.skipString();
    else if (first === '[' || first === '{') this.skipBracketed();
    else while (!this.done() && this.peek() !== '\n' && this.peek() !== '#') this.pos++;
  }
  private skipString(): void {
    const quote = this.peek();
    const delimiter = quote.repeat(3);
    const multiline = this.text.startsWith(delimiter, this.pos);
    this.advance(multiline ? 3 : 1);
    while (!this.done()) {
      if (quote === '"' && this.peek() === '\\') {
        this.advance(2);
      } else if (multiline ? this.text.startsWith(delimiter, this.pos) : this.peek() === quote) {
        // `""""x"""""`: up to two quotes right before the closing delimiter belong to the content.
        if (multiline) while (this.peek(3) === quote) this.pos++;
        this.advance(multiline ? 3 : 1);
        return;
      } else {
        this.advance();
      }
    }
  }
  /** An array or inline table, which may span lines and hold strings and comments with brackets in them. */
  private skipBracketed(): void {
    let depth = 0;
    do {
      const c = this.peek();
      if (c === '"' || c === "'") {
        this.skipString();
        continue;
      }
      if (c === '#') {
        this.skipComment();
        continue;
      }
      if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') depth--;
      this.advance();
    } while (depth > 0 && !this.done());
  }
}
