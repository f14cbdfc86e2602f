// A flow's signature as the parameter schema Prefect sends with a deployment.
import type { JsonValue } from '../config/types.js';
import { dictSchema, typeSchema, Unmappable, type Schema } from './annotations.js';
import type { FunctionSite } from './module.js';
import { SourceProblem } from './problem.js';
import { literalValue } from './values.js';
import type { SchemaRules } from './versions.js';

/** Prefect's flow decorator refuses these parameter names (`raise_for_reserved_arguments`). */
const RESERVED_PARAMETERS = new Set(['return_state', 'wait_for']);

/** Mirrors prefect.utilities.callables.parameter_schema + ParameterSchema.model_dump(exclude_unset=True). */
export function parameterSchema({ site, futureAnnotations, rules, descriptions }: {
  site: FunctionSite;
  futureAnnotations: boolean;
  rules: SchemaRules;
  descriptions: Map<string, string>;
}): { schema: Schema; warnings: string[] } {
  const properties: Schema = {};
  const required: string[] = [];
  const warnings: string[] = [];
  const describe = (name: string): Schema => {
    const description = descriptions.get(name);
    return description === undefined ? {} : { description };
  };
  for (const [position, parameter] of site.parameters.entries()) {
    const { name } = parameter;
    // Prefect skips these as implicit, but still counts them in `position`.
    if (name === 'self' || name === 'cls') continue;
    if (name.startsWith('_')) {
      throw new SourceProblem(`the parameter \`${name}\` starts with an underscore, and Prefect (pydantic) refuses such flows; rename it`, parameter.line);
    }
    if (RESERVED_PARAMETERS.has(name) || name === 'model_config') {
      throw new SourceProblem(`the parameter name \`${name}\` is reserved by Prefect, which refuses the flow; rename it`, parameter.line);
    }
    let schema: Schema = {};
    if (parameter.annotation) {
      const annotation = parameter.annotation;
      try {
        // With `from __future__ import annotations` every annotation is a string that Prefect
        // evaluates, so a quoted annotation is a string inside a string: a nested forward reference.
        schema = typeSchema(annotation, { scope: site.scope, forwardReference: false, nested: futureAnnotations, depth: 0 });
      } catch (error) {
        if (!(error instanceof Unmappable)) throw error;
        if (error.reason !== undefined) {
          warnings.push(
            `parameter \`${name}\`: ${error.reason}, so its schema is left open (any value), as Prefect does when it cannot import the flow's dependencies; ` +
              'use one of the annotations openem-config translates (str, int, float, bool, UUID, datetime, list/dict/tuple/set, Optional, Union, Literal) for a precise schema',
          );
        }
      }
    }
    const variadic = parameter.kind === 'var-positional' || parameter.kind === 'var-keyword';
    if (variadic && rules.variadicCollections) {
      // SCHEMA_RULES.variadicCollections: list[T] and dict[str, T], each with an empty default.
      const collection = parameter.kind === 'var-positional' ? { items: schema, type: 'array' } : dictSchema({ type: 'string' }, schema);
      properties[name] = sortLikePydantic({ ...collection, default: parameter.kind === 'var-positional' ? [] : {}, ...describe(name), position, title: name }, name);
      continue;
    }
    const property: Schema = { ...schema };
    if (parameter.default) {
      const expr = parameter.default;
      const literal = literalValue(expr, site.scope);
      if (literal === undefined) {
        throw new SourceProblem(
          `the default of parameter \`${name}\` is \`${expr.text}\`, which cannot be evaluated without running the code; ` +
            'use a literal (number, string, True/False/None, list, tuple or dict of those) or a module constant assigned one',
          parameter.line,
        );
      }
      property.default = literal.value;
    } else required.push(name);
    Object.assign(property, describe(name));
    property.position = position;
    property.title = name;
    properties[name] = sortLikePydantic(property, name);
  }
  const schema: Schema = { title: 'Parameters', type: 'object', properties };
  if (required.length > 0) schema.required = required;
  return { schema, warnings };
}

/** pydantic's GenerateJsonSchema._sort_recursive: keys sorted, except directly under `properties` and `default`. */
function sortLikePydantic(value: JsonValue, parentKey: string | undefined): JsonValue;
function sortLikePydantic(value: Schema, parentKey: string | undefined): Schema;
function sortLikePydantic(value: JsonValue, parentKey: string | undefined): JsonValue {
  if (Array.isArray(value)) return value.map((item) => sortLikePydantic(item, parentKey));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (parentKey !== 'properties' && parentKey !== 'default') keys.sort();
  const sorted: Schema = {};
  for (const key of keys) sorted[key] = sortLikePydantic(value[key] as JsonValue, key);
  return sorted;
}
