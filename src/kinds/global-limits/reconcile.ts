// Global concurrency limits through /v2/concurrency_limits/. The list cannot filter by name, so it
// is read whole (one request per 200 limits); its `tag:*` and `deployment:*` rows are Prefect's
// tag limits and deployments' own limits, never diffed or pruned here. `active_slots` is runtime
// state and is never sent.
import { unwrap, unwrapOptional, type Api } from '../../prefect/client.js';
import { createOrFind, foundMeanwhile } from '../../prefect/create.js';
import { pages } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import type { Diff, FieldChange, Kind } from '../../reconcile/types.js';
import { RESERVED_PREFIXES, type DesiredGlobalLimit } from './spec.js';

export type GlobalLimit = components['schemas']['GlobalConcurrencyLimitResponse'];
type GlobalLimitUpdate = components['schemas']['ConcurrencyLimitV2Update'];

/** Every row of the v2 list, Prefect's own `tag:` and `deployment:` limits included. */
async function readAllLimits(api: Api): Promise<GlobalLimit[]> {
  return pages((offset, limit) => unwrap(api.client.POST('/v2/concurrency_limits/filter', { body: { limit, offset } })));
}

/**
 * The v2 list as a run reads it: tag limits and global limits are rows of the same list, so one
 * run reads it once for both kinds, in the plan (all reads before the first write) and in export.
 */
const listOfRun = new WeakMap<Api, Promise<GlobalLimit[]>>();
export function readAllLimitsOnce(api: Api): Promise<GlobalLimit[]> {
  let list = listOfRun.get(api);
  if (!list) {
    list = readAllLimits(api);
    listOfRun.set(api, list);
    // A failed read is not remembered: the next kind that asks reads again.
    list.catch(() => listOfRun.delete(api));
  }
  return list;
}

export function isGlobalLimitName(name: string): boolean {
  return !RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

async function readGlobalLimits(api: Api): Promise<Map<string, GlobalLimit>> {
  return new Map((await readAllLimitsOnce(api)).filter((row) => isGlobalLimitName(row.name)).map((row) => [row.name, row]));
}

/** The declared fields that differ, as a PATCH body and as plan changes. */
function limitUpdate(desired: DesiredGlobalLimit, current: GlobalLimit): { body: GlobalLimitUpdate; changes: FieldChange[] } {
  const body: GlobalLimitUpdate = {};
  const changes: FieldChange[] = [];
  if (current.limit !== desired.limit) {
    body.limit = desired.limit;
    changes.push({ field: 'limit', from: current.limit, to: desired.limit });
  }
  if ((current.active ?? true) !== desired.active) {
    body.active = desired.active;
    changes.push({ field: 'active', from: current.active ?? true, to: desired.active });
  }
  if (desired.slotDecayPerSecond !== undefined && desired.slotDecayPerSecond !== (current.slot_decay_per_second ?? 0)) {
    body.slot_decay_per_second = desired.slotDecayPerSecond;
    changes.push({ field: 'slot_decay_per_second', from: current.slot_decay_per_second ?? 0, to: desired.slotDecayPerSecond });
  }
  return { body, changes };
}

async function patch(api: Api, id: string, body: GlobalLimitUpdate): Promise<void> {
  await unwrap(api.client.PATCH('/v2/concurrency_limits/{id_or_name}', { params: { path: { id_or_name: id } }, body }));
}

export const globalLimitsKind: Kind<DesiredGlobalLimit, GlobalLimit> = {
  name: 'global-limit',
  key: (desired) => desired.name,

  read: (api) => readGlobalLimits(api),

  async lookup(api, keys) {
    const all = await readGlobalLimits(api);
    return new Map(keys.flatMap((key) => (all.has(key) ? [[key, all.get(key)!] as const] : [])));
  },

  prune: {
    async list(api, owned) {
      const all = await readGlobalLimits(api);
      return new Map(owned.filter((name) => all.has(name)).map((name) => [name, all.get(name)!]));
    },
    async remove(api, _name, current) {
      await unwrap(api.client.DELETE('/v2/concurrency_limits/{id_or_name}', { params: { path: { id_or_name: current.id } } }));
    },
  },

  diff(desired, current): Diff {
    if (!current) {
      const changes: FieldChange[] = [
        { field: 'limit', to: desired.limit },
        { field: 'active', to: desired.active },
      ];
      if (desired.slotDecayPerSecond !== undefined) changes.push({ field: 'slot_decay_per_second', to: desired.slotDecayPerSecond });
      return { action: 'create', changes };
    }
    const { changes } = limitUpdate(desired, current);
    return { action: changes.length > 0 ? 'update' : 'noop', changes };
  },

  async apply(api, item, desired, current) {
    let existing = current;
    if (item.action === 'create' && !existing) {
      existing = await createOrFind({
        path: '/v2/concurrency_limits/',
        what: 'global concurrency limit',
        create: () =>
          api.client.POST('/v2/concurrency_limits/', {
            body: {
              name: desired.name,
              limit: desired.limit,
              active: desired.active,
              ...(desired.slotDecayPerSecond !== undefined && { slot_decay_per_second: desired.slotDecayPerSecond }),
            },
          }),
        find: () => unwrapOptional(api.client.GET('/v2/concurrency_limits/{id_or_name}', { params: { path: { id_or_name: desired.name } } })),
      });
      // Created by someone else since we read: update it where it differs.
      if (!existing) return;
    }
    if (!existing) throw new Error(`global limit ${desired.name} was planned as an update but is missing`);
    const { body } = limitUpdate(desired, existing);
    if (Object.keys(body).length > 0) await patch(api, existing.id, body);
    if (item.action === 'create' && !current) return foundMeanwhile(existing, Object.keys(body).length > 0);
  },
};
