// Classes defined in the flow's module that pydantic turns into definitions of the schema: Enum
// subclasses (pydantic's enum_schema) and pydantic BaseModel subclasses (a model schema), each once,
// under `definitions` and referred to as `#/definitions/<name>`, as Prefect 3 sends them. What this
// reader cannot see through (a base class from another module, model_config, a field type it does
// not know) makes the annotation that uses the class Unmappable: an open schema and a warning.
import type { JsonValue } from '../config/types.js';
import { applyConstraints, typeSchema, Unmappable, type AnnotatedField, type ClassDefinitions, type Schema, type TypeContext } from './annotations.js';
import { qualifiedName } from './names.js';
import { cleandoc } from './docstring.js';
import type { Expr } from './expressions.js';
import type { ClassInfo, Scope } from './module.js';
import { fieldSpec, serializedValue, type ClassValues, type FieldSpec, type ValueContext } from './values.js';

const ENUM_BASES = new Set(['enum.Enum', 'enum.IntEnum', 'enum.StrEnum', 'enum.IntFlag', 'enum.Flag']);
const MODEL_BASES = new Set(['pydantic.BaseModel', 'pydantic.main.BaseModel']);
/** Mixins an Enum may take beside its Enum base; they do not change pydantic's schema of it. */
const ENUM_MIXINS = new Set(['builtins.str', 'builtins.int', 'builtins.float']);

export type ClassKind = { kind: 'enum' } | { kind: 'model'; parents: ClassInfo[] };

/** What a class is to pydantic, from its bases; undefined when it is neither an Enum nor a model this reader follows. */
export function classKind(info: ClassInfo): ClassKind | undefined {
  if (info.keywords.length > 0 || info.decorators.length > 0) return undefined;
  let enumBase = false;
  let modelBase = false;
  const parents: ClassInfo[] = [];
  for (const base of info.bases) {
    const parent = base.kind === 'name' ? info.scope.get(base.id) : undefined;
    if (parent?.kind === 'class') {
      const kind = classKind(parent.info);
      if (kind?.kind === 'model') {
        modelBase = true;
        parents.push(parent.info);
        continue;
      }
      // An Enum with members cannot be subclassed; without members it is only a base for others.
      if (kind?.kind === 'enum' && enumMembers(parent.info)?.length === 0) {
        enumBase = true;
        continue;
      }
      return undefined;
    }
    const path = qualifiedName(base, { scope: info.scope, forwardReference: false });
    if (path !== undefined && ENUM_BASES.has(path)) enumBase = true;
    else if (path !== undefined && MODEL_BASES.has(path)) modelBase = true;
    else if (!(path !== undefined && ENUM_MIXINS.has(path))) return undefined;
  }
  if (enumBase && !modelBase) return { kind: 'enum' };
  if (modelBase && !enumBase && info.bases.every((base) => !ENUM_MIXINS.has(qualifiedName(base, { scope: info.scope, forwardReference: false }) ?? ''))) {
    return { kind: 'model', parents };
  }
  return undefined;
}

/** An Enum's members in order, `NAME = literal`, aliases (a repeated value) included; undefined when one is not a literal. */
export function enumMembers(info: ClassInfo): Array<{ name: string; value: JsonValue }> | undefined {
  const members: Array<{ name: string; value: JsonValue }> = [];
  const context: ValueContext = { scope: info.scope, classes: undefined };
  for (const statement of info.statements) {
    if (statement.name.startsWith('_')) continue;
    if (statement.annotation !== undefined || statement.value === undefined) return undefined;
    const value = serializedValue(statement.value, context);
    if (value === undefined) return undefined;
    // pydantic lists every name of __members__, so a repeated value (an alias) appears twice.
    members.push({ name: statement.name, value: value.value });
  }
  return members;
}

/** The Python type of a JSON value as pydantic's enum_schema groups them. */
function pythonType(value: JsonValue): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'none';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'string' ? 'str' : 'dict';
}

function describedBy(info: ClassInfo): Schema {
  const description = info.docstring === undefined ? '' : cleandoc(info.docstring);
  return description === '' ? {} : { description };
}

/** pydantic's enum_schema. */
function enumSchema(info: ClassInfo, expr: Expr): Schema {
  const members = enumMembers(info);
  if (!members || members.length === 0) throw new Unmappable(`the Enum \`${expr.text}\` has members openem-config cannot read (each must be NAME = a literal)`);
  const values = members.map((member) => member.value);
  const schema: Schema = { ...describedBy(info), enum: values, title: info.name };
  const types = new Set(values.map(pythonType));
  const only = types.size === 1 ? [...types][0] : undefined;
  const type = only === undefined ? undefined : { str: 'string', int: 'integer', float: 'number', bool: 'boolean', list: 'array' }[only];
  if (type !== undefined) schema.type = type;
  return schema;
}

export interface ModelField {
  name: string;
  /** The property name: the field's alias, else its name. */
  key: string;
  annotation: Expr;
  spec: FieldSpec;
  line: number;
}

/** The fields of a model, its parents' first, as pydantic collects them; undefined when a statement is not a field this reader follows. */
export function modelFields(info: ClassInfo, parents: ClassInfo[], context: ValueContext): ModelField[] {
  const fields: ModelField[] = [];
  for (const parent of parents) {
    const kind = classKind(parent);
    if (kind?.kind !== 'model') throw new Unmappable(`the model \`${info.name}\` has a base openem-config cannot read`);
    for (const field of modelFields(parent, kind.parents, context)) fields.push(field);
  }
  if (info.otherNames.length > 0 && info.otherNames.some((name) => name === 'Config' || name === 'model_config')) {
    throw new Unmappable(`the model \`${info.name}\` has a configuration (model_config or Config) openem-config does not model`);
  }
  for (const statement of info.statements) {
    if (statement.name === 'model_config') throw new Unmappable(`the model \`${info.name}\` sets model_config, which openem-config does not model`);
    if (statement.name.startsWith('_')) continue;
    if (statement.annotation === undefined) throw new Unmappable(`the model \`${info.name}\` has \`${statement.name} = ...\` without an annotation, which pydantic refuses`);
    const path = statement.annotation.kind === 'subscript' ? qualifiedName(statement.annotation.value, { scope: info.scope, forwardReference: false }) : qualifiedName(statement.annotation, { scope: info.scope, forwardReference: false });
    if (path === 'typing.ClassVar') continue;
    const spec = fieldSpec(statement.value, context);
    if (spec === undefined) throw new Unmappable(`the default of \`${info.name}.${statement.name}\` is \`${statement.value?.text ?? ''}\`, which openem-config cannot evaluate`);
    const field = { name: statement.name, key: spec.alias ?? statement.name, annotation: statement.annotation, spec, line: statement.line };
    const at = fields.findIndex((existing) => existing.name === statement.name);
    if (at === -1) fields.push(field);
    else fields[at] = field;
  }
  return fields;
}

/** pydantic's get_title_from_name: `name.title().replace('_', ' ').strip()`. */
export function titleFromName(name: string): string {
  let title = '';
  let previousCased = false;
  for (const char of name) {
    const cased = char.toLowerCase() !== char.toUpperCase();
    title += cased ? (previousCased ? char.toLowerCase() : char.toUpperCase()) : char;
    previousCased = cased;
  }
  return title.replaceAll('_', ' ').trim();
}

/** pydantic's field_title_should_be_set: no title on a reference to a model or Enum, nullable or not. */
export function refersToDefinition(schema: Schema): boolean {
  if (typeof schema.$ref === 'string') return true;
  const anyOf = schema.anyOf;
  return Array.isArray(anyOf) && anyOf.length === 2 && Object.keys(schema).length === 1 && typeof (anyOf[0] as Schema).$ref === 'string' && (anyOf[1] as Schema).type === 'null';
}

/** pydantic's model schema. */
function modelSchema(info: ClassInfo, parents: ClassInfo[], env: TypeContext, classes: ModuleClasses): Schema {
  const context: ValueContext = { scope: env.moduleScope ?? info.scope, classes };
  const properties: Schema = {};
  const required: string[] = [];
  // Field annotations are resolved in the module once it has run (forward references included).
  const fieldEnv: TypeContext = { ...env, scope: env.moduleScope ?? info.scope, forwardReference: false, nested: false, depth: env.depth + 1 };
  for (const field of modelFields(info, parents, context)) {
    const annotated: AnnotatedField = {};
    const schema = typeSchema(field.annotation, { ...fieldEnv, annotatedField: annotated });
    applyConstraints(schema, field.spec.constraints, field.annotation, fieldEnv);
    const property: Schema = { ...schema };
    if (field.spec.default !== undefined) property.default = field.spec.default;
    else if (!field.spec.factory) required.push(field.key);
    const description = field.spec.description ?? annotated.description;
    const examples = field.spec.examples ?? annotated.examples;
    const title = field.spec.title ?? annotated.title;
    if (description !== undefined) property.description = description;
    if (examples !== undefined) property.examples = examples;
    if (title !== undefined) property.title = title;
    else if (!refersToDefinition(schema)) property.title = titleFromName(field.key);
    properties[field.key] = property;
  }
  const schema: Schema = { ...describedBy(info), properties, title: info.name, type: 'object' };
  if (required.length > 0) schema.required = required;
  return schema;
}

/**
 * The definitions of one schema: each class once, by its name, computed on first use. A class that
 * refers to itself (a tree) gets its reference before its definition is complete, as in pydantic.
 */
export class ModuleClasses implements ClassDefinitions, ClassValues {
  readonly definitions = new Map<string, Schema>();
  private readonly pending = new Set<string>();

  constructor(readonly moduleScope: Scope) {}

  /** The definitions made so far, to go back to when a parameter's schema is left open after all. */
  snapshot(): Map<string, Schema> {
    return new Map(this.definitions);
  }

  restore(snapshot: Map<string, Schema>): void {
    this.definitions.clear();
    for (const [name, schema] of snapshot) this.definitions.set(name, schema);
  }

  reference(info: ClassInfo, expr: Expr, env: TypeContext): Schema {
    const kind = classKind(info);
    if (!kind) throw new Unmappable(`the annotation \`${expr.text}\` is a class openem-config can read only when it is an Enum or a pydantic BaseModel defined in the flow's module`);
    const ref = { $ref: `#/definitions/${info.name}` };
    if (this.definitions.has(info.name) || this.pending.has(info.name)) return ref;
    this.pending.add(info.name);
    try {
      this.definitions.set(info.name, kind.kind === 'enum' ? enumSchema(info, expr) : modelSchema(info, kind.parents, { ...env, moduleScope: this.moduleScope, classes: this }, this));
    } finally {
      this.pending.delete(info.name);
    }
    return ref;
  }

  enumValue(info: ClassInfo, member: string): { value: JsonValue } | undefined {
    if (classKind(info)?.kind !== 'enum') return undefined;
    const statement = info.statements.find((candidate) => candidate.name === member);
    const value = statement?.value === undefined ? undefined : serializedValue(statement.value, { scope: info.scope, classes: undefined });
    // An alias (a member repeating another's value) is that member: the same value.
    return value !== undefined && enumMembers(info)?.some((known) => JSON.stringify(known.value) === JSON.stringify(value.value)) ? value : undefined;
  }

  enumValueOf(info: ClassInfo, value: JsonValue): { value: JsonValue } | undefined {
    if (classKind(info)?.kind !== 'enum') return undefined;
    return enumMembers(info)?.some((member) => JSON.stringify(member.value) === JSON.stringify(value)) ? { value } : undefined;
  }

  /** A model instance as pydantic dumps it in JSON mode: every field, by name, given or defaulted. */
  instance(info: ClassInfo, call: Extract<Expr, { kind: 'call' }>, context: ValueContext): { value: JsonValue } | undefined {
    const kind = classKind(info);
    if (kind?.kind !== 'model' || call.args.length > 0) return undefined;
    let fields: ModelField[];
    try {
      fields = modelFields(info, kind.parents, { scope: this.moduleScope, classes: this });
    } catch (error) {
      if (error instanceof Unmappable) return undefined;
      throw error;
    }
    if (fields.some((field) => field.key !== field.name)) return undefined;
    const given = new Map(call.keywords.map((keyword) => [keyword.name, keyword.value]));
    const value: { [key: string]: JsonValue } = {};
    for (const field of fields) {
      const expr = given.get(field.name);
      given.delete(field.name);
      if (expr !== undefined) {
        const item = serializedValue(expr, context);
        if (item === undefined) return undefined;
        value[field.name] = item.value;
      } else if (field.spec.default !== undefined) value[field.name] = field.spec.default;
      else if (field.spec.factory !== undefined) value[field.name] = field.spec.factory === 'dict' ? {} : [];
      else return undefined;
    }
    // An argument no field takes: pydantic ignores it by default, but it may be a typo that fails at import.
    return given.size === 0 ? { value } : undefined;
  }
}
