// Tokenizer: just enough Python to find statements, brackets and literals. Comments, strings
// (triple-quoted, raw, bytes, f-strings with nested quotes) and line continuations are consumed
// here, so nothing later ever mistakes text inside them for code.
import { SourceProblem } from './problem.js';

type TokenKind = 'name' | 'number' | 'string' | 'op';

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  start: number;
  end: number;
  /** Strings only: the decoded value, undefined for f-strings and escapes this reader does not decode. */
  value?: string | undefined;
  stringType?: 'str' | 'bytes' | 'f';
}

export interface LogicalLine {
  tokens: Token[];
  /** Width of the leading whitespace, tabs to the next multiple of 8 as Python counts them. */
  indent: number;
}

const STRING_PREFIXES = new Set(['r', 'u', 'b', 'br', 'rb', 'f', 'fr', 'rf', 't', 'tr', 'rt']);
const NAME_AT = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const NUMBER_AT =
  /(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)[jJ]?/y;
const OPERATORS_3 = new Set(['**=', '//=', '>>=', '<<=', '...']);
const OPERATORS_2 = new Set(['!=', '%=', '&=', '**', '*=', '+=', '-=', '->', '//', '/=', ':=', '<<', '<=', '==', '>=', '>>', '@=', '^=', '|=']);
const OPERATORS_1 = new Set(['(', ')', '[', ']', '{', '}', ',', ':', ';', '.', '@', '=', '+', '-', '*', '/', '%', '&', '|', '^', '~', '<', '>', '!']);
const CLOSER: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

function newlineLength(text: string, at: number): number {
  if (text[at] === '\n') return 1;
  if (text[at] === '\r') return text[at + 1] === '\n' ? 2 : 1;
  return 0;
}

function indentWidth(prefix: string): number {
  let width = 0;
  for (const char of prefix) {
    if (char === ' ') width += 1;
    else if (char === '\t') width = (Math.floor(width / 8) + 1) * 8;
    else if (char === '\f') width = 0;
    else break;
  }
  return width;
}

export function tokenize(source: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  const open: Array<{ char: string; line: number }> = [];
  let tokens: Token[] = [];
  let indent = 0;
  let pos = source.startsWith('\uFEFF') ? 1 : 0;
  let line = 1;
  let lineStart = pos;

  const emit = (token: Omit<Token, 'line' | 'start' | 'end'>, start: number, end: number): void => {
    if (tokens.length === 0) indent = indentWidth(source.slice(lineStart, start));
    tokens.push({ ...token, line, start, end });
  };
  const endLine = (): void => {
    if (tokens.length > 0) lines.push({ tokens, indent });
    tokens = [];
  };
  const countLines = (from: number, to: number): void => {
    for (let i = from; i < to; ) {
      const newline = newlineLength(source, i);
      if (newline > 0) {
        i += newline;
        line += 1;
        lineStart = i;
      } else i += 1;
    }
  };

  while (pos < source.length) {
    const char = source[pos] as string;
    if (char === ' ' || char === '\t' || char === '\f') {
      pos += 1;
      continue;
    }
    if (char === '#') {
      while (pos < source.length && newlineLength(source, pos) === 0) pos += 1;
      continue;
    }
    if (char === '\\' && newlineLength(source, pos + 1) > 0) {
      countLines(pos, pos + 1 + newlineLength(source, pos + 1));
      pos += 1 + newlineLength(source, pos + 1);
      continue;
    }
    const newline = newlineLength(source, pos);
    if (newline > 0) {
      if (open.length === 0) endLine();
      countLines(pos, pos + newline);
      pos += newline;
      continue;
    }

    NAME_AT.lastIndex = pos;
    const name = NAME_AT.exec(source)?.[0];
    if (name !== undefined) {
      const quote = source[pos + name.length];
      if ((quote === '"' || quote === "'") && STRING_PREFIXES.has(name.toLowerCase())) {
        const string = scanString(source, pos, name, line);
        emit({ kind: 'string', text: source.slice(pos, string.end), value: string.value, stringType: string.type }, pos, string.end);
        countLines(pos, string.end);
        pos = string.end;
      } else {
        emit({ kind: 'name', text: name }, pos, pos + name.length);
        pos += name.length;
      }
      continue;
    }
    if (char === '"' || char === "'") {
      const string = scanString(source, pos, '', line);
      emit({ kind: 'string', text: source.slice(pos, string.end), value: string.value, stringType: string.type }, pos, string.end);
      countLines(pos, string.end);
      pos = string.end;
      continue;
    }
    NUMBER_AT.lastIndex = pos;
    const number = /[0-9.]/.test(char) ? NUMBER_AT.exec(source)?.[0] : undefined;
    if (number !== undefined) {
      emit({ kind: 'number', text: number }, pos, pos + number.length);
      pos += number.length;
      continue;
    }
    const operator = [source.slice(pos, pos + 3), source.slice(pos, pos + 2), char].find(
      (candidate, i) => (i === 0 ? OPERATORS_3 : i === 1 ? OPERATORS_2 : OPERATORS_1).has(candidate),
    );
    if (operator === undefined) throw new SourceProblem(`the file is not valid Python: an unexpected character on line ${line}, column ${pos - source.lastIndexOf('\n', pos - 1)}`, line);
    if (operator === '(' || operator === '[' || operator === '{') open.push({ char: operator, line });
    const opener = CLOSER[operator];
    if (opener !== undefined) {
      const last = open.pop();
      if (last?.char !== opener) throw new SourceProblem(`the file is not valid Python: unmatched \`${operator}\` on line ${line}`, line);
    }
    emit({ kind: 'op', text: operator }, pos, pos + operator.length);
    pos += operator.length;
  }
  const unclosed = open.at(-1);
  if (unclosed) throw new SourceProblem(`the file is not valid Python: \`${unclosed.char}\` on line ${unclosed.line} is never closed`, unclosed.line);
  endLine();
  return lines;
}

/** Scans the string literal at `start` (prefix included); returns its end and decoded value. */
function scanString(source: string, start: number, prefix: string, line: number): { end: number; value: string | undefined; type: 'str' | 'bytes' | 'f' } {
  const lower = prefix.toLowerCase();
  const quoteAt = start + prefix.length;
  const quote = source[quoteAt] as string;
  const delimiter = source.startsWith(quote.repeat(3), quoteAt) ? quote.repeat(3) : quote;
  const formatted = lower.includes('f') || lower.includes('t');
  const unclosed = (): SourceProblem => new SourceProblem(`the file is not valid Python: the string that starts on line ${line} is never closed`, line);
  let i = quoteAt + delimiter.length;
  for (;;) {
    if (i >= source.length) throw unclosed();
    const char = source[i];
    if (char === '\\') {
      i += 1 + Math.max(newlineLength(source, i + 1), 1);
      continue;
    }
    if (delimiter.length === 1 && newlineLength(source, i) > 0) throw unclosed();
    if (source.startsWith(delimiter, i)) break;
    if (formatted && char === '{') {
      if (source[i + 1] === '{') i += 2;
      else i = skipReplacementField(source, i + 1, line);
      continue;
    }
    i += 1;
  }
  const end = i + delimiter.length;
  // Python reads source with universal newlines, so a literal never holds a \r from the file.
  const body = source.slice(quoteAt + delimiter.length, i).replace(/\r\n?/g, '\n');
  if (formatted) return { end, value: undefined, type: 'f' };
  const bytes = lower.includes('b');
  const value = lower.includes('r') ? body : decodeEscapes(body, bytes);
  return { end, value, type: bytes ? 'bytes' : 'str' };
}

/** Skips an f-string `{...}` field (nested strings, brackets and a `:format` spec included); returns the index after its `}`. */
function skipReplacementField(source: string, start: number, line: number): number {
  let depth = 0;
  let inFormatSpec = false;
  let i = start;
  while (i < source.length) {
    const char = source[i] as string;
    if (inFormatSpec) {
      if (char === '{') i = skipReplacementField(source, i + 1, line);
      else if (char === '}') return i + 1;
      else i += char === '\\' ? 2 : 1;
      continue;
    }
    NAME_AT.lastIndex = i;
    const name = NAME_AT.exec(source)?.[0];
    if (name !== undefined) {
      const quote = source[i + name.length];
      i = (quote === '"' || quote === "'") && STRING_PREFIXES.has(name.toLowerCase()) ? scanString(source, i, name, line).end : i + name.length;
      continue;
    }
    if (char === '"' || char === "'") {
      i = scanString(source, i, '', line).end;
      continue;
    }
    if (char === '(' || char === '[' || char === '{') depth += 1;
    else if (char === ')' || char === ']') depth -= 1;
    else if (char === '}') {
      if (depth === 0) return i + 1;
      depth -= 1;
    } else if (char === ':' && depth === 0) inFormatSpec = true;
    i += 1;
  }
  throw new SourceProblem(`the file is not valid Python: an f-string field on line ${line} is never closed`, line);
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Python's escape sequences; undefined for `\N{...}`, which needs the Unicode name table. */
function decodeEscapes(body: string, bytes: boolean): string | undefined {
  let out = '';
  for (let i = 0; i < body.length; i += 1) {
    const char = body[i] as string;
    if (char !== '\\' || i + 1 >= body.length) {
      out += char;
      continue;
    }
    i += 1;
    const next = body[i] as string;
    const simple = SIMPLE_ESCAPES[next];
    if (next === '\n') continue;
    if (simple !== undefined) out += simple;
    else if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(body.slice(i))?.[0] ?? next;
      out += String.fromCodePoint(parseInt(digits, 8));
      i += digits.length - 1;
    } else if (next === 'x' || (!bytes && (next === 'u' || next === 'U'))) {
      const length = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + length);
      if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex)) return undefined;
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i += length;
    } else if (next === 'N' && !bytes) return undefined;
    else out += `\\${next}`;
  }
  return out;
}
