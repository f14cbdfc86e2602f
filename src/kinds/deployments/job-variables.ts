// Checks a deployment's job_variables against its pool's template variables (a JSON schema)
// before anything is written: types, enums, items and nested properties. A string holding a
// placeholder is accepted for any type, since the worker fills it in at run time.
import type { JsonValue } from '../../config/types.js';

type Schema = { [key: string]: unknown };

export interface JobVariableProblem {
  /** Dotted path below job_variables, e.g. `networks.0`. */
  path: string;
  message: string;
  /** An unknown key is only a warning: Prefect accepts it, but no template field uses it. */
  warning?: boolean;
}

const isObject = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

function resolveRef(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let target: unknown = root;
  for (const part of ref.slice(2).split('/')) target = isObject(target) ? target[part] : undefined;
  return isObject(target) ? { ...target, ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) } : schema;
}

function typeOf(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: JsonValue, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

function check(value: JsonValue, schemaIn: Schema, root: Schema, path: string, problems: JobVariableProblem[]): void {
  if (typeof value === 'string' && value.includes('{{')) return;
  const schema = resolveRef(schemaIn, root);
  for (const combinator of ['allOf'] as const) {
    const parts = schema[combinator];
    if (Array.isArray(parts)) for (const part of parts) if (isObject(part)) check(value, part, root, path, problems);
  }
  const anyOf = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(anyOf)) {
    const fits = anyOf.some((option) => {
      const attempt: JobVariableProblem[] = [];
      if (isObject(option)) check(value, option, root, path, attempt);
      return attempt.every((p) => p.warning);
    });
    if (!fits) problems.push({ path, message: `${typeOf(value)} matches none of the allowed forms` });
    return;
  }
  const type = schema.type;
  const types = Array.isArray(type) ? (type as string[]) : typeof type === 'string' ? [type] : [];
  if (types.length > 0 && !types.some((t) => matchesType(value, t))) {
    problems.push({ path, message: `must be ${types.join(' or ')}, found ${typeOf(value)}` });
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    problems.push({ path, message: `must be one of ${schema.enum.map((o) => JSON.stringify(o)).join(', ')}, found another ${typeOf(value)}` });
    return;
  }
  if (Array.isArray(value) && isObject(schema.items)) {
    value.forEach((item, index) => check(item, schema.items as Schema, root, `${path}.${index}`, problems));
  }
  if (isObject(value) && isObject(schema.properties)) {
    const properties = schema.properties;
    for (const [key, item] of Object.entries(value)) {
      const sub = properties[key];
      if (isObject(sub)) check(item, sub, root, `${path}.${key}`, problems);
    }
  }
}

/** Problems of `jobVariables` against a pool template's `variables` schema. */
export function checkJobVariables(jobVariables: { [key: string]: JsonValue }, variablesSchema: unknown): JobVariableProblem[] {
  if (!isObject(variablesSchema)) return [];
  const properties = isObject(variablesSchema.properties) ? variablesSchema.properties : {};
  const problems: JobVariableProblem[] = [];
  for (const [key, value] of Object.entries(jobVariables)) {
    const schema = properties[key];
    if (!isObject(schema)) {
      const known = Object.keys(properties).sort().join(', ');
      problems.push({ path: key, message: `is not a variable of the pool's base job template (it has: ${known || 'none'}); the worker would ignore it`, warning: true });
      continue;
    }
    check(value, schema, variablesSchema, key, problems);
  }
  return problems;
}
