// A flow's signature as the parameter schema Prefect sends with a deployment.
import type { JsonValue } from '../config/types.js';
import { dictSchema, typeSchema, Unmappable, type Schema } from './annotations.js';
import { parseExpressionText, type Expr } from './expressions.js';
import type { FunctionSite } from './module.js';
import { SourceProblem } from './problem.js';
import { ModuleClasses } from './classes.js';
import { fieldSpec } from './values.js';
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
  const classes = new ModuleClasses(site.moduleScope);
  const failing = unevaluableAnnotation(site, futureAnnotations);
  const leftOpen: string[] = [];
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
    if (parameter.annotation && failing && (futureAnnotations || isText(parameter.annotation))) {
      // The signature stays unevaluated: the text is a forward reference in Prefect's namespace.
      const text = futureAnnotations ? parameter.annotation : (parseExpressionText(String((parameter.annotation as { value: string }).value)));
      try {
        schema = typeSchema(text, { scope: undefined, forwardReference: true, nested: true, depth: 0, rules });
      } catch (error) {
        if (!(error instanceof Unmappable)) throw error;
        leftOpen.push(name);
      }
    } else if (parameter.annotation) {
      const annotation = parameter.annotation;
      const before = classes.snapshot();
      try {
        // With `from __future__ import annotations` every annotation is a string that Prefect
        // evaluates once the module has run, so a quoted annotation is a string inside a string: a
        // nested forward reference.
        schema = typeSchema(annotation, {
          scope: futureAnnotations ? site.moduleScope : site.scope,
          forwardReference: false,
          nested: futureAnnotations,
          depth: 0,
          classes,
          moduleScope: site.moduleScope,
          rules,
        });
      } catch (error) {
        if (!(error instanceof Unmappable)) throw error;
        classes.restore(before);
        if (error.reason !== undefined) {
          warnings.push(
            `parameter \`${name}\`: ${error.reason}, so its schema is left open (any value), as Prefect does when it cannot import the flow's dependencies; ` +
              'use one of the annotations openem-config translates (README: What the flow reader supports) for a precise schema',
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
    let description = describe(name);
    if (parameter.default) {
      const expr = parameter.default;
      const spec = fieldSpec(expr, { scope: site.scope, classes });
      // `= Field(default, description=...)`: Prefect keeps the default and the description, not the constraints.
      const usable = spec !== undefined && spec.default !== undefined && spec.alias === undefined && spec.title === undefined && spec.examples === undefined;
      if (usable && !(spec.description !== undefined && description.description !== undefined)) {
        property.default = spec.default as JsonValue;
        if (spec.description !== undefined) description = { description: spec.description };
      } else {
        // Prefect would write the value the default has when the module is imported; without it the
        // parameter is still optional, and a run that leaves it out gets the flow's own default.
        warnings.push(
          `parameter \`${name}\`: the default \`${expr.text}\` cannot be evaluated without running the code, so the schema gives no default for it ` +
            '(a run that leaves it out still gets the flow\'s default); use a literal, a module constant, or a value openem-config evaluates (README: What the flow reader supports)',
        );
      }
    } else required.push(name);
    Object.assign(property, description);
    property.position = position;
    property.title = name;
    properties[name] = sortLikePydantic(property, name);
  }
  if (failing && leftOpen.length > 0) {
    warnings.push(
      `${failing.annotation === failing.name ? '' : `the annotation \`${failing.annotation}\` names `}\`${failing.name}\`, which is not defined once the module has run (imported under \`if TYPE_CHECKING:\`, or nowhere), ` +
        `so Prefect cannot evaluate the flow's ${futureAnnotations ? '' : 'quoted '}annotations and reads them as text that only builtins and \`typing.\` names resolve: ` +
        `the schema of ${leftOpen.map((parameter) => `\`${parameter}\``).join(', ')} is left open (any value), as Prefect leaves it; import the names outside \`if TYPE_CHECKING:\` for a precise schema`,
    );
  }
  const schema: Schema = { title: 'Parameters', type: 'object', properties };
  if (required.length > 0) schema.required = required;
  if (classes.definitions.size > 0) {
    const names = [...classes.definitions.keys()].sort();
    schema.definitions = Object.fromEntries(names.map((definition) => [definition, sortLikePydantic(classes.definitions.get(definition) as Schema, definition)]));
  }
  return { schema, warnings };
}

/** Python's builtins: a name among them is defined in every module. */
const PYTHON_BUILTINS = new Set(
  ('ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError BrokenPipeError BufferError BytesWarning ChildProcessError ' +
    'ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception ' +
    'ExceptionGroup False FileExistsError FileNotFoundError FloatingPointError FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError IndexError ' +
    'InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ModuleNotFoundError NameError None NotADirectoryError NotImplemented ' +
    'NotImplementedError OSError OverflowError PendingDeprecationWarning PermissionError ProcessLookupError RecursionError ReferenceError ResourceWarning RuntimeError ' +
    'RuntimeWarning StopAsyncIteration StopIteration SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError True TypeError UnboundLocalError ' +
    'UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ValueError Warning ZeroDivisionError __build_class__ __debug__ ' +
    '__doc__ __import__ __loader__ __name__ __package__ __spec__ abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex ' +
    'copyright credits delattr dict dir divmod enumerate eval exec exit filter float format frozenset getattr globals hasattr hash help hex id input int isinstance ' +
    'issubclass iter len license list locals map max memoryview min next object oct open ord pow print property quit range repr reversed round set setattr slice sorted ' +
    'staticmethod str sum super tuple type vars zip').split(' '),
);

const isText = (expr: Expr): boolean => expr.kind === 'constant' && expr.type === 'str';

/**
 * Prefect reads the signature with `inspect.signature(fn, eval_str=True)`, which evaluates every
 * annotation that is text (all of them with `from __future__ import annotations`, else the quoted
 * ones) in the module once it has run. When one names what is not defined there (a NameError), it
 * takes the signature unevaluated instead: the first such name, or undefined when all evaluate.
 */
function unevaluableAnnotation(site: FunctionSite, futureAnnotations: boolean): { name: string; annotation: string } | undefined {
  const undefinedName = (expr: Expr): string | undefined => {
    switch (expr.kind) {
      case 'name':
        return site.moduleScope.has(expr.id) || PYTHON_BUILTINS.has(expr.id) ? undefined : expr.id;
      case 'attribute':
        return undefinedName(expr.value);
      case 'subscript':
        return undefinedName(expr.value) ?? undefinedName(expr.index);
      case 'call':
        return [expr.func, ...expr.args, ...expr.keywords.map((keyword) => keyword.value)].map(undefinedName).find((name) => name !== undefined);
      case 'tuple':
      case 'list':
      case 'set':
        return expr.items.map(undefinedName).find((name) => name !== undefined);
      case 'dict':
        return expr.entries.flatMap(({ key, value }) => [key, value]).map(undefinedName).find((name) => name !== undefined);
      case 'unary':
        return undefinedName(expr.operand);
      case 'union':
        return undefinedName(expr.left) ?? undefinedName(expr.right);
      default:
        // A string inside is a forward reference, not evaluated now; constants and what cannot be read evaluate.
        return undefined;
    }
  };
  for (const parameter of site.parameters) {
    const annotation = parameter.annotation;
    if (!annotation) continue;
    const evaluated = futureAnnotations ? annotation : isText(annotation) ? parseExpressionText(String((annotation as { value: string }).value)) : undefined;
    const name = evaluated && undefinedName(evaluated);
    if (name !== undefined) return { name, annotation: futureAnnotations ? annotation.text : evaluated!.text };
  }
  return undefined;
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
