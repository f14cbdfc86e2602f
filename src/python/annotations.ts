// Annotations to JSON schema, as pydantic 2 (Prefect 3.7.2's) generates it.
import type { JsonValue } from '../config/types.js';
import type { Scope } from './module.js';
import { parseExpressionText, type Expr } from './expressions.js';

export type Schema = { [key: string]: JsonValue };

/** Thrown when an annotation has no translation here; `reason` undefined means Prefect itself gives `{}`. */
export class Unmappable extends Error {
  readonly reason: string | undefined;
  constructor(reason: string | undefined) {
    super(reason ?? 'unmappable');
    this.reason = reason;
  }
}

export interface NameContext {
  /** Module bindings at the `def`; undefined inside a forward reference. */
  scope: Scope | undefined;
  /**
   * A string annotation nested in another type is a ForwardRef that pydantic resolves in the
   * namespace of Prefect's own schema module: builtins, plus `typing` (also as `t`). Names the flow
   * module imported are not visible there, and Prefect falls back to `{}`; so do we.
   */
  forwardReference: boolean;
}

export interface TypeContext extends NameContext {
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
export function qualifiedName(expr: Expr, env: NameContext): string | undefined {
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

export function typeSchema(expr: Expr, env: TypeContext): Schema {
  if (env.depth > MAX_DEPTH) throw unmappable(expr, env, 'is nested too deeply');
  const alias = aliasOf(expr, env);
  if (alias) return typeSchema(alias, { ...env, depth: env.depth + 1 });
  switch (expr.kind) {
    case 'constant': {
      if (expr.type === 'none') return { ...NULL_SCHEMA };
      if (expr.type !== 'str') throw unmappable(expr, env);
      const inner = parseExpressionText(expr.value as string);
      if (inner.kind === 'opaque') throw unmappable(expr, env, 'is not a valid type expression');
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
export function dictSchema(keys: Schema, values: Schema): Schema {
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
