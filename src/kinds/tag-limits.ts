// Tag concurrency limits. Since Prefect 3.4.19 a tag limit is the global limit named `tag:<tag>`;
// the v1 routes are the adapter that speaks in tags, and its POST is an upsert.
import type { DesiredTagLimit } from '../config/types.js';
import { unwrap } from '../prefect/client.js';
import type { components } from '../prefect/schema.js';
import type { Diff, Kind } from '../reconcile/types.js';

type ConcurrencyLimit = components['schemas']['ConcurrencyLimit'];

const PAGE = 200;

export const tagLimitsKind: Kind<DesiredTagLimit, ConcurrencyLimit> = {
  name: 'tag-limit',
  key: (desired) => desired.tag,

  async read(api) {
    // The v1 filter has no tag filter: page through all tag limits (one request per 200).
    const found = new Map<string, ConcurrencyLimit>();
    for (let offset = 0; ; offset += PAGE) {
      const page = await unwrap(api.client.POST('/concurrency_limits/filter', { body: { limit: PAGE, offset } }));
      for (const limit of page) found.set(limit.tag, limit);
      if (page.length < PAGE) break;
    }
    return found;
  },

  diff(desired, current): Diff {
    if (!current) return { action: 'create', changes: [{ field: 'limit', to: desired.limit }] };
    if (current.concurrency_limit === desired.limit) return { action: 'noop', changes: [] };
    return { action: 'update', changes: [{ field: 'limit', from: current.concurrency_limit, to: desired.limit }] };
  },

  async apply(api, _item, desired) {
    await unwrap(api.client.POST('/concurrency_limits/', { body: { tag: desired.tag, concurrency_limit: desired.limit } }));
  },
};
