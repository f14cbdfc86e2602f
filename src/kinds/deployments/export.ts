// Deployments as a prefect.yaml that the deployments loader accepts, with every field apply compares.
// Each deployment is read back through the loader and compared with the server through the
// deployments kind before it is kept, so what cannot be said faithfully is warned about, not written.
// No credential is written: a secret block's value (which `prefect deploy` resolves into job
// variables) becomes a reference to the block, and a credential-like value matching no block is left out.
import type { JsonObject } from '../../config/json.js';
import type { JsonValue } from '../../config/types.js';
import { protectCredentials, type Finding } from '../../export/credentials.js';
import { describeDiff, describeIssue } from '../../export/describe.js';
import type { Matcher } from '../../config/glob.js';
import { readSecretValues, type SecretValues } from '../../export/secret-values.js';
import { compareText, credentialPolicy, listNames, type ExportFile, type ExportWarning } from '../../export/types.js';
import { renderYaml } from '../../export/yaml.js';
import { IssueList } from '../../errors.js';
import { unwrap } from '../../prefect/client.js';
import { pages, pagesByName } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import { defineExport, type ExportContext } from '../../reconcile/kind.js';
import { createDeploymentsKind } from './reconcile.js';
import { deploymentKey } from './key.js';
import { loadDeployments } from './spec.js';
import { globalLimitNameProblem } from '../global-limits/spec.js';
import { deploymentTriggerEntries, readServerTriggers, type ServerTriggers } from '../deployment-triggers/export.js';

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
  /** The secret blocks' values, to recognise them in deployments; kept in memory, never written. */
  secrets: SecretValues;
  /** The automations that are deployments' triggers, written under `triggers:`. */
  triggers?: ServerTriggers | undefined;
  /**
   * The deployments as the written file declares them (references for secret values, credentials
   * left out), by key, set by `write`: what applying the file leaves on this server.
   */
  written?: Map<string, { deployment: Deployment }> | undefined;
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
    const server: ServerDeployments = { deployments: [], withoutFlow: [], secrets: await readSecretValues(api), triggers: await readServerTriggers(api) };
    for (const deployment of deployments) {
      const flowName = flowNames.get(deployment.flow_id);
      if (flowName !== undefined) server.deployments.push({ deployment, flowName });
      else server.withoutFlow.push(deployment.name);
    }
    return server;
  },
  write(server, context) {
    const result = exportDeployments(server.deployments, {
      matches: context.matches,
      check: entryChecker(context),
      withoutFlow: server.withoutFlow,
      secrets: server.secrets,
      triggers: server.triggers,
      allowPlainCredentials: credentialPolicy(context).allowPlainCredentials,
    });
    server.written = result.written;
    return { files: result.files, warnings: result.warnings, count: result.count, args: { deployments: result.files.map((file) => file.path) } };
  },
  // A secret's value replaced by its reference, or a credential left out, is a difference the export
  // announces (like the managed tag of variables): the round trip compares with the server as the file leaves it.
  current: (server) =>
    new Map(server.deployments.map(({ deployment, flowName }) => {
      const key = deploymentKey(flowName, deployment.name);
      return [key, server.written?.get(key) ?? { deployment }];
    })),
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
  /** Each exported deployment as its entry declares it, by key. */
  written: Map<string, { deployment: Deployment }>;
}

/** Why an entry cannot stand for its deployment (it does not load, or loads with differences), or undefined. */
export type EntryCheck = (entry: JsonObject, server: ServerDeployment) => string | undefined;

export interface ExportDeploymentsOptions {
  matches: Matcher;
  check: EntryCheck;
  withoutFlow?: readonly string[] | undefined;
  /** The secret blocks' values; none when not given. */
  secrets?: SecretValues | undefined;
  /** Write a credential-like value that matches no secret block instead of leaving it out. */
  allowPlainCredentials?: boolean | undefined;
  /** The deployments' trigger automations; none when not given. */
  triggers?: ServerTriggers | undefined;
}

export function exportDeployments(deployments: readonly ServerDeployment[], options: ExportDeploymentsOptions): DeploymentsExport {
  const warnings: ExportWarning[] = [];
  const entries: JsonObject[] = [];
  const written = new Map<string, { deployment: Deployment }>();
  for (const name of options.withoutFlow ?? []) {
    if (options.matches(name)) warnings.push({ subject: `deployment "${name}"`, message: 'not exported: its flow is gone from the server, so it has no flow name' });
  }
  const sorted = deployments
    .filter(({ deployment, flowName }) => options.matches(deployment.name, deploymentKey(flowName, deployment.name)))
    .sort((a, b) => compareText(deploymentKey(a.flowName, a.deployment.name), deploymentKey(b.flowName, b.deployment.name)));
  for (const original of sorted) {
    const key = deploymentKey(original.flowName, original.deployment.name);
    const subject = `deployment "${key}"`;
    const { deployment, findings } = protectDeployment(original.deployment, { secrets: options.secrets ?? new Map(), allowPlain: options.allowPlainCredentials ?? false });
    const server = { deployment, flowName: original.flowName };
    const warn = (message: string) => warnings.push({ subject, message });
    const entry = deploymentEntry(server, warn);
    // Its triggers are part of what is read back: an entry that cannot hold them is not written.
    const triggers = options.triggers ? deploymentTriggerEntries(options.triggers, key, warn, { secrets: options.secrets ?? new Map(), allowPlain: options.allowPlainCredentials ?? false }) : undefined;
    if (triggers) {
      entry.triggers = triggers.entries;
      findings.push(...triggers.findings);
    }
    const problem = options.check(entry, server);
    if (problem) {
      // Not written at all, so none of its values can leak: the findings no longer matter.
      warnings.push({ subject, message: `not exported: ${problem}` });
      continue;
    }
    warnings.push(...credentialWarnings(subject, findings));
    triggers?.record();
    entries.push(entry);
    written.set(key, { deployment });
  }
  if (entries.length === 0) return { files: [], warnings, count: 0, written };
  const content = renderDeploymentsFile(entries);
  return { files: [{ path: DEPLOYMENTS_FILE, content, summary: `${entries.length} deployment${entries.length === 1 ? '' : 's'}` }], warnings, count: entries.length, written };
}

/**
 * The deployment with the credentials of its exported values taken care of: job variables and pull
 * steps, which Prefect resolves at run time, get references; parameters (the deployment's and its
 * slugged schedules') cannot, so a secret's value there is left out like any credential.
 */
export function protectDeployment(d: Deployment, options: { secrets: SecretValues; allowPlain: boolean }): { deployment: Deployment; findings: Finding[] } {
  const findings: Finding[] = [];
  const protect = (value: unknown, path: string, referable: boolean, key?: string): JsonValue => {
    const result = protectCredentials(value as JsonValue, { path, key, secrets: options.secrets, referable, allowPlain: options.allowPlain });
    findings.push(...result.findings);
    return result.value;
  };
  const deployment: Deployment = { ...d };
  if (d.work_pool_name && d.job_variables) deployment.job_variables = protect(d.job_variables, 'work_pool.job_variables', true) as Deployment['job_variables'];
  if (Array.isArray(d.pull_steps)) deployment.pull_steps = protect(d.pull_steps, 'pull', true) as Deployment['pull_steps'];
  if (d.parameters) deployment.parameters = protect(d.parameters, 'parameters', false) as Deployment['parameters'];
  const schema = d.parameter_openapi_schema as JsonObject | null | undefined;
  const properties = schema?.properties;
  if (schema && properties !== null && typeof properties === 'object' && !Array.isArray(properties)) {
    // A flow's default values (`prefect deploy` derives them from its signature) are written too.
    // Entries keep their order: the schema is data, and is compared and written as the server holds it.
    const kept = Object.fromEntries(
      Object.entries(properties).map(([name, property]) => {
        if (property === null || typeof property !== 'object' || Array.isArray(property) || !('default' in property)) return [name, property];
        const value = property.default ?? null;
        const safe = protect(value, `parameter_openapi_schema.properties.${name}.default`, false, name);
        const removed = safe === null && value !== null;
        return [name, Object.fromEntries(Object.entries(property).flatMap(([key, item]) => (key !== 'default' ? [[key, item]] : removed ? [] : [[key, safe]])))];
      }),
    ) as JsonObject;
    deployment.parameter_openapi_schema = { ...schema, properties: kept };
  }
  if (d.schedules) {
    deployment.schedules = d.schedules.map((schedule) =>
      schedule.slug && schedule.parameters ? { ...schedule, parameters: protect(schedule.parameters, `schedules[${schedule.slug}].parameters`, false) as typeof schedule.parameters } : schedule,
    );
  }
  return { deployment, findings };
}

/** What was done with the credentials of one deployment: by key path, never by value. */
function credentialWarnings(subject: string, findings: readonly Finding[]): ExportWarning[] {
  const warnings: ExportWarning[] = [];
  const referenced = findings.filter((f) => f.action === 'referenced');
  if (referenced.length > 0) {
    const one = referenced.length === 1;
    warnings.push({
      subject,
      message:
        `${listNames(referenced.map((f) => `${f.path} -> ${f.reference ?? ''}${f.within ? ' (within the text)' : ''}`))}: ` +
        `${one ? 'this value was' : 'these values were'} the value of a secret block (resolved by \`prefect deploy\`) and ${one ? 'is' : 'are'} written as a reference, which Prefect resolves at run time. ` +
        `Applied back to this server, the deployment stores the reference instead of the value (plan shows that change once)`,
    });
  }
  const describe = (f: Finding) => {
    if (f.block === undefined) return f.reason ? `${f.path} (${f.reason})` : `${f.path} (under a credential-like key, the value of no secret block)`;
    return `${f.path} (${f.within ? 'holds ' : ''}the value of secret block "${f.block}": ${f.reason ?? 'no reference can stand for it'})`;
  };
  const withheld = findings.filter((f) => f.action === 'withheld');
  if (withheld.length > 0) {
    const one = withheld.length === 1;
    warnings.push({
      subject,
      message:
        `${one ? 'a credential is' : `${withheld.length} credentials are`} not written: ${listNames(withheld.map(describe))}. ` +
        `prefect.yaml lacks ${one ? 'it' : 'them'}, so applying it would remove ${one ? 'it' : 'them'} from the deployment. ` +
        `Keep ${one ? 'it' : 'each'} in a secret block (refer to it as {{ prefect.blocks.secret.<name> }} in job variables and pull steps; ` +
        'a flow loads it with Secret.load rather than taking it as a parameter), then export again; ' +
        `or pass --allow-plain-credentials to write ${one ? 'it' : 'them'} as ${one ? 'it is' : 'they are'}`,
      credentials: { paths: withheld.map((f) => f.path), written: false },
    });
  }
  const plain = findings.filter((f) => f.action === 'written');
  if (plain.length > 0) {
    const one = plain.length === 1;
    warnings.push({
      subject,
      message: `${one ? 'a credential is' : `${plain.length} credentials are`} written in plain text (--allow-plain-credentials): ${listNames(plain.map(describe))}; keep prefect.yaml as secret as ${one ? 'it' : 'they'}`,
      credentials: { paths: plain.map((f) => f.path), written: true },
    });
  }
  return warnings;
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
    const problem = globalLimitNameProblem(shared);
    // A limit shared with other deployments is declared in the limits manifest and named here; a
    // tag limit or another deployment's own limit cannot be named, and the deployment goes without.
    if (problem) warn(`it shares the limit "${shared}", which prefect.yaml cannot name (${problem}); it is exported without that limit`);
    else entry.global_concurrency_limit = shared;
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
  const slugless = schedules
    .filter((s) => !s.slug)
    .map((s) => ({ schedule: s, described: describeSchedule(s.schedule as unknown as JsonObject) }))
    .sort((a, b) => compareText(a.described, b.described) || compareText(a.schedule.id, b.schedule.id));
  if (slugless.length > 0) {
    const one = slugless.length === 1;
    const shown = slugless.map(({ schedule, described }) => `${described} (schedule ${schedule.id})`).join('; ');
    const taken = new Set(schedules.flatMap((s) => (s.slug ? [s.slug] : [])));
    // One command per schedule, with its own id and a slug no other schedule of the deployment has.
    const commands = slugless.map(({ schedule }) => {
      const slug = suggestSlug(schedule.schedule as unknown as JsonObject, taken);
      return `curl -X PATCH "$PREFECT_API_URL/deployments/${deploymentId}/schedules/${schedule.id}" -H 'content-type: application/json' -d '{"slug": "${slug}"}'`;
    });
    warn(
      `${slugless.length} schedule${one ? '' : 's'} without a slug ${one ? 'is' : 'are'} not exported: ${shown}. ` +
        `Applying the export keeps ${one ? 'it' : 'them'} on this server, but a copy lacks ${one ? 'it' : 'them'}. ` +
        `To export ${one ? 'it' : 'them'}, give ${one ? 'it' : 'each'} a slug (any name unique in the deployment) and export again: ` +
        commands.join(' ; '),
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

/** A slug that says what the schedule does (`every-3600s`, `cron-1`), unused in the deployment; added to `taken`. */
function suggestSlug(spec: JsonObject, taken: Set<string>): string {
  const every = 'interval' in spec && typeof spec.interval === 'number' && Number.isInteger(spec.interval) ? `every-${spec.interval}s` : undefined;
  const stem = every ?? ('cron' in spec ? 'cron' : 'interval' in spec ? 'interval' : 'rrule');
  let slug = every ?? `${stem}-1`;
  for (let n = 2; taken.has(slug); n++) slug = `${stem}-${n}`;
  taken.add(slug);
  return slug;
}

function describeSchedule(spec: JsonObject): string {
  if ('cron' in spec) return `cron "${String(spec.cron)}"`;
  if ('interval' in spec) return `every ${String(spec.interval)} s`;
  return `rrule "${String(spec.rrule).replaceAll('\n', ' ')}"`;
}
