// A Prefect flow's name and parameter schema, read from its Python source without running it.
//
// `prefect deploy` imports the flow file and asks pydantic for the schema. This tool configures
// deployments from machines that have neither the flows' dependencies nor (necessarily) Python, so
// it reads the source with a small tokenizer and reproduces what Prefect 3.7.2 derives for the
// annotations flows actually use. test/real/python-flow.test.ts compares the two on every fixture
// flow, so any drift from Prefect shows up there first.
//
// Where reading cannot replace running: an annotation this reader does not know (a class from another
// module, a pydantic model, an Enum, `Annotated[..., Field(...)]`) gets the open schema `{}` and a
// warning, which is what Prefect itself deploys when it cannot import the flow's dependencies. A
// default it cannot evaluate (a call, arithmetic) is an error instead: guessing would deploy a wrong
// default, where a looser type only validates less.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { IssueList, Source } from '../errors.js';
import type { JsonValue } from './types.js';

export interface FlowInfo {
  /** `name=` of the flow decorator, or Prefect's default: the function name with `_` replaced by `-`. */
  flowName: string;
  functionName: string;
  /** What Prefect sends as the deployment's `parameter_openapi_schema`. */
  parameterSchema: { [key: string]: JsonValue };
  /** 1-based line of the `def` (of `async` for `async def`). */
  line: number;
  /** The flow's own description: `description=` of the decorator, else the cleaned docstring; absent when neither is known. */
  description?: string | undefined;
  /** The flow's own version: `version=` of the decorator, else the MD5 of the file, as Prefect computes it. */
  version: string;
  /** Parameters whose schema had to be left open; the flow still deploys, but less precisely than with Prefect. */
  warnings: string[];
}

export interface FlowProblem {
  problem: string;
  line?: number | undefined;
}

/** What the deployment itself declares about its flow, for what the source alone cannot tell. */
export interface DeclaredFlow {
  /** `flow_name` of the deployment: taken when `@flow(name=...)` is not a literal (a variable, an f-string, `**options`). */
  flowName?: string | undefined;
}

type Schema = { [key: string]: JsonValue };

/** Finds `def`/`async def` <functionName> at module top level, its decorators and signature. Pure. */
export function analyzeFlowSource(source: string, functionName: string, declared: DeclaredFlow = {}): FlowInfo | FlowProblem {
  try {
    return analyzeModule(source, functionName, declared);
  } catch (error) {
    if (error instanceof SourceProblem) return error.line === undefined ? { problem: error.message } : { problem: error.message, line: error.line };
    throw error;
  }
}

/**
 * Reads <flowsDir>/<path> of the `path:function` entrypoint and analyses the function. Problems become
 * errors at `source` (the deployment that names the entrypoint); open schemas become warnings.
 */
export function analyzeEntrypoint(flowsDir: string, entrypoint: string, source: Source, issues: IssueList, declared: DeclaredFlow = {}): FlowInfo | undefined {
  const colon = entrypoint.lastIndexOf(':');
  const path = entrypoint.slice(0, Math.max(colon, 0));
  const functionName = entrypoint.slice(colon + 1);
  if (colon <= 0 || !IDENTIFIER.test(functionName)) {
    issues.error(
      source,
      `entrypoint \`${entrypoint}\` must have the form \`path/to/file.py:flow_function\`: a Python file relative to --flows-dir, a colon, and the name of a top-level flow function`,
    );
    return undefined;
  }
  const file = resolve(flowsDir, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(error)})`;
    issues.error(source, `entrypoint \`${entrypoint}\`: the flow file ${file} ${why}; the path is taken relative to --flows-dir ${flowsDir}`);
    return undefined;
  }
  const result = analyzeFlowSource(text, functionName, declared);
  if ('problem' in result) {
    const where = result.line === undefined ? file : `${file}:${result.line}`;
    issues.error(source, `entrypoint \`${entrypoint}\` (${where}): ${result.problem}`);
    return undefined;
  }
  for (const warning of result.warnings) issues.warn(source, `entrypoint \`${entrypoint}\` (${file}:${result.line}): ${warning}`);
  return result;
}

/** A reason the source cannot be read as a flow; carries the line when one is to blame. */
class SourceProblem extends Error {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(message);
    this.line = line;
  }
}

const IDENTIFIER = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u;

// ---------------------------------------------------------------------------------------------
// Tokenizer: just enough Python to find statements, brackets and literals. Comments, strings
// (triple-quoted, raw, bytes, f-strings with nested quotes) and line continuations are consumed
// here, so nothing later ever mistakes text inside them for code.

type TokenKind = 'name' | 'number' | 'string' | 'op';

interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  start: number;
  end: number;
  /** Strings only: the decoded value, undefined for f-strings and escapes this reader does not decode. */
  value?: string | undefined;
  stringType?: 'str' | 'bytes' | 'f';
}

interface LogicalLine {
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

function tokenize(source: string): LogicalLine[] {
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
    if (operator === undefined) throw new SourceProblem(`the file is not valid Python: unexpected character ${JSON.stringify(char)} on line ${line}`, line);
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

// ---------------------------------------------------------------------------------------------
// Expressions: the subset that appears in decorators, annotations and defaults. Anything else
// (arithmetic, calls in defaults, lambdas, comprehensions) parses to `opaque` and is judged by
// whoever needs its value.

type Expr =
  | { kind: 'name'; id: string; text: string }
  | { kind: 'attribute'; value: Expr; attr: string; text: string }
  | { kind: 'subscript'; value: Expr; index: Expr; text: string }
  | { kind: 'call'; func: Expr; args: Expr[]; keywords: Array<{ name: string | undefined; value: Expr }>; text: string }
  | { kind: 'constant'; type: 'str' | 'bytes' | 'int' | 'float' | 'bool' | 'none'; value: string | number | boolean | null; text: string }
  | { kind: 'ellipsis'; text: string }
  | { kind: 'tuple' | 'list' | 'set'; items: Expr[]; text: string }
  | { kind: 'dict'; entries: Array<{ key: Expr; value: Expr }>; text: string }
  | { kind: 'unary'; op: '-' | '+'; operand: Expr; text: string }
  | { kind: 'union'; left: Expr; right: Expr; text: string }
  | { kind: 'opaque'; text: string };

class NotModelled extends Error {}

const KEYWORDS = new Set(['lambda', 'not', 'and', 'or', 'if', 'else', 'for', 'in', 'is', 'await', 'yield', 'async', 'def', 'class', 'return', 'import', 'from']);

function parseExpression(tokens: Token[], source: string): Expr {
  const text = tokens.length === 0 ? '' : source.slice((tokens[0] as Token).start, (tokens.at(-1) as Token).end);
  try {
    const parser = new ExpressionParser(tokens, source);
    const expr = parser.expression();
    if (!parser.done()) return { kind: 'opaque', text };
    return expr;
  } catch (error) {
    if (error instanceof NotModelled) return { kind: 'opaque', text };
    throw error;
  }
}

class ExpressionParser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  done(): boolean {
    return this.pos >= this.tokens.length;
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  private isOp(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token?.kind === 'op' && token.text === text;
  }

  private next(): Token {
    const token = this.tokens[this.pos];
    if (!token) throw new NotModelled();
    this.pos += 1;
    return token;
  }

  private expect(text: string): void {
    if (!this.isOp(text)) throw new NotModelled();
    this.pos += 1;
  }

  private textFrom(startIndex: number): string {
    const first = this.tokens[startIndex] as Token;
    const last = this.tokens[this.pos - 1] as Token;
    return this.source.slice(first.start, last.end);
  }

  expression(): Expr {
    const start = this.pos;
    let left = this.unary();
    while (this.isOp('|')) {
      this.pos += 1;
      const right = this.unary();
      left = { kind: 'union', left, right, text: this.textFrom(start) };
    }
    return left;
  }

  private unary(): Expr {
    const start = this.pos;
    if (this.isOp('-') || this.isOp('+')) {
      const op = this.next().text as '-' | '+';
      const operand = this.unary();
      return { kind: 'unary', op, operand, text: this.textFrom(start) };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    const start = this.pos;
    let expr = this.atom();
    for (;;) {
      if (this.isOp('.')) {
        this.pos += 1;
        const attr = this.next();
        if (attr.kind !== 'name') throw new NotModelled();
        expr = { kind: 'attribute', value: expr, attr: attr.text, text: this.textFrom(start) };
      } else if (this.isOp('[')) {
        this.pos += 1;
        const indexStart = this.pos;
        const { items, trailingComma } = this.sequence(']');
        const index: Expr = items.length === 1 && !trailingComma ? (items[0] as Expr) : { kind: 'tuple', items, text: this.textFrom(indexStart) };
        this.expect(']');
        expr = { kind: 'subscript', value: expr, index, text: this.textFrom(start) };
      } else if (this.isOp('(')) {
        this.pos += 1;
        expr = this.callArguments(expr, start);
      } else return expr;
    }
  }

  /**
   * Each argument is parsed on its own, so one this reader does not model (`flow_run_name=f"..."`,
   * `retries=2 * 3`) leaves the others, `name=` above all, readable.
   */
  private callArguments(func: Expr, start: number): Expr {
    const args: Expr[] = [];
    const keywords: Array<{ name: string | undefined; value: Expr }> = [];
    while (!this.isOp(')')) {
      const from = this.pos;
      let depth = 0;
      while (this.pos < this.tokens.length) {
        const token = this.tokens[this.pos] as Token;
        if (token.kind === 'op' && '([{'.includes(token.text)) depth += 1;
        else if (token.kind === 'op' && ')]}'.includes(token.text)) {
          if (depth === 0) break;
          depth -= 1;
        } else if (depth === 0 && token.kind === 'op' && token.text === ',') break;
        this.pos += 1;
      }
      const argument = this.tokens.slice(from, this.pos);
      const [first, second] = argument;
      if (first?.kind === 'op' && first.text === '**') keywords.push({ name: undefined, value: parseExpression(argument.slice(1), this.source) });
      else if (first?.kind === 'name' && second?.kind === 'op' && second.text === '=') {
        keywords.push({ name: first.text, value: parseExpression(argument.slice(2), this.source) });
      } else args.push(parseExpression(argument, this.source));
      if (!this.isOp(',')) break;
      this.pos += 1;
    }
    this.expect(')');
    return { kind: 'call', func, args, keywords, text: this.textFrom(start) };
  }

  /** Comma-separated expressions up to (not including) `close`. */
  private sequence(close: string): { items: Expr[]; trailingComma: boolean } {
    const items: Expr[] = [];
    let trailingComma = false;
    while (!this.isOp(close)) {
      items.push(this.expression());
      trailingComma = false;
      if (!this.isOp(',')) break;
      this.pos += 1;
      trailingComma = true;
    }
    return { items, trailingComma };
  }

  private atom(): Expr {
    const start = this.pos;
    const token = this.next();
    if (token.kind === 'name') {
      if (token.text === 'None') return { kind: 'constant', type: 'none', value: null, text: token.text };
      if (token.text === 'True' || token.text === 'False') return { kind: 'constant', type: 'bool', value: token.text === 'True', text: token.text };
      if (KEYWORDS.has(token.text)) throw new NotModelled();
      return { kind: 'name', id: token.text, text: token.text };
    }
    if (token.kind === 'number') return numberConstant(token.text);
    if (token.kind === 'string') {
      const parts = [token];
      while (this.peek()?.kind === 'string') parts.push(this.next());
      const types = new Set(parts.map((part) => part.stringType));
      if (types.has('f') || types.size > 1 || parts.some((part) => part.value === undefined)) throw new NotModelled();
      const type = types.has('bytes') ? 'bytes' : 'str';
      return { kind: 'constant', type, value: parts.map((part) => part.value).join(''), text: this.textFrom(start) };
    }
    if (token.text === '...') return { kind: 'ellipsis', text: token.text };
    if (token.text === '(') {
      const { items, trailingComma } = this.sequence(')');
      this.expect(')');
      if (items.length === 1 && !trailingComma) return items[0] as Expr;
      return { kind: 'tuple', items, text: this.textFrom(start) };
    }
    if (token.text === '[') {
      const { items } = this.sequence(']');
      this.expect(']');
      return { kind: 'list', items, text: this.textFrom(start) };
    }
    if (token.text === '{') return this.dictOrSet(start);
    throw new NotModelled();
  }

  private dictOrSet(start: number): Expr {
    if (this.isOp('}')) {
      this.pos += 1;
      return { kind: 'dict', entries: [], text: this.textFrom(start) };
    }
    const first = this.expression();
    if (!this.isOp(':')) {
      const items = [first];
      while (this.isOp(',')) {
        this.pos += 1;
        if (this.isOp('}')) break;
        items.push(this.expression());
      }
      this.expect('}');
      return { kind: 'set', items, text: this.textFrom(start) };
    }
    const entries: Array<{ key: Expr; value: Expr }> = [];
    let key = first;
    for (;;) {
      this.expect(':');
      entries.push({ key, value: this.expression() });
      if (!this.isOp(',')) break;
      this.pos += 1;
      if (this.isOp('}')) break;
      key = this.expression();
    }
    this.expect('}');
    return { kind: 'dict', entries, text: this.textFrom(start) };
  }
}

function numberConstant(text: string): Expr {
  const digits = text.replace(/_/g, '');
  if (/[jJ]$/.test(digits)) return { kind: 'opaque', text };
  if (/^0[xob]/i.test(digits)) return intConstant(BigInt(digits.toLowerCase()), text);
  if (!/[.eE]/.test(digits)) return intConstant(BigInt(digits), text);
  const value = Number(digits);
  // 1e400 is inf in Python, which JSON cannot hold.
  return Number.isFinite(value) ? { kind: 'constant', type: 'float', value, text } : { kind: 'opaque', text };
}

function intConstant(value: bigint, text: string): Expr {
  // JSON numbers in JavaScript lose digits past 2^53; such a default cannot be written faithfully.
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return { kind: 'opaque', text };
  return { kind: 'constant', type: 'int', value: Number(value), text };
}

// ---------------------------------------------------------------------------------------------
// Module scan: imports and constants bound before the flow's `def`, and the `def` itself.

/** What a module-level name is bound to when the flow is defined. */
type Binding = { kind: 'module'; path: string } | { kind: 'value'; expr: Expr } | { kind: 'opaque' };
type Scope = Map<string, Binding>;

interface FunctionSite {
  name: string;
  line: number;
  header: Token[];
  decorators: Expr[];
  /** The first statement of the body, for the docstring. */
  firstStatement: Token[] | undefined;
  scope: Scope;
}

interface ModuleScan {
  site: FunctionSite | undefined;
  futureAnnotations: boolean;
  /** Top-level functions with a flow decorator, to suggest when the entrypoint names none. */
  flowFunctions: string[];
}

function splitTopLevel(tokens: Token[], separator: string): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === 'op' && '([{'.includes(token.text)) depth += 1;
    if (token.kind === 'op' && ')]}'.includes(token.text)) depth -= 1;
    if (depth === 0 && token.kind === 'op' && token.text === separator) parts.push([]);
    else (parts.at(-1) as Token[]).push(token);
  }
  return parts;
}

function isName(token: Token | undefined, text: string): boolean {
  return token?.kind === 'name' && token.text === text;
}

function defName(tokens: Token[]): string | undefined {
  const at = isName(tokens[0], 'async') ? 1 : 0;
  if (!isName(tokens[at], 'def') && !isName(tokens[at], 'class')) return undefined;
  const name = tokens[at + 1];
  return name?.kind === 'name' ? name.text : undefined;
}

const COMPOUND_KEYWORDS = new Set(['if', 'elif', 'else', 'while', 'for', 'try', 'finally', 'with', 'async']);

function scanModule(lines: LogicalLine[], functionName: string, source: string): ModuleScan {
  const scope: Scope = new Map();
  const flowFunctions: string[] = [];
  let futureAnnotations = false;
  let site: FunctionSite | undefined;
  let decorators: Expr[] = [];
  // The body of a def or class is not module level: its assignments and imports bind nothing here.
  let bodyOf: number | undefined;
  // An `except` block is the fallback of an import that works wherever Prefect can load the flow
  // (`try: from x import Y` / `except ImportError: Y = None`), so its bindings are not the ones in effect.
  let exceptOf: number | undefined;

  for (const [index, { tokens, indent }] of lines.entries()) {
    if (bodyOf !== undefined && indent > bodyOf) continue;
    bodyOf = undefined;
    if (exceptOf !== undefined && indent > exceptOf) continue;
    exceptOf = undefined;
    const first = tokens[0] as Token;
    if (isName(first, 'except')) {
      exceptOf = indent;
      continue;
    }
    if (first.kind === 'op' && first.text === '@') {
      decorators.push(parseExpression(tokens.slice(1), source));
      continue;
    }
    const name = defName(tokens);
    if (name !== undefined) {
      const afterColon = inlineBody(tokens);
      if (afterColon.length === 0) bodyOf = indent;
      if (indent === 0 && !isName(first, 'class')) {
        if (decorators.some(isFlowDecoratorText)) flowFunctions.push(name);
        if (name === functionName) {
          const next = lines[index + 1];
          site = {
            name,
            line: first.line,
            header: tokens,
            decorators,
            firstStatement: afterColon.length > 0 ? afterColon : next && next.indent > indent ? next.tokens : undefined,
            scope: new Map(scope),
          };
        }
      }
      scope.set(name, { kind: 'opaque' });
      decorators = [];
      continue;
    }
    decorators = [];
    // A compound statement's header (`if x: y = 1`) is not an assignment; its block follows on its own lines.
    if (first.kind === 'name' && COMPOUND_KEYWORDS.has(first.text)) continue;
    for (const statement of splitTopLevel(tokens, ';')) {
      if (isName(statement[0], 'import')) bindImport(statement, scope);
      else if (isName(statement[0], 'from')) futureAnnotations = bindFromImport(statement, scope) || futureAnnotations;
      else bindAssignment(statement, { topLevel: indent === 0, scope, source });
    }
  }
  return { site, futureAnnotations, flowFunctions };
}

/** The tokens after the `:` that ends a def header, when the body is on the same line. */
function inlineBody(header: Token[]): Token[] {
  let depth = 0;
  for (const [i, token] of header.entries()) {
    if (token.kind !== 'op') continue;
    if ('([{'.includes(token.text)) depth += 1;
    else if (')]}'.includes(token.text)) depth -= 1;
    else if (depth === 0 && token.text === ':') return header.slice(i + 1);
  }
  return [];
}

function dottedName(tokens: Token[]): string {
  return tokens.map((token) => token.text).join('');
}

/** `import a.b.c` binds `a`; `import a.b as c` binds `c` to `a.b`. */
function bindImport(statement: Token[], scope: Scope): void {
  for (const clause of splitTopLevel(statement.slice(1), ',')) {
    const asAt = clause.findIndex((token) => isName(token, 'as'));
    const path = dottedName(asAt === -1 ? clause : clause.slice(0, asAt));
    const alias = asAt === -1 ? undefined : clause[asAt + 1]?.text;
    if (alias !== undefined) scope.set(alias, { kind: 'module', path });
    else {
      const head = path.split('.')[0];
      if (head) scope.set(head, { kind: 'module', path: head });
    }
  }
}

/** `from m import x as y` binds `y` to `m.x`; returns whether it is `from __future__ import annotations`. */
function bindFromImport(statement: Token[], scope: Scope): boolean {
  const importAt = statement.findIndex((token) => isName(token, 'import'));
  if (importAt === -1) return false;
  const module = dottedName(statement.slice(1, importAt));
  const names = statement.slice(importAt + 1).filter((token) => !(token.kind === 'op' && (token.text === '(' || token.text === ')')));
  let future = false;
  for (const clause of splitTopLevel(names, ',')) {
    const imported = clause[0]?.text;
    if (imported === undefined || imported === '*') continue;
    const alias = isName(clause[1], 'as') ? (clause[2]?.text ?? imported) : imported;
    scope.set(alias, { kind: 'module', path: `${module}.${imported}` });
    if (module === '__future__' && imported === 'annotations') future = true;
  }
  return future;
}

/**
 * `NAME = value` at the top of the module binds a value (a constant for defaults, an alias for
 * annotations); any other assignment only hides what the name meant before.
 */
function bindAssignment(statement: Token[], { topLevel, scope, source }: { topLevel: boolean; scope: Scope; source: string }): void {
  const parts = splitTopLevel(statement, '=');
  const augmented = statement.find((token) => token.kind === 'op' && token.text.length > 1 && token.text.endsWith('=') && !['==', '!=', '<=', '>=', ':='].includes(token.text));
  if (augmented) {
    const target = statement[0];
    if (target?.kind === 'name') scope.set(target.text, { kind: 'opaque' });
    return;
  }
  if (parts.length < 2) return;
  const value = parts.at(-1) as Token[];
  for (const target of parts.slice(0, -1)) {
    const annotated = splitTopLevel(target, ':')[0] as Token[];
    if (topLevel && annotated.length === 1 && annotated[0]?.kind === 'name') {
      scope.set(annotated[0].text, { kind: 'value', expr: parseExpression(value, source) });
      continue;
    }
    for (const token of annotated) if (token.kind === 'name') scope.set(token.text, { kind: 'opaque' });
  }
}

// ---------------------------------------------------------------------------------------------
// The flow itself.

const DEF_NOTE = 'Prefect deploys only functions decorated with `@flow` (from prefect)';
/** prefect.types.names.BANNED_CHARACTERS: Prefect refuses flow names with these. */
const BANNED_IN_NAME = ['/', '%', '&', '>', '<'];
/** Prefect's flow decorator refuses these parameter names (`raise_for_reserved_arguments`). */
const RESERVED_PARAMETERS = new Set(['return_state', 'wait_for']);

function isFlowDecoratorText(decorator: Expr): boolean {
  const target = decorator.kind === 'call' ? decorator.func : decorator;
  return target.text === 'flow' || target.text === 'prefect.flow';
}

function isFlowDecorator(decorator: Expr, scope: Scope): boolean {
  const target = decorator.kind === 'call' ? decorator.func : decorator;
  const path = qualifiedName(target, { scope, forwardReference: false });
  return isFlowDecoratorText(decorator) || path === 'prefect.flow' || path === 'prefect.flows.flow';
}

function analyzeModule(source: string, functionName: string, declared: DeclaredFlow): FlowInfo {
  const lines = tokenize(source);
  const { site, futureAnnotations, flowFunctions } = scanModule(lines, functionName, source);
  if (!site) {
    const known = flowFunctions.length > 0 ? `; its flow functions are: ${flowFunctions.join(', ')}` : '; it defines no flow functions';
    throw new SourceProblem(`there is no top-level function \`${functionName}\`${known}`);
  }
  const decorator = site.decorators.find((candidate) => isFlowDecorator(candidate, site.scope));
  if (!decorator) {
    throw new SourceProblem(`\`${functionName}\` is not decorated with @flow; ${DEF_NOTE}: decorate it, or point the entrypoint at a flow function`, site.line);
  }
  const options = decoratorOptions(decorator, { site, declaredName: declared.flowName });
  const docstring = readDocstring(site.firstStatement, source);
  const cleaned = docstring === undefined ? undefined : cleandoc(docstring);
  const { schema, warnings } = parameterSchema({
    site,
    source,
    futureAnnotations,
    descriptions: cleaned === undefined ? new Map() : parameterDescriptions(cleaned),
  });
  const description = options.description ?? (cleaned || undefined);
  return {
    flowName: options.name ?? functionName.replace(/_/g, '-'),
    functionName,
    parameterSchema: schema,
    line: site.line,
    ...(description === undefined ? {} : { description }),
    version: options.version ?? createHash('md5').update(source, 'utf8').digest('hex'),
    warnings,
  };
}

interface DecoratorOptions {
  name?: string | undefined;
  description?: string | undefined;
  version?: string | undefined;
}

/** `name=`, `description=` and `version=` of `@flow(...)`; an empty or None value means Prefect's default. */
function decoratorOptions(decorator: Expr, { site, declaredName }: { site: FunctionSite; declaredName: string | undefined }): DecoratorOptions {
  if (decorator.kind !== 'call') return {};
  const keyword = (name: string): Expr | undefined => decorator.keywords.find((candidate) => candidate.name === name)?.value;
  const spread = decorator.keywords.some((candidate) => candidate.name === undefined);
  const text = (name: string): string | undefined => {
    const expr = keyword(name);
    if (expr === undefined) return undefined;
    const literal = literalValue(expr, site.scope);
    return typeof literal?.value === 'string' && literal.value !== '' ? literal.value : undefined;
  };
  const nameExpr = keyword('name');
  const unreadable = nameExpr === undefined ? spread : literalValue(nameExpr, site.scope) === undefined;
  // Only the running code knows such a name; the deployment's own `flow_name` is the next best source.
  if (unreadable && declaredName !== undefined) return { name: declaredName, description: text('description'), version: text('version') };
  if (nameExpr === undefined && spread) {
    throw new SourceProblem(
      `the flow name of \`${site.name}\` comes from \`**\` arguments of @flow and cannot be read without running the code; set \`flow_name\` in the deployment`,
      site.line,
    );
  }
  if (nameExpr !== undefined) {
    const literal = literalValue(nameExpr, site.scope);
    if (literal === undefined || (literal.value !== null && typeof literal.value !== 'string')) {
      throw new SourceProblem(
        `the flow name of \`${site.name}\` is \`name=${nameExpr.text}\`, which is not a string literal and cannot be read without running the code; set \`flow_name\` in the deployment`,
        site.line,
      );
    }
  }
  const name = text('name');
  const banned = BANNED_IN_NAME.filter((char) => name?.includes(char));
  if (name !== undefined && banned.length > 0) {
    throw new SourceProblem(`the flow name ${JSON.stringify(name)} contains ${banned.join(' ')}, which Prefect refuses in names; rename the flow`, site.line);
  }
  return { name, description: text('description'), version: text('version') };
}

/** The docstring: a statement made of plain string literals only (not bytes, not f-strings). */
function readDocstring(statement: Token[] | undefined, source: string): string | undefined {
  if (!statement || statement[0]?.kind !== 'string') return undefined;
  const expr = parseExpression(splitTopLevel(statement, ';')[0] as Token[], source);
  return expr.kind === 'constant' && expr.type === 'str' ? (expr.value as string) : undefined;
}

interface Parameter {
  name: string;
  line: number;
  variadic: boolean;
  annotation: Token[] | undefined;
  default: Token[] | undefined;
}

function signatureParameters(site: FunctionSite): Parameter[] {
  const header = site.header;
  const open = header.findIndex((token) => token.kind === 'op' && token.text === '(');
  let depth = 0;
  let close = open;
  for (let i = open; i < header.length; i += 1) {
    const token = header[i] as Token;
    if (token.kind === 'op' && '([{'.includes(token.text)) depth += 1;
    if (token.kind === 'op' && ')]}'.includes(token.text)) depth -= 1;
    if (depth === 0) {
      close = i;
      break;
    }
  }
  if (open === -1 || close <= open) throw new SourceProblem('the function has no parameter list that this reader understands', site.line);
  const inside = header.slice(open + 1, close);
  const pieces = splitTopLevel(inside, ',');
  if (pieces.length > 0 && (pieces.at(-1) as Token[]).length === 0) pieces.pop();
  const parameters: Parameter[] = [];
  let keywordOnly = false;
  let defaulted = false;
  for (const piece of pieces) {
    const first = piece[0];
    if (piece.length === 1 && first?.kind === 'op' && (first.text === '/' || first.text === '*')) {
      keywordOnly ||= first.text === '*';
      continue;
    }
    const variadic = first?.kind === 'op' && (first.text === '*' || first.text === '**');
    keywordOnly ||= variadic;
    const rest = variadic ? piece.slice(1) : piece;
    const [declaration = [], ...defaultParts] = splitTopLevel(rest, '=');
    const [nameTokens = [], ...annotationParts] = splitTopLevel(declaration, ':');
    const name = nameTokens[0];
    if (nameTokens.length !== 1 || name?.kind !== 'name' || annotationParts.length > 1 || defaultParts.length > 1 || (variadic && defaultParts.length > 0)) {
      const text = piece.map((token) => token.text).join(' ');
      throw new SourceProblem(`the parameter \`${text}\` of the signature is not valid Python`, first?.line ?? site.line);
    }
    // Python refuses to compile such a signature, so Prefect could never load the flow.
    if (!keywordOnly && defaulted && defaultParts.length === 0) {
      throw new SourceProblem(`the parameter \`${name.text}\` has no default but follows one that has: the signature is not valid Python`, name.line);
    }
    defaulted ||= defaultParts.length > 0;
    parameters.push({ name: name.text, line: name.line, variadic, annotation: annotationParts[0], default: defaultParts[0] });
  }
  return parameters;
}

/** Mirrors prefect.utilities.callables.parameter_schema + ParameterSchema.model_dump(exclude_unset=True). */
function parameterSchema({ site, source, futureAnnotations, descriptions }: {
  site: FunctionSite;
  source: string;
  futureAnnotations: boolean;
  descriptions: Map<string, string>;
}): { schema: Schema; warnings: string[] } {
  const properties: Schema = {};
  const required: string[] = [];
  const warnings: string[] = [];
  for (const [position, parameter] of signatureParameters(site).entries()) {
    const { name } = parameter;
    // Prefect skips these as implicit, but still counts them in `position`.
    if (name === 'self' || name === 'cls') continue;
    if (name.startsWith('_')) {
      throw new SourceProblem(`the parameter \`${name}\` starts with an underscore, and Prefect (pydantic) refuses such flows; rename it`, parameter.line);
    }
    if (RESERVED_PARAMETERS.has(name) || name === 'model_config') {
      throw new SourceProblem(`the parameter name \`${name}\` is reserved by Prefect, which refuses the flow; rename it`, parameter.line);
    }
    let schema: Schema = {};
    if (parameter.annotation) {
      const annotation = parseExpression(parameter.annotation, source);
      try {
        // With `from __future__ import annotations` every annotation is a string that Prefect
        // evaluates, so a quoted annotation is a string inside a string: a nested forward reference.
        schema = typeSchema(annotation, { scope: site.scope, forwardReference: false, nested: futureAnnotations, depth: 0 });
      } catch (error) {
        if (!(error instanceof Unmappable)) throw error;
        if (error.reason !== undefined) {
          warnings.push(
            `parameter \`${name}\`: ${error.reason}, so its schema is left open (any value), as Prefect does when it cannot import the flow's dependencies; ` +
              'use one of the annotations openem-config translates (str, int, float, bool, UUID, datetime, list/dict/tuple/set, Optional, Union, Literal) for a precise schema',
          );
        }
      }
    }
    const property: Schema = { ...schema };
    if (parameter.default) {
      const expr = parseExpression(parameter.default, source);
      const literal = literalValue(expr, site.scope);
      if (literal === undefined) {
        throw new SourceProblem(
          `the default of parameter \`${name}\` is \`${expr.text}\`, which cannot be evaluated without running the code; ` +
            'use a literal (number, string, True/False/None, list, tuple or dict of those) or a module constant assigned one',
          parameter.line,
        );
      }
      property.default = literal.value;
    } else required.push(name);
    const description = descriptions.get(name);
    if (description !== undefined) property.description = description;
    property.position = position;
    property.title = name;
    properties[name] = sortLikePydantic(property, name);
  }
  const schema: Schema = { title: 'Parameters', type: 'object', properties };
  if (required.length > 0) schema.required = required;
  return { schema, warnings };
}

/** pydantic's GenerateJsonSchema._sort_recursive: keys sorted, except directly under `properties` and `default`. */
function sortLikePydantic(value: JsonValue, parentKey: string | undefined): JsonValue;
function sortLikePydantic(value: Schema, parentKey: string | undefined): Schema;
function sortLikePydantic(value: JsonValue, parentKey: string | undefined): JsonValue {
  if (Array.isArray(value)) return value.map((item) => sortLikePydantic(item, parentKey));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (parentKey !== 'properties' && parentKey !== 'default') keys.sort();
  const sorted: Schema = {};
  for (const key of keys) sorted[key] = sortLikePydantic(value[key] as JsonValue, key);
  return sorted;
}

// ---------------------------------------------------------------------------------------------
// Literal values, as pydantic writes a default into the schema (tuples become lists).

function literalValue(expr: Expr, scope: Scope, depth = 0): { value: JsonValue } | undefined {
  if (depth > 20) return undefined;
  switch (expr.kind) {
    case 'constant':
      if (expr.type === 'bytes') {
        // pydantic writes bytes as UTF-8 text; keep to ASCII, where that is unambiguous.
        return /^[\x00-\x7f]*$/.test(expr.value as string) ? { value: expr.value } : undefined;
      }
      return { value: expr.value };
    case 'unary': {
      const operand = literalValue(expr.operand, scope, depth + 1);
      if (typeof operand?.value !== 'number') return undefined;
      return { value: expr.op === '-' ? -operand.value : operand.value };
    }
    case 'tuple':
    case 'list': {
      const items: JsonValue[] = [];
      for (const item of expr.items) {
        const value = literalValue(item, scope, depth + 1);
        if (value === undefined) return undefined;
        items.push(value.value);
      }
      return { value: items };
    }
    case 'dict': {
      const object: { [key: string]: JsonValue } = {};
      for (const entry of expr.entries) {
        const key = literalValue(entry.key, scope, depth + 1);
        const value = literalValue(entry.value, scope, depth + 1);
        // Python writes an int key as its decimal text; other non-string keys have no safe JSON form.
        const isIntKey = entry.key.kind === 'constant' && entry.key.type === 'int';
        if (key === undefined || value === undefined || !(typeof key.value === 'string' || isIntKey)) return undefined;
        object[String(key.value)] = value.value;
      }
      return { value: object };
    }
    case 'name': {
      const binding = scope.get(expr.id);
      return binding?.kind === 'value' ? literalValue(binding.expr, scope, depth + 1) : undefined;
    }
    default:
      // Sets have no order Python guarantees; calls, arithmetic and the rest need the interpreter.
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Annotations to JSON schema, as pydantic 2 (Prefect 3.7.2's) generates it.

/** Thrown when an annotation has no translation here; `reason` undefined means Prefect itself gives `{}`. */
class Unmappable extends Error {
  readonly reason: string | undefined;
  constructor(reason: string | undefined) {
    super(reason ?? 'unmappable');
    this.reason = reason;
  }
}

interface NameContext {
  /** Module bindings at the `def`; undefined inside a forward reference. */
  scope: Scope | undefined;
  /**
   * A string annotation nested in another type is a ForwardRef that pydantic resolves in the
   * namespace of Prefect's own schema module: builtins, plus `typing` (also as `t`). Names the flow
   * module imported are not visible there, and Prefect falls back to `{}`; so do we.
   */
  forwardReference: boolean;
}

interface TypeContext extends NameContext {
  /** Inside another type, where a quoted annotation is a forward reference rather than evaluated code. */
  nested: boolean;
  depth: number;
}

const MAX_DEPTH = 20;

function innerContext(context: TypeContext): TypeContext {
  return { ...context, nested: true, depth: context.depth + 1 };
}

const BUILTIN_NAMES = new Set(['str', 'int', 'float', 'bool', 'bytes', 'object', 'list', 'dict', 'tuple', 'set', 'frozenset']);
const FORWARD_REFERENCE_MODULES = new Map([
  ['typing', 'typing'],
  ['t', 'typing'],
]);

const DECIMAL_PATTERN = '^(?!^[-+.]*$)[+-]?0*\\d*\\.?\\d*$';
const SIMPLE_TYPES = new Map<string, Schema>([
  ['builtins.str', { type: 'string' }],
  ['builtins.int', { type: 'integer' }],
  ['builtins.float', { type: 'number' }],
  ['builtins.bool', { type: 'boolean' }],
  ['builtins.bytes', { format: 'binary', type: 'string' }],
  ['builtins.object', {}],
  ['typing.Any', {}],
  ['uuid.UUID', { format: 'uuid', type: 'string' }],
  ['datetime.datetime', { format: 'date-time', type: 'string' }],
  ['datetime.date', { format: 'date', type: 'string' }],
  ['datetime.time', { format: 'time', type: 'string' }],
  ['datetime.timedelta', { format: 'duration', type: 'string' }],
  ['pathlib.Path', { format: 'path', type: 'string' }],
  ['decimal.Decimal', { anyOf: [{ type: 'number' }, { pattern: DECIMAL_PATTERN, type: 'string' }] }],
]);
const LIST_TYPES = new Set(['builtins.list', 'typing.List', 'typing.Sequence', 'typing.Iterable', 'collections.abc.Sequence', 'collections.abc.Iterable']);
const SET_TYPES = new Set(['builtins.set', 'builtins.frozenset', 'typing.Set', 'typing.FrozenSet']);
const DICT_TYPES = new Set(['builtins.dict', 'typing.Dict', 'typing.Mapping', 'collections.abc.Mapping']);
const TUPLE_TYPES = new Set(['builtins.tuple', 'typing.Tuple']);
const NULL_SCHEMA: Schema = { type: 'null' };

/** The dotted path a name or attribute chain refers to, e.g. `t.Optional` -> `typing.Optional`. */
function qualifiedName(expr: Expr, env: NameContext): string | undefined {
  let path: string | undefined;
  if (expr.kind === 'name') {
    if (env.forwardReference) {
      path = FORWARD_REFERENCE_MODULES.get(expr.id) ?? (BUILTIN_NAMES.has(expr.id) ? `builtins.${expr.id}` : undefined);
    } else {
      const binding = env.scope?.get(expr.id);
      if (binding === undefined) path = BUILTIN_NAMES.has(expr.id) ? `builtins.${expr.id}` : undefined;
      else path = binding.kind === 'module' ? binding.path : undefined;
    }
  } else if (expr.kind === 'attribute') {
    const base = qualifiedName(expr.value, env);
    path = base === undefined ? undefined : `${base}.${expr.attr}`;
  }
  return path?.replace(/^typing_extensions\./, 'typing.');
}

function unmappable(expr: Expr, env: NameContext, why = 'is not a type openem-config can translate'): Unmappable {
  return new Unmappable(env.forwardReference ? undefined : `the annotation \`${expr.text}\` ${why}`);
}

/** A module-level alias (`Ids = list[str]`) stands for its value. */
function aliasOf(expr: Expr, env: NameContext): Expr | undefined {
  if (expr.kind !== 'name' || env.forwardReference) return undefined;
  const binding = env.scope?.get(expr.id);
  return binding?.kind === 'value' ? binding.expr : undefined;
}

function typeSchema(expr: Expr, env: TypeContext): Schema {
  if (env.depth > MAX_DEPTH) throw unmappable(expr, env, 'is nested too deeply');
  const alias = aliasOf(expr, env);
  if (alias) return typeSchema(alias, { ...env, depth: env.depth + 1 });
  switch (expr.kind) {
    case 'constant': {
      if (expr.type === 'none') return { ...NULL_SCHEMA };
      if (expr.type !== 'str') throw unmappable(expr, env);
      let inner: Expr;
      try {
        const lines = tokenize(expr.value as string);
        inner = lines.length === 1 ? parseExpression((lines[0] as LogicalLine).tokens, expr.value as string) : { kind: 'opaque', text: expr.text };
      } catch (error) {
        if (error instanceof SourceProblem) throw unmappable(expr, env, 'is not a valid type expression');
        throw error;
      }
      const namespace = env.nested ? { scope: undefined, forwardReference: true } : env;
      return typeSchema(inner, innerContext({ ...env, ...namespace }));
    }
    case 'name':
    case 'attribute': {
      const path = qualifiedName(expr, env);
      const simple = path === undefined ? undefined : SIMPLE_TYPES.get(path);
      if (simple) return structuredClone(simple);
      if (path !== undefined && (LIST_TYPES.has(path) || TUPLE_TYPES.has(path))) return { items: {}, type: 'array' };
      if (path !== undefined && SET_TYPES.has(path)) return { items: {}, type: 'array', uniqueItems: true };
      if (path !== undefined && DICT_TYPES.has(path)) return { additionalProperties: true, type: 'object' };
      throw unmappable(expr, env);
    }
    case 'union':
      return unionSchema(unionMembers(expr, env), env);
    case 'subscript':
      return genericSchema(expr, env);
    default:
      throw unmappable(expr, env);
  }
}

function genericSchema(expr: Extract<Expr, { kind: 'subscript' }>, env: TypeContext): Schema {
  const path = qualifiedName(expr.value, env);
  const args = expr.index.kind === 'tuple' ? expr.index.items : [expr.index];
  const inner = (arg: Expr): Schema => typeSchema(arg, innerContext(env));
  if (path === 'typing.Optional' || path === 'typing.Union') return unionSchema(unionMembers(expr, env), env);
  if (path === 'typing.Literal') return literalSchema(expr, env);
  if (path === 'typing.Annotated') {
    // Plain values as metadata are notes for readers; pydantic ignores them. Anything else (Field,
    // constraints) changes the schema in ways this reader does not model.
    const [annotated, ...metadata] = args;
    if (!annotated || !metadata.every((item) => item.kind === 'constant')) throw unmappable(expr, env, 'carries metadata openem-config cannot translate');
    return inner(annotated);
  }
  if (path !== undefined && LIST_TYPES.has(path) && args.length === 1) return { items: inner(args[0] as Expr), type: 'array' };
  if (path !== undefined && SET_TYPES.has(path) && args.length === 1) return { items: inner(args[0] as Expr), type: 'array', uniqueItems: true };
  if (path !== undefined && TUPLE_TYPES.has(path)) {
    if (args.length === 2 && args[1]?.kind === 'ellipsis') return { items: inner(args[0] as Expr), type: 'array' };
    const prefixItems = args.map(inner);
    if (prefixItems.length === 0) return { maxItems: 0, minItems: 0, type: 'array' };
    return { maxItems: prefixItems.length, minItems: prefixItems.length, prefixItems, type: 'array' };
  }
  if (path !== undefined && DICT_TYPES.has(path) && args.length === 2) return dictSchema(inner(args[0] as Expr), inner(args[1] as Expr));
  throw unmappable(expr, env);
}

/** pydantic's dict_schema: the value schema as additionalProperties, key constraints as propertyNames. */
function dictSchema(keys: Schema, values: Schema): Schema {
  const schema: Schema = { type: 'object' };
  const keysPattern = keys.pattern;
  delete keys.pattern;
  delete keys.title;
  delete values.title;
  if (Object.keys(values).length > 0 || keysPattern !== undefined) {
    if (keysPattern === undefined) schema.additionalProperties = values;
    else schema.patternProperties = { [String(keysPattern)]: values };
  } else schema.additionalProperties = true;
  if (keys.type === 'string' && Object.keys(keys).length > 1) {
    delete keys.type;
    schema.propertyNames = keys;
  }
  return schema;
}

/** The members of a union, flattened the way `typing.Union` flattens nested unions and Optionals. */
function unionMembers(expr: Expr, env: TypeContext): Expr[] {
  if (env.depth > MAX_DEPTH) throw unmappable(expr, env, 'is nested too deeply');
  const deeper = { ...env, depth: env.depth + 1 };
  const alias = aliasOf(expr, env);
  if (alias) return unionMembers(alias, deeper);
  if (expr.kind === 'union') return [...unionMembers(expr.left, deeper), ...unionMembers(expr.right, deeper)];
  if (expr.kind === 'subscript') {
    const path = qualifiedName(expr.value, env);
    const args = expr.index.kind === 'tuple' ? expr.index.items : [expr.index];
    if (path === 'typing.Optional') {
      if (args.length !== 1) throw unmappable(expr, env, 'must have exactly one argument');
      return [...unionMembers(args[0] as Expr, deeper), { kind: 'constant', type: 'none', value: null, text: 'None' }];
    }
    if (path === 'typing.Union') return args.flatMap((arg) => unionMembers(arg, deeper));
  }
  return [expr];
}

/** pydantic: None members make the union nullable (`null` last); the others become a flattened anyOf. */
function unionSchema(members: Expr[], env: TypeContext): Schema {
  const isNone = (member: Expr): boolean => member.kind === 'constant' && member.type === 'none';
  const schemas = members.filter((member) => !isNone(member)).map((member) => typeSchema(member, innerContext(env)));
  const inner = schemas.length === 0 ? { ...NULL_SCHEMA } : schemas.length === 1 ? (schemas[0] as Schema) : flattenedAnyOf(schemas);
  if (!members.some(isNone) || sameJson(inner, NULL_SCHEMA)) return inner;
  return flattenedAnyOf([inner, { ...NULL_SCHEMA }]);
}

/** pydantic's get_flattened_anyof: members that are only an anyOf are spliced in, duplicates dropped. */
function flattenedAnyOf(schemas: Schema[]): Schema {
  const members: Schema[] = [];
  for (const schema of schemas) {
    const only = Object.keys(schema).length === 1 && Array.isArray(schema.anyOf) ? (schema.anyOf as Schema[]) : [schema];
    for (const member of only) if (!members.some((seen) => sameJson(seen, member))) members.push(member);
  }
  return members.length === 1 ? (members[0] as Schema) : { anyOf: members };
}

function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function sameJson(a: JsonValue, b: JsonValue): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** pydantic's literal_schema: `const` for one value, `enum` for several, `type` when all share one. */
function literalSchema(expr: Extract<Expr, { kind: 'subscript' }>, env: NameContext): Schema {
  const values: Array<{ type: string; value: JsonValue }> = [];
  const collect = (arg: Expr): void => {
    if (arg.kind === 'subscript' && qualifiedName(arg.value, env) === 'typing.Literal') {
      for (const inner of arg.index.kind === 'tuple' ? arg.index.items : [arg.index]) collect(inner);
      return;
    }
    if (arg.kind === 'unary' && arg.operand.kind === 'constant' && arg.operand.type === 'int') {
      const magnitude = arg.operand.value as number;
      values.push({ type: 'int', value: arg.op === '-' ? -magnitude : magnitude });
    } else if (arg.kind === 'constant' && arg.type !== 'float' && arg.type !== 'bytes') values.push({ type: arg.type, value: arg.value });
    else throw unmappable(expr, env, 'has a Literal value openem-config cannot translate');
  };
  for (const arg of expr.index.kind === 'tuple' ? expr.index.items : [expr.index]) collect(arg);
  // typing.Literal drops repeated values (a value and its type must both match).
  const unique = values.filter((item, i) => values.findIndex((other) => other.type === item.type && other.value === item.value) === i);
  const schema: Schema = unique.length === 1 ? { const: (unique[0] as { value: JsonValue }).value } : { enum: unique.map((item) => item.value) };
  const types = new Set(unique.map((item) => item.type));
  const jsonType = types.size === 1 ? { str: 'string', int: 'integer', bool: 'boolean', none: 'null' }[[...types][0] as string] : undefined;
  if (jsonType !== undefined) schema.type = jsonType;
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Docstrings: inspect.cleandoc, and griffe's Google-style parser as Prefect uses it to describe
// parameters (prefect.utilities.callables.parameter_docstrings).

const PYTHON_SPACE = /[\s\x1c-\x1f\x85]/u;

function isPythonSpace(char: string): boolean {
  return PYTHON_SPACE.test(char) && char !== '\uFEFF';
}

function lstrip(text: string): string {
  let i = 0;
  while (i < text.length && isPythonSpace(text[i] as string)) i += 1;
  return text.slice(i);
}

function rstrip(text: string): string {
  let end = text.length;
  while (end > 0 && isPythonSpace(text[end - 1] as string)) end -= 1;
  return text.slice(0, end);
}

function expandTabs(text: string): string {
  let out = '';
  let column = 0;
  for (const char of text) {
    if (char === '\t') {
      const spaces = 8 - (column % 8);
      out += ' '.repeat(spaces);
      column += spaces;
    } else {
      out += char;
      column = char === '\n' || char === '\r' ? 0 : column + 1;
    }
  }
  return out;
}

/** inspect.cleandoc (Python 3.11). */
function cleandoc(doc: string): string {
  const lines = expandTabs(doc).split('\n');
  let margin = Infinity;
  for (const line of lines.slice(1)) {
    const content = lstrip(line).length;
    if (content > 0) margin = Math.min(margin, line.length - content);
  }
  lines[0] = lstrip(lines[0] as string);
  if (margin < Infinity) for (let i = 1; i < lines.length; i += 1) lines[i] = (lines[i] as string).slice(margin);
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  while (lines.length > 0 && lines[0] === '') lines.shift();
  return lines.join('\n');
}

const SECTION_TITLE = /^([\p{L}\p{N}_][\s\p{L}\p{N}_-]*):(\s+(\S.*))?\s*$/u;
const PARAMETER_SECTIONS = new Set(['args', 'arguments', 'params', 'parameters']);
const OTHER_SECTIONS = new Set([
  'keyword args', 'keyword arguments', 'other args', 'other arguments', 'other params', 'other parameters',
  'type args', 'type arguments', 'type params', 'type parameters', 'raises', 'exceptions', 'returns', 'yields',
  'receives', 'examples', 'attributes', 'functions', 'methods', 'classes', 'type aliases', 'modules', 'warns', 'warnings',
]);

function isEmptyLine(line: string | undefined): boolean {
  return line === undefined || lstrip(line) === '';
}

/** Parameter descriptions from the last Args/Parameters section, exactly as griffe 2 reads them. */
function parameterDescriptions(docstring: string): Map<string, string> {
  const lines = cleandoc(rstrip(docstring)).split('\n');
  let descriptions = new Map<string, string>();
  let inCodeBlock = false;
  for (let offset = 0; offset < lines.length; offset += 1) {
    const line = lines[offset] as string;
    const fence = line.toLowerCase().replace(/^ +/, '').startsWith('```');
    if (inCodeBlock || fence) {
      if (fence) inCodeBlock = !inCodeBlock;
      continue;
    }
    const match = SECTION_TITLE.exec(line);
    if (!match) continue;
    const kind = (match[1] as string).toLowerCase();
    const blankAbove = offset === 0 || isEmptyLine(lines[offset - 1]);
    const blankBelow = offset < lines.length - 1 && isEmptyLine(lines[offset + 1]);
    const blanksBelow = offset < lines.length - 2 && isEmptyLine(lines[offset + 2]);
    const indentedBelow = offset < lines.length - 1 && !blankBelow && (lines[offset + 1] as string).startsWith(' ');
    const indentedTwoBelow = offset < lines.length - 2 && !blanksBelow && (lines[offset + 2] as string).startsWith(' ');
    if (!(indentedBelow || indentedTwoBelow) || !blankAbove || (indentedTwoBelow && blankBelow)) continue;
    if (PARAMETER_SECTIONS.has(kind)) {
      const block = readBlockItems(lines, offset + 1);
      descriptions = new Map();
      for (const item of block.items) {
        const head = item[0] as string;
        const colon = head.indexOf(':');
        if (colon === -1) continue;
        const nameWithType = head.slice(0, colon);
        const description = [lstrip(head.slice(colon + 1)), ...item.slice(1)].join('\n').replace(/\n+$/, '');
        const name = nameWithType.includes('(') && nameWithType.endsWith(')') ? (nameWithType.split('(')[0] as string).trim() : nameWithType;
        descriptions.set(name, description);
      }
      offset = block.last;
    } else if (OTHER_SECTIONS.has(kind) && kind !== 'examples') offset = readBlockItems(lines, offset + 1).last;
    else offset = readBlockEnd(lines, offset + 1);
  }
  return descriptions;
}

/** griffe's _read_block_items: items at the first indentation, continuation lines at twice that. */
function readBlockItems(lines: string[], start: number): { items: string[][]; last: number } {
  let offset = start;
  while (offset < lines.length && isEmptyLine(lines[offset])) offset += 1;
  if (offset >= lines.length) return { items: [], last: offset - 1 };
  const first = lines[offset] as string;
  const indent = first.length - first.replace(/^\s+/u, '').length;
  if (indent === 0) return { items: [], last: offset - 1 };
  const items: string[][] = [];
  let current: string[] = [first.slice(indent)];
  offset += 1;
  for (; offset < lines.length; offset += 1) {
    const line = lines[offset] as string;
    if (isEmptyLine(line)) current.push('');
    else if (line.startsWith(' '.repeat(indent * 2))) current.push(line.slice(indent * 2));
    else if (line.startsWith(' '.repeat(indent + 1))) current.push(line.replace(/^\s+/u, ''));
    else if (line.startsWith(' '.repeat(indent))) {
      items.push(current);
      current = [line.slice(indent)];
    } else break;
  }
  items.push(current);
  return { items, last: offset - 1 };
}

/** griffe's _read_block: where an indented block ends (examples and admonitions). */
function readBlockEnd(lines: string[], start: number): number {
  let offset = start;
  while (offset < lines.length && isEmptyLine(lines[offset])) offset += 1;
  const first = lines[offset];
  if (first === undefined) return offset - 1;
  const indent = first.length - first.replace(/^\s+/u, '').length;
  if (indent === 0) return start - 1;
  offset += 1;
  while (offset < lines.length && ((lines[offset] as string).startsWith(' '.repeat(indent)) || isEmptyLine(lines[offset]))) offset += 1;
  return offset - 1;
}
