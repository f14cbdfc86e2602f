// Deployments as a prefect.yaml that the deployments loader accepts, with every field apply compares.
// Each deployment is read back through the loader and compared with the server through the
// deployments kind before it is kept, so what cannot be said faithfully is warned about, not written.
import type { JsonObject } from '../../config/json.js';
import type { JsonValue } from '../../config/types.js';
import { describeDiff, describeIssue } from '../../export/describe.js';
import type { Matcher } from '../../export/glob.js';
import { compareText, type ExportFile, type ExportWarning } from '../../export/types.js';
import { renderYaml } from '../../export/yaml.js';
import { IssueList } from '../../errors.js';
import { unwrap } from '../../prefect/client.js';
import { pages, pagesByName } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import { defineExport, type ExportContext } from '../../reconcile/kind.js';
import { createDeploymentsKind } from './reconcile.js';
import { deploymentKey } from './key.js';
import { loadDeployments } from './spec.js';

export type Deployment = components['schemas']['DeploymentResponse'];

export interface ServerDeployment {
  deployment: Deployment;
  /** The flow's name, which with the deployment's name is how prefect.yaml and the API name it. */
  flowName: string;
}

export interface ServerDeployments {
  deployments: ServerDeployment[];
  /** Deployments whose flow the server no longer has, by name: they cannot be written. */
  withoutFlow: string[];
}

export const DEPLOYMENTS_FILE = 'prefect.yaml';

export const deploymentsExport = defineExport({
  section: 'deployments',
  async read(api): Promise<ServerDeployments> {
    const deployments = await pages((offset, limit) => unwrap(api.client.POST('/deployments/filter', { body: { sort: 'NAME_ASC', limit, offset } })));
    const flows = await pagesByName([...new Set(deployments.map((d) => d.flow_id))], (ids, offset, limit) =>
      unwrap(api.client.POST('/flows/filter', { body: { flows: { operator: 'and_', id: { any_: ids } }, limit, offset } })),
    );
    const flowNames = new Map(flows.map((flow) => [flow.id, flow.name]));
    const server: ServerDeployments = { deployments: [], withoutFlow: [] };
    for (const deployment of deployments) {
      const flowName = flowNames.get(deployment.flow_id);
      if (flowName !== undefined) server.deployments.push({ deployment, flowName });
      else server.withoutFlow.push(deployment.name);
    }
    return server;
  },
  write(server, context) {
    const result = exportDeployments(server.deployments, { matches: context.matches, check: entryChecker(context), withoutFlow: server.withoutFlow });
    return { ...result, args: { deployments: result.files.map((file) => file.path) } };
  },
  current: (server) => new Map(server.deployments.map(({ deployment, flowName }) => [deploymentKey(flowName, deployment.name), { deployment }])),
});

/** Loads one entry as a prefect.yaml of its own and diffs it with the server's deployment. */
export function entryChecker(context: Pick<ExportContext, 'scratchFile'>): EntryCheck {
  const kind = createDeploymentsKind();
  return (entry, server) => {
    const file = context.scratchFile(DEPLOYMENTS_FILE, renderDeploymentsFile([entry]));
    const issues = new IssueList();
    const [desired] = loadDeployments([file], { env: {} }, issues);
    if (issues.errors.length > 0 || !desired) {
      return `prefect.yaml cannot hold it as it is: ${issues.errors.map((issue) => describeIssue(issue)).join('; ') || 'the loader refused it'}`;
    }
    const diff = kind.diff(desired, { deployment: server.deployment });
    return diff.action === 'noop' ? undefined : `applying the written entry would change it: ${describeDiff(diff)}`;
  };
}
type Schedule = NonNullable<ServerDeployment['deployment']['schedules']>[number];

/** The label Prefect gives every deployment itself. */
const FLOW_ID_LABEL = 'prefect.flow.id';

export interface DeploymentsExport {
  files: ExportFile[];
  warnings: ExportWarning[];
  count: number;
}

/** Why an entry cannot stand for its deployment (it does not load, or loads with differences), or undefined. */
export type EntryCheck = (entry: JsonObject, server: ServerDeployment) => string | undefined;

export function exportDeployments(deployments: readonly ServerDeployment[], options: { matches: Matcher; check: EntryCheck; withoutFlow?: readonly string[] }): DeploymentsExport {
  const warnings: ExportWarning[] = [];
  const entries: JsonObject[] = [];
  for (const name of options.withoutFlow ?? []) {
    if (options.matches(name)) warnings.push({ subject: `deployment "${name}"`, message: 'not exported: its flow is gone from the server, so it has no flow name' });
  }
  const sorted = deployments
    .filter(({ deployment, flowName }) => options.matches(deployment.name, deploymentKey(flowName, deployment.name)))
    .sort((a, b) => compareText(deploymentKey(a.flowName, a.deployment.name), deploymentKey(b.flowName, b.deployment.name)));
  for (const server of sorted) {
    const subject = `deployment "${deploymentKey(server.flowName, server.deployment.name)}"`;
    const entry = deploymentEntry(server, (message) => warnings.push({ subject, message }));
    const problem = options.check(entry, server);
    if (problem) {
      warnings.push({ subject, message: `not exported: ${problem}` });
      continue;
    }
    entries.push(entry);
  }
  if (entries.length === 0) return { files: [], warnings, count: 0 };
  const content = renderDeploymentsFile(entries);
  return { files: [{ path: DEPLOYMENTS_FILE, content, summary: `${entries.length} deployment${entries.length === 1 ? '' : 's'}` }], warnings, count: entries.length };
}

export function renderDeploymentsFile(entries: JsonObject[]): string {
  return renderYaml(
    { deployments: entries },
    'Deployments, exported by openem-config: apply them with -d. No build or push steps: the images already exist.',
  );
}

/** The prefect.yaml entry of one deployment, keys in a fixed order; `warn` hears what it cannot hold. */
export function deploymentEntry({ deployment: d, flowName }: ServerDeployment, warn: (message: string) => void): JsonObject {
  const entry: JsonObject = { name: d.name, flow_name: flowName };
  if (d.entrypoint) entry.entrypoint = d.entrypoint;
  if (d.version !== null && d.version !== undefined) entry.version = d.version;
  if (d.description !== null && d.description !== undefined) entry.description = d.description;
  entry.tags = d.tags ?? [];
  entry.paused = d.paused ?? false;
  const shared = d.global_concurrency_limit?.name;
  if (shared !== undefined && shared !== `deployment:${d.id}`) {
    // A limit shared with other deployments is declared in the limits manifest and named here.
    entry.global_concurrency_limit = shared;
  } else {
    const concurrency = concurrencyEntry(d, warn);
    if (concurrency !== undefined) entry.concurrency_limit = concurrency;
  }
  const schedules = scheduleEntries(d.schedules ?? [], d.id, warn);
  if (schedules.length > 0) entry.schedules = schedules;
  if (d.work_pool_name) {
    const pool: JsonObject = { name: d.work_pool_name };
    if (d.work_queue_name) pool.work_queue_name = d.work_queue_name;
    pool.job_variables = (d.job_variables ?? {}) as JsonObject;
    entry.work_pool = pool;
  } else if (d.work_queue_name) {
    warn(`its work queue "${d.work_queue_name}" has no work pool, which prefect.yaml cannot say (work_queue_name belongs under work_pool); it is left out`);
  }
  entry.parameters = (d.parameters ?? {}) as JsonObject;
  if (d.enforce_parameter_schema !== undefined) entry.enforce_parameter_schema = d.enforce_parameter_schema;
  if (d.parameter_openapi_schema !== null && d.parameter_openapi_schema !== undefined) entry.parameter_openapi_schema = d.parameter_openapi_schema as JsonObject;
  if (Array.isArray(d.pull_steps)) entry.pull = d.pull_steps as JsonValue[];

  const labels = Object.keys(d.labels ?? {}).filter((key) => key !== FLOW_ID_LABEL);
  if (labels.length > 0) warn(`its labels (${labels.join(', ')}) are not exported: prefect.yaml as openem-config reads it has no labels`);
  const unsupported = (['path', 'storage_document_id', 'infrastructure_document_id'] as const).filter((key) => d[key] !== null && d[key] !== undefined);
  if (unsupported.length > 0) warn(`${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not exported (Prefect 2 style storage); use pull steps instead`);
  return entry;
}

/**
 * `concurrency_limit: n` when runs are enqueued (Prefect's default, also when no strategy is stored),
 * else the mapping. A deployment without a limit gets no key: apply then leaves the target's alone,
 * where `null` could delete a global limit the target's deployment shares.
 */
function concurrencyEntry(d: ServerDeployment['deployment'], warn: (message: string) => void): JsonValue | undefined {
  const limit = d.global_concurrency_limit?.limit;
  if (limit === null || limit === undefined) return undefined;
  if (!Number.isInteger(limit) || limit < 1) {
    warn(`its concurrency limit of ${limit} is not exported: prefect.yaml takes a whole number of 1 or more`);
    return undefined;
  }
  const strategy = d.concurrency_options?.collision_strategy;
  let grace = d.concurrency_options?.grace_period_seconds ?? undefined;
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 60 || grace > 86400)) {
    warn(`its grace_period_seconds of ${grace} is not exported: prefect.yaml takes 60 to 86400`);
    grace = undefined;
  }
  if (strategy !== 'CANCEL_NEW' && grace === undefined) return limit;
  const mapping: JsonObject = { limit };
  if (strategy === 'CANCEL_NEW') mapping.collision_strategy = strategy;
  if (grace !== undefined) mapping.grace_period_seconds = grace;
  return mapping;
}

/**
 * The schedules with a slug, by slug. Schedules without one are left out with a warning: apply
 * matches schedules by slug and keeps slug-less ones, so declaring them would add slugged copies
 * beside the originals on this server (every run twice).
 */
function scheduleEntries(schedules: readonly Schedule[], deploymentId: string, warn: (message: string) => void): JsonObject[] {
  const slugless = schedules.filter((s) => !s.slug);
  if (slugless.length > 0) {
    const one = slugless.length === 1;
    const shown = slugless
      .map((s) => `${describeSchedule(s.schedule as unknown as JsonObject)} (schedule ${s.id})`)
      .sort(compareText)
      .join('; ');
    warn(
      `${slugless.length} schedule${one ? '' : 's'} without a slug ${one ? 'is' : 'are'} not exported: ${shown}. ` +
        `Applying the export keeps ${one ? 'it' : 'them'} on this server, but a copy lacks ${one ? 'it' : 'them'}. ` +
        `To export ${one ? 'it' : 'them'}, give ${one ? 'it' : 'each'} a slug and export again: ` +
        `curl -X PATCH "$PREFECT_API_URL/deployments/${deploymentId}/schedules/<schedule>" -H 'content-type: application/json' -d '{"slug": "nightly"}'`,
    );
  }
  const entries: JsonObject[] = [];
  for (const schedule of schedules.filter((s) => s.slug).sort((a, b) => compareText(a.slug ?? '', b.slug ?? ''))) {
    const spec = schedule.schedule as unknown as JsonObject;
    const entry: JsonObject = { slug: schedule.slug ?? '' };
    if ('cron' in spec) {
      entry.cron = spec.cron ?? '';
      if (spec.timezone) entry.timezone = spec.timezone;
      if (typeof spec.day_or === 'boolean') entry.day_or = spec.day_or;
    } else if ('interval' in spec) {
      entry.interval = spec.interval ?? 0;
      if (spec.anchor_date) entry.anchor_date = spec.anchor_date;
      if (spec.timezone) entry.timezone = spec.timezone;
    } else {
      entry.rrule = spec.rrule ?? '';
      if (spec.timezone) entry.timezone = spec.timezone;
    }
    entry.active = schedule.active ?? true;
    const parameters = (schedule.parameters ?? {}) as JsonObject;
    if (Object.keys(parameters).length > 0) entry.parameters = parameters;
    if (schedule.max_scheduled_runs !== null && schedule.max_scheduled_runs !== undefined) {
      warn(`schedule "${schedule.slug}" has max_scheduled_runs = ${schedule.max_scheduled_runs}, which prefect.yaml as openem-config reads it cannot say; a copy uses the server's setting`);
    }
    entries.push(entry);
  }
  return entries;
}

function describeSchedule(spec: JsonObject): string {
  if ('cron' in spec) return `cron "${String(spec.cron)}"`;
  if ('interval' in spec) return `every ${String(spec.interval)} s`;
  return `rrule "${String(spec.rrule).replaceAll('\n', ' ')}"`;
}
