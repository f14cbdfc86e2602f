// Prefect variables: one per key of the vars files, value kept as JSON, tagged as managed.
import type { DesiredVariable } from '../../config/types.js';
import { MANAGED_TAG } from './spec.js';
import { unwrap, unwrapOptional, type Api } from '../../prefect/client.js';
import type { components } from '../../prefect/schema.js';
import { jsonEqual, sameTags } from '../../reconcile/json.js';
import type { Diff, FieldChange, Kind } from '../../reconcile/types.js';
import { createOrFind, foundMeanwhile } from '../../prefect/create.js';
import { pages, pagesByName } from '../../prefect/paging.js';

type Variable = components['schemas']['Variable'];
type VariableUpdate = components['schemas']['VariableUpdate'];

export const variablesKind: Kind<DesiredVariable, Variable> = {
  name: 'variable',
  key: (desired) => desired.name,

  read: (api, desired) => readByName(api, desired.map((d) => d.name)),

  lookup: readByName,

  prune: {
    // Variables carry the managed tag: that, not the ownership record, says which are ours.
    async list(api) {
      const owned = await pages((offset, limit) =>
        unwrap(api.client.POST('/variables/filter', { body: { variables: { operator: 'and_', tags: { operator: 'and_', all_: [MANAGED_TAG] } }, sort: 'NAME_ASC', limit, offset } })),
      );
      return new Map(owned.map((variable) => [variable.name, variable]));
    },
    async remove(api, name) {
      await unwrap(api.client.DELETE('/variables/name/{name}', { params: { path: { name } } }));
    },
  },

  diff(desired, current): Diff {
    if (!current) {
      return {
        action: 'create',
        changes: [
          { field: 'value', to: desired.value },
          { field: 'tags', to: desired.tags },
        ],
      };
    }
    const changes: FieldChange[] = [];
    if (!jsonEqual(current.value, desired.value)) changes.push({ field: 'value', from: current.value, to: desired.value });
    if (!sameTags(current.tags ?? [], desired.tags)) changes.push({ field: 'tags', from: current.tags, to: desired.tags });
    return { action: changes.length > 0 ? 'update' : 'noop', changes };
  },

  async apply(api, item, desired, current) {
    if (item.action !== 'create' || current) {
      await patch(api, desired, item.changes);
      return;
    }
    const now = await createOrFind({
      path: '/variables/',
      what: 'variable',
      create: () => api.client.POST('/variables/', { body: { name: desired.name, value: desired.value, tags: desired.tags } }),
      find: () => unwrapOptional(api.client.GET('/variables/name/{name}', { params: { path: { name: desired.name } } })),
    });
    if (!now) return;
    // Created by someone else since we read: update it where it differs.
    const diff = variablesKind.diff(desired, now);
    if (diff.action !== 'noop') await patch(api, desired, diff.changes);
    return foundMeanwhile(now, diff.action !== 'noop');
  },
};

/** Variables by name, in bulk. */
async function readByName(api: Api, names: readonly string[]): Promise<Map<string, Variable>> {
  const variables = await pagesByName(names, (batch, offset, limit) =>
    unwrap(api.client.POST('/variables/filter', { body: { variables: { operator: 'and_', name: { any_: batch } }, sort: 'NAME_ASC', limit, offset } })),
  );
  return new Map(variables.map((variable) => [variable.name, variable]));
}

async function patch(api: Api, desired: DesiredVariable, changes: FieldChange[]): Promise<void> {
  const body: VariableUpdate = {};
  for (const change of changes) {
    if (change.field === 'value') body.value = desired.value;
    if (change.field === 'tags') body.tags = desired.tags;
  }
  await unwrap(api.client.PATCH('/variables/name/{name}', { params: { path: { name: desired.name } }, body }));
}
