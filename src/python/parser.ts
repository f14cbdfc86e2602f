// Expressions: the subset that appears in decorators, annotations and defaults. Anything else
// (arithmetic, calls in defaults, lambdas, comprehensions) parses to `opaque` and is judged by
// whoever needs its value.
import type { Token } from './tokenizer.js';

export type Expr =
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

export function parseExpression(tokens: Token[], source: string): Expr {
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
