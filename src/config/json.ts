// JSON values as the inputs and the API hold them.
import type { JsonValue } from './types.js';

export type JsonObject = { [key: string]: JsonValue };

/** A mapping: not null, not a list. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
