// Module scan: the names bound at the module's top level (imports, constants, classes) as the flow's
// `def` sees them, and the `def` itself: its decorators, its parameters and its docstring.
import { callArguments, toExpr, type Expr, type Keyword } from './expressions.js';
import { SourceProblem } from './problem.js';
import { field, lineOf, namedChildren, type SyntaxNode } from './syntax.js';

/** A statement of a class body that may declare a field: `name: T = value`, `name = value`, or a nested class. */
export interface ClassStatement {
  name: string;
  line: number;
  annotation: Expr | undefined;
  value: Expr | undefined;
}

export interface ClassInfo {
  name: string;
  line: number;
  bases: Expr[];
  keywords: Keyword[];
  decorators: Expr[];
  /** Assignments in the body, in order (annotated or not). */
  statements: ClassStatement[];
  /** Names defined in the body by a def, a nested class or anything but a plain assignment. */
  otherNames: string[];
  docstring: string | undefined;
  /** Module bindings when the class statement ran. */
  scope: Scope;
}

/** What a module-level name is bound to. */
export type Binding =
  | { kind: 'module'; path: string }
  | { kind: 'value'; expr: Expr }
  | { kind: 'class'; info: ClassInfo }
  | { kind: 'opaque' };
export type Scope = Map<string, Binding>;

export type ParameterKind = 'positional-only' | 'positional-or-keyword' | 'var-positional' | 'keyword-only' | 'var-keyword';

export interface Parameter {
  name: string;
  line: number;
  kind: ParameterKind;
  annotation: Expr | undefined;
  default: Expr | undefined;
}

export interface FunctionSite {
  name: string;
  /** 1-based line of the `def` (of `async` for `async def`). */
  line: number;
  decorators: Expr[];
  parameters: Parameter[];
  docstring: string | undefined;
  /** Module bindings when the `def` ran: defaults and (without the __future__ import) annotations are evaluated then. */
  scope: Scope;
  /** Module bindings once the module has run, where postponed annotations are resolved. */
  moduleScope: Scope;
}

export interface ModuleScan {
  site: FunctionSite | undefined;
  futureAnnotations: boolean;
  /** Top-level functions with a flow decorator, to suggest when the entrypoint names none. */
  flowFunctions: string[];
}

interface ScanState {
  scope: Scope;
  functionName: string;
  site: FunctionSite | undefined;
  flowFunctions: string[];
  futureAnnotations: boolean;
}

export function scanModule(root: SyntaxNode, functionName: string): ModuleScan {
  const state: ScanState = { scope: new Map(), functionName, site: undefined, flowFunctions: [], futureAnnotations: false };
  scanBlock(namedChildren(root), state, true);
  if (state.site) state.site.moduleScope = state.scope;
  return { site: state.site, futureAnnotations: state.futureAnnotations, flowFunctions: state.flowFunctions };
}

/** The statements of a block: the module itself (`topLevel`) or a block of an if/try/with/for/while at module level. */
function scanBlock(statements: SyntaxNode[], state: ScanState, topLevel: boolean): void {
  for (const statement of statements) {
    switch (statement.type) {
      case 'future_import_statement':
        for (const name of statement.childrenForFieldName('name')) {
          const text = name?.type === 'aliased_import' ? field(name, 'name')?.text : name?.text;
          if (text === 'annotations') state.futureAnnotations = true;
        }
        break;
      case 'import_statement':
        bindImport(statement, state.scope);
        break;
      case 'import_from_statement':
        bindFromImport(statement, state.scope);
        break;
      case 'expression_statement':
        for (const child of namedChildren(statement)) bindAssignment(child, { topLevel, scope: state.scope });
        break;
      case 'decorated_definition':
      case 'function_definition':
      case 'class_definition':
        scanDefinition(statement, state, topLevel);
        break;
      case 'try_statement':
        // An `except` block is the fallback of an import that works wherever Prefect can load the flow
        // (`try: from x import Y` / `except ImportError: Y = None`), so its bindings are not the ones in effect.
        for (const part of namedChildren(statement)) {
          if (part.type === 'block') scanBlock(namedChildren(part), state, false);
          else if (part.type === 'else_clause' || part.type === 'finally_clause') scanClauses(part, state);
        }
        break;
      case 'if_statement':
        // `if TYPE_CHECKING:` never runs: what it imports is not defined when Prefect reads the flow.
        // Its `else:` (with no `elif`) always runs, as if it were at the top level.
        if (isTypeChecking(field(statement, 'condition'))) {
          const clauses = namedChildren(statement).filter((part) => part.type === 'elif_clause' || part.type === 'else_clause');
          for (const part of clauses) {
            if (clauses.length === 1 && part.type === 'else_clause') for (const block of namedChildren(part)) scanBlock(block.type === 'block' ? namedChildren(block) : [], state, topLevel);
            else scanClauses(part, state);
          }
        } else scanClauses(statement, state);
        break;
      case 'for_statement':
      case 'while_statement':
      case 'with_statement':
        scanClauses(statement, state);
        break;
      default:
        break;
    }
  }
}

function isTypeChecking(condition: SyntaxNode | null | undefined): boolean {
  return condition !== null && condition !== undefined && /^(?:[A-Za-z_][A-Za-z0-9_]*\.)?TYPE_CHECKING$/.test(condition.text);
}

/** Every block directly in `node` or in its elif/else clauses. */
function scanClauses(node: SyntaxNode, state: ScanState): void {
  for (const part of namedChildren(node)) {
    if (part.type === 'block') scanBlock(namedChildren(part), state, false);
    else if (part.type === 'elif_clause' || part.type === 'else_clause') scanClauses(part, state);
  }
}

function scanDefinition(statement: SyntaxNode, state: ScanState, topLevel: boolean): void {
  const decorators: Expr[] = [];
  let definition = statement;
  if (statement.type === 'decorated_definition') {
    for (const decorator of namedChildren(statement)) {
      if (decorator.type !== 'decorator') continue;
      const expression = namedChildren(decorator)[0];
      if (expression) decorators.push(toExpr(expression));
    }
    definition = field(statement, 'definition') ?? statement;
  }
  const name = field(definition, 'name')?.text;
  if (name === undefined) return;
  if (definition.type === 'class_definition') {
    state.scope.set(name, topLevel ? { kind: 'class', info: classInfo(definition, { name, decorators, scope: new Map(state.scope) }) } : { kind: 'opaque' });
    return;
  }
  if (topLevel) {
    if (decorators.some(isFlowDecoratorText)) state.flowFunctions.push(name);
    if (name === state.functionName) {
      const body = field(definition, 'body');
      state.site = {
        name,
        line: lineOf(definition),
        decorators,
        parameters: signatureParameters(definition, name),
        docstring: body ? docstringOf(body) : undefined,
        scope: new Map(state.scope),
        moduleScope: state.scope,
      };
    }
  }
  state.scope.set(name, { kind: 'opaque' });
}

function classInfo(definition: SyntaxNode, { name, decorators, scope }: { name: string; decorators: Expr[]; scope: Scope }): ClassInfo {
  const superclasses = field(definition, 'superclasses');
  const { args: bases, keywords } = superclasses ? callArguments(superclasses) : { args: [], keywords: [] };
  const body = field(definition, 'body');
  const statements: ClassStatement[] = [];
  const otherNames: string[] = [];
  for (const statement of body ? namedChildren(body) : []) {
    if (statement.type === 'expression_statement') {
      for (const child of namedChildren(statement)) {
        if (child.type !== 'assignment') continue;
        const left = field(child, 'left');
        const type = field(child, 'type');
        const right = field(child, 'right');
        if (left?.type === 'identifier') {
          statements.push({ name: left.text, line: lineOf(child), annotation: type ? toExpr(type) : undefined, value: right ? toExpr(right) : undefined });
        } else if (left) otherNames.push(left.text);
      }
    } else if (statement.type === 'function_definition' || statement.type === 'class_definition' || statement.type === 'decorated_definition') {
      const definitionNode = statement.type === 'decorated_definition' ? field(statement, 'definition') : statement;
      const defined = definitionNode ? field(definitionNode, 'name')?.text : undefined;
      if (defined !== undefined) otherNames.push(defined);
    }
  }
  return { name, line: lineOf(definition), bases, keywords, decorators, statements, otherNames, docstring: body ? docstringOf(body) : undefined, scope };
}

/** `import a.b.c` binds `a`; `import a.b as c` binds `c` to `a.b`. */
function bindImport(statement: SyntaxNode, scope: Scope): void {
  for (const name of statement.childrenForFieldName('name')) {
    if (!name) continue;
    if (name.type === 'aliased_import') {
      const path = field(name, 'name')?.text;
      const alias = field(name, 'alias')?.text;
      if (path !== undefined && alias !== undefined) scope.set(alias, { kind: 'module', path });
    } else {
      const head = name.text.split('.')[0];
      if (head) scope.set(head, { kind: 'module', path: head });
    }
  }
}

/** `from m import x as y` binds `y` to `m.x`; a relative import's names are the project's own, unknown here. */
function bindFromImport(statement: SyntaxNode, scope: Scope): void {
  const moduleName = field(statement, 'module_name');
  const module = moduleName?.type === 'dotted_name' ? moduleName.text : undefined;
  for (const name of statement.childrenForFieldName('name')) {
    if (!name) continue;
    const imported = name.type === 'aliased_import' ? field(name, 'name')?.text : name.text;
    const alias = name.type === 'aliased_import' ? field(name, 'alias')?.text : name.text;
    if (imported === undefined || alias === undefined) continue;
    scope.set(alias, module === undefined ? { kind: 'opaque' } : { kind: 'module', path: `${module}.${imported}` });
  }
}

/**
 * `NAME = value` at the top of the module binds a value (a constant for defaults, an alias for
 * annotations); any other assignment only hides what the name meant before.
 */
function bindAssignment(node: SyntaxNode, { topLevel, scope }: { topLevel: boolean; scope: Scope }): void {
  if (node.type === 'augmented_assignment') {
    const left = field(node, 'left');
    if (left?.type === 'identifier') scope.set(left.text, { kind: 'opaque' });
    return;
  }
  if (node.type !== 'assignment') return;
  // `a = b = 1` nests: the innermost assignment holds the value.
  const targets: SyntaxNode[] = [];
  let current: SyntaxNode | undefined = node;
  while (current?.type === 'assignment') {
    const left = field(current, 'left');
    if (left) targets.push(left);
    const right = field(current, 'right');
    if (!right) return; // `NAME: T` declares without binding.
    current = right;
  }
  if (!current) return;
  const value = toExpr(current);
  for (const target of targets) {
    if (topLevel && target.type === 'identifier') scope.set(target.text, { kind: 'value', expr: value });
    else for (const name of identifiersIn(target)) scope.set(name, { kind: 'opaque' });
  }
}

function identifiersIn(node: SyntaxNode): string[] {
  if (node.type === 'identifier') return [node.text];
  if (node.type === 'attribute' || node.type === 'subscript') return [];
  return namedChildren(node).flatMap(identifiersIn);
}

/** By its text alone, as the scan sees it before the flow's scope is known; flow.ts also follows imports. */
export function isFlowDecoratorText(decorator: Expr): boolean {
  const target = decorator.kind === 'call' ? decorator.func : decorator;
  return target.text === 'flow' || target.text === 'prefect.flow';
}

/** The docstring: a first statement made of plain string literals only (not bytes, not f-strings). */
function docstringOf(body: SyntaxNode): string | undefined {
  const first = namedChildren(body)[0];
  if (first?.type !== 'expression_statement') return undefined;
  const [only, ...rest] = namedChildren(first);
  if (!only || rest.length > 0 || (only.type !== 'string' && only.type !== 'concatenated_string')) return undefined;
  // An f-string, even one without a replacement field, is no docstring for Python (__doc__ is None).
  const parts = only.type === 'concatenated_string' ? namedChildren(only) : [only];
  if (parts.some((part) => /^[a-z]*f/i.test(part.children[0]?.text ?? ''))) return undefined;
  const expr = toExpr(only);
  return expr.kind === 'constant' && expr.type === 'str' ? (expr.value as string) : undefined;
}

function signatureParameters(definition: SyntaxNode, name: string): Parameter[] {
  const list = field(definition, 'parameters');
  if (!list) throw new SourceProblem(`the function \`${name}\` has no parameter list that this reader understands`, lineOf(definition));
  const parameters: Parameter[] = [];
  let keywordOnly = false;
  let defaulted = false;
  for (const node of namedChildren(list)) {
    if (node.type === 'positional_separator') {
      for (const parameter of parameters) parameter.kind = 'positional-only';
      continue;
    }
    if (node.type === 'keyword_separator') {
      keywordOnly = true;
      continue;
    }
    let target = node;
    let annotation: Expr | undefined;
    let defaultValue: Expr | undefined;
    if (node.type === 'default_parameter' || node.type === 'typed_default_parameter') {
      target = field(node, 'name') ?? node;
      const value = field(node, 'value');
      defaultValue = value ? toExpr(value) : undefined;
    }
    if (node.type === 'typed_parameter' || node.type === 'typed_default_parameter') {
      if (node.type === 'typed_parameter') target = namedChildren(node)[0] ?? node;
      const type = field(node, 'type');
      annotation = type ? toExpr(type) : undefined;
    }
    let kind: ParameterKind = keywordOnly ? 'keyword-only' : 'positional-or-keyword';
    if (target.type === 'list_splat_pattern' || target.type === 'dictionary_splat_pattern') {
      kind = target.type === 'list_splat_pattern' ? 'var-positional' : 'var-keyword';
      keywordOnly = true;
      target = namedChildren(target)[0] ?? target;
    }
    if (target.type !== 'identifier') {
      throw new SourceProblem(`the parameter \`${node.text}\` of the signature is not valid Python`, lineOf(node));
    }
    // Python refuses to compile such a signature, so Prefect could never load the flow.
    if (kind === 'positional-or-keyword' && defaulted && defaultValue === undefined) {
      throw new SourceProblem(`the parameter \`${target.text}\` has no default but follows one that has: the signature is not valid Python`, lineOf(target));
    }
    if (kind === 'positional-or-keyword') defaulted ||= defaultValue !== undefined;
    parameters.push({ name: target.text, line: lineOf(target), kind, annotation, default: defaultValue });
  }
  return parameters;
}
