// Prefect variables: one per key of the vars files, value kept as JSON, tagged as managed.
import type { DesiredVariable } from '../config/types.js';
import { MANAGED_TAG } from '../config/variables.js';
import { ApiError } from '../errors.js';
import { unwrap, unwrapOptional, type Api } from '../prefect/client.js';
import type { components } from '../prefect/schema.js';
import { chunks, jsonEqual, sameTags } from '../reconcile/json.js';
import type { Diff, FieldChange, Kind } from '../reconcile/types.js';

type Variable = components['schemas']['Variable'];
type VariableUpdate = components['schemas']['VariableUpdate'];

const PAGE = 200;
/** Creates answered 409 with no such variable to read back, before giving up (as for secret blocks). */
const CREATE_ATTEMPTS = 3;

export const variablesKind: Kind<DesiredVariable, Variable> = {
  name: 'variable',
  key: (desired) => desired.name,

  async read(api, desired) {
    const found = new Map<string, Variable>();
    for (const names of chunks(desired.map((d) => d.name), PAGE)) {
      for (const variable of await filterVariables(api, { operator: 'and_', name: { any_: names } }, names.length)) found.set(variable.name, variable);
    }
    return found;
  },

  prune: {
    // Variables carry the managed tag: that, not the ownership record, says which are ours.
    async list(api) {
      const owned = await filterVariables(api, { operator: 'and_', tags: { operator: 'and_', all_: [MANAGED_TAG] } });
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
    // As for secret blocks: on PostgreSQL, Prefect 3.7.2 can answer concurrent creates of
    // *different* names with 409; when the read-back finds nothing, the create is tried again.
    for (let attempt = 1; ; attempt += 1) {
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
      if (now) {
        const diff = variablesKind.diff(desired, now);
        if (diff.action !== 'noop') await patch(api, desired, diff.changes);
        return;
      }
      if (attempt >= CREATE_ATTEMPTS) {
        throw new ApiError({ status: 409, method: 'POST', path: '/variables/', detail: 'a conflict three times, yet no such variable' });
      }
    }
  },
};

type VariableFilter = NonNullable<components['schemas']['Body_read_variables_variables_filter_post']['variables']>;

/** Pages through a filter; `atMost` (names are unique) saves the empty last page of a full one. */
async function filterVariables(api: Api, filter: VariableFilter, atMost = Infinity): Promise<Variable[]> {
  const found: Variable[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await unwrap(api.client.POST('/variables/filter', { body: { variables: filter, sort: 'NAME_ASC', limit: PAGE, offset } }));
    found.push(...page);
    if (page.length < PAGE || found.length >= atMost) return found;
  }
}

async function patch(api: Api, desired: DesiredVariable, changes: FieldChange[]): Promise<void> {
  const body: VariableUpdate = {};
  for (const change of changes) {
    if (change.field === 'value') body.value = desired.value;
    if (change.field === 'tags') body.tags = desired.tags;
  }
  await unwrap(api.client.PATCH('/variables/name/{name}', { params: { path: { name: desired.name } }, body }));
}
