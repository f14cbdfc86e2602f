// Prefect variables: one per key of the vars files, value kept as JSON, tagged as managed.
import type { DesiredVariable } from '../config/types.js';
import { ApiError } from '../errors.js';
import { unwrap, unwrapOptional, type Api } from '../prefect/client.js';
import type { components } from '../prefect/schema.js';
import { chunks, jsonEqual, sameTags } from '../reconcile/json.js';
import type { Diff, FieldChange, Kind } from '../reconcile/types.js';

type Variable = components['schemas']['Variable'];
type VariableUpdate = components['schemas']['VariableUpdate'];

const PAGE = 200;

export const variablesKind: Kind<DesiredVariable, Variable> = {
  name: 'variable',
  key: (desired) => desired.name,

  async read(api, desired) {
    const found = new Map<string, Variable>();
    for (const names of chunks(desired.map((d) => d.name), PAGE)) {
      for (let offset = 0; ; offset += PAGE) {
        const page = await unwrap(
          api.client.POST('/variables/filter', {
            body: { variables: { operator: 'and_', name: { any_: names } }, sort: 'NAME_ASC', limit: PAGE, offset },
          }),
        );
        for (const variable of page) found.set(variable.name, variable);
        if (page.length < PAGE) break;
      }
    }
    return found;
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
    if (item.action === 'create' && !current) {
      const created = await api.client.POST('/variables/', {
        body: { name: desired.name, value: desired.value, tags: desired.tags },
      });
      if (created.response.status !== 409) {
        await unwrap(created);
        return;
      }
      // Someone created it since we read: read it again and update it instead.
      const now = await unwrapOptional(
        api.client.GET('/variables/name/{name}', { params: { path: { name: desired.name } } }),
      );
      if (!now) throw new ApiError({ status: 409, method: 'POST', path: '/variables/', detail: 'created concurrently, then gone' });
      const diff = variablesKind.diff(desired, now);
      if (diff.action === 'noop') return;
      await patch(api, desired, diff.changes);
      return;
    }
    await patch(api, desired, item.changes);
  },
};

async function patch(api: Api, desired: DesiredVariable, changes: FieldChange[]): Promise<void> {
  const body: VariableUpdate = {};
  for (const change of changes) {
    if (change.field === 'value') body.value = desired.value;
    if (change.field === 'tags') body.tags = desired.tags;
  }
  await unwrap(api.client.PATCH('/variables/name/{name}', { params: { path: { name: desired.name } }, body }));
}
