// JSON Schemas the server publishes (block schemas, flows' parameter schemas), compiled once with
// ajv, a maintained validator. Formats are not checked (pydantic names formats ajv does not know).
import { Ajv, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });

/**
 * The schema with every `$ref` that points at nothing replaced by "anything": Prefect's own
 * schemas have such references (the `secret` type's value refers to a JsonValue definition it does
 * not carry), and a reference nobody can follow constrains nothing.
 */
function withResolvableRefs(schema: { [key: string]: unknown }): { [key: string]: unknown } {
  const definitions = { ...((schema.definitions as object | undefined) ?? {}), ...((schema.$defs as object | undefined) ?? {}) };
  const resolvable = (ref: string): boolean => {
    const match = /^#\/(definitions|\$defs)\/([^/]+)$/.exec(ref);
    return match !== null && Object.hasOwn(definitions, match[2]!);
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const record = node as { [key: string]: unknown };
    if (typeof record.$ref === 'string' && !resolvable(record.$ref)) {
      const { $ref: _ref, ...rest } = record;
      return walk(rest);
    }
    return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, walk(value)]));
  };
  return walk(schema) as { [key: string]: unknown };
}

/** A validator for `schema`, or undefined when ajv cannot read it. */
export function compileSchema(schema: { [key: string]: unknown }): ValidateFunction | undefined {
  try {
    return ajv.compile(withResolvableRefs(schema));
  } catch {
    return undefined;
  }
}
