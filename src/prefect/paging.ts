// Every list the server gives is read through these two loops: offset paging, 200 a page (the
// server's cap, PREFECT_SERVER_API_DEFAULT_LIMIT), until a page comes back short.
import { chunks } from '../reconcile/json.js';

export const PAGE = 200;

/** Every row of a list, page after page. */
export async function pages<T>(fetchPage: (offset: number, limit: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await fetchPage(offset, PAGE);
    all.push(...page);
    if (page.length < PAGE) return all;
  }
}

/**
 * The rows of a filter by unique names, 200 names a request. A batch of unique names matches at
 * most that many rows, so a full page of a full batch is the end (no empty page is asked for).
 * Set `unique: false` where a name may match several rows (deployments of several flows).
 */
export async function pagesByName<T>(
  names: readonly string[],
  fetchPage: (batch: string[], offset: number, limit: number) => Promise<T[]>,
  options: { unique?: boolean } = {},
): Promise<T[]> {
  const unique = options.unique ?? true;
  const all: T[] = [];
  for (const batch of chunks([...new Set(names)], PAGE)) {
    for (let offset = 0; ; offset += PAGE) {
      const page = await fetchPage(batch, offset, PAGE);
      all.push(...page);
      if (page.length < PAGE || (unique && page.length >= batch.length)) break;
    }
  }
  return all;
}
