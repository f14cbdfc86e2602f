// Annotations to JSON schema, as pydantic 2 generates it for Prefect.
import type { JsonValue } from '../config/types.js';
import type { ClassInfo, Scope } from './module.js';
import { parseExpressionText, type Expr } from './expressions.js';
import { qualifiedName, type NameContext } from './names.js';
import { CONSTRAINTS, fieldSpec, isFieldCall } from './values.js';
import type { SchemaRules } from './versions.js';

export type Schema = { [key: string]: JsonValue };

/** Thrown when an annotation has no translation here; `reason` undefined means Prefect itself gives `{}`. */
export class Unmappable extends Error {
  readonly reason: string | undefined;
  constructor(reason: string | undefined) {
    super(reason ?? 'unmappable');
    this.reason = reason;
  }
}


/** The definitions of the schema being built: classes of the flow's module (classes.ts). */
export interface ClassDefinitions {
  reference(info: ClassInfo, expr: Expr, env: TypeContext): Schema;
}

/** What `Annotated[T, Field(...)]` gives a model field besides constraints (classes.ts reads it). */
export interface AnnotatedField {
  description?: string;
  title?: string;
  examples?: JsonValue;
}

export interface TypeContext extends NameContext {
  /** Inside another type, where a quoted annotation is a forward reference rather than evaluated code. */
  nested: boolean;
  depth: number;
  /** Classes of the module become definitions; without it, a class is Unmappable. */
  classes?: ClassDefinitions | undefined;
  /** The module's bindings once it has run, where model fields are resolved. */
  moduleScope?: Scope | undefined;
  rules?: SchemaRules | undefined;
  /** Set on a model field: where `Annotated[T, Field(description=...)]` leaves what is not a constraint. */
  annotatedField?: AnnotatedField | undefined;
}

const MAX_DEPTH = 20;

function innerContext(context: TypeContext): TypeContext {
  return { ...context, nested: true, depth: context.depth + 1, annotatedField: undefined };
}


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
      const binding = expr.kind === 'name' && !env.forwardReference ? env.scope?.get(expr.id) : undefined;
      if (binding?.kind === 'class') {
        if (!env.classes) throw unmappable(expr, env, 'is a class openem-config cannot read here');
        return env.classes.reference(binding.info, expr, env);
      }
      if (path === 'decimal.Decimal' && env.rules?.decimalWithoutPattern) return { anyOf: [{ type: 'number' }, { type: 'string' }] };
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
  if (path === 'typing.Annotated') return annotatedSchema(expr, args, env);
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

/**
 * `Annotated[T, ...]`: plain values are notes for readers, which pydantic ignores; `Field(...)` adds
 * its constraints to T's schema. Its description, title and examples belong to a model field (passed
 * on through `annotatedField`); on a flow's parameter Prefect's own field replaces them.
 */
function annotatedSchema(expr: Expr, args: Expr[], env: TypeContext): Schema {
  const [annotated, ...metadata] = args;
  if (!annotated) throw unmappable(expr, env);
  // The annotated type keeps this level's place: Annotated adds to it, it does not nest it.
  const schema = typeSchema(annotated, { ...env, depth: env.depth + 1, annotatedField: undefined });
  for (const item of metadata) {
    if (item.kind === 'constant') continue;
    const scope = env.scope;
    const spec = scope && isFieldCall(item, scope) ? fieldSpec(item, { scope, classes: undefined }) : undefined;
    if (!spec || spec.default !== undefined || spec.factory !== undefined || spec.alias !== undefined) throw unmappable(expr, env, 'carries metadata openem-config cannot translate');
    applyConstraints(schema, spec.constraints, expr, env);
    const extras = { description: spec.description, title: spec.title, examples: spec.examples };
    if (Object.values(extras).some((value) => value !== undefined)) {
      if (env.annotatedField) Object.assign(env.annotatedField, Object.fromEntries(Object.entries(extras).filter(([, value]) => value !== undefined)));
      else if (env.nested || spec.examples !== undefined) throw unmappable(expr, env, 'carries Field arguments openem-config places only on a parameter or a model field');
    }
  }
  return schema;
}

const NUMBER_CONSTRAINTS: Record<string, string> = { ge: 'minimum', gt: 'exclusiveMinimum', le: 'maximum', lt: 'exclusiveMaximum', multiple_of: 'multipleOf' };
const LENGTH_CONSTRAINTS: Record<string, Record<string, string>> = {
  string: { min_length: 'minLength', max_length: 'maxLength', pattern: 'pattern' },
  array: { min_length: 'minItems', max_length: 'maxItems' },
  object: { min_length: 'minProperties', max_length: 'maxProperties' },
};

/** pydantic's constraints on a type's schema (ge -> minimum, max_length -> maxLength or maxItems, ...); Unmappable where it would do more. */
export function applyConstraints(schema: Schema, constraints: ReadonlyMap<string, JsonValue>, expr: Expr, env: NameContext): void {
  for (const [name, value] of constraints) {
    if (!CONSTRAINTS.has(name)) throw unmappable(expr, env, `has the constraint ${name}, which openem-config does not translate`);
    const type = typeof schema.type === 'string' ? schema.type : undefined;
    const key = type === 'integer' || type === 'number' ? NUMBER_CONSTRAINTS[name] : type === undefined ? undefined : LENGTH_CONSTRAINTS[type]?.[name];
    if (key === undefined || typeof schema.$ref === 'string' || schema.format !== undefined && name === 'pattern') {
      throw unmappable(expr, env, `has the constraint ${name} on a type openem-config cannot constrain`);
    }
    schema[key] = value;
  }
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
