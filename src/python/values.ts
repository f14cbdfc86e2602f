// Literal values, as pydantic writes a default into the schema (tuples become lists).
import type { JsonValue } from '../config/types.js';
import type { Scope } from './module.js';
import type { Expr } from './expressions.js';

export function literalValue(expr: Expr, scope: Scope, depth = 0): { value: JsonValue } | undefined {
  if (depth > 20) return undefined;
  switch (expr.kind) {
    case 'constant':
      if (expr.type === 'bytes') {
        // pydantic writes bytes as UTF-8 text; keep to ASCII, where that is unambiguous.
        return /^[\x00-\x7f]*$/.test(expr.value as string) ? { value: expr.value } : undefined;
      }
      return { value: expr.value };
    case 'unary': {
      const operand = literalValue(expr.operand, scope, depth + 1);
      if (typeof operand?.value !== 'number') return undefined;
      return { value: expr.op === '-' ? -operand.value : operand.value };
    }
    case 'tuple':
    case 'list': {
      const items: JsonValue[] = [];
      for (const item of expr.items) {
        const value = literalValue(item, scope, depth + 1);
        if (value === undefined) return undefined;
        items.push(value.value);
      }
      return { value: items };
    }
    case 'dict': {
      const object: { [key: string]: JsonValue } = {};
      for (const entry of expr.entries) {
        const key = literalValue(entry.key, scope, depth + 1);
        const value = literalValue(entry.value, scope, depth + 1);
        // Python writes an int key as its decimal text; other non-string keys have no safe JSON form.
        const isIntKey = entry.key.kind === 'constant' && entry.key.type === 'int';
        if (key === undefined || value === undefined || !(typeof key.value === 'string' || isIntKey)) return undefined;
        object[String(key.value)] = value.value;
      }
      return { value: object };
    }
    case 'name': {
      const binding = scope.get(expr.id);
      return binding?.kind === 'value' ? literalValue(binding.expr, scope, depth + 1) : undefined;
    }
    default:
      // Sets have no order Python guarantees; calls, arithmetic and the rest need the interpreter.
      return undefined;
  }
}
