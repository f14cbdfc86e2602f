// prefect.yaml deployment files, read the way `prefect deploy` reads them (anchors, `<<:` merges,
// `{{ }}` placeholders), but strictly: unknown keys are errors, build and push steps are not run,
// and `{{ prefect.blocks.* }}` stay references that the worker resolves at run time.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Alias, type Document, type YAMLMap } from 'yaml';
import { z } from 'zod';
import type { IssueList, Source } from '../errors.js';
import { readTextFile } from './files.js';
import { analyzeEntrypoint } from './python-flow.js';
import { Templater, type IssueSink, type PathPart, type Reference } from './templating.js';
import type { DesiredDeployment, DesiredSchedule, JsonValue } from './types.js';

export interface DeploymentsOptions {
  env: Record<string, string | undefined>;
  /** --flows-dir: where the entrypoints' Python files are, to learn flow names and parameter schemas. */
  flowsDir?: string | undefined;
}

type JsonObject = { [key: string]: JsonValue };

const MAX_FILE_BYTES = 5 * 1024 * 1024;
/**
 * Values produced by expanding aliases and merges. A real file stays in the hundreds; an alias bomb
 * (each level repeating the one below) reaches it after a few milliseconds instead of exhausting memory.
 */
const MAX_EXPANDED_VALUES = 100_000;
const MAX_DEPTH = 100;
/** Prefect refuses larger `parameters` (3.6.25). */
const MAX_PARAMETERS_BYTES = 512 * 1024;
const MAX_RRULE_LENGTH = 6500;
/** Prefect rejects these in deployment and flow names. */
const FORBIDDEN_IN_NAME = /[/%&<>]/;
const ENTRYPOINT = /^.+\.py:[A-Za-z_][A-Za-z0-9_]*$/;
/** Where a generated schedule slug starts; the rest is the schedule's 1-based place in `schedules`. */
export const GENERATED_SLUG_PREFIX = 'openem-';

const TOP_LEVEL_KEYS = ['name', 'prefect-version', 'build', 'push', 'pull', 'deployments', 'definitions'];
/**
 * Keys not templated: pull steps run in the worker, which resolves them in its own environment; build
 * and push steps are never run here (and may use each other's outputs); the rest are only refused.
 */
const UNTEMPLATED_KEYS = new Set(['pull', 'build', 'push', 'triggers', 'sla', 'schedule', 'version_type']);

// ---------------------------------------------------------------------------------------------
// The shape of a deployment entry. Messages say what is expected; `must` adds "found <kind>".

function kindOf(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return `${value}`;
  return `the ${typeof value} ${String(value)}`;
}

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

function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'must not be empty';
  const forbidden = FORBIDDEN_IN_NAME.exec(name);
  return forbidden ? `holds \`${forbidden[0]}\`, which Prefect rejects in names (/ % & < >); choose another name` : undefined;
}

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
    slug: z.string(must('text naming the schedule, unique in the deployment')).min(1, 'must not be empty').optional(),
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
    name: z.string(must('the work pool name, e.g. `name: archival-docker-workpool`')).min(1, 'must not be empty'),
    work_queue_name: z.string(must('the work queue name')).min(1, 'must not be empty').nullable().optional(),
    job_variables: jsonObject('a mapping of job variables, e.g. `{image: ...}`').nullable().optional(),
  },
  must('a mapping with name, work_queue_name and job_variables'),
);

const deploymentSchema = z.strictObject(
  {
    name: z.string(must('the deployment name, e.g. `name: datasets_archival`')).superRefine(check(nameProblem)),
    version: z.union([z.string(), z.number()], must('text such as "1.0.0"')).nullable().optional(),
    version_type: z.unknown().optional(),
    tags: z.array(z.string(must('text')), must('a list of tags, e.g. `tags: [archiver]`')).nullable().optional(),
    description: z.string(must('text')).nullable().optional(),
    entrypoint: z
      .string(must('`path/to/file.py:function`'))
      .regex(ENTRYPOINT, 'must be `path/to/file.py:function`, e.g. `./flows/archive.py:archive_flow`')
      .optional(),
    flow_name: z.string(must('the name given to @flow')).superRefine(check(nameProblem)).optional(),
    parameters: jsonObject('a mapping of parameter names to values, e.g. `parameters: {num_files: 10}`').nullable().optional(),
    parameter_openapi_schema: jsonObject('a JSON schema object with `type: object` and `properties`').nullable().optional(),
    enforce_parameter_schema: bool.optional(),
    paused: bool.optional(),
    // Each schedule is checked on its own, so that its cross-field rules run even when another key is wrong.
    schedules: z.array(z.unknown(), must('a list of schedules, e.g. `schedules: [{cron: "0 3 * * *"}]`')).nullable().optional(),
    schedule: z.unknown().optional(),
    concurrency_limit: z.unknown().optional(),
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
      concurrency_options: 'write the options inside `concurrency_limit`, e.g. `concurrency_limit: {limit: 2, collision_strategy: ENQUEUE}`',
      job_variables: 'job variables belong under `work_pool:`, e.g. `work_pool: {name: ..., job_variables: {...}}`',
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
  if (key === 'schedules') return OBJECTS.schedule;
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
  constructor(readonly issues: IssueList) {}
  /** Grows with every error, whether reported here or straight to the list (as analyzeEntrypoint does). */
  errorMark(): number {
    return this.errorCount + this.issues.errors.length;
  }
  error(source: Source, message: string): void {
    this.errorCount++;
    if (this.first('error', source, message)) this.issues.error(source, message);
  }
  warn(source: Source, message: string): void {
    if (this.first('warning', source, message)) this.issues.warn(source, message);
  }
  private first(severity: string, source: Source, message: string): boolean {
    const id = [severity, source.file, source.line, source.column, message].join('\u0000');
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    return true;
  }
}

export function loadDeployments(files: string[], options: DeploymentsOptions, issues: IssueList): DesiredDeployment[] {
  const sink = new OnceIssues(issues);
  const templater = new Templater({ env: options.env, issues: sink });
  const byKey = new Map<string, DesiredDeployment>();
  for (const file of files) {
    const yaml = readYamlFile(file, { what: 'deployments file', maxBytes: MAX_FILE_BYTES }, issues);
    if (!yaml) continue;
    for (const deployment of readDeploymentFile(yaml, { options, templater, issues: sink })) {
      const key = deploymentKey(deployment);
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
  return [...byKey.values()].sort((a, b) => compare(deploymentKey(a), deploymentKey(b)));
}

function deploymentKey(deployment: DesiredDeployment): string {
  return `${deployment.flowName}/${deployment.name}`;
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
  for (const key of Object.keys(root)) {
    if (!TOP_LEVEL_KEYS.includes(key)) issues.error(yaml.at([key], 'key'), unknownKeyMessage(key, TOP_LEVEL_KEYS, 'a prefect.yaml'));
  }
  if (root.name !== undefined && root.name !== null && typeof root.name !== 'string') issues.error(yaml.at(['name']), `must be text naming the project, found ${kindOf(root.name)}`);
  const version = root['prefect-version'];
  if (version !== undefined && version !== null && typeof version !== 'string' && typeof version !== 'number') {
    issues.error(yaml.at(['prefect-version']), `must be a version such as "3.4.0", found ${kindOf(version)}`);
  }
  warnNotRun(root, [], yaml, issues);

  let topPull: JsonObject[] | undefined;
  if (root.pull !== undefined && root.pull !== null) {
    const parsed = pullSchema.safeParse(root.pull);
    if (parsed.success) topPull = parsed.data;
    else reportZod(parsed.error, ['pull'], yaml, issues);
  }

  const entries = root.deployments;
  if (entries === undefined || entries === null) {
    issues.warn(yaml.at(entries === null ? ['deployments'] : []), 'declares no deployments; add a `deployments:` list');
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

  const answer = (key: string, severity: 'error' | 'warn', message: string) => {
    if (entry[key] !== undefined) issues[severity](yaml.at([...base, key], 'key'), message);
  };
  answer('schedule', 'error', '`schedule` (a single schedule) is the old form; write a list under `schedules:`, e.g. `schedules: [{cron: "0 3 * * *"}]`');
  answer('triggers', 'error', '`triggers` are not supported yet; remove them and create the automations in the Prefect UI');
  answer('sla', 'error', '`sla` is not supported yet; remove it and declare the SLA in the Prefect UI');
  answer('version_type', 'warn', '`version_type` is not supported and is ignored; give the version in `version:`');
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

  const parsed = deploymentSchema.safeParse(templated);
  const concurrency = readConcurrency(templated.concurrency_limit, [...base, 'concurrency_limit'], yaml, issues);
  const schedules = Array.isArray(templated.schedules) ? readSchedules(templated.schedules, [...base, 'schedules'], yaml, issues) : [];
  if (!parsed.success) {
    reportZod(parsed.error, base, yaml, issues);
    return undefined;
  }
  const spec = parsed.data;

  const pullSteps = spec.pull ?? topPull;
  if (pullSteps !== undefined) references.push(...templater.references(pullSteps, spec.pull ? [...base, 'pull'] : ['pull'], yaml.at));
  const flow = readFlow(spec, { at, options, issues });

  const parameters = spec.parameters ?? undefined;
  if (parameters) {
    const bytes = Buffer.byteLength(JSON.stringify(parameters));
    if (bytes > MAX_PARAMETERS_BYTES) issues.error(at('parameters'), `are ${bytes} bytes as JSON, more than the ${MAX_PARAMETERS_BYTES} Prefect accepts; make them smaller`);
  }
  // An unset environment variable is reported once for the whole load, by `templater.finish`.
  if (issues.errorMark() > errorsBefore || !flow || !complete) return undefined;

  const nameSource = yaml.at([...base, 'name'], 'key');
  return {
    name: spec.name,
    flowName: flow.flowName,
    entrypoint: spec.entrypoint,
    version: readVersion(spec.version, yaml.written([...base, 'version'])),
    description: spec.description ?? undefined,
    tags: spec.tags ?? undefined,
    parameters,
    parameterSchema: flow.parameterSchema,
    enforceParameterSchema: spec.enforce_parameter_schema,
    paused: spec.paused,
    schedules,
    concurrency,
    workPoolName: spec.work_pool?.name,
    workQueueName: spec.work_pool?.work_queue_name ?? undefined,
    jobVariables: spec.work_pool?.job_variables ?? undefined,
    // As written: the worker resolves `{{ $ENV }}`, blocks and variables in pull steps at run time, in its own environment.
    pullSteps,
    references,
    source: { ...nameSource, key: `deployments[${index}]` },
  };
}

/** A version YAML read as a number keeps its written form: `1.10` stays "1.10", not "1.1". */
function readVersion(version: string | number | null | undefined, written: string | undefined): string | undefined {
  if (version === null || version === undefined) return undefined;
  return typeof version === 'string' ? version : (written ?? String(version));
}

function readFlow(
  spec: DeploymentSpec,
  { at, options, issues }: { at: (...path: PathPart[]) => Source; options: DeploymentsOptions; issues: OnceIssues },
): { flowName: string; parameterSchema: JsonObject | undefined } | undefined {
  let flowName = spec.flow_name;
  let parameterSchema = spec.parameter_openapi_schema ?? undefined;
  if (spec.entrypoint === undefined) {
    if (flowName === undefined) {
      issues.error(at(), 'add `entrypoint: path/to/file.py:function` (and `flow_name:`, the name given to @flow); a deployment needs its flow');
      return undefined;
    }
    issues.warn(at(), 'has no `entrypoint`, so workers cannot start its runs; add `entrypoint: path/to/file.py:function`');
  } else if (options.flowsDir !== undefined) {
    const flow = analyzeEntrypoint(options.flowsDir, spec.entrypoint, at('entrypoint'), issues.issues, { flowName: spec.flow_name });
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
  }
  if (flowName === undefined) {
    issues.error(
      at(),
      `the flow name is unknown: add \`flow_name:\` with the name given to @flow in ${spec.entrypoint}, or pass --flows-dir so that openem-config reads it from the Python file`,
    );
    return undefined;
  }
  return { flowName, parameterSchema };
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

function readSchedules(items: JsonValue[], path: PathPart[], yaml: YamlData, issues: IssueSink): DesiredSchedule[] {
  const schedules: DesiredSchedule[] = [];
  const slugs = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    const at = (...key: PathPart[]) => yaml.at([...path, index, ...key]);
    const parsed = scheduleSchema.safeParse(item);
    if (!parsed.success) {
      reportZod(parsed.error, [...path, index], yaml, issues);
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
    const slug = spec.slug ?? `${GENERATED_SLUG_PREFIX}${index + 1}`;
    const earlier = slugs.get(slug);
    if (earlier !== undefined) {
      const fix = spec.slug === undefined ? `the slug \`${slug}\` made up for this schedule is taken; give it a \`slug:\`` : 'give each schedule its own slug';
      issues.error(spec.slug === undefined ? at() : at('slug'), `schedule slug \`${slug}\` is already used by ${formatPath([...path, earlier])}; ${fix}`);
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
  return key === 'schedule' || key === 'triggers' || key === 'sla' || key === 'version_type';
}

// ---------------------------------------------------------------------------------------------
// Schedule values.

const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names standing for min, min + 1, ... */
  names?: readonly string[];
  kind?: 'day' | 'weekday';
}

/** croniter's order; the optional sixth field is seconds. */
const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, kind: 'day' },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS, kind: 'weekday' },
  { name: 'second', min: 0, max: 59 },
];

/** Why `expression` is not a cron expression Prefect (croniter) accepts, or undefined. */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (text.startsWith('@')) {
    return CRON_MACROS.includes(text.toLowerCase()) ? undefined : `\`${text}\` is not a cron macro; use one of ${CRON_MACROS.join(', ')}`;
  }
  const fields = text.split(/\s+/);
  if (fields.length < 5 || fields.length > 6) {
    return `\`${text}\` has ${text === '' ? 0 : fields.length} fields; a cron expression has 5 (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`;
  }
  for (const [index, field] of fields.entries()) {
    const spec = CRON_FIELDS[index];
    const problem = spec && cronFieldProblem(field, spec);
    if (problem) return `\`${text}\`: ${problem} in the ${spec.name} field${problem.startsWith(`\`${field}\``) ? '' : ` \`${field}\``}`;
  }
  return undefined;
}

function cronFieldProblem(field: string, spec: CronField): string | undefined {
  const allowed = `${spec.min}-${spec.max}${spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : ''}`;
  const value = (text: string): string | undefined => {
    const upper = text.toUpperCase();
    const named = spec.names?.indexOf(upper) ?? -1;
    if (named >= 0) return undefined;
    return /^\d+$/.test(text) && Number(text) >= spec.min && Number(text) <= spec.max ? undefined : `\`${text}\` is not ${allowed}`;
  };
  for (const item of field.split(',')) {
    if (item === '') return 'an empty list item';
    const [range = '', step, ...more] = item.split('/');
    if (more.length > 0) return `\`${item}\` has more than one /`;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1)) return `the step \`/${step}\` must be a whole number of 1 or more`;
    if (range === '*' || (range === '?' && spec.kind !== undefined)) continue;
    if (spec.kind === 'day' && /^L$/i.test(range)) continue;
    if (spec.kind === 'weekday') {
      const special = /^(\w+)#[1-5]$/.exec(range) ?? /^(\w+)L$/i.exec(range) ?? /^L(\w+)$/i.exec(range);
      if (special) {
        const problem = value(special[1] ?? '');
        if (problem) return problem;
        continue;
      }
    }
    const bounds = range.split('-');
    if (bounds.length > 2 || bounds.some((bound) => bound === '')) return `\`${range}\` is not a value or a range such as 1-5`;
    for (const bound of bounds) {
      const problem = value(bound);
      if (problem) return problem;
    }
  }
  return undefined;
}

const DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/** Seconds of a number or an ISO 8601 duration (weeks, days, hours, minutes, seconds), or undefined. */
export function intervalSeconds(interval: number | string): number | undefined {
  if (typeof interval === 'number') return Number.isFinite(interval) && interval > 0 ? interval : undefined;
  const match = DURATION.exec(interval.trim());
  if (!match || interval.trim().toUpperCase().endsWith('T') || match.slice(1).every((part) => part === undefined)) return undefined;
  const [weeks = 0, days = 0, hours = 0, minutes = 0, seconds = 0] = match.slice(1).map((part) => Number(part ?? 0));
  const total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds;
  return total > 0 ? total : undefined;
}

function intervalProblem(interval: number | string): string | undefined {
  if (intervalSeconds(interval) !== undefined) return undefined;
  if (typeof interval === 'number') return `must be more than 0 seconds, found ${interval}`;
  if (/^P(\d+Y|\d+M|.*\d+Y)/i.test(interval.trim())) return `\`${interval}\` counts years or months, which have no fixed length; use weeks, days, hours, minutes or seconds, e.g. P30D`;
  return `\`${interval}\` is neither a number of seconds nor an ISO 8601 duration such as PT1H, P1D or PT30M`;
}

function rruleProblem(rrule: string): string | undefined {
  const text = rrule.trim();
  if (text.length > MAX_RRULE_LENGTH) return `is ${text.length} characters long, more than the ${MAX_RRULE_LENGTH} Prefect accepts`;
  if (!/^(DTSTART|RRULE:|FREQ=|RDATE|EXDATE|EXRULE)/i.test(text)) {
    return 'must be an iCalendar recurrence rule starting with FREQ=, RRULE: or DTSTART, e.g. "FREQ=WEEKLY;BYDAY=MO,FR"';
  }
  if (!/FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)\b/i.test(text) && !/^RDATE/im.test(text)) {
    return 'needs FREQ=SECONDLY, MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY';
  }
  return undefined;
}

let timeZones: string[] | undefined;

/** Why `zone` is not an IANA time zone, or undefined. Offsets such as +01:00 are refused: Prefect wants a zone name. */
export function timezoneProblem(zone: string): string | undefined {
  let resolved: string | undefined;
  if (!/^[+-]/.test(zone) && zone.trim() === zone) {
    try {
      resolved = new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
    } catch {
      resolved = undefined;
    }
  }
  if (resolved !== undefined) {
    // Intl ignores case; Prefect's zoneinfo on Linux does not.
    return resolved !== zone && resolved.toLowerCase() === zone.toLowerCase() ? `write the time zone as \`${resolved}\`` : undefined;
  }
  timeZones ??= [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  const suggestion = closest(zone, timeZones);
  return `\`${zone}\` is not an IANA time zone${suggestion ? `; did you mean \`${suggestion}\`?` : ''} (e.g. Europe/Zurich, UTC)`;
}

function anchorDateProblem(date: string): string | undefined {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
  return iso.test(date.trim()) && !Number.isNaN(Date.parse(date.trim())) ? undefined : `\`${date}\` is not an ISO 8601 date and time such as 2024-01-01T00:00:00Z`;
}

// ---------------------------------------------------------------------------------------------
// YAML with positions.

export interface YamlData {
  file: string;
  value: JsonValue;
  /**
   * Where the value at `path` is written, or its key with `place: 'key'`; for a path the file does not
   * have (a missing key), the place of the nearest enclosing value. A value reached through an alias or
   * a merge is placed where the anchor defines it, since that is where it would be fixed.
   */
  at(path: readonly PathPart[], place?: 'key' | 'value'): Source;
  /** The scalar at `path` as written, e.g. `1.10` where YAML reads the number 1.1. */
  written(path: readonly PathPart[]): string | undefined;
}

/** Reads and parses a YAML file into JSON values with the position of each; undefined after reporting why it cannot be used. */
export function readYamlFile(file: string, options: { what: string; maxBytes: number }, issues: IssueList): YamlData | undefined {
  const text = readTextFile(file, { ...options, rejectEmpty: true }, issues);
  return text === undefined ? undefined : parseYaml(text, file, issues);
}

export function parseYaml(text: string, file: string, issues: IssueList): YamlData | undefined {
  const lines = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { merge: true, lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The parser recurses; a pathological nesting depth overflows the stack.
    issues.error({ file }, `cannot parse the YAML: ${error instanceof Error ? error.message : String(error)}; simplify the file`);
    return undefined;
  }
  const position = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  for (const warning of doc.warnings) issues.warn(position(warning.pos[0]), `YAML: ${warning.message}`);
  if (doc.errors.length > 0) {
    for (const error of doc.errors) issues.error(position(error.pos[0]), `invalid YAML: ${error.message.replace(/\.$/, '')}; fix the syntax here`);
    return undefined;
  }
  const reader = new YamlReader(doc, file, position, issues);
  const value = reader.read();
  if (value === undefined) return undefined;
  const places = reader.places;
  return {
    file,
    value,
    at(path, place = 'value') {
      const key = path.length === 0 ? undefined : formatPath(path);
      for (let length = path.length; length >= 0; length--) {
        const found = places.get(pathId(path.slice(0, length)));
        const spot = (length === path.length && place === 'key' ? found?.key : undefined) ?? found?.value;
        if (spot) return { file, line: spot.line, column: spot.column, key };
      }
      return { file, key };
    },
    written(path) {
      return places.get(pathId(path))?.text;
    },
  };
}

interface Position {
  line: number;
  column: number;
}

interface Place {
  key?: Position;
  value?: Position;
  text?: string;
}

interface EffectivePair {
  key: string;
  keyNode: unknown;
  value: unknown;
  /** Brought in by a `<<:` merge, so its value is an expansion of an anchor. */
  merged: boolean;
}

/** Thrown to abandon a document that cannot be read safely. */
class Abandon extends Error {}

/**
 * The document as JSON, with merges and aliases expanded by hand rather than by `toJS`: so that every
 * value keeps its position, merges are computed once per mapping (nested merges cannot grow the work
 * exponentially), and the expansion is bounded.
 */
class YamlReader {
  readonly places = new Map<string, Place>();
  private readonly targets = new Map<Alias, unknown>();
  private readonly mergedPairs = new Map<YAMLMap, EffectivePair[]>();
  private readonly active = new Set<unknown>();
  private expanded = 0;
  /** The alias in the document's own text that the current expansion started from, where a bomb is reported. */
  private outermostAlias: Alias | undefined;
  private failed = false;

  constructor(
    private readonly doc: Document.Parsed,
    private readonly file: string,
    private readonly position: (offset: number) => Source & Position,
    private readonly issues: IssueList,
  ) {
    // An alias names the closest anchor before it; one pass in document order finds them all.
    const anchors = new Map<string, unknown>();
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) this.targets.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }

  read(): JsonValue | undefined {
    try {
      const value = this.convert(this.doc.contents, [], 0, false);
      return this.failed ? undefined : value;
    } catch (error) {
      if (error instanceof Abandon) return undefined;
      throw error;
    }
  }

  private error(node: unknown, message: string): void {
    this.failed = true;
    this.issues.error(this.at(node), message);
  }

  private at(node: unknown): Source {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.position(range[0]) : { file: this.file };
  }

  private place(path: readonly PathPart[]): Place {
    const id = pathId(path);
    const found = this.places.get(id) ?? {};
    this.places.set(id, found);
    return found;
  }

  private resolve(node: unknown): unknown {
    if (!isAlias(node)) return node;
    const target = this.targets.get(node);
    if (target === undefined) this.error(node, `alias \`*${node.source}\` names no anchor before it; define \`&${node.source}\` earlier in the file`);
    return target ?? null;
  }

  private convert(node: unknown, path: PathPart[], depth: number, expanding: boolean): JsonValue {
    if (depth > MAX_DEPTH) {
      this.issues.error(this.at(node), `the YAML is nested more than ${MAX_DEPTH} levels deep; simplify it`);
      throw new Abandon();
    }
    if (expanding && ++this.expanded > MAX_EXPANDED_VALUES) {
      const alias = this.outermostAlias;
      const shown = alias ? `\`*${alias.source}\` expands` : 'aliases expand';
      this.issues.error(this.at(alias ?? node), `${shown} to more than ${MAX_EXPANDED_VALUES} values, which looks like an alias bomb; refer to each anchor fewer times`);
      throw new Abandon();
    }
    if (isAlias(node)) {
      if (!expanding) this.outermostAlias = node;
      const target = this.resolve(node);
      if (this.active.has(target)) {
        this.error(node, `alias \`*${node.source}\` is used inside its own anchor, which would never end; remove it`);
        return null;
      }
      this.active.add(target);
      try {
        return this.convert(target, path, depth + 1, true);
      } finally {
        this.active.delete(target);
      }
    }
    const place = this.place(path);
    if (node !== null && node !== undefined) place.value ??= this.at(node) as Position;
    if (node === null || node === undefined) return null;
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value === 'number' && !Number.isFinite(value)) {
        this.error(node, `${String(node.source ?? value)} cannot be stored: JSON has no NaN or infinity; write a finite number or quote it`);
        return null;
      }
      if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        if (typeof value === 'number') place.text = node.source;
        return value;
      }
      this.error(node, `this value (${typeof value}) has no JSON form; write it as a quoted string`);
      return null;
    }
    if (isSeq(node)) return node.items.map((item, index) => this.convert(item, [...path, index], depth + 1, expanding));
    if (isMap(node)) {
      const entries: [string, JsonValue][] = [];
      for (const pair of this.effectivePairs(node, depth)) {
        const keyPath = [...path, pair.key];
        const keyPlace = this.place(keyPath);
        keyPlace.key ??= this.at(pair.keyNode) as Position;
        entries.push([pair.key, this.convert(pair.value, keyPath, depth + 1, expanding || pair.merged)]);
      }
      // fromEntries defines own properties, so a key such as `__proto__` stays data.
      return Object.fromEntries(entries);
    }
    this.error(node, 'this YAML node has no JSON form; write a mapping, a list or a scalar');
    return null;
  }

  /** The pairs of `map` after its `<<:` merges: its own keys first, then each merged mapping's keys it lacks. */
  private effectivePairs(map: YAMLMap, depth: number): EffectivePair[] {
    const known = this.mergedPairs.get(map);
    if (known) return known;
    if (this.active.has(map)) {
      this.error(map, 'this mapping merges itself (`<<:` with an alias of an enclosing anchor); remove that merge');
      return [];
    }
    this.active.add(map);
    try {
      const pairs: EffectivePair[] = [];
      const merges: unknown[] = [];
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
          merges.push(pair.value);
          continue;
        }
        const key = this.keyOf(pair.key);
        if (key === undefined) continue;
        if (seen.has(key)) {
          this.error(pair.key, `key \`${key}\` appears twice in this mapping; keep one`);
          continue;
        }
        seen.add(key);
        pairs.push({ key, keyNode: pair.key, value: pair.value, merged: false });
      }
      for (const merge of merges) {
        const resolved = this.resolve(merge);
        const sources = isSeq(resolved) ? resolved.items.map((item) => this.resolve(item)) : [resolved];
        for (const source of sources) {
          if (!isMap(source)) {
            this.error(source ?? merge, '`<<:` merges mappings only: give it an alias of a mapping (`<<: *defaults`) or a list of them');
            continue;
          }
          for (const pair of this.effectivePairs(source, depth + 1)) {
            if (++this.expanded > MAX_EXPANDED_VALUES) {
              this.issues.error(this.at(merge), `merges expand this file to more than ${MAX_EXPANDED_VALUES} values, which looks like an alias bomb; merge fewer times`);
              throw new Abandon();
            }
            if (seen.has(pair.key)) continue;
            seen.add(pair.key);
            pairs.push({ ...pair, merged: true });
          }
        }
      }
      this.mergedPairs.set(map, pairs);
      return pairs;
    } finally {
      this.active.delete(map);
    }
  }

  private keyOf(node: unknown): string | undefined {
    const key = this.resolve(node);
    if (isScalar(key) && (typeof key.value === 'string' || typeof key.value === 'number' || typeof key.value === 'boolean')) return String(key.value);
    this.error(key ?? node, 'a key must be plain text; write `name: value`');
    return undefined;
  }
}

function pathId(path: readonly PathPart[]): string {
  return JSON.stringify(path);
}

/** `deployments[0].work_pool.job_variables.image`; keys that are not plain words are quoted: `pull[0]["prefect.steps.x"]`. */
export function formatPath(path: readonly PathPart[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(part)) text += text === '' ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The candidate closest to `word` when it is close enough to be a likely typo. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Levenshtein distance, with a swap of neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(value);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
