// Deployments from prefect.yaml. An existing deployment is never re-POSTed (that deletes all its
// schedules and future runs): only the declared fields that differ are PATCHed, and schedules are
// matched by slug through the per-schedule routes. Slug-less schedules (added in the UI) are kept.
import type { DesiredDeployment, DesiredSchedule, JsonValue } from '../../config/types.js';
import { unwrap, type Api } from '../../prefect/client.js';
import { upsertedMeanwhile } from '../../prefect/create.js';
import type { components } from '../../prefect/schema.js';
import { jsonEqual, sameTags } from '../../reconcile/json.js';
import { pagesByName } from '../../prefect/paging.js';
import { deploymentKey, parseDeploymentKey } from './key.js';
import { withCredentialsHidden as shown, withResolvedBlocksHidden } from '../../export/credentials.js';
import type { Diff, FieldChange, Kind } from '../../reconcile/types.js';

type Deployment = components['schemas']['DeploymentResponse'];
type DeploymentCreate = components['schemas']['DeploymentCreate'];
type DeploymentUpdate = components['schemas']['DeploymentUpdate'];
type ServerSchedule = components['schemas']['DeploymentSchedule'];
type ScheduleCreate = components['schemas']['DeploymentScheduleCreate'];

export interface CurrentDeployment {
  deployment: Deployment;
}

const EMPTY_SCHEMA = { type: 'object', properties: {} };


/** A deployment's global concurrency limit is its own when Prefect named it after the deployment. */
function ownLimitName(deployment: Deployment): string {
  return `deployment:${deployment.id}`;
}

/** The name of the shared global limit a deployment is linked to, or null. */
function sharedLimit(deployment: Deployment): string | null {
  const linked = deployment.global_concurrency_limit;
  if (!linked || linked.name === ownLimitName(deployment)) return null;
  return linked.name;
}

/** Only the keys the file gives are compared: the server fills in defaults (timezone, anchor date...). */
function sameSchedule(desired: DesiredSchedule, current: ServerSchedule): boolean {
  const have = current.schedule as unknown as Record<string, unknown>;
  for (const [key, want] of Object.entries(desired.schedule)) {
    if (want === undefined) continue;
    const got = have[key];
    if (key === 'anchor_date' && typeof want === 'string' && typeof got === 'string') {
      if (Date.parse(want) !== Date.parse(got)) return false;
    } else if (key === 'rrule' && typeof want === 'string' && typeof got === 'string') {
      if (rruleWithoutAddedStart(got, want) !== want) return false;
    } else if (!jsonEqual(want, got)) {
      return false;
    }
  }
  return desired.active === (current.active ?? true) && jsonEqual(desired.parameters, current.parameters ?? {});
}

/**
 * The server's rrule without the DTSTART line Prefect adds when the file gives none (3.7.2 stores
 * `FREQ=DAILY` as `DTSTART:20200101T000000\nFREQ=DAILY`, and a recent start for MINUTELY and
 * SECONDLY rules): the rule the file declares is unchanged by it.
 */
function rruleWithoutAddedStart(stored: string, declared: string): string {
  if (/DTSTART/i.test(declared)) return stored;
  return stored
    .split(/\r?\n/)
    .filter((line) => !/^DTSTART[:;]/i.test(line.trim()))
    .join('\n');
}

function scheduleBody(schedule: DesiredSchedule): ScheduleCreate {
  return {
    schedule: schedule.schedule as ScheduleCreate['schedule'],
    active: schedule.active,
    parameters: schedule.parameters,
    slug: schedule.slug,
  };
}

interface SchedulePlan {
  create: DesiredSchedule[];
  update: Array<{ desired: DesiredSchedule; id: string }>;
  remove: ServerSchedule[];
}

function planSchedules(desired: DesiredSchedule[], current: ServerSchedule[]): SchedulePlan {
  const bySlug = new Map(current.filter((s) => s.slug).map((s) => [s.slug!, s]));
  const declared = new Set(desired.map((s) => s.slug));
  const plan: SchedulePlan = { create: [], update: [], remove: [] };
  for (const schedule of desired) {
    const existing = bySlug.get(schedule.slug);
    if (!existing) plan.create.push(schedule);
    else if (!sameSchedule(schedule, existing)) plan.update.push({ desired: schedule, id: existing.id });
  }
  plan.remove = current.filter((s) => s.slug && !declared.has(s.slug));
  return plan;
}

function currentConcurrency(deployment: Deployment): { limit: number; collisionStrategy?: string; gracePeriodSeconds?: number } | null {
  // A shared limit is not the deployment's own: its value belongs to the global limit.
  if (sharedLimit(deployment) !== null) return null;
  const limit = deployment.global_concurrency_limit?.limit;
  if (limit === undefined || limit === null) return null;
  const options = deployment.concurrency_options;
  return {
    limit,
    ...(options?.collision_strategy ? { collisionStrategy: options.collision_strategy } : {}),
    ...(options?.grace_period_seconds !== undefined && options?.grace_period_seconds !== null ? { gracePeriodSeconds: options.grace_period_seconds } : {}),
  };
}

/** A concurrency setting as prefect.yaml writes it, for the plan. */
function showConcurrency(value: { limit: number; collisionStrategy?: string | undefined; gracePeriodSeconds?: number | undefined } | null): JsonValue {
  if (!value) return null;
  const shown: { [key: string]: JsonValue } = { limit: value.limit };
  if (value.collisionStrategy) shown.collision_strategy = value.collisionStrategy;
  if (value.gracePeriodSeconds !== undefined) shown.grace_period_seconds = value.gracePeriodSeconds;
  return shown;
}

function sameConcurrency(desired: NonNullable<DesiredDeployment['concurrency']>, current: ReturnType<typeof currentConcurrency>): boolean {
  if (!current || current.limit !== desired.limit) return false;
  if (desired.collisionStrategy !== undefined && desired.collisionStrategy !== current.collisionStrategy) return false;
  return desired.gracePeriodSeconds === undefined || desired.gracePeriodSeconds === current.gracePeriodSeconds;
}

/**
 * The options the file gives with its limit, or undefined when it gives a bare number: prefect
 * deploy then sends no options, and the server stores none (its default, ENQUEUE, applies).
 */
function concurrencyOptions(concurrency: NonNullable<DesiredDeployment['concurrency']>): DeploymentCreate['concurrency_options'] | undefined {
  const { collisionStrategy, gracePeriodSeconds } = concurrency;
  if (collisionStrategy === undefined && gracePeriodSeconds === undefined) return undefined;
  return { collision_strategy: collisionStrategy ?? 'ENQUEUE', ...(gracePeriodSeconds !== undefined ? { grace_period_seconds: gracePeriodSeconds } : {}) };
}

/** What a new deployment is created with: every declared field, and the schedules with their slugs. */
export function deploymentCreateBody(desired: DesiredDeployment, flowId: string, sharedLimitId?: string): DeploymentCreate {
  const body: DeploymentCreate = {
    name: desired.name,
    flow_id: flowId,
    schedules: desired.schedules.map(scheduleBody),
    // Without a declared or derived schema, an empty one that is not enforced: runs stay possible.
    parameter_openapi_schema: desired.parameterSchema ?? EMPTY_SCHEMA,
    enforce_parameter_schema: desired.enforceParameterSchema ?? desired.parameterSchema !== undefined,
  };
  if (desired.version !== undefined) body.version = desired.version;
  if (desired.description !== undefined) body.description = desired.description;
  if (desired.tags !== undefined) body.tags = desired.tags;
  if (desired.entrypoint !== undefined) body.entrypoint = desired.entrypoint;
  if (desired.parameters !== undefined) body.parameters = desired.parameters;
  if (desired.paused !== undefined) body.paused = desired.paused;
  if (desired.workPoolName !== undefined) body.work_pool_name = desired.workPoolName;
  if (desired.workQueueName !== undefined) body.work_queue_name = desired.workQueueName;
  if (desired.jobVariables !== undefined) body.job_variables = desired.jobVariables;
  if (desired.pullSteps !== undefined) body.pull_steps = desired.pullSteps as DeploymentCreate['pull_steps'];
  if (desired.concurrency) {
    body.concurrency_limit = desired.concurrency.limit;
    const options = concurrencyOptions(desired.concurrency);
    if (options) body.concurrency_options = options;
  }
  if (sharedLimitId !== undefined) body.global_concurrency_limit_id = sharedLimitId;
  return body;
}

/** The declared fields that differ, as a PATCH body and as plan changes. */
function deploymentUpdate(desired: DesiredDeployment, current: Deployment): { body: DeploymentUpdate; changes: FieldChange[] } {
  const body: DeploymentUpdate = {};
  const changes: FieldChange[] = [];
  const field = <K extends keyof DeploymentUpdate>(name: K, want: DeploymentUpdate[K] | undefined, have: unknown, same = jsonEqual(want, have ?? null)): void => {
    if (want === undefined || same) return;
    body[name] = want;
    // Where the inputs place a block placeholder, the server may hold the value prefect deploy resolved.
    changes.push({ field: name, from: shown(withResolvedBlocksHidden(have ?? null, want)), to: shown(want) });
  };
  field('version', desired.version, current.version);
  field('description', desired.description, current.description, (desired.description ?? '') === (current.description ?? ''));
  field('tags', desired.tags, current.tags, desired.tags !== undefined && sameTags(desired.tags, current.tags ?? []));
  field('entrypoint', desired.entrypoint, current.entrypoint);
  field('parameters', desired.parameters, current.parameters ?? {});
  field('parameter_openapi_schema', desired.parameterSchema, current.parameter_openapi_schema);
  field('enforce_parameter_schema', desired.enforceParameterSchema, current.enforce_parameter_schema);
  field('paused', desired.paused, current.paused);
  field('work_pool_name', desired.workPoolName, current.work_pool_name);
  field('work_queue_name', desired.workQueueName, current.work_queue_name);
  field('job_variables', desired.jobVariables, current.job_variables ?? {});
  field('pull_steps', desired.pullSteps as DeploymentUpdate['pull_steps'], current.pull_steps);
  // Never send concurrency_limit to a deployment linked to a shared limit: Prefect would change
  // or delete the shared limit. It is unlinked first (see linkChange).
  if (desired.concurrency !== undefined && sharedLimit(current) === null) {
    const have = currentConcurrency(current);
    if (desired.concurrency === null ? have !== null : !sameConcurrency(desired.concurrency, have)) {
      body.concurrency_limit = desired.concurrency?.limit ?? null;
      const options = desired.concurrency && concurrencyOptions(desired.concurrency);
      if (options) body.concurrency_options = options;
      changes.push({ field: 'concurrency_limit', from: showConcurrency(have), to: showConcurrency(desired.concurrency) });
    }
  }
  const link = linkChange(desired, current);
  if (link) {
    changes.push({ field: 'global_concurrency_limit', from: link.from, to: link.to });
    // Unlinked from a shared limit, the deployment then gets the limit of its own the file gives.
    if (link.to === null && desired.concurrency) changes.push({ field: 'concurrency_limit', from: null, to: showConcurrency(desired.concurrency) });
  }
  // A job_variables value of {} never clears on the server (Prefect writes it only when non-empty).
  if (body.job_variables && Object.keys(body.job_variables).length === 0) delete body.job_variables;
  return { body, changes };
}

/**
 * How the deployment's link to a shared global limit changes: to the declared limit, or away from
 * a shared limit when the file gives the deployment its own `concurrency_limit` (or null).
 */
function linkChange(desired: DesiredDeployment, current: Deployment): { from: string | null; to: string | null } | undefined {
  const have = sharedLimit(current);
  const want = desired.globalConcurrencyLimit?.name;
  if (want !== undefined) return want === have ? undefined : { from: have, to: want };
  if (have !== null && desired.concurrency !== undefined) return { from: have, to: null };
  return undefined;
}

/** The id of a global limit by name; it exists (checked before the first write, created before deployments). */
async function limitId(api: Api, name: string): Promise<string> {
  const limit = await unwrap(api.client.GET('/v2/concurrency_limits/{id_or_name}', { params: { path: { id_or_name: name } } }));
  return limit.id;
}

export function createDeploymentsKind(): Kind<DesiredDeployment, CurrentDeployment> {
  const flowIds = new Map<string, string>();

  async function readFlows(api: Api, names: readonly string[]): Promise<void> {
    const flows = await pagesByName(names, (batch, offset, limit) =>
      unwrap(api.client.POST('/flows/filter', { body: { flows: { operator: 'and_', name: { any_: batch } }, limit, offset } })),
    );
    for (const flow of flows) flowIds.set(flow.name, flow.id);
  }

  /** Deployments by `<flow>/<name>`, in bulk: flows by name, then deployments by name within those flows. */
  async function readDeployments(api: Api, wanted: ReadonlyArray<{ flowName: string; name: string }>): Promise<Map<string, CurrentDeployment>> {
    const found = new Map<string, CurrentDeployment>();
    if (wanted.length === 0) return found;
    const flowNames = [...new Set(wanted.map((d) => d.flowName))];
    await readFlows(api, flowNames);
    const flowNameById = new Map([...flowIds].map(([name, id]) => [id, name]));
    // A deployment name may be used by several of the flows: not unique across the filter.
    const deployments = await pagesByName(
      wanted.map((d) => d.name),
      (batch, offset, limit) =>
        unwrap(
          api.client.POST('/deployments/filter', {
            body: { deployments: { operator: 'and_', name: { any_: batch } }, flows: { operator: 'and_', name: { any_: flowNames } }, limit, offset },
          }),
        ),
      { unique: false },
    );
    for (const deployment of deployments) {
      const flowName = flowNameById.get(deployment.flow_id);
      if (flowName) found.set(deploymentKey(flowName, deployment.name), { deployment });
    }
    return found;
  }

  const kind: Kind<DesiredDeployment, CurrentDeployment> = {
    name: 'deployment',
    key: (desired) => deploymentKey(desired.flowName, desired.name),

    read: (api, desired) => readDeployments(api, desired),

    async lookup(api, keys) {
      const found = await readDeployments(api, keys.map(parseDeploymentKey));
      return new Map([...found].filter(([key]) => keys.includes(key)));
    },

    prune: {
      async list(api, owned) {
        const found = await readDeployments(api, owned.map(parseDeploymentKey));
        // The filter matches flow and deployment names separately: keep only the owned pairs.
        return new Map([...found].filter(([key]) => owned.includes(key)));
      },
      async remove(api, _key, current) {
        const { id } = current.deployment;
        // Prefect deletes the global limit linked to a deployment with it, shared or not: unlink a shared one first.
        if (sharedLimit(current.deployment) !== null) {
          await unwrap(api.client.PATCH('/deployments/{id}', { params: { path: { id } }, body: { global_concurrency_limit_id: null } }));
        }
        await unwrap(api.client.DELETE('/deployments/{id}', { params: { path: { id } } }));
      },
    },

    diff(desired, current): Diff {
      if (!current) {
        const changes: FieldChange[] = [{ field: 'flow', to: desired.flowName }];
        if (desired.workPoolName) changes.push({ field: 'work_pool_name', to: desired.workPoolName });
        if (desired.schedules.length > 0) changes.push({ field: 'schedules', to: desired.schedules.map((s) => s.slug) });
        if (desired.concurrency) changes.push({ field: 'concurrency_limit', to: showConcurrency(desired.concurrency) });
        if (desired.globalConcurrencyLimit) changes.push({ field: 'global_concurrency_limit', to: desired.globalConcurrencyLimit.name });
        return { action: 'create', changes };
      }
      const { changes } = deploymentUpdate(desired, current.deployment);
      const schedules = planSchedules(desired.schedules, current.deployment.schedules ?? []);
      for (const schedule of schedules.create) changes.push({ field: `schedules.${schedule.slug}`, to: schedule.schedule });
      for (const { desired: schedule } of schedules.update) changes.push({ field: `schedules.${schedule.slug}`, from: '(changed)', to: schedule.schedule });
      for (const schedule of schedules.remove) changes.push({ field: `schedules.${schedule.slug}`, from: schedule.schedule, to: null });
      return { action: changes.length > 0 ? 'update' : 'noop', changes };
    },

    async apply(api, item, desired, current) {
      if (item.action === 'create' && !current) {
        let flowId = flowIds.get(desired.flowName);
        if (!flowId) {
          const flow = await unwrap(api.client.POST('/flows/', { body: { name: desired.flowName } }));
          flowId = flow.id;
          flowIds.set(desired.flowName, flowId);
        }
        const shared = desired.globalConcurrencyLimit ? await limitId(api, desired.globalConcurrencyLimit.name) : undefined;
        const body = deploymentCreateBody(desired, flowId, shared);
        const created = await api.client.POST('/deployments/', { body });
        await unwrap(created);
        // An upsert: answered 200, it met a deployment made since the read and wrote over it.
        return upsertedMeanwhile(created.response);
      }
      let deployment = current!.deployment;
      const link = linkChange(desired, deployment);
      if (link) {
        const patchLink = async (body: DeploymentUpdate) =>
          unwrap(api.client.PATCH('/deployments/{id}', { params: { path: { id: deployment.id } }, body }));
        // The deployment's own limit goes away before it shares one (Prefect deletes the linked limit on null).
        if (link.from === null && currentConcurrency(deployment) !== null) await patchLink({ concurrency_limit: null });
        await patchLink({ global_concurrency_limit_id: link.to === null ? null : await limitId(api, link.to) });
        // Unlinked: the own limit, if declared, is compared with none and sent below.
        deployment = { ...deployment, global_concurrency_limit: null };
      }
      const { body } = deploymentUpdate(desired, deployment);
      if (Object.keys(body).length > 0) {
        await unwrap(api.client.PATCH('/deployments/{id}', { params: { path: { id: deployment.id } }, body }));
      }
      let schedules = planSchedules(desired.schedules, deployment.schedules ?? []);
      if (schedules.create.length > 0) {
        const createSchedules = () =>
          api.client.POST('/deployments/{id}/schedules', { params: { path: { id: deployment.id } }, body: schedules.create.map(scheduleBody) });
        const created = await createSchedules();
        if (created.response.status === 409) {
          // A slug exists since we read (another run, or our own retried request): plan again from the server's schedules.
          const now = await unwrap(api.client.GET('/deployments/{id}', { params: { path: { id: deployment.id } } }));
          schedules = planSchedules(desired.schedules, now.schedules ?? []);
          if (schedules.create.length > 0) await unwrap(createSchedules());
        } else {
          await unwrap(created);
        }
      }
      for (const { desired: schedule, id } of schedules.update) {
        const { slug: _slug, ...update } = scheduleBody(schedule);
        await unwrap(
          api.client.PATCH('/deployments/{id}/schedules/{schedule_id}', {
            params: { path: { id: deployment.id, schedule_id: id } },
            body: update,
          }),
        );
      }
      for (const schedule of schedules.remove) {
        const removed = await api.client.DELETE('/deployments/{id}/schedules/{schedule_id}', {
          params: { path: { id: deployment.id, schedule_id: schedule.id } },
        });
        // 404: already gone (another run, or our own retried request whose answer was lost).
        if (removed.response.status !== 404) await unwrap(removed);
      }
    },
  };
  return kind;
}
