// prefect.yaml deployment files, read the way `prefect deploy` reads them (anchors, `<<:` merges,
// `{{ }}` placeholders), but strictly: unknown keys are errors, build and push steps are not run,
// and `{{ prefect.blocks.* }}` stay references that the worker resolves at run time.
import { z } from 'zod';
import type { IssueList, Source } from '../../errors.js';
import { ENTRYPOINT_FORMS, ENTRYPOINT_PATTERN } from '../../python/entrypoint.js';
import { analyzeEntrypoint } from '../../python/flow.js';
import { anchorDateProblem, cronProblem, intervalProblem, intervalSeconds, rruleProblem, timezoneProblem } from '../../config/schedules.js';
import { readDeploymentTrigger, type DesiredAutomation } from '../automations/spec.js';
import { globalLimitNameProblem } from '../global-limits/spec.js';
import { legacyFindings, withoutLegacyForms, type LegacyFinding } from './legacy.js';
import { deploymentKey } from './key.js';
import { isObject, kindOf, type JsonObject } from '../../config/json.js';
import { nameProblem, oneLine, type NameKind } from '../../config/names.js';
import { closest } from '../../config/suggest.js';
import { Templater, type IssueSink, type PathPart, type Reference } from '../../config/templating.js';
import { COMMAND_LINE, type DesiredDeployment, type DesiredSchedule, type JsonValue } from '../../config/types.js';
import { formatPath, readYamlFile, type YamlData } from '../../config/yaml.js';

export interface DeploymentsOptions {
  env: Record<string, string | undefined>;
  /** --flows-dir: where the entrypoints' Python files are, to learn flow names and parameter schemas. */
  flowsDir?: string | undefined;
  /** --strict: a legacy form that would be converted, or a key that would be ignored, is an error instead. */
  strict?: boolean | undefined;
  /** Values of build and push step outputs, as `step-id.field=value`: the steps are never run here. */
  stepOutputs?: readonly string[] | undefined;
  /** The Prefect release the parameter schemas read from flow files are derived for. */
  prefectVersion?: string | undefined;
}

/** A larger prefect.yaml is refused unread (migrate reads it with the same bound). */
export const MAX_DEPLOYMENTS_FILE_BYTES = 5 * 1024 * 1024;
/** Prefect refuses larger `parameters` (3.6.25). */
const MAX_PARAMETERS_BYTES = 512 * 1024;
/** Where a generated schedule slug starts; the rest is the schedule's 1-based place in `schedules`. */
export const GENERATED_SLUG_PREFIX = 'openem-';

const TOP_LEVEL_KEYS = ['name', 'prefect-version', 'build', 'push', 'pull', 'deployments', 'definitions', 'automations'];
/**
 * Keys not templated: pull steps run in the worker, which resolves them in its own environment; build
 * and push steps are never run here (and may use each other's outputs); triggers are templated
 * apart from their `parameters` (see readTriggers); the rest are only refused.
 */
const UNTEMPLATED_KEYS = new Set(['pull', 'build', 'push', 'triggers', 'sla', 'version_type']);
/** Why a deployment's SLAs are refused: only Prefect Cloud keeps them. */
export const SLA_MESSAGE =
  '`sla` declares SLAs, which only Prefect Cloud keeps: a self-hosted Prefect server has no SLA API (`prefect deploy` 3.7.2 and 3.9.1 stop on this key against one); remove `sla`, or write `sla: []` for none';
/** Appended to every conversion and ignored key under --strict, which refuses them. */
const STRICT_HINT = '; --strict refuses this: write the current form';

// ---------------------------------------------------------------------------------------------
// The shape of a deployment entry. Messages say what is expected; `must` adds "found <kind>".

/** A zod error option: `is required: <what>` when the key is missing, `must be <what>, found <kind>` otherwise. */
function must(what: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required: add ${what}` : `must be ${what}, found ${kindOf(issue.input)}`) };
}

/** A refinement that reports `problem(value)` when it returns a message. */
function check<T>(problem: (value: T) => string | undefined) {
  return (value: T, context: z.RefinementCtx) => {
    const message = problem(value);
    if (message !== undefined) context.addIssue({ code: 'custom', message });
  };
}

/** A zod refinement with the shared name rule of `kind`. */
const named = (kind: NameKind) => check((name: string) => nameProblem(kind, name));

/**
 * Anything the reader gives is JSON already, so only the object shape is checked. `z.custom` passes the
 * value through as it is, where `z.record` would copy it and turn a `__proto__` key into a prototype.
 */
const jsonObject = (what: string) => z.custom<JsonObject>(isObject, must(what));
const bool = z.boolean(must('true or false'));

const scheduleSchema = z.strictObject(
  {
    cron: z.string(must('a cron expression such as "0 3 * * *"')).superRefine(check(cronProblem)).optional(),
    interval: z
      .union([z.number(), z.string()], must('a number of seconds or an ISO 8601 duration such as PT1H'))
      .superRefine(check(intervalProblem))
      .optional(),
    rrule: z.string(must('an iCalendar rule such as "FREQ=WEEKLY;BYDAY=MO"')).superRefine(check(rruleProblem)).optional(),
    timezone: z.string(must('an IANA time zone such as Europe/Zurich')).superRefine(check(timezoneProblem)).nullable().optional(),
    anchor_date: z.string(must('a date and time such as 2024-01-01T00:00:00Z')).superRefine(check(anchorDateProblem)).nullable().optional(),
    active: bool.optional(),
    parameters: jsonObject('a mapping of parameter names to values').nullable().optional(),
    slug: z.string(must('text naming the schedule, unique in the deployment')).superRefine(named('schedule slug')).optional(),
    day_or: bool.optional(),
  },
  must('a mapping such as `{cron: "0 3 * * *", timezone: Europe/Zurich}`'),
);

const concurrencySchema = z.strictObject({
  limit: z.number(must('a whole number of 1 or more')).int('must be a whole number').min(1, 'must be 1 or more'),
  collision_strategy: z
    .enum(['ENQUEUE', 'CANCEL_NEW'], {
      error: (issue) => `must be ENQUEUE or CANCEL_NEW, found ${typeof issue.input === 'string' ? `\`${issue.input.slice(0, 40)}\`` : kindOf(issue.input)}`,
    })
    .optional(),
  grace_period_seconds: z
    .number(must('a number of seconds from 60 to 86400'))
    .int('must be a whole number of seconds')
    .min(60, 'must be at least 60 seconds')
    .max(86400, 'must be at most 86400 seconds (one day)')
    .optional(),
});

const pullSchema = z.array(
  jsonObject('a step: `- prefect.deployments.steps.<step>: {...}`').superRefine(
    check((step) => {
      const keys = Object.keys(step);
      if (keys.length !== 1) return `must be one step, a mapping with a single key naming the step function; found ${keys.length} keys`;
      return isObject(step[keys[0] ?? '']) ? undefined : 'the step must map its function to a mapping of arguments';
    }),
  ),
  must('a list of steps, e.g. `- prefect.deployments.steps.set_working_directory: {directory: /app}`'),
);

const workPoolSchema = z.strictObject(
  {
    name: z.string(must('the work pool name, e.g. `name: archival-docker-workpool`')).superRefine(named('work pool')),
    work_queue_name: z.string(must('the work queue name')).superRefine(named('work queue')).nullable().optional(),
    job_variables: jsonObject('a mapping of job variables, e.g. `{image: ...}`').nullable().optional(),
  },
  must('a mapping with name, work_queue_name and job_variables'),
);

const deploymentSchema = z.strictObject(
  {
    name: z.string(must('the deployment name, e.g. `name: datasets_archival`')).superRefine(named('deployment')),
    version: z.union([z.string(), z.number()], must('text such as "1.0.0"')).nullable().optional(),
    version_type: z.unknown().optional(),
    tags: z.array(z.string(must('text')), must('a list of tags, e.g. `tags: [archiver]`')).nullable().optional(),
    description: z.string(must('text')).nullable().optional(),
    entrypoint: z
      .string(must(ENTRYPOINT_FORMS))
      .regex(ENTRYPOINT_PATTERN, `must be ${ENTRYPOINT_FORMS}, e.g. \`./flows/archive.py:archive_flow\``)
      .optional(),
    flow_name: z.string(must('the name given to @flow')).superRefine(named('flow')).optional(),
    parameters: jsonObject('a mapping of parameter names to values, e.g. `parameters: {num_files: 10}`').nullable().optional(),
    parameter_openapi_schema: jsonObject('a JSON schema object with `type: object` and `properties`').nullable().optional(),
    enforce_parameter_schema: bool.optional(),
    paused: bool.optional(),
    // Each schedule is checked on its own, so that its cross-field rules run even when another key is wrong.
    schedules: z.array(z.unknown(), must('a list of schedules, e.g. `schedules: [{cron: "0 3 * * *"}]`')).nullable().optional(),
    concurrency_limit: z.unknown().optional(),
    global_concurrency_limit: z.string(must('the name of a global concurrency limit')).superRefine(check(globalLimitNameProblem)).optional(),
    work_pool: workPoolSchema.nullable().optional(),
    pull: pullSchema.nullable().optional(),
    build: z.unknown().optional(),
    push: z.unknown().optional(),
    triggers: z.unknown().optional(),
    sla: z.unknown().optional(),
  },
  must('a mapping with name, entrypoint, work_pool, ...'),
);
type DeploymentSpec = z.infer<typeof deploymentSchema>;

/** The allowed keys of each strict object, and the keys that get their own message there. */
const OBJECTS = {
  deployment: {
    what: 'a deployment',
    keys: Object.keys(deploymentSchema.shape),
    special: {
      concurrency_options: 'is not read here: write the options inside `concurrency_limit`, e.g. `concurrency_limit: {limit: 2, collision_strategy: ENQUEUE}`',
      job_variables: 'belongs under `work_pool:`, e.g. `work_pool: {name: ..., job_variables: {...}}`',
    } as Record<string, string>,
  },
  work_pool: {
    what: '`work_pool`',
    keys: Object.keys(workPoolSchema.shape),
    special: {
      concurrency_limit:
        'does not belong under `work_pool:`, where Prefect silently ignores it; move it to the deployment level (`concurrency_limit:` beside `work_pool:`), where Prefect reads it',
    } as Record<string, string>,
  },
  schedule: {
    what: 'a schedule',
    keys: Object.keys(scheduleSchema.shape),
    special: {
      replaces: 'is not supported: openem-config matches schedules by slug; rename the slug instead',
      max_scheduled_runs: 'is not supported in prefect.yaml; remove it (the server setting PREFECT_DEPLOYMENT_SCHEDULE_MAX_SCHEDULED_RUNS applies)',
    } as Record<string, string>,
  },
  concurrency_limit: { what: '`concurrency_limit`', keys: Object.keys(concurrencySchema.shape), special: {} as Record<string, string> },
};

/** Which strict object of a deployment entry holds the key at `path` (`deployments[i]...`). */
function objectAt(path: readonly PathPart[]): (typeof OBJECTS)[keyof typeof OBJECTS] {
  const [, , key] = path;
  if (key === 'schedules' || key === 'schedule') return OBJECTS.schedule;
  if (key === 'work_pool') return OBJECTS.work_pool;
  return key === 'concurrency_limit' ? OBJECTS.concurrency_limit : OBJECTS.deployment;
}

function unknownKeyMessage(key: string, allowed: readonly string[], what: string): string {
  const suggestion = closest(key, allowed);
  const hint = suggestion ? ` did you mean \`${suggestion}\`?` : '';
  return `unknown key \`${key}\` in ${what};${hint} the allowed keys are ${allowed.join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Loading.

/** Drops repeats of an issue at the same place: a value shared through an anchor is reported once. */
class OnceIssues implements IssueSink {
  private readonly seen = new Set<string>();
  /** Errors reported through this sink, repeats included. */
  private errorCount = 0;
  constructor(
    readonly issues: IssueList,
    private readonly strict = false,
  ) {}
  /**
   * A legacy form converted the way Prefect converts it, or a key Prefect ignores and so is ignored
   * here: a warning that says so, or an error under --strict.
   */
  legacy(source: Source, message: string): void {
    if (this.strict) this.error(source, `${message}${STRICT_HINT}`);
    else this.warn(source, message);
  }
  /** Grows with every error, whether reported here or straight to the list (as analyzeEntrypoint does). */
  errorMark(): number {
    return this.errorCount + this.issues.errors.length;
  }
  // Messages may quote keys and values of the file: control characters in them are shown escaped.
  error(source: Source, message: string): void {
    this.errorCount++;
    if (this.first('error', source, message)) this.issues.error(source, oneLine(message));
  }
  warn(source: Source, message: string): void {
    if (this.first('warning', source, message)) this.issues.warn(source, oneLine(message));
  }
  private first(severity: string, source: Source, message: string): boolean {
    const id = [severity, source.file, source.line, source.column, message].join('\u0000');
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    return true;
  }
}

export function loadDeployments(files: string[], options: DeploymentsOptions, issues: IssueList): DesiredDeployment[] {
  const sink = new OnceIssues(issues, options.strict ?? false);
  const templater = new Templater({ env: options.env, issues: sink, stepOutputs: readStepOutputs(options.stepOutputs ?? [], sink) });
  const byKey = new Map<string, DesiredDeployment>();
  for (const file of files) {
    const yaml = readYamlFile(file, { what: 'deployments file', maxBytes: MAX_DEPLOYMENTS_FILE_BYTES }, issues);
    if (!yaml) continue;
    for (const deployment of readDeploymentFile(yaml, { options, templater, issues: sink })) {
      const key = deploymentKey(deployment.flowName, deployment.name);
      const earlier = byKey.get(key);
      if (earlier) {
        const { file: otherFile, line, key: where } = earlier.source;
        sink.error(deployment.source, `deployment \`${key}\` is already declared at ${otherFile}:${line} (${where}); rename one of them or remove one`);
      } else {
        byKey.set(key, deployment);
      }
    }
  }
  templater.finish();
  return [...byKey.values()].sort((a, b) => compare(deploymentKey(a.flowName, a.name), deploymentKey(b.flowName, b.name)));
}

interface Context {
  options: DeploymentsOptions;
  templater: Templater;
  issues: OnceIssues;
}

function readDeploymentFile(yaml: YamlData, context: Context): DesiredDeployment[] {
  const { issues } = context;
  const root = yaml.value;
  if (!isObject(root)) {
    issues.error(yaml.at([]), `a prefect.yaml must be a mapping with a \`deployments:\` list, found ${kindOf(root)}`);
    return [];
  }
  const legacyKeys = new Set<string>();
  const fileFindings = legacyFindings('file', root);
  for (const finding of fileFindings) {
    reportLegacy(finding, [], yaml, issues);
    legacyKeys.add(finding.rule.key);
  }
  const current = withoutLegacyForms(root, fileFindings);
  for (const key of Object.keys(root)) {
    if (!legacyKeys.has(key) && !TOP_LEVEL_KEYS.includes(key)) issues.error(yaml.at([key], 'key'), unknownKeyMessage(key, TOP_LEVEL_KEYS, 'a prefect.yaml'));
  }
  if (root.name !== undefined && root.name !== null && typeof root.name !== 'string') issues.error(yaml.at(['name']), `must be text naming the project, found ${kindOf(root.name)}`);
  const version = root['prefect-version'];
  if (version !== undefined && version !== null && typeof version !== 'string' && typeof version !== 'number') {
    issues.error(yaml.at(['prefect-version']), `must be a version such as "3.4.0", found ${kindOf(version)}`);
  }
  warnNotRun(root, [], yaml, issues);

  let topPull: JsonObject[] | undefined;
  if (current.pull !== undefined && current.pull !== null) {
    const parsed = pullSchema.safeParse(current.pull);
    if (parsed.success) topPull = parsed.data;
    else reportZod(parsed.error, ['pull'], yaml, issues);
  }

  const entries = root.deployments;
  if (entries === undefined || entries === null) {
    // A file of automations only (`automations:`) declares no deployments on purpose.
    if (root.automations === undefined || entries === null) issues.warn(yaml.at(entries === null ? ['deployments'] : []), 'declares no deployments; add a `deployments:` list');
    return [];
  }
  if (!Array.isArray(entries)) {
    issues.error(yaml.at(['deployments']), `must be a list of deployments (\`- name: ...\`), found ${kindOf(entries)}`);
    return [];
  }
  const deployments: DesiredDeployment[] = [];
  for (const [index, entry] of entries.entries()) {
    const deployment = readDeployment(entry, { index, yaml, topPull, context });
    if (deployment) deployments.push(deployment);
  }
  return deployments;
}

/** Build and push steps belong to an image build, not to configuring a server; they are named once per file or deployment. */
function warnNotRun(object: JsonObject, base: PathPart[], yaml: YamlData, issues: IssueSink): void {
  const present = ['build', 'push'].filter((key) => {
    const value = object[key];
    return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
  });
  const first = present[0];
  if (first === undefined) return;
  const keys = present.map((key) => `\`${key}\``).join(' and ');
  issues.warn(
    yaml.at([...base, first], 'key'),
    `${keys} steps are not run: openem-config only registers deployments; build and push the image beforehand (e.g. in CI) and name it in job_variables`,
  );
}

interface EntryInput {
  index: number;
  yaml: YamlData;
  topPull: JsonObject[] | undefined;
  context: Context;
}

function readDeployment(entry: JsonValue, { index, yaml, topPull, context }: EntryInput): DesiredDeployment | undefined {
  const { issues, templater, options } = context;
  const base: PathPart[] = ['deployments', index];
  const at = (...path: PathPart[]) => yaml.at([...base, ...path]);
  if (!isObject(entry)) {
    issues.error(at(), `each deployment must be a mapping with name, entrypoint, work_pool, ...; found ${kindOf(entry)}`);
    return undefined;
  }
  const errorsBefore = issues.errorMark();

  const answer = (key: string, severity: 'error', message: string) => {
    if (entry[key] !== undefined) issues[severity](yaml.at([...base, key], 'key'), message);
  };
  // No SLA (`sla: null` or `[]`) is what a self-hosted server has; SLAs themselves are Prefect Cloud's.
  const sla = entry.sla;
  if (sla !== undefined && sla !== null && !Array.isArray(sla)) answer('sla', 'error', `must be a list of SLAs, found ${kindOf(sla)}; write \`sla: []\` or remove it for none`);
  else if (Array.isArray(sla) && sla.length > 0) answer('sla', 'error', SLA_MESSAGE);
  warnNotRun(entry, base, yaml, issues);

  // Templated before the shape check, like `prefect deploy`, so that `{{ $ENV }}` may give any string value.
  const templated: JsonObject = {};
  const references: Reference[] = [];
  let complete = true;
  for (const [key, value] of Object.entries(entry)) {
    if (UNTEMPLATED_KEYS.has(key)) {
      templated[key] = value;
    } else {
      const result = templater.resolve(value, [...base, key], yaml.at);
      templated[key] = result.value;
      references.push(...result.references);
      complete &&= result.complete;
    }
  }

  const { normalized, singularSchedule } = legacyForms(templated, { base, yaml, issues });
  const parsed = deploymentSchema.safeParse(normalized);
  const concurrency = readConcurrency(normalized.concurrency_limit, [...base, 'concurrency_limit'], yaml, issues);
  const schedules = Array.isArray(normalized.schedules)
    ? readSchedules(normalized.schedules, (index) => (singularSchedule ? [...base, 'schedule'] : [...base, 'schedules', index]), yaml, issues)
    : [];
  if (!parsed.success) {
    reportZod(parsed.error, base, yaml, issues);
    return undefined;
  }
  const spec = parsed.data;
  if (spec.global_concurrency_limit !== undefined && entry.concurrency_limit !== undefined) {
    issues.error(
      at('global_concurrency_limit'),
      'a deployment has either its own `concurrency_limit` or shares a `global_concurrency_limit`, not both; remove one of them',
    );
  }

  const writtenPull = spec.pull ?? topPull;
  // Build and push step outputs filled in, the rest as written: the worker resolves it at run time.
  const pull = writtenPull && templater.pullSteps(writtenPull, spec.pull ? [...base, 'pull'] : ['pull'], yaml.at);
  if (pull) references.push(...pull.references);
  const pullSteps = pull?.value as JsonValue[] | undefined;
  const flow = readFlow(spec, { at, options, issues });

  const parameters = spec.parameters ?? undefined;
  if (parameters) {
    const bytes = Buffer.byteLength(JSON.stringify(parameters));
    if (bytes > MAX_PARAMETERS_BYTES) issues.error(at('parameters'), `are ${bytes} bytes as JSON, more than the ${MAX_PARAMETERS_BYTES} Prefect accepts; make them smaller`);
  }
  const triggers = flow ? readTriggers(entry.triggers, { base, yaml, templater, issues, deployment: { key: deploymentKey(flow.flowName, spec.name), name: spec.name } }) : undefined;
  // An unset environment variable is reported once for the whole load, by `templater.finish`.
  if (issues.errorMark() > errorsBefore || !flow || !complete || (triggers && !triggers.complete)) return undefined;

  const nameSource = yaml.at([...base, 'name'], 'key');
  return {
    name: spec.name,
    flowName: flow.flowName,
    entrypoint: spec.entrypoint,
    // As `prefect deploy`: a deployment without a version gets its flow's (`version=` of @flow, else the MD5 of its file).
    version: readVersion(spec.version, yaml.written([...base, 'version'])) || flow.version,
    // As `prefect deploy`: a deployment without a description (or an empty one) gets its flow's.
    description: spec.description || flow.description || (spec.description ?? undefined),
    tags: spec.tags ?? undefined,
    parameters,
    parameterSchema: flow.parameterSchema,
    ...(flow.takesAnyParameter && { takesAnyParameter: true }),
    enforceParameterSchema: spec.enforce_parameter_schema,
    paused: spec.paused,
    schedules,
    concurrency,
    ...(spec.global_concurrency_limit !== undefined && {
      globalConcurrencyLimit: { name: spec.global_concurrency_limit, source: yaml.at([...base, 'global_concurrency_limit']) },
    }),
    workPoolName: spec.work_pool?.name,
    ...(spec.work_pool && { workPoolSource: yaml.at([...base, 'work_pool', 'name']) }),
    workQueueName: spec.work_pool?.work_queue_name ?? undefined,
    ...(isObject(templated.work_pool) &&
      typeof templated.work_pool.type === 'string' && { workPoolType: { type: templated.work_pool.type, source: yaml.at([...base, 'work_pool', 'type']) } }),
    jobVariables: spec.work_pool?.job_variables ?? undefined,
    ...(spec.work_pool?.job_variables && { jobVariableSources: valueSources(spec.work_pool.job_variables, [...base, 'work_pool', 'job_variables'], yaml) }),
    // As written: the worker resolves `{{ $ENV }}`, blocks and variables in pull steps at run time, in its own environment.
    pullSteps,
    ...(triggers && { triggers: triggers.automations, triggersSource: yaml.at([...base, 'triggers'], 'key') }),
    references,
    source: { ...nameSource, key: `deployments[${index}]` },
  };
}

/**
 * A deployment's `triggers:`, each read into the automation `prefect deploy` makes of it. Templated
 * as Prefect templates them: every field but `parameters`, which keep their `{{ event }}` templates
 * for the automation to fill in when it fires. Undefined when the key is absent or null: the
 * deployment's trigger automations are then kept as they are.
 */
function readTriggers(
  value: JsonValue | undefined,
  { base, yaml, templater, issues, deployment }: { base: PathPart[]; yaml: YamlData; templater: Templater; issues: OnceIssues; deployment: { key: string; name: string } },
): { automations: DesiredAutomation[]; complete: boolean } | undefined {
  if (value === undefined || value === null) return undefined;
  const path = [...base, 'triggers'];
  if (!Array.isArray(value)) {
    issues.error(yaml.at(path), `must be a list of triggers, e.g. \`- {expect: [my.event], posture: Reactive}\`, found ${kindOf(value)}`);
    return { automations: [], complete: true };
  }
  let complete = true;
  const automations: DesiredAutomation[] = [];
  const names = new Map<string, number>();
  for (const [index, item] of value.entries()) {
    let templated: JsonValue = item;
    if (isObject(item)) {
      templated = Object.fromEntries(
        Object.entries(item).map(([key, field]) => {
          if (key === 'parameters') return [key, field];
          const result = templater.resolve(field, [...path, index, key], yaml.at);
          complete &&= result.complete;
          return [key, result.value];
        }),
      );
    }
    const automation = readDeploymentTrigger(templated, [...path, index], { ...deployment, index }, { at: yaml.at, issues });
    if (!automation) continue;
    const earlier = names.get(automation.name);
    if (earlier !== undefined) {
      issues.error(yaml.at([...path, index]), `trigger "${automation.name}" is already declared as triggers[${earlier}] of this deployment; give each trigger its own \`name\``);
      continue;
    }
    names.set(automation.name, index);
    automations.push(automation);
  }
  return { automations, complete };
}

/** The place of every value below `value`, by its dotted path (`networks.0`), as the job variable check names them. */
function valueSources(value: JsonObject, base: readonly PathPart[], yaml: YamlData): { [path: string]: Source } {
  const sources: { [path: string]: Source } = {};
  const walk = (item: JsonValue, parts: PathPart[]) => {
    if (parts.length > 0) sources[parts.join('.')] = yaml.at([...base, ...parts]);
    // Nested at most MAX_NESTING_DEPTH deep: the reader refused anything deeper.
    if (Array.isArray(item)) item.forEach((child, index) => walk(child, [...parts, index]));
    else if (isObject(item)) for (const [key, child] of Object.entries(item)) walk(child, [...parts, key]);
  };
  walk(value, []);
  return sources;
}

/** A version YAML read as a number keeps its written form: `1.10` stays "1.10", not "1.1". */
function readVersion(version: string | number | null | undefined, written: string | undefined): string | undefined {
  if (version === null || version === undefined) return undefined;
  return typeof version === 'string' ? version : (written ?? String(version));
}

function readFlow(
  spec: DeploymentSpec,
  { at, options, issues }: { at: (...path: PathPart[]) => Source; options: DeploymentsOptions; issues: OnceIssues },
): { flowName: string; parameterSchema: JsonObject | undefined; takesAnyParameter?: boolean; description?: string; version?: string } | undefined {
  let flowName = spec.flow_name;
  let parameterSchema = spec.parameter_openapi_schema ?? undefined;
  let takesAnyParameter: boolean | undefined;
  let description: string | undefined;
  let version: string | undefined;
  if (spec.entrypoint === undefined) {
    if (flowName === undefined) {
      issues.error(at(), 'add `entrypoint: path/to/file.py:function` (and `flow_name:`, the name given to @flow); a deployment needs its flow');
      return undefined;
    }
    issues.warn(at(), 'has no `entrypoint`, so workers cannot start its runs; add `entrypoint: path/to/file.py:function`');
  } else if (options.flowsDir !== undefined) {
    const errorsBefore = issues.errorMark();
    const flow = analyzeEntrypoint(options.flowsDir, spec.entrypoint, at('entrypoint'), issues.issues, { flowName: spec.flow_name, prefectVersion: options.prefectVersion });
    // Not read without an error: a module path outside --flows-dir, with flow_name given (a warning said so).
    if (!flow && issues.errorMark() === errorsBefore && flowName !== undefined) return { flowName, parameterSchema };
    if (!flow) return undefined;
    if (flowName !== undefined && flowName !== flow.flowName) {
      issues.error(
        at('flow_name'),
        `the flow at ${spec.entrypoint} is named \`${flow.flowName}\` (line ${flow.line} of its file), not \`${flowName}\`; correct flow_name or remove it`,
      );
      return undefined;
    }
    flowName = flow.flowName;
    parameterSchema ??= flow.parameterSchema;
    takesAnyParameter = flow.takesAnyParameter;
    description = flow.description;
    version = flow.version;
  }
  if (flowName === undefined) {
    issues.error(
      at(),
      `the flow name is unknown: add \`flow_name:\` with the name given to @flow in ${spec.entrypoint}, or pass --flows-dir so that openem-config reads it from the Python file`,
    );
    return undefined;
  }
  return {
    flowName,
    parameterSchema,
    ...(takesAnyParameter !== undefined && { takesAnyParameter }),
    ...(description !== undefined && { description }),
    ...(version !== undefined && { version }),
  };
}

function readConcurrency(value: unknown, path: PathPart[], yaml: YamlData, issues: IssueSink): DesiredDeployment['concurrency'] {
  if (value === undefined || value === null) return value;
  if (typeof value === 'number' || isObject(value)) {
    const parsed = typeof value === 'number' ? concurrencySchema.shape.limit.safeParse(value) : concurrencySchema.safeParse(value);
    if (!parsed.success) {
      reportZod(parsed.error, path, yaml, issues);
      return undefined;
    }
    if (typeof parsed.data === 'number') return { limit: parsed.data };
    const { limit, collision_strategy: collisionStrategy, grace_period_seconds: gracePeriodSeconds } = parsed.data;
    return { limit, ...(collisionStrategy && { collisionStrategy }), ...(gracePeriodSeconds !== undefined && { gracePeriodSeconds }) };
  }
  issues.error(
    yaml.at(path),
    `must be a whole number of 1 or more, \`{limit: n, collision_strategy: ENQUEUE or CANCEL_NEW, grace_period_seconds: 60 to 86400}\`, or null to remove the limit; found ${kindOf(value)}`,
  );
  return undefined;
}

/** The schedules at `pathOf(index)` each: a `schedules` list, or the one legacy `schedule` converted to a list. */
function readSchedules(items: JsonValue[], pathOf: (index: number) => PathPart[], yaml: YamlData, issues: OnceIssues): DesiredSchedule[] {
  const schedules: DesiredSchedule[] = [];
  const slugs = new Map<string, number>();
  for (const [index, written] of items.entries()) {
    const path = pathOf(index);
    const at = (...key: PathPart[]) => yaml.at([...path, ...key]);
    let item = written;
    if (isObject(written)) {
      const findings = legacyFindings('schedule', written);
      for (const finding of findings) reportLegacy(finding, path, yaml, issues);
      item = withoutLegacyForms(written, findings);
    }
    const parsed = scheduleSchema.safeParse(item);
    if (!parsed.success) {
      reportZod(parsed.error, path, yaml, issues);
      continue;
    }
    const spec = parsed.data;
    const kinds = (['cron', 'interval', 'rrule'] as const).filter((kind) => spec[kind] !== undefined);
    const [kind] = kinds;
    if (kind === undefined) {
      issues.error(at(), 'a schedule needs one of `cron`, `interval` or `rrule`, e.g. `cron: "0 3 * * *"`');
      continue;
    }
    if (kinds.length > 1) {
      issues.error(at(kinds[1] ?? kind), `a schedule has one of cron, interval or rrule, this one has ${kinds.join(' and ')}; write one schedule for each`);
      continue;
    }
    if (spec.day_or !== undefined && kind !== 'cron') issues.error(at('day_or'), '`day_or` applies to cron schedules only; remove it');
    if (spec.anchor_date != null && kind !== 'interval') issues.error(at('anchor_date'), '`anchor_date` applies to interval schedules only; remove it');
    // The cron field's own check holds whatever day_or says; what day_or changes (croniter's OR, or both days) is checked here.
    const dayProblem = kind === 'cron' ? cronProblem(spec.cron ?? '', { dayOr: spec.day_or ?? true }) : undefined;
    if (dayProblem) issues.error(at('cron'), dayProblem);
    const slug = spec.slug ?? `${GENERATED_SLUG_PREFIX}${index + 1}`;
    const earlier = slugs.get(slug);
    if (earlier !== undefined) {
      const fix = spec.slug === undefined ? `the slug \`${slug}\` made up for this schedule is taken; give it a \`slug:\`` : 'give each schedule its own slug';
      issues.error(spec.slug === undefined ? at() : at('slug'), `schedule slug \`${slug}\` is already used by ${formatPath(pathOf(earlier))}; ${fix}`);
      continue;
    }
    slugs.set(slug, index);
    const timezone = spec.timezone ?? undefined;
    const schedule: DesiredSchedule['schedule'] =
      kind === 'cron'
        ? { cron: spec.cron ?? '', ...(timezone && { timezone }), ...(spec.day_or !== undefined && { day_or: spec.day_or }) }
        : kind === 'interval'
          ? { interval: intervalSeconds(spec.interval ?? 0) ?? 0, ...(spec.anchor_date && { anchor_date: spec.anchor_date }), ...(timezone && { timezone }) }
          : { rrule: spec.rrule ?? '', ...(timezone && { timezone }) };
    schedules.push({ slug, schedule, active: spec.active ?? true, parameters: spec.parameters ?? {}, source: at() });
  }
  return schedules;
}

// ---------------------------------------------------------------------------------------------
// Legacy forms (legacy.ts): each converted the way Prefect 3 converts it, ignored (as Prefect 3
// ignores it) with a warning, or refused where ignoring it would make flows run differently from
// what the file says. The README's table lists every decision.

interface LegacyInput {
  base: PathPart[];
  yaml: YamlData;
  issues: OnceIssues;
}

/**
 * The deployment entry in its current form, each legacy key answered; `singularSchedule` says that
 * its `schedules` is the single `schedule` converted, to be reported at that key's place.
 */
function legacyForms(entry: JsonObject, { base, yaml, issues }: LegacyInput): { normalized: JsonObject; singularSchedule: boolean } {
  const findings = legacyFindings('deployment', entry);
  for (const finding of findings) reportLegacy(finding, base, yaml, issues);
  const normalized = withoutLegacyForms(entry, findings);
  if (isObject(normalized.work_pool)) {
    const inPool = legacyFindings('work_pool', normalized.work_pool);
    for (const finding of inPool) reportLegacy(finding, [...base, 'work_pool'], yaml, issues);
    normalized.work_pool = withoutLegacyForms(normalized.work_pool, inPool);
  }
  const singularSchedule = findings.some(({ verdict }) => verdict.outcome !== 'refused' && verdict.fix === 'to-schedules');
  return { normalized, singularSchedule };
}

/** A legacy key of the mapping at `base`: a warning (an error under --strict), an error when refused, nothing when quiet. */
function reportLegacy({ rule, verdict }: LegacyFinding, base: readonly PathPart[], yaml: YamlData, issues: OnceIssues): void {
  const path = [...base, rule.key, ...(verdict.at ?? [])];
  if (verdict.outcome === 'refused') issues.error(yaml.at(path, verdict.place ?? 'key'), verdict.message);
  else if (verdict.outcome === 'legacy') issues.legacy(yaml.at(path, 'key'), verdict.message);
}

/** Every zod issue as `file:line › key: message`; an unknown key at the key itself, with the closest allowed key. */
function reportZod(error: z.ZodError, base: readonly PathPart[], yaml: YamlData, issues: IssueSink): void {
  const found: Array<{ source: Source; message: string }> = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((part): part is PathPart => typeof part !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const object = objectAt([...base, ...path]);
      for (const key of issue.keys) {
        const special = object.special[key];
        const message = special ? `\`${key}\` ${special}` : unknownKeyMessage(key, object.keys.filter((allowed) => !isHandledElsewhere(allowed)), object.what);
        found.push({ source: yaml.at([...base, ...path, key], 'key'), message });
      }
    } else {
      found.push({ source: yaml.at([...base, ...path]), message: issue.message });
    }
  }
  // In file order, as a reader goes through the file fixing them.
  found.sort((a, b) => (a.source.line ?? 0) - (b.source.line ?? 0) || (a.source.column ?? 0) - (b.source.column ?? 0));
  for (const { source, message } of found) issues.error(source, message);
}

/** Keys the schema accepts only to answer them with their own message; not offered as suggestions. */
function isHandledElsewhere(key: string): boolean {
  return key === 'sla' || key === 'version_type';
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** What `{{ step-id.field }}` names: Prefect's placeholder characters, at least one dot. */
const STEP_OUTPUT = /^[\w\-[\]$]+(\.[\w\-[\]$]+)+$/;

/** `step-id.field=value` pairs, by expression; a malformed one is an error that shows the form. */
function readStepOutputs(pairs: readonly string[], issues: IssueSink): Record<string, string> {
  const outputs = new Map<string, string>();
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const expression = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? '' : pair.slice(equals + 1);
    const reserved = /^(prefect\.|ctx\.|\$)/.test(expression);
    if (!STEP_OUTPUT.test(expression) || reserved || value === '') {
      issues.error(
        { file: COMMAND_LINE, key: `step output ${expression}` },
        `\`${expression}\`${value === '' ? ' has no value' : ' is not a step output'}: give a step output as \`step-id.field=value\`, e.g. \`build-image.image=registry.example.org/app:1.4\`, named as the prefect.yaml writes it in \`{{ build-image.image }}\``,
      );
      continue;
    }
    outputs.set(expression, value);
  }
  // fromEntries defines own properties, so an expression such as `__proto__.x` stays data.
  return Object.fromEntries(outputs);
}


function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The shapes a deployment entry is read with, for the editors' JSON Schema of prefect.yaml (src/schemas/documents.ts). */
export const DEPLOYMENT_SCHEMAS = {
  deployment: deploymentSchema,
  schedule: scheduleSchema,
  concurrency: concurrencySchema,
  workPool: workPoolSchema,
  pull: pullSchema,
  topLevelKeys: TOP_LEVEL_KEYS,
} as const;
