// What a name in the flow's module refers to: `t.Optional` is `typing.Optional` when the module
// did `import typing as t`. Shared by annotations, values and the flow decorator.
import type { Expr } from './expressions.js';
import type { Scope } from './module.js';

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

const BUILTIN_NAMES = new Set(['str', 'int', 'float', 'bool', 'bytes', 'object', 'list', 'dict', 'tuple', 'set', 'frozenset']);
const FORWARD_REFERENCE_MODULES = new Map([
  ['typing', 'typing'],
  ['t', 'typing'],
]);

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
