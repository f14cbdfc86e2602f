// Tag concurrency limits. Since Prefect 3.4.19 a tag limit is the global limit named `tag:<tag>`;
// the v1 routes are the adapter that speaks in tags, and its POST is an upsert. Older servers
// keep tag limits apart from global ones: there a run re-sends each limit (harmless upserts).
import type { DesiredTagLimit } from '../../config/types.js';
import { unwrap, type Api } from '../../prefect/client.js';
import { upsertedMeanwhile } from '../../prefect/create.js';
import type { Diff, Kind } from '../../reconcile/types.js';
import { readAllLimitsOnce } from '../global-limits/reconcile.js';

/** The tag limit as this kind compares it. */
export interface TagLimit {
  tag: string;
  limit: number;
}

/** Since Prefect 3.4.19 a tag limit is the global limit named `tag:<tag>`. */
export const TAG_PREFIX = 'tag:';

export const tagLimitsKind: Kind<DesiredTagLimit, TagLimit> = {
  name: 'tag-limit',
  key: (desired) => desired.tag,

  read: (api) => readTagLimits(api),

  prune: {
    async list(api, owned) {
      const all = await readTagLimits(api);
      return new Map(owned.filter((tag) => all.has(tag)).map((tag) => [tag, all.get(tag)!]));
    },
    async remove(api, tag) {
      await unwrap(api.client.DELETE('/concurrency_limits/tag/{tag}', { params: { path: { tag } } }));
    },
  },

  diff(desired, current): Diff {
    if (!current) return { action: 'create', changes: [{ field: 'limit', to: desired.limit }] };
    if (current.limit === desired.limit) return { action: 'noop', changes: [] };
    return { action: 'update', changes: [{ field: 'limit', from: current.limit, to: desired.limit }] };
  },

  async apply(api, item, desired) {
    const result = await api.client.POST('/concurrency_limits/', { body: { tag: desired.tag, concurrency_limit: desired.limit } });
    await unwrap(result);
    // An upsert: a planned create answered 200 met a limit made since the read.
    if (item.action === 'create') return upsertedMeanwhile(result.response);
  },
};

async function readTagLimits(api: Api): Promise<Map<string, TagLimit>> {
  // Read through v2, where paging is sound: the v1 filter pages over all global limits and
  // then drops the non-tag rows, so a short or empty page does not mean the end. Neither
  // filter takes a name, so this is one request per 200 global limits.
  const found = new Map<string, TagLimit>();
  for (const row of await readAllLimitsOnce(api)) {
    if (row.name.startsWith(TAG_PREFIX)) found.set(row.name.slice(TAG_PREFIX.length), { tag: row.name.slice(TAG_PREFIX.length), limit: row.limit });
  }
  return found;
}
