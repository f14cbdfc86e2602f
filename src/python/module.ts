// Module scan: imports and constants bound before the flow's `def`, and the `def` itself: its
// decorators, its parameters and the statement that may be its docstring.
import { parseExpression, type Expr } from './parser.js';
import { SourceProblem } from './problem.js';
import type { LogicalLine, Token } from './tokenizer.js';

/** What a module-level name is bound to when the flow is defined. */
export type Binding = { kind: 'module'; path: string } | { kind: 'value'; expr: Expr } | { kind: 'opaque' };
export type Scope = Map<string, Binding>;

export interface FunctionSite {
  name: string;
  line: number;
  header: Token[];
  decorators: Expr[];
  /** The first statement of the body, for the docstring. */
  firstStatement: Token[] | undefined;
  scope: Scope;
}

export interface ModuleScan {
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

export function scanModule(lines: LogicalLine[], functionName: string, source: string): ModuleScan {
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

/** By its text alone, as the scan sees it before the flow's scope is known; flow.ts also follows imports. */
export function isFlowDecoratorText(decorator: Expr): boolean {
  const target = decorator.kind === 'call' ? decorator.func : decorator;
  return target.text === 'flow' || target.text === 'prefect.flow';
}

/** The docstring: a statement made of plain string literals only (not bytes, not f-strings). */
export function readDocstring(statement: Token[] | undefined, source: string): string | undefined {
  if (!statement || statement[0]?.kind !== 'string') return undefined;
  const expr = parseExpression(splitTopLevel(statement, ';')[0] as Token[], source);
  return expr.kind === 'constant' && expr.type === 'str' ? (expr.value as string) : undefined;
}

export interface Parameter {
  name: string;
  line: number;
  variadic: boolean;
  annotation: Token[] | undefined;
  default: Token[] | undefined;
}

export function signatureParameters(site: FunctionSite): Parameter[] {
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
