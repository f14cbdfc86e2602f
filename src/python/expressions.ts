// Expressions: tree-sitter's nodes as the small expression tree the schema derivation reads. Only
// what appears in decorators, annotations, defaults and module constants is modelled; anything else
// (arithmetic, lambdas, comprehensions, f-strings) becomes `opaque` and is judged by whoever needs
// its value.
import { field, namedChildren, parseModule, type SyntaxNode } from './syntax.js';
import { SourceProblem } from './problem.js';

export type Keyword = { name: string | undefined; value: Expr };

export type Expr =
  | { kind: 'name'; id: string; text: string }
  | { kind: 'attribute'; value: Expr; attr: string; text: string }
  | { kind: 'subscript'; value: Expr; index: Expr; text: string }
  | { kind: 'call'; func: Expr; args: Expr[]; keywords: Keyword[]; text: string }
  | { kind: 'constant'; type: 'str' | 'bytes' | 'int' | 'float' | 'bool' | 'none'; value: string | number | boolean | null; text: string }
  | { kind: 'ellipsis'; text: string }
  | { kind: 'tuple' | 'list' | 'set'; items: Expr[]; text: string }
  | { kind: 'dict'; entries: Array<{ key: Expr; value: Expr }>; text: string }
  | { kind: 'unary'; op: '-' | '+'; operand: Expr; text: string }
  | { kind: 'union'; left: Expr; right: Expr; text: string }
  | { kind: 'opaque'; text: string };

const opaque = (node: SyntaxNode): Expr => ({ kind: 'opaque', text: node.text });

/** The expression a node stands for. */
export function toExpr(node: SyntaxNode): Expr {
  const text = node.text;
  switch (node.type) {
    case 'identifier':
      return { kind: 'name', id: text, text };
    case 'true':
    case 'false':
      return { kind: 'constant', type: 'bool', value: node.type === 'true', text };
    case 'none':
      return { kind: 'constant', type: 'none', value: null, text };
    case 'ellipsis':
      return { kind: 'ellipsis', text };
    case 'integer':
    case 'float':
      return numberConstant(text);
    case 'string':
    case 'concatenated_string':
      return stringConstant(node);
    case 'type':
    case 'parenthesized_expression': {
      const [inner, ...rest] = namedChildren(node);
      return inner && rest.length === 0 ? toExpr(inner) : opaque(node);
    }
    case 'attribute': {
      const object = field(node, 'object');
      const attribute = field(node, 'attribute');
      return object && attribute ? { kind: 'attribute', value: toExpr(object), attr: attribute.text, text } : opaque(node);
    }
    case 'subscript': {
      const value = field(node, 'value');
      const items = node.childrenForFieldName('subscript').filter((child): child is SyntaxNode => child !== null);
      if (!value || items.length === 0) return opaque(node);
      return { kind: 'subscript', value: toExpr(value), index: indexOf(items.map(toExpr), hasTrailingComma(node), node), text };
    }
    case 'generic_type': {
      // The grammar's own node for `Name[...]` in an annotation.
      const [name, parameters] = namedChildren(node);
      if (!name || parameters?.type !== 'type_parameter') return opaque(node);
      const items = namedChildren(parameters).map(toExpr);
      if (items.length === 0) return opaque(node);
      return { kind: 'subscript', value: toExpr(name), index: indexOf(items, hasTrailingComma(parameters), parameters), text };
    }
    case 'union_type': {
      const [left, right] = namedChildren(node);
      return left && right ? { kind: 'union', left: toExpr(left), right: toExpr(right), text } : opaque(node);
    }
    case 'binary_operator': {
      const left = field(node, 'left');
      const right = field(node, 'right');
      if (field(node, 'operator')?.type !== '|' || !left || !right) return opaque(node);
      return { kind: 'union', left: toExpr(left), right: toExpr(right), text };
    }
    case 'unary_operator': {
      const operator = field(node, 'operator')?.type;
      const argument = field(node, 'argument');
      if ((operator !== '-' && operator !== '+') || !argument) return opaque(node);
      return { kind: 'unary', op: operator, operand: toExpr(argument), text };
    }
    case 'tuple':
    case 'list':
    case 'set': {
      const items = namedChildren(node);
      if (items.some((item) => item.type === 'list_splat' || item.type === 'parenthesized_list_splat')) return opaque(node);
      return { kind: node.type, items: items.map(toExpr), text };
    }
    case 'dictionary': {
      const entries: Array<{ key: Expr; value: Expr }> = [];
      for (const pair of namedChildren(node)) {
        const key = field(pair, 'key');
        const value = field(pair, 'value');
        if (pair.type !== 'pair' || !key || !value) return opaque(node);
        entries.push({ key: toExpr(key), value: toExpr(value) });
      }
      return { kind: 'dict', entries, text };
    }
    case 'call': {
      const func = field(node, 'function');
      const argumentList = field(node, 'arguments');
      // A generator argument (`f(x for x in y)`) is no argument list this reader models.
      if (!func || argumentList?.type !== 'argument_list') return opaque(node);
      const { args, keywords } = callArguments(argumentList);
      return { kind: 'call', func: toExpr(func), args, keywords, text };
    }
    default:
      return opaque(node);
  }
}

/** One subscript item is the index itself; several, or one with a trailing comma, a tuple. */
function indexOf(items: Expr[], trailingComma: boolean, node: SyntaxNode): Expr {
  if (items.length === 1 && !trailingComma) return items[0] as Expr;
  return { kind: 'tuple', items, text: node.text };
}

function hasTrailingComma(node: SyntaxNode): boolean {
  const children = node.children.filter((child): child is SyntaxNode => child !== null && child.type !== 'comment');
  return children.at(-2)?.type === ',';
}

/** Positional arguments, `name=value` keywords and `**spread` (a keyword without a name). */
export function callArguments(argumentList: SyntaxNode): { args: Expr[]; keywords: Keyword[] } {
  const args: Expr[] = [];
  const keywords: Keyword[] = [];
  for (const argument of namedChildren(argumentList)) {
    if (argument.type === 'keyword_argument') {
      const name = field(argument, 'name');
      const value = field(argument, 'value');
      if (name && value) keywords.push({ name: name.text, value: toExpr(value) });
    } else if (argument.type === 'dictionary_splat') {
      const value = namedChildren(argument)[0];
      keywords.push({ name: undefined, value: value ? toExpr(value) : opaque(argument) });
    } else args.push(toExpr(argument));
  }
  return { args, keywords };
}

/** A string annotation's text, parsed as the expression Python would evaluate it to. */
export function parseExpressionText(text: string): Expr {
  let tree;
  try {
    tree = parseModule(text);
  } catch (error) {
    if (error instanceof SourceProblem) return { kind: 'opaque', text };
    throw error;
  }
  try {
    const statements = namedChildren(tree.rootNode);
    const [statement] = statements;
    const [expression, ...rest] = statement?.type === 'expression_statement' ? namedChildren(statement) : [];
    return statements.length === 1 && expression && rest.length === 0 ? toExpr(expression) : { kind: 'opaque', text };
  } finally {
    tree.delete();
  }
}

// ---------------------------------------------------------------------------------------------
// Literals.

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

/** A string literal or adjacent literals; f-strings with a replacement field, t-strings and mixed str/bytes are opaque. */
function stringConstant(node: SyntaxNode): Expr {
  const parts = node.type === 'concatenated_string' ? namedChildren(node) : [node];
  let value = '';
  let type: 'str' | 'bytes' | undefined;
  for (const part of parts) {
    const decoded = decodeString(part);
    if (decoded === undefined || (type !== undefined && decoded.type !== type)) return opaque(node);
    type = decoded.type;
    value += decoded.value;
  }
  return { kind: 'constant', type: type ?? 'str', value, text: node.text };
}

function decodeString(node: SyntaxNode): { type: 'str' | 'bytes'; value: string } | undefined {
  const start = node.children[0];
  const end = node.children.at(-1);
  if (node.type !== 'string' || start?.type !== 'string_start' || end?.type !== 'string_end') return undefined;
  const prefix = start.text.replace(/['"]+$/, '').toLowerCase();
  // A t-string is a Template, not a str. An f-string without a replacement field is the str it
  // spells, its doubled braces single: `@flow(name=f"nightly")` names the flow "nightly",
  // f"{{name}}" is "{name}".
  if (prefix.includes('t')) return undefined;
  const fstring = prefix.includes('f');
  if (fstring && node.children.some((child) => child.type === 'interpolation')) return undefined;
  const bytes = prefix.includes('b');
  // Python reads source with universal newlines, so a literal never holds a \r from the file.
  let body = node.text.slice(start.endIndex - node.startIndex, end.startIndex - node.startIndex).replace(/\r\n?/g, '\n');
  if (fstring) {
    // A brace left once the doubled ones are gone is a field the parser did not see, and \N{...}
    // needs the Unicode name table: both stay undecided.
    const single = body.replace(/\{\{|\}\}/g, '');
    if (/[{}]/.test(single) || /\\N/.test(body)) return undefined;
    body = body.replace(/\{\{/g, '{').replace(/\}\}/g, '}');
  }
  const value = prefix.includes('r') ? body : decodeEscapes(body, bytes);
  return value === undefined ? undefined : { type: bytes ? 'bytes' : 'str', value };
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
