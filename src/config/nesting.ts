// How deep the inputs may nest. Parsers, conversions and JSON.stringify recurse; a hostile file or
// environment variable nested thousands of levels deep would overflow the stack (exit 70) instead of
// being reported. Real configurations stay under ten levels.

/** Arrays and tables (mappings, objects) inside each other, counted from the file's top. */
export const MAX_NESTING_DEPTH = 100;

export const NESTING_PROBLEM = `nested more than ${MAX_NESTING_DEPTH} levels deep (lists and tables inside each other); flatten it`;

/**
 * The path to the first array or table at depth MAX_NESTING_DEPTH + 1 in an already parsed value,
 * or undefined. Iterative, so that it is safe however deep the value is.
 */
export function tooDeepPath(value: unknown): Array<string | number> | undefined {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: item, path } = next;
    if (typeof item !== 'object' || item === null || item instanceof Date) continue;
    if (path.length >= MAX_NESTING_DEPTH) {
      // `path` leads to a container inside MAX_NESTING_DEPTH others: too deep if it is itself one.
      return path;
    }
    const entries: Array<[string | number, unknown]> = Array.isArray(item) ? item.map((child, index) => [index, child]) : Object.entries(item);
    for (const [key, child] of entries) if (typeof child === 'object' && child !== null) stack.push({ value: child, path: [...path, key] });
  }
  return undefined;
}
