// What the server says a block type is: its latest block schema, a JSON Schema with `secret_fields`
// and the types of the blocks a field may hold. Declared blocks are checked against it before any
// write; ajv (a maintained JSON Schema validator) does the type checks.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { compileSchema } from '../../config/json-schema.js';
import type { ConfigIssue } from '../../errors.js';
import { unwrap, type Api } from '../../prefect/client.js';
import { pages } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import type { DesiredBlock } from './spec.js';

export type BlockType = components['schemas']['BlockType'];
export type BlockSchema = components['schemas']['BlockSchema'];

export interface TypeInfo {
  type: BlockType;
  /** The newest schema of the type: new documents get it, and documents on an older one move to it. */
  schema: BlockSchema;
}

interface SchemaFields {
  properties?: { [field: string]: { [key: string]: unknown } };
  required?: string[];
  secret_fields?: string[];
  definitions?: { [name: string]: { block_type_slug?: string } & { [key: string]: unknown } };
  $defs?: { [name: string]: { block_type_slug?: string } & { [key: string]: unknown } };
}

const typesOfRun = new WeakMap<Api, Map<string, Promise<TypeInfo | undefined>>>();

/** The types and newest schemas of these slugs, read once per run (the plan and the checks share them). */
export async function readTypes(api: Api, slugs: readonly string[]): Promise<Map<string, TypeInfo>> {
  const known = typesOfRun.get(api) ?? new Map<string, Promise<TypeInfo | undefined>>();
  typesOfRun.set(api, known);
  const missing = [...new Set(slugs)].filter((slug) => !known.has(slug));
  if (missing.length > 0) {
    const batch = readTypeBatch(api, missing);
    for (const slug of missing) {
      const one = batch.then((found) => found.get(slug));
      known.set(slug, one);
      // A failed read is not remembered: the next caller reads again.
      one.catch(() => known.delete(slug));
    }
  }
  const out = new Map<string, TypeInfo>();
  for (const slug of new Set(slugs)) {
    const info = await known.get(slug);
    if (info) out.set(slug, info);
  }
  return out;
}

async function readTypeBatch(api: Api, slugs: string[]): Promise<Map<string, TypeInfo>> {
  const types = await pages((offset, limit) =>
    unwrap(api.client.POST('/block_types/filter', { body: { block_types: { slug: { any_: slugs } }, limit, offset } })),
  );
  const out = new Map<string, TypeInfo>();
  if (types.length === 0) return out;
  const schemas = await pages((offset, limit) =>
    unwrap(api.client.POST('/block_schemas/filter', { body: { block_schemas: { operator: 'and_', block_type_id: { any_: types.map((t) => t.id) } }, limit, offset } })),
  );
  for (const type of types) {
    const newest = schemas
      .filter((schema) => schema.block_type_id === type.id)
      .sort((a, b) => (Date.parse(b.created ?? '') || 0) - (Date.parse(a.created ?? '') || 0))[0];
    if (newest) out.set(type.slug, { type, schema: newest });
  }
  return out;
}

function fieldsOf(schema: BlockSchema): SchemaFields {
  return (schema.fields ?? {}) as SchemaFields;
}

export function secretFields(schema: BlockSchema | undefined): string[] {
  return schema ? (fieldsOf(schema).secret_fields ?? []) : [];
}

/** Whether a top-level field holds a secret: a `secret_fields` path is it or lies below it (`secrets.*` hides `secrets`). */
export function isSecretField(field: string, secretPaths: readonly string[]): boolean {
  return secretPaths.some((path) => path === field || path.startsWith(`${field}.`));
}

/** The block types a field may hold (from `$ref`s to definitions that carry a block_type_slug), or none. */
function blockTypesOfField(fields: SchemaFields, field: string): string[] {
  const definitions = { ...(fields.definitions ?? {}), ...(fields.$defs ?? {}) };
  const refs: string[] = [];
  const collect = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) collect(item);
      return;
    }
    const record = node as { [key: string]: unknown };
    if (typeof record.$ref === 'string') refs.push(record.$ref);
    for (const key of ['anyOf', 'oneOf', 'allOf']) collect(record[key]);
  };
  collect(fields.properties?.[field]);
  return refs.flatMap((ref) => {
    const slug = definitions[ref.replace(/^#\/(definitions|\$defs)\//, '')]?.block_type_slug;
    return slug ? [slug] : [];
  });
}

const compiled = new Map<string, ValidateFunction>();

/** Every problem of a declared block against its type's schema, at the field's line. */
export function checkBlock(block: DesiredBlock, info: TypeInfo): ConfigIssue[] {
  const fields = fieldsOf(info.schema);
  const properties = fields.properties ?? {};
  const known = Object.keys(properties);
  const issues: ConfigIssue[] = [];
  const at = (field: string) => block.fields[field] ?? block.source;
  for (const field of [...Object.keys(block.data), ...Object.keys(block.references)]) {
    if (!Object.hasOwn(properties, field)) {
      issues.push({ ...at(field), message: `unknown field \`${field}\` of block type ${block.type}; its fields are ${known.join(', ') || '(none)'}` });
    }
  }
  for (const [field, reference] of Object.entries(block.references)) {
    if (!Object.hasOwn(properties, field)) continue;
    const allowed = blockTypesOfField(fields, field);
    if (allowed.length === 0) issues.push({ ...reference.source, message: `field \`${field}\` of ${block.type} holds no block; give its value instead of { block = ... }` });
    else if (!allowed.includes(reference.type)) issues.push({ ...reference.source, message: `field \`${field}\` of ${block.type} holds a block of type ${allowed.join(' or ')}, not ${reference.type}` });
  }
  // The values are checked by the schema; fields given as references are left to the check above.
  const checked = { ...fields, properties: Object.fromEntries(Object.entries(properties).filter(([field]) => !Object.hasOwn(block.references, field))), required: (fields.required ?? []).filter((field) => !Object.hasOwn(block.references, field)) };
  const id = `${info.schema.id}:${Object.keys(block.references).sort().join(',')}`;
  let validate = compiled.get(id);
  if (!validate) {
    const { secret_fields: _secrets, ...schema } = checked as SchemaFields & { [key: string]: unknown };
    // A schema ajv cannot read is checked for unknown fields and references only (above).
    validate = compileSchema({ ...schema, additionalProperties: true });
    if (validate) compiled.set(id, validate);
  }
  if (validate && !validate(block.data)) {
    for (const error of validate.errors ?? []) issues.push(describe(error, block));
  }
  return issues.map((issue) => ({ ...issue, severity: 'error' }));
}

/** An ajv error as an input issue: where, and what is expected, never the value itself. */
function describe(error: ErrorObject, block: DesiredBlock): ConfigIssue {
  const path = error.instancePath.split('/').slice(1).map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  const field = path[0];
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty?: string }).missingProperty ?? '?';
    const inside = path.length > 0 ? ` in \`${path.join('.')}\`` : '';
    return { ...block.source, message: `block type ${block.type} requires \`${missing}\`${inside}; add it` };
  }
  const where = field !== undefined ? (block.fields[field] ?? block.source) : block.source;
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  const detail = allowed ? `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}` : (error.message ?? 'is not valid');
  return { ...where, key: [block.source.key, ...path].filter(Boolean).join('.'), message: `\`${path.join('.') || block.name}\` ${detail}` };
}
