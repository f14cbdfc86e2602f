// What automations and deployment triggers share on the server side: the one list of automations
// of a run, the names of the objects their actions point at (ids on the server, names in the files),
// the comparison of a declared automation with the server's, and the writes.
import { isObject, type JsonObject } from '../../config/json.js';
import { oneLine } from '../../config/names.js';
import type { ConfigIssue } from '../../errors.js';
import type { JsonValue } from '../../config/types.js';
import { unwrap, unwrapOptional, type Api } from '../../prefect/client.js';
import { responseOrigins } from '../../prefect/http.js';
import { pages } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import { chunks, jsonEqual } from '../../reconcile/json.js';
import type { FieldChange } from '../../reconcile/types.js';
import { ACTION_LISTS, REFERENCE_KINDS, type DesiredAction, type DesiredAutomation, type ReferenceKind, type TemplateText } from './spec.js';

export type Automation = components['schemas']['Automation'];
type AutomationCreate = components['schemas']['AutomationCreate'];

/** Every automation of the server, read once per run for both kinds (one request per 200). */
const listOfRun = new WeakMap<Api, Promise<Automation[]>>();
export function readAllAutomations(api: Api): Promise<Automation[]> {
  let list = listOfRun.get(api);
  if (!list) {
    list = pages((offset, limit) => unwrap(api.client.POST('/automations/filter', { body: { limit, offset } })));
    listOfRun.set(api, list);
    list.catch(() => listOfRun.delete(api));
  }
  return list;
}

/** The names of the objects actions point at, by reference kind and id. */
export type NamesById = Map<ReferenceKind, Map<string, string>>;

function actionsOf(automation: Automation): JsonObject[] {
  return ACTION_LISTS.flatMap(([, key]) => (automation[key] ?? []) as unknown as JsonObject[]);
}

/**
 * Reads, in bulk, the names of every object the given automations' actions point at by id (one
 * request per kind that is pointed at, and per 200 ids), plus `extraIds` (ids the files give).
 */
export async function readNames(api: Api, automations: readonly Automation[], extraIds: ReadonlyArray<{ kind: ReferenceKind; id: string }> = []): Promise<NamesById> {
  const wanted = new Map<ReferenceKind, Set<string>>();
  const want = (kind: ReferenceKind, id: unknown) => {
    if (typeof id !== 'string') return;
    const ids = wanted.get(kind) ?? new Set<string>();
    ids.add(id);
    wanted.set(kind, ids);
  };
  for (const automation of automations) {
    for (const action of actionsOf(automation)) {
      for (const [kind, { idKey }] of Object.entries(REFERENCE_KINDS) as Array<[ReferenceKind, { idKey: string }]>) want(kind, action[idKey]);
    }
  }
  for (const { kind, id } of extraIds) want(kind, id);
  const names: NamesById = new Map();
  const byId = <T extends { id: string }>(rows: T[], name: (row: T) => string | undefined) => new Map(rows.flatMap((row) => (name(row) ? [[row.id, name(row)!] as const] : [])));
  const inBatches = async <T>(ids: Set<string>, read: (batch: string[], offset: number, limit: number) => Promise<T[]>): Promise<T[]> => {
    const all: T[] = [];
    for (const batch of chunks([...ids], 200)) all.push(...(await pages((offset, limit) => read(batch, offset, limit))));
    return all;
  };
  await Promise.all(
    [...wanted].map(async ([kind, ids]) => {
      switch (kind) {
        case 'deployment': {
          const rows = await inBatches(ids, (batch, offset, limit) =>
            unwrap(api.client.POST('/deployments/filter', { body: { deployments: { operator: 'and_', id: { any_: batch } }, offset, limit } })),
          );
          const flowIds = new Set(rows.map((row) => row.flow_id));
          const flows = await inBatches(flowIds, (batch, offset, limit) =>
            unwrap(api.client.POST('/flows/filter', { body: { flows: { operator: 'and_', id: { any_: batch } }, offset, limit } })),
          );
          const flowNames = new Map(flows.map((flow) => [flow.id, flow.name]));
          names.set(kind, byId(rows, (row) => (flowNames.has(row.flow_id) ? `${flowNames.get(row.flow_id)}/${row.name}` : undefined)));
          break;
        }
        case 'work_pool': {
          const rows = await inBatches(ids, (batch, offset, limit) => unwrap(api.client.POST('/work_pools/filter', { body: { work_pools: { operator: 'and_', id: { any_: batch } }, offset, limit } })));
          names.set(kind, byId(rows, (row) => row.name));
          break;
        }
        case 'work_queue': {
          const rows = await inBatches(ids, (batch, offset, limit) =>
            unwrap(api.client.POST('/work_queues/filter', { body: { work_queues: { operator: 'and_', id: { any_: batch } }, offset, limit } })),
          );
          names.set(kind, byId(rows, (row) => (row.work_pool_name ? `${row.work_pool_name}/${row.name}` : undefined)));
          break;
        }
        case 'block_document': {
          const rows = await inBatches(ids, (batch, offset, limit) =>
            unwrap(api.client.POST('/block_documents/filter', { body: { block_documents: { operator: 'and_', id: { any_: batch } }, include_secrets: false, offset, limit } })),
          );
          names.set(kind, byId(rows, (row) => (row.block_type?.slug && row.name ? `${row.block_type.slug}/${row.name}` : undefined)));
          break;
        }
        case 'automation': {
          const all = await readAllAutomations(api);
          names.set(kind, byId(all, (row) => row.name));
          break;
        }
      }
    }),
  );
  return names;
}

/** The deployment an automation runs when running it is all the automation does, as `prefect deploy` makes them. */
export function runsOnly(automation: Automation, names: NamesById): string | undefined {
  const [action, ...others] = (automation.actions ?? []) as unknown as Array<Record<string, unknown>>;
  if (!action || others.length > 0 || (automation.actions_on_trigger ?? []).length > 0 || (automation.actions_on_resolve ?? []).length > 0) return undefined;
  if (action.type !== 'run-deployment' || action.source !== 'selected' || typeof action.deployment_id !== 'string') return undefined;
  return names.get('deployment')?.get(action.deployment_id);
}

/**
 * The deployment whose trigger an automation is, as export writes it: it only runs that deployment
 * and has no tags (a deployment's trigger has none). Which deployment owns an automation
 * (`owner_resource`) is not in what the API gives back, so this is the rule that can be seen.
 */
export function triggerOf(automation: Automation, names: NamesById): string | undefined {
  return (automation.tags ?? []).length === 0 ? runsOnly(automation, names) : undefined;
}

/** An action of the server as the file would write it: the fields the declared one has, the object by name where it can be. */
function actionView(current: JsonObject, desired: DesiredAction | undefined, names: NamesById): JsonObject {
  const view: JsonObject = {};
  const kind = (Object.keys(REFERENCE_KINDS) as ReferenceKind[]).find((k) => typeof current[REFERENCE_KINDS[k].idKey] === 'string');
  const sameType = desired !== undefined && desired.body.type === current.type;
  const fields = sameType ? Object.keys(desired.body) : Object.keys(current).filter((key) => !kind || key !== REFERENCE_KINDS[kind].idKey);
  for (const field of fields) view[field] = current[field] ?? null;
  if (kind) {
    const id = current[REFERENCE_KINDS[kind].idKey] as string;
    const name = names.get(kind)?.get(id);
    if (sameType && desired.reference?.id !== undefined) view[REFERENCE_KINDS[kind].idKey] = id;
    else view[kind] = name ?? `(an object the server no longer has: ${id})`;
  }
  return view;
}

/** A declared action as the file writes it (the object by name, or by id where the file gives an id). */
export function desiredActionView(action: DesiredAction): JsonObject {
  const view: JsonObject = { ...action.body };
  const reference = action.reference;
  if (reference) {
    if (reference.name !== undefined) view[reference.kind] = reference.name;
    else view[REFERENCE_KINDS[reference.kind].idKey] = reference.id ?? null;
  }
  return view;
}

const sortedStrings = (value: unknown): string[] => (Array.isArray(value) ? [...new Set(value.filter((item): item is string => typeof item === 'string'))].sort() : []);

/** The server's trigger in the files' canonical form: no ids, sets sorted. */
export function triggerView(trigger: unknown): JsonObject {
  if (!isObject(trigger)) return {};
  const { id: _id, ...rest } = trigger;
  const view: JsonObject = { ...rest };
  for (const key of ['after', 'expect', 'for_each']) if (key in view) view[key] = sortedStrings(view[key]);
  if (Array.isArray(view.triggers)) view.triggers = view.triggers.map(triggerView);
  return view;
}

/** The part of a trigger that the declared one speaks of: the server may add fields a newer release knows. */
function projectTrigger(current: JsonObject, desired: JsonObject): JsonObject {
  const view: JsonObject = {};
  for (const key of Object.keys(desired)) {
    if (key === 'triggers' && Array.isArray(current.triggers) && Array.isArray(desired.triggers)) {
      view.triggers = current.triggers.map((child, index) => {
        const other = (desired.triggers as JsonValue[])[index];
        return isObject(child) && isObject(other) ? projectTrigger(child, other) : child;
      });
    } else {
      view[key] = current[key] ?? null;
    }
  }
  return view;
}

/** The declared automation, field by field, as plan lines show it. */
export function desiredView(desired: DesiredAutomation): JsonObject {
  return {
    description: desired.description,
    enabled: desired.enabled,
    tags: [...desired.tags].sort(),
    trigger: desired.trigger,
    actions: desired.actions.map(desiredActionView),
    actions_on_trigger: desired.actionsOnTrigger.map(desiredActionView),
    actions_on_resolve: desired.actionsOnResolve.map(desiredActionView),
  };
}

/** The server's automation in the same fields, shaped like the declared one where they can be compared. */
export function currentView(current: Automation, desired: DesiredAutomation, names: NamesById): JsonObject {
  const list = (key: (typeof ACTION_LISTS)[number][1], declared: DesiredAction[]) =>
    ((current[key] ?? []) as unknown as JsonObject[]).map((action, index) => actionView(action, declared[index], names));
  return {
    description: current.description ?? '',
    enabled: current.enabled ?? true,
    tags: [...(current.tags ?? [])].sort(),
    trigger: projectTrigger(triggerView(current.trigger), desired.trigger),
    actions: list('actions', desired.actions),
    actions_on_trigger: list('actions_on_trigger', desired.actionsOnTrigger),
    actions_on_resolve: list('actions_on_resolve', desired.actionsOnResolve),
  };
}

/** The fields that differ, as plan changes (nested values are expanded by the report). */
export function automationChanges(desired: DesiredAutomation, current: Automation | undefined, names: NamesById): FieldChange[] {
  const to = desiredView(desired);
  if (!current) {
    return Object.entries(to)
      .filter(([field, value]) => !(Array.isArray(value) && value.length === 0 && field !== 'actions') && !(field === 'description' && value === ''))
      .map(([field, value]) => ({ field, to: value }));
  }
  const from = currentView(current, desired, names);
  return Object.keys(to)
    .filter((field) => !jsonEqual(from[field], to[field]))
    .map((field) => ({ field, from: from[field], to: to[field] }));
}

// ---------------------------------------------------------------------------------------------
// Writes.

/** Ids of objects found by name during this run's apply, by kind and name. */
const idsOfRun = new WeakMap<Api, Map<string, Promise<string | undefined>>>();

function runIds(api: Api): Map<string, Promise<string | undefined>> {
  let cache = idsOfRun.get(api);
  if (!cache) idsOfRun.set(api, (cache = new Map()));
  return cache;
}

/** What this run learnt by writing: `name` is the automation `id` (created or updated just now). */
export function rememberAutomationId(api: Api, name: string, id: string): void {
  runIds(api).set(`automation\u0000${name}`, Promise.resolve(id));
}

/** The id of the object an action names; read by name the first time a run asks. */
export function idOf(api: Api, kind: ReferenceKind, name: string): Promise<string | undefined> {
  const cache = runIds(api);
  const key = `${kind}\u0000${name}`;
  let id = cache.get(key);
  if (!id) {
    id = findId(api, kind, name);
    cache.set(key, id);
    id.catch(() => cache.delete(key));
  }
  return id;
}

async function findId(api: Api, kind: ReferenceKind, name: string): Promise<string | undefined> {
  const [first = '', second = ''] = name.split('/');
  switch (kind) {
    case 'deployment':
      return (await unwrapOptional(api.client.GET('/deployments/name/{flow_name}/{deployment_name}', { params: { path: { flow_name: first, deployment_name: second } } })))?.id;
    case 'work_pool':
      return (await unwrapOptional(api.client.GET('/work_pools/{name}', { params: { path: { name } } })))?.id;
    case 'work_queue':
      return (await unwrapOptional(api.client.GET('/work_pools/{work_pool_name}/queues/{name}', { params: { path: { work_pool_name: first, name: second } } })))?.id;
    case 'block_document':
      return (
        await unwrapOptional(
          api.client.GET('/block_types/slug/{slug}/block_documents/name/{block_document_name}', { params: { path: { slug: first, block_document_name: second }, query: { include_secrets: false } } }),
        )
      )?.id;
    case 'automation': {
      const found = await unwrap(api.client.POST('/automations/filter', { body: { automations: { operator: 'and_', name: { any_: [name] } }, limit: 2, offset: 0 } }));
      return found.length === 1 ? found[0]!.id : undefined;
    }
  }
}

/** The action's body with its name turned into an id; undefined for an action `leaveOut` names that has no id yet. */
async function resolvedAction(api: Api, action: DesiredAction, leaveOut: ReadonlySet<string>): Promise<JsonObject | undefined> {
  const body: JsonObject = { ...action.body };
  const reference = action.reference;
  if (reference) {
    const { idKey, what } = REFERENCE_KINDS[reference.kind];
    const id = reference.id ?? (await idOf(api, reference.kind, reference.name!));
    if (!id && reference.kind === 'automation' && leaveOut.has(reference.name!)) return undefined;
    if (!id) throw new Error(`${what} "${reference.name}" was not found when the automation was written; declare it or fix the name`);
    body[idKey] = id;
  }
  return body;
}

/** The automations `desired`'s actions name that have no id yet (none exists by that name), out of `among`. */
export async function unwrittenTargets(api: Api, desired: DesiredAutomation, among: ReadonlySet<string>): Promise<string[]> {
  const names = new Set(
    ACTION_LISTS.flatMap(([field]) => desired[field].flatMap((action) => (action.reference?.kind === 'automation' && action.reference.name !== undefined ? [action.reference.name] : []))),
  );
  const found = await Promise.all([...names].filter((name) => among.has(name)).map(async (name) => ((await idOf(api, 'automation', name)) ? [] : [name])));
  return found.flat();
}

/**
 * The body of a create or an update, with every name turned into the id the server wants. An
 * action naming one of `leaveOut` that does not exist yet is left out: an update adds it once that
 * automation is written (automations that name each other, or themselves).
 */
export async function automationBody(api: Api, desired: DesiredAutomation, leaveOut: ReadonlySet<string> = new Set()): Promise<AutomationCreate> {
  const lists = await Promise.all(
    ACTION_LISTS.map(async ([field]) => (await Promise.all(desired[field].map((action) => resolvedAction(api, action, leaveOut)))).filter((body) => body !== undefined)),
  );
  const [actions, actionsOnTrigger, actionsOnResolve] = lists;
  return {
    name: desired.name,
    description: desired.description,
    enabled: desired.enabled,
    // Sent only when declared: a server older than automation tags would refuse the field.
    ...(desired.tags.length > 0 && { tags: desired.tags }),
    trigger: desired.trigger as unknown as AutomationCreate['trigger'],
    actions: actions as unknown as AutomationCreate['actions'],
    actions_on_trigger: actionsOnTrigger as unknown as AutomationCreate['actions_on_trigger'],
    actions_on_resolve: actionsOnResolve as unknown as AutomationCreate['actions_on_resolve'],
  };
}

export async function createAutomation(api: Api, desired: DesiredAutomation, ownerResource?: string, leaveOut?: ReadonlySet<string>): Promise<Automation> {
  const body = await automationBody(api, desired, leaveOut);
  const result = await api.client.POST('/automations/', { body: { ...body, ...(ownerResource && { owner_resource: ownerResource }) } });
  const created = await unwrap(result);
  if (responseOrigins.get(result.response)?.repeated) await removeTwins(api, created);
  return created;
}

/**
 * After a create that was sent again (the first answer was lost, maybe after the server made it):
 * Prefect does not make names unique, so the first attempt may have made a twin, which every later
 * run would refuse as a name held twice. A twin is an automation of the same name and content that
 * the run's first read did not see; it is deleted.
 */
async function removeTwins(api: Api, created: Automation): Promise<void> {
  const seen = new Set((await readAllAutomations(api)).map((automation) => automation.id));
  const named = await pages((offset, limit) => unwrap(api.client.POST('/automations/filter', { body: { automations: { operator: 'and_', name: { any_: [created.name] } }, offset, limit } })));
  const content = (automation: Automation) =>
    JSON.stringify([automation.description, automation.enabled, automation.tags ?? [], triggerView(automation.trigger), ...ACTION_LISTS.map(([, key]) => automation[key] ?? [])]);
  for (const twin of named) {
    if (twin.id !== created.id && !seen.has(twin.id) && content(twin) === content(created)) await deleteAutomation(api, twin.id);
  }
}

export async function updateAutomation(api: Api, id: string, desired: DesiredAutomation, leaveOut?: ReadonlySet<string>): Promise<void> {
  await unwrap(api.client.PUT('/automations/{id}', { params: { path: { id } }, body: await automationBody(api, desired, leaveOut) }));
}

export async function deleteAutomation(api: Api, id: string): Promise<void> {
  await unwrap(api.client.DELETE('/automations/{id}', { params: { path: { id } } }));
}

/** The names the declared automations give by id, to be read with the server's names. */
export function declaredIds(desired: readonly DesiredAutomation[]): Array<{ kind: ReferenceKind; id: string }> {
  return desired.flatMap((automation) =>
    ACTION_LISTS.flatMap(([field]) => automation[field].flatMap((action) => (action.reference?.id ? [{ kind: action.reference.kind, id: action.reference.id }] : []))),
  );
}

/**
 * The Jinja templates of notification and webhook actions, checked by the server that will render
 * them (`POST /templates/validate`, which changes nothing), each distinct text once.
 */
export async function checkTemplates(api: Api, desired: readonly DesiredAutomation[]): Promise<ConfigIssue[]> {
  const texts = new Map<string, TemplateText[]>();
  for (const template of desired.flatMap((automation) => automation.templates)) texts.set(template.text, [...(texts.get(template.text) ?? []), template]);
  const issues: ConfigIssue[] = [];
  for (const [text, places] of texts) {
    const { response, error } = await api.client.POST('/templates/validate', { body: text });
    if (response.ok) continue;
    if (response.status !== 422 || !isObject(error) || !isObject(error.error)) await unwrap({ response, error });
    const problem = isObject(error) && isObject(error.error) ? error.error : {};
    const line = typeof problem.line === 'number' ? `line ${problem.line} of the template: ` : '';
    const reason = typeof problem.message === 'string' ? oneLine(problem.message.slice(0, 200)) : 'the server refused it';
    for (const place of places) issues.push({ ...place.source, severity: 'error', message: `is not a valid template (${line}${reason}); Prefect could not render it when the automation fires` });
  }
  return issues;
}
