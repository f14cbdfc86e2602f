// Deployments from prefect.yaml. An existing deployment is never re-POSTed (that deletes all its
// schedules and future runs): only the declared fields that differ are PATCHed, and schedules are
// matched by slug through the per-schedule routes. Slug-less schedules (added in the UI) are kept.
import type { DesiredDeployment, DesiredSchedule, DesiredSecret, DesiredVariable, DesiredWorkPool, JsonValue } from '../../config/types.js';
import type { ConfigIssue } from '../../errors.js';
import { unwrap, type Api } from '../../prefect/client.js';
import type { components } from '../../prefect/schema.js';
import { chunks, jsonEqual, sameTags } from '../../reconcile/json.js';
import type { Diff, FieldChange, Kind } from '../../reconcile/types.js';
import { checkJobVariables } from './job-variables.js';
import { readPools } from '../work-pools/reconcile.js';

type Deployment = components['schemas']['DeploymentResponse'];
type DeploymentCreate = components['schemas']['DeploymentCreate'];
type DeploymentUpdate = components['schemas']['DeploymentUpdate'];
type ServerSchedule = components['schemas']['DeploymentSchedule'];
type ScheduleCreate = components['schemas']['DeploymentScheduleCreate'];

export interface CurrentDeployment {
  deployment: Deployment;
}

const PAGE = 200;
const EMPTY_SCHEMA = { type: 'object', properties: {} };

export function deploymentKey(flowName: string, name: string): string {
  return `${flowName}/${name}`;
}

/** What the deployments refer to that the inputs declare; the rest must exist on the server. */
export interface DeploymentContext {
  pools: DesiredWorkPool[];
  secrets: DesiredSecret[];
  variables: DesiredVariable[];
}

export interface DeploymentsKind extends Kind<DesiredDeployment, CurrentDeployment> {
  /** Input errors found while planning (unknown pool, secret or variable; job variables of the wrong type). */
  issues(): ConfigIssue[];
}

/** Only the keys the file gives are compared: the server fills in defaults (timezone, anchor date...). */
function sameSchedule(desired: DesiredSchedule, current: ServerSchedule): boolean {
  const have = current.schedule as unknown as Record<string, unknown>;
  for (const [key, want] of Object.entries(desired.schedule)) {
    if (want === undefined) continue;
    const got = have[key];
    if (key === 'anchor_date' && typeof want === 'string' && typeof got === 'string') {
      if (Date.parse(want) !== Date.parse(got)) return false;
    } else if (!jsonEqual(want, got)) {
      return false;
    }
  }
  return desired.active === (current.active ?? true) && jsonEqual(desired.parameters, current.parameters ?? {});
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

/** What a new deployment is created with: every declared field, and the schedules with their slugs. */
export function deploymentCreateBody(desired: DesiredDeployment, flowId: string): DeploymentCreate {
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
    body.concurrency_options = {
      collision_strategy: desired.concurrency.collisionStrategy ?? 'ENQUEUE',
      ...(desired.concurrency.gracePeriodSeconds !== undefined ? { grace_period_seconds: desired.concurrency.gracePeriodSeconds } : {}),
    };
  }
  return body;
}

/** The declared fields that differ, as a PATCH body and as plan changes. */
function deploymentUpdate(desired: DesiredDeployment, current: Deployment): { body: DeploymentUpdate; changes: FieldChange[] } {
  const body: DeploymentUpdate = {};
  const changes: FieldChange[] = [];
  const field = <K extends keyof DeploymentUpdate>(name: K, want: DeploymentUpdate[K] | undefined, have: unknown, same = jsonEqual(want, have ?? null)): void => {
    if (want === undefined || same) return;
    body[name] = want;
    changes.push({ field: name, from: have ?? null, to: want });
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
  if (desired.concurrency !== undefined) {
    const have = currentConcurrency(current);
    if (desired.concurrency === null ? have !== null : !sameConcurrency(desired.concurrency, have)) {
      body.concurrency_limit = desired.concurrency?.limit ?? null;
      if (desired.concurrency) {
        body.concurrency_options = {
          collision_strategy: desired.concurrency.collisionStrategy ?? 'ENQUEUE',
          ...(desired.concurrency.gracePeriodSeconds !== undefined ? { grace_period_seconds: desired.concurrency.gracePeriodSeconds } : {}),
        };
      }
      changes.push({ field: 'concurrency_limit', from: showConcurrency(have), to: showConcurrency(desired.concurrency) });
    }
  }
  // A job_variables value of {} never clears on the server (Prefect writes it only when non-empty).
  if (body.job_variables && Object.keys(body.job_variables).length === 0) delete body.job_variables;
  return { body, changes };
}

export function createDeploymentsKind(context: DeploymentContext): DeploymentsKind {
  const flowIds = new Map<string, string>();
  let inputIssues: ConfigIssue[] = [];

  async function readFlows(api: Api, names: string[]): Promise<void> {
    for (const batch of chunks(names, PAGE)) {
      for (let offset = 0; ; offset += PAGE) {
        const page = await unwrap(api.client.POST('/flows/filter', { body: { flows: { operator: 'and_', name: { any_: batch } }, limit: PAGE, offset } }));
        for (const flow of page) flowIds.set(flow.name, flow.id);
        // Flow names are unique: a batch of names has at most that many flows.
        if (page.length < PAGE || page.length >= batch.length) break;
      }
    }
  }

  /** Pools, secrets and variables the deployments name but the inputs do not declare must exist on the server. */
  async function checkReferences(api: Api, desired: DesiredDeployment[]): Promise<void> {
    const declaredPools = new Map(context.pools.map((pool) => [pool.name, pool]));
    const undeclaredPools = [...new Set(desired.map((d) => d.workPoolName).filter((n): n is string => !!n && !declaredPools.has(n)))];
    const serverPools = undeclaredPools.length > 0 ? await readPools(api, undeclaredPools) : new Map();
    const secretNames = new Set(context.secrets.map((s) => s.name));
    const variableNames = new Set(context.variables.map((v) => v.name));
    const refs = desired.flatMap((d) => d.references);
    const missingSecrets = [...new Set(refs.filter((r) => r.kind === 'secret' && !secretNames.has(r.name)).map((r) => r.name))];
    const missingVariables = [...new Set(refs.filter((r) => r.kind === 'variable' && !variableNames.has(r.name)).map((r) => r.name))];
    for (const batch of chunks(missingSecrets, PAGE)) {
      const found = await unwrap(
        api.client.POST('/block_documents/filter', {
          body: { block_types: { slug: { any_: ['secret'] } }, block_documents: { operator: 'and_', name: { any_: batch } }, limit: PAGE, offset: 0, sort: 'NAME_ASC' },
        }),
      );
      for (const document of found) if (document.name) secretNames.add(document.name);
    }
    for (const batch of chunks(missingVariables, PAGE)) {
      const found = await unwrap(
        api.client.POST('/variables/filter', { body: { variables: { operator: 'and_', name: { any_: batch } }, limit: PAGE, offset: 0, sort: 'NAME_ASC' } }),
      );
      for (const variable of found) variableNames.add(variable.name);
    }
    for (const deployment of desired) {
      for (const ref of deployment.references) {
        if (ref.kind === 'secret' && !secretNames.has(ref.name)) {
          inputIssues.push({ ...ref.source, message: `refers to secret block "${ref.name}", which the inputs do not declare and the server does not have; add it with -s/--secret or fix the name` });
        }
        if (ref.kind === 'variable' && !variableNames.has(ref.name)) {
          inputIssues.push({ ...ref.source, message: `refers to variable "${ref.name}", which the inputs do not declare and the server does not have` });
        }
      }
      const poolName = deployment.workPoolName;
      if (!poolName) continue;
      const declared = declaredPools.get(poolName);
      const onServer = serverPools.get(poolName);
      if (!declared && !onServer) {
        inputIssues.push({ ...deployment.source, message: `work pool "${poolName}" is neither declared (-l with [work_pools.${poolName}]) nor on the server` });
        continue;
      }
      const template = (declared?.baseJobTemplate ?? onServer?.base_job_template) as { variables?: unknown } | undefined;
      if (deployment.jobVariables && template?.variables) {
        for (const problem of checkJobVariables(deployment.jobVariables, template.variables)) {
          inputIssues.push({
            ...deployment.source,
            key: `${deployment.source.key ?? deployment.name}.work_pool.job_variables.${problem.path}`,
            message: problem.message,
            severity: problem.warning ? 'warning' : 'error',
          });
        }
      }
    }
  }

  /** Deployments by `<flow>/<name>`, in bulk: flows by name, then deployments by name within those flows. */
  async function readDeployments(api: Api, wanted: ReadonlyArray<{ flowName: string; name: string }>): Promise<Map<string, CurrentDeployment>> {
    const found = new Map<string, CurrentDeployment>();
    if (wanted.length === 0) return found;
    const flowNames = [...new Set(wanted.map((d) => d.flowName))];
    await readFlows(api, flowNames);
    const flowNameById = new Map([...flowIds].map(([name, id]) => [id, name]));
    for (const batch of chunks([...new Set(wanted.map((d) => d.name))], PAGE)) {
      for (let offset = 0; ; offset += PAGE) {
        const page = await unwrap(
          api.client.POST('/deployments/filter', {
            body: {
              deployments: { operator: 'and_', name: { any_: batch } },
              flows: { operator: 'and_', name: { any_: flowNames } },
              limit: PAGE,
              offset,
            },
          }),
        );
        for (const deployment of page) {
          const flowName = flowNameById.get(deployment.flow_id);
          if (flowName) found.set(deploymentKey(flowName, deployment.name), { deployment });
        }
        if (page.length < PAGE) break;
      }
    }
    return found;
  }

  const kind: DeploymentsKind = {
    name: 'deployment',
    key: (desired) => deploymentKey(desired.flowName, desired.name),
    issues: () => inputIssues,

    async read(api, desired) {
      inputIssues = [];
      await checkReferences(api, desired);
      return readDeployments(api, desired);
    },

    prune: {
      async list(api, owned) {
        const pairs = owned.map((key) => {
          const slash = key.indexOf('/');
          return { flowName: key.slice(0, slash), name: key.slice(slash + 1) };
        });
        const found = await readDeployments(api, pairs);
        // The filter matches flow and deployment names separately: keep only the owned pairs.
        return new Map([...found].filter(([key]) => owned.includes(key)));
      },
      async remove(api, _key, current) {
        await unwrap(api.client.DELETE('/deployments/{id}', { params: { path: { id: current.deployment.id } } }));
      },
    },

    diff(desired, current): Diff {
      if (!current) {
        const changes: FieldChange[] = [{ field: 'flow', to: desired.flowName }];
        if (desired.workPoolName) changes.push({ field: 'work_pool_name', to: desired.workPoolName });
        if (desired.schedules.length > 0) changes.push({ field: 'schedules', to: desired.schedules.map((s) => s.slug) });
        if (desired.concurrency) changes.push({ field: 'concurrency_limit', to: showConcurrency(desired.concurrency) });
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
        const body = deploymentCreateBody(desired, flowId);
        await unwrap(api.client.POST('/deployments/', { body }));
        return;
      }
      const deployment = current!.deployment;
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
