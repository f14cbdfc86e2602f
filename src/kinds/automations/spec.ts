// Automations as prefect.yaml writes them: Prefect's trigger and action shapes, checked strictly,
// with a name wherever Prefect wants an id (`deployment: <flow>/<name>`, `work_pool: <name>`,
// `work_queue: <pool>/<queue>`, `block_document: <type>/<name>`, `automation: <name>`). Each is
// read into a canonical form: the fields the server stores, defaults filled in as the server fills
// them, so that what the file says and what the server holds compare as JSON.
import { z } from 'zod';
import { isObject, kindOf, type JsonObject } from '../../config/json.js';
import { nameProblem, oneLine } from '../../config/names.js';
import { intervalSeconds } from '../../config/schedules.js';
import { closest } from '../../config/suggest.js';
import { Templater, type IssueSink, type PathPart } from '../../config/templating.js';
import { readYamlFile } from '../../config/yaml.js';
import type { JsonValue } from '../../config/types.js';
import { IssueList, type Source } from '../../errors.js';
import type { ActionReference, DesiredAction, DesiredAutomation, ReferenceKind, TemplateText } from '../../config/types.js';

export type { ActionReference, DesiredAction, DesiredAutomation, ReferenceKind, TemplateText };

/** Where a value of the file is: the place of the value, or of its key. */
export type Locate = (path: readonly PathPart[], place?: 'key' | 'value') => Source;

/** The kinds of object an action may name, with the id field Prefect wants and how a name is written. */
export const REFERENCE_KINDS = {
  deployment: { idKey: 'deployment_id', form: '<flow>/<deployment>', what: 'deployment' },
  work_pool: { idKey: 'work_pool_id', form: '<pool>', what: 'work pool' },
  work_queue: { idKey: 'work_queue_id', form: '<pool>/<queue>', what: 'work queue' },
  block_document: { idKey: 'block_document_id', form: '<block type>/<block name>', what: 'block' },
  automation: { idKey: 'automation_id', form: '<automation name>', what: 'automation' },
} as const satisfies Record<ReferenceKind, { idKey: string; form: string; what: string }>;

export const ACTION_LISTS = [
  ['actions', 'actions'],
  ['actionsOnTrigger', 'actions_on_trigger'],
  ['actionsOnResolve', 'actions_on_resolve'],
] as const;

// ---------------------------------------------------------------------------------------------
// Shapes. Messages say what is expected; `must` adds what was found.

function must(what: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required: add ${what}` : `must be ${what}, found ${kindOf(issue.input)}`) };
}

const text = z.string(must('text'));
const bool = z.boolean(must('true or false'));
const jsonObject = (what: string) => z.custom<JsonObject>(isObject, must(what));
const eventNames = z.array(z.string(must('an event name such as prefect.flow-run.Failed')), must('a list of event names, e.g. [prefect.flow-run.Failed]'));
/** Seconds, as a number or an ISO 8601 duration (PT1H); Prefect reads both. */
const seconds = z.union([z.number(), z.string()], must('a number of seconds or an ISO 8601 duration such as PT10M'));
const labelValue = z.union([z.string(), z.array(z.string())], must('a label value or a list of them'));
const resourceSpec = z.record(z.string(), labelValue, must('a mapping of resource labels to values, e.g. {prefect.resource.id: prefect.flow-run.*}'));

const STATE_TYPES = ['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED', 'PAUSED', 'CANCELLING'] as const;

const eventTriggerFields = {
  type: z.literal('event').optional(),
  match: resourceSpec.optional(),
  match_related: z.union([resourceSpec, z.array(resourceSpec)], must('a mapping of related resource labels, or a list of them')).optional(),
  after: eventNames.optional(),
  expect: eventNames.optional(),
  for_each: z.array(text, must('a list of labels')).optional(),
  posture: z.enum(['Reactive', 'Proactive'], { error: (issue) => `must be Reactive or Proactive, found ${describe(issue.input)}` }).optional(),
  threshold: z.number(must('a whole number of events')).int('must be a whole number').min(0, 'must be 0 or more').optional(),
  within: seconds.optional(),
};
const compositeFields = {
  triggers: z.array(z.unknown(), must('a list of triggers')),
  within: z.union([z.number(), z.string(), z.null()], must('a number of seconds, an ISO 8601 duration, or null')),
};

const TRIGGER_SCHEMAS = {
  event: z.strictObject(eventTriggerFields),
  compound: z.strictObject({
    type: z.literal('compound').optional(),
    ...compositeFields,
    require: z.union([z.number().int().min(1), z.enum(['any', 'all'])], must('any, all, or a number of triggers')),
  }),
  sequence: z.strictObject({ type: z.literal('sequence').optional(), ...compositeFields }),
};

/** Fields a deployment trigger adds to its trigger: the automation's and the run-deployment action's. */
const DEPLOYMENT_TRIGGER_FIELDS = {
  name: text.optional(),
  description: text.optional(),
  enabled: bool.optional(),
  parameters: jsonObject('a mapping of parameter names to values').nullable().optional(),
  job_variables: jsonObject('a mapping of job variables').nullable().optional(),
  schedule_after: seconds.optional(),
};

const selectedSource = z.enum(['selected', 'inferred'], { error: (issue) => `must be selected or inferred, found ${describe(issue.input)}` }).optional();
const refName = (kind: ReferenceKind) => z.string(must(`the name, written ${REFERENCE_KINDS[kind].form}`)).optional();
const refId = z.string(must('an id')).optional();
const referenced = (kind: ReferenceKind) => ({ source: selectedSource, [kind]: refName(kind), [REFERENCE_KINDS[kind].idKey]: refId });

const ACTION_SCHEMAS: Record<string, z.ZodObject> = {
  'do-nothing': z.strictObject({ type: text }),
  'run-deployment': z.strictObject({
    type: text,
    ...referenced('deployment'),
    parameters: jsonObject('a mapping of parameter names to values').nullable().optional(),
    job_variables: jsonObject('a mapping of job variables').nullable().optional(),
    schedule_after: seconds.optional(),
  }),
  'pause-deployment': z.strictObject({ type: text, ...referenced('deployment') }),
  'resume-deployment': z.strictObject({ type: text, ...referenced('deployment') }),
  'cancel-flow-run': z.strictObject({ type: text }),
  'delete-flow-run': z.strictObject({ type: text }),
  'suspend-flow-run': z.strictObject({ type: text }),
  'resume-flow-run': z.strictObject({ type: text }),
  'change-flow-run-state': z.strictObject({
    type: text,
    state: z.enum(STATE_TYPES, { error: (issue) => `must be one of ${STATE_TYPES.join(', ')}, found ${describe(issue.input)}` }),
    name: text.nullable().optional(),
    message: text.nullable().optional(),
    force: bool.optional(),
  }),
  'pause-work-queue': z.strictObject({ type: text, ...referenced('work_queue') }),
  'resume-work-queue': z.strictObject({ type: text, ...referenced('work_queue') }),
  'pause-work-pool': z.strictObject({ type: text, ...referenced('work_pool') }),
  'resume-work-pool': z.strictObject({ type: text, ...referenced('work_pool') }),
  'pause-automation': z.strictObject({ type: text, ...referenced('automation') }),
  'resume-automation': z.strictObject({ type: text, ...referenced('automation') }),
  'send-notification': z.strictObject({
    type: text,
    block_document: refName('block_document'),
    block_document_id: refId,
    subject: text.optional(),
    body: text,
  }),
  'call-webhook': z.strictObject({ type: text, block_document: refName('block_document'), block_document_id: refId, payload: text.optional() }),
};
export const ACTION_TYPES = Object.keys(ACTION_SCHEMAS);

/** The keys a file may give an action of `type`, or undefined for a type openem-config does not know. */
export function actionKeys(type: string): string[] | undefined {
  const schema = ACTION_SCHEMAS[type];
  return schema ? Object.keys(schema.shape) : undefined;
}

/** The reference kind of each action type that names an object. */
const ACTION_REFERENCE: Record<string, ReferenceKind> = {
  'run-deployment': 'deployment',
  'pause-deployment': 'deployment',
  'resume-deployment': 'deployment',
  'pause-work-queue': 'work_queue',
  'resume-work-queue': 'work_queue',
  'pause-work-pool': 'work_pool',
  'resume-work-pool': 'work_pool',
  'pause-automation': 'automation',
  'resume-automation': 'automation',
  'send-notification': 'block_document',
  'call-webhook': 'block_document',
};

const AUTOMATION_SCHEMA = z.strictObject({
  name: z.string(must('the automation name')),
  description: text.optional(),
  enabled: bool.optional(),
  tags: z.array(text, must('a list of tags')).optional(),
  trigger: z.unknown().refine((value) => value !== undefined, 'is required: add the trigger, e.g. `trigger: {expect: [prefect.flow-run.Failed]}`'),
  actions: z.array(z.unknown(), must('a list of actions, e.g. `- type: run-deployment`')),
  actions_on_trigger: z.array(z.unknown(), must('a list of actions')).optional(),
  actions_on_resolve: z.array(z.unknown(), must('a list of actions')).optional(),
  adopt: bool.optional(),
});

function describe(value: unknown): string {
  return typeof value === 'string' ? `\`${oneLine(value.slice(0, 40))}\`` : kindOf(value);
}

// ---------------------------------------------------------------------------------------------
// Reading. Every problem is reported at its line; a part with problems gives undefined.

export interface ReadContext {
  at: Locate;
  issues: IssueSink;
}

/** Reports a zod error of the object at `base`, unknown keys with the allowed ones and a suggestion. */
function report(error: z.ZodError, schema: z.ZodObject, what: string, base: readonly PathPart[], { at, issues }: ReadContext): void {
  for (const issue of error.issues) {
    const path = issue.path.filter((part): part is PathPart => typeof part !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const allowed = Object.keys(schema.shape);
      for (const key of issue.keys) {
        const suggestion = closest(key, allowed);
        issues.error(at([...base, ...path, key], 'key'), `unknown key \`${oneLine(key)}\` in ${what};${suggestion ? ` did you mean \`${suggestion}\`?` : ''} the allowed keys are ${allowed.join(', ')}`);
      }
    } else {
      issues.error(at([...base, ...path]), issue.message);
    }
  }
}

function parse<T extends z.ZodObject>(schema: T, value: unknown, what: string, base: readonly PathPart[], context: ReadContext): z.infer<T> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  report(parsed.error, schema, what, base, context);
  return undefined;
}

/** Seconds of a `within` or `schedule_after`, as the server stores them; undefined after reporting. */
function secondsOf(value: number | string, path: readonly PathPart[], { at, issues }: ReadContext): number | undefined {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    issues.error(at(path), `must be 0 or more seconds, found ${value}`);
    return undefined;
  }
  const parsed = /^P(T0+S?|0+D)$/i.test(value.trim()) ? 0 : intervalSeconds(value);
  if (parsed === undefined) issues.error(at(path), `\`${oneLine(value.slice(0, 40))}\` is neither a number of seconds nor an ISO 8601 duration such as PT10M`);
  return parsed;
}

const uniqueSorted = (values: readonly string[] | undefined): string[] => [...new Set(values ?? [])].sort();

/** The trigger's type: written, or inferred from its keys as Prefect does for deployment triggers. */
function triggerType(value: JsonObject): string {
  if (typeof value.type === 'string') return value.type;
  if (value.posture === 'Metric') return 'metric';
  if ('triggers' in value) return 'require' in value ? 'compound' : 'sequence';
  return 'event';
}

/**
 * Reads a trigger into the form the server stores (ids left out): sets in sorted order, defaults
 * filled in, a Proactive trigger's `within` at least 10 seconds. `extra` are keys the caller
 * reads itself (a deployment trigger's name, parameters, ...), not part of the trigger.
 */
export function readTrigger(value: JsonValue | undefined, path: readonly PathPart[], context: ReadContext, extra: readonly string[] = []): JsonObject | undefined {
  const { at, issues } = context;
  if (!isObject(value)) {
    issues.error(at(path), `a trigger must be a mapping such as \`{expect: [prefect.flow-run.Failed], posture: Reactive}\`, found ${kindOf(value)}`);
    return undefined;
  }
  const own = Object.fromEntries(Object.entries(value).filter(([key]) => !extra.includes(key)));
  const type = triggerType(value);
  if (type === 'metric') {
    issues.error(at(path), 'a metric trigger is evaluated only by Prefect Cloud; a self-hosted Prefect server refuses it. Use an event trigger, or configure it in Prefect Cloud');
    return undefined;
  }
  if (type === 'event') {
    const spec = parse(TRIGGER_SCHEMAS.event, own, 'an event trigger', path, context);
    if (!spec) return undefined;
    const posture = spec.posture ?? 'Reactive';
    let within = spec.within === undefined ? 0 : secondsOf(spec.within, [...path, 'within'], context);
    if (within === undefined) return undefined;
    if (posture === 'Proactive') {
      if (within === 0) within = 10;
      else if (within < 10) {
        issues.error(at([...path, 'within']), `must be at least 10 seconds for a Proactive trigger, found ${within}`);
        return undefined;
      }
    }
    return {
      type: 'event',
      match: spec.match ?? {},
      match_related: spec.match_related ?? {},
      after: uniqueSorted(spec.after),
      expect: uniqueSorted(spec.expect),
      for_each: uniqueSorted(spec.for_each),
      posture,
      threshold: spec.threshold ?? 1,
      within,
    };
  }
  if (type !== 'compound' && type !== 'sequence') {
    issues.error(at([...path, 'type']), `unknown trigger type ${describe(type)}; write event, compound or sequence`);
    return undefined;
  }
  const schema = TRIGGER_SCHEMAS[type];
  const spec = parse(schema, own, `a ${type} trigger`, path, context);
  if (!spec) return undefined;
  const children = spec.triggers.map((child, index) => readTrigger(child as JsonValue, [...path, 'triggers', index], context));
  const within = spec.within === null ? null : secondsOf(spec.within, [...path, 'within'], context);
  if (children.some((child) => child === undefined) || within === undefined) return undefined;
  const trigger: JsonObject = { type, triggers: children as JsonObject[], within };
  if ('require' in spec) trigger.require = spec.require as JsonValue;
  return trigger;
}

/** Reads one action; its reference is kept by name (or id) beside the body. */
export function readAction(value: JsonValue | undefined, path: readonly PathPart[], context: ReadContext): DesiredAction | undefined {
  const { at, issues } = context;
  if (!isObject(value) || typeof value.type !== 'string') {
    issues.error(at(path), `an action must be a mapping with a \`type\` (${ACTION_TYPES.join(', ')}), found ${isObject(value) ? 'no type' : kindOf(value)}`);
    return undefined;
  }
  const type = value.type;
  const schema = ACTION_SCHEMAS[type];
  if (!schema) {
    const suggestion = closest(type, ACTION_TYPES);
    issues.error(at([...path, 'type']), `unknown action type ${describe(type)};${suggestion ? ` did you mean \`${suggestion}\`?` : ''} the types are ${ACTION_TYPES.join(', ')}`);
    return undefined;
  }
  const spec = parse(schema, value, `a ${type} action`, path, context) as Record<string, JsonValue | undefined> | undefined;
  if (!spec) return undefined;
  const source = at(path);
  const kind = ACTION_REFERENCE[type];
  let reference: ActionReference | undefined;
  const body: JsonObject = { type };
  if (kind) {
    const { idKey, form, what } = REFERENCE_KINDS[kind];
    const name = spec[kind] as string | undefined;
    const id = spec[idKey] as string | undefined;
    const inferred = spec.source === 'inferred';
    if (kind !== 'block_document') body.source = inferred ? 'inferred' : 'selected';
    if (name !== undefined && id !== undefined) {
      issues.error(at([...path, idKey], 'key'), `give the ${what} either by name (\`${kind}\`) or by id (\`${idKey}\`), not both; a name is better`);
      return undefined;
    }
    if (inferred && (name !== undefined || id !== undefined)) {
      issues.error(at([...path, 'source']), `\`source: inferred\` takes the ${what} from the triggering event; remove \`${name !== undefined ? kind : idKey}\`, or remove \`source\``);
      return undefined;
    }
    if (!inferred) {
      if (name === undefined && id === undefined) {
        issues.error(at(path), `names no ${what}: add \`${kind}: ${form}\`${kind === 'block_document' ? '' : ', or `source: inferred` to take it from the triggering event'}`);
        return undefined;
      }
      const place = at([...path, name !== undefined ? kind : idKey]);
      const problem = name !== undefined ? referenceNameProblem(kind, name) : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id!) ? undefined : 'must be a UUID';
      if (problem) {
        issues.error(place, problem);
        return undefined;
      }
      reference = { kind, ...(name !== undefined ? { name } : { id: id!.toLowerCase() }), source: place };
    }
  }
  switch (type) {
    case 'run-deployment': {
      const after = spec.schedule_after === undefined ? 0 : secondsOf(spec.schedule_after as number | string, [...path, 'schedule_after'], context);
      if (after === undefined) return undefined;
      Object.assign(body, { parameters: spec.parameters ?? null, job_variables: spec.job_variables ?? null, schedule_after: after });
      break;
    }
    case 'change-flow-run-state':
      Object.assign(body, { name: spec.name ?? null, state: spec.state!, message: spec.message ?? null, force: spec.force ?? false });
      break;
    case 'send-notification':
      Object.assign(body, { subject: spec.subject ?? 'Prefect automated notification', body: spec.body! });
      break;
    case 'call-webhook':
      body.payload = spec.payload ?? '';
      break;
  }
  return { body, reference, source };
}

/** What is wrong with a name written for a reference of `kind`, if anything. */
function referenceNameProblem(kind: ReferenceKind, name: string): string | undefined {
  const parts = name.split('/');
  const { form, what } = REFERENCE_KINDS[kind];
  const twoParts = kind === 'deployment' || kind === 'work_queue' || kind === 'block_document';
  if (twoParts ? parts.length !== 2 || parts.some((part) => part === '') : name === '') return `must name the ${what} as ${form}, found ${describe(name)}`;
  const kinds = kind === 'deployment' ? (['flow', 'deployment'] as const) : kind === 'work_queue' ? (['work pool', 'work queue'] as const) : kind === 'work_pool' ? (['work pool'] as const) : undefined;
  if (kinds) for (const [index, part] of kinds.entries()) {
    const problem = nameProblem(part, parts[index] ?? '');
    if (problem) return problem;
  }
  if (kind === 'automation') return nameProblem('automation', name);
  return undefined;
}

/** The Jinja templates of notification and webhook actions, checked by the server before any write. */
function templatesOf(actions: readonly DesiredAction[], path: readonly PathPart[], at: Locate): TemplateText[] {
  return actions.flatMap((action, index) =>
    (['subject', 'body', 'payload'] as const).flatMap((field) => {
      const value = action.body[field];
      return (action.body.type === 'send-notification' || action.body.type === 'call-webhook') && typeof value === 'string' && value.includes('{')
        ? [{ text: value, source: at([...path, index, field]) }]
        : [];
    }),
  );
}

/** Reads one entry of a top-level `automations:` list. */
export function readAutomation(value: JsonValue | undefined, path: readonly PathPart[], context: ReadContext): DesiredAutomation | undefined {
  const { at, issues } = context;
  if (!isObject(value)) {
    issues.error(at(path), `each automation must be a mapping with name, trigger and actions; found ${kindOf(value)}`);
    return undefined;
  }
  const spec = parse(AUTOMATION_SCHEMA, value, 'an automation', path, context);
  if (!spec) return undefined;
  const problem = nameProblem('automation', spec.name);
  if (problem) {
    issues.error(at([...path, 'name']), problem);
    return undefined;
  }
  const trigger = readTrigger(spec.trigger as JsonValue, [...path, 'trigger'], context);
  const lists = ACTION_LISTS.map(([, key]) => ((spec[key] ?? []) as JsonValue[]).map((action, index) => readAction(action, [...path, key, index], context)));
  if (!trigger || lists.some((list) => list.some((action) => action === undefined))) return undefined;
  const [actions, actionsOnTrigger, actionsOnResolve] = lists as [DesiredAction[], DesiredAction[], DesiredAction[]];
  if (actions.length + actionsOnTrigger.length + actionsOnResolve.length === 0) {
    issues.error(at([...path, 'actions']), 'an automation needs at least one action; add one, e.g. `- type: run-deployment`');
    return undefined;
  }
  return {
    name: spec.name,
    description: spec.description ?? '',
    enabled: spec.enabled ?? true,
    tags: spec.tags ?? [],
    trigger,
    actions,
    actionsOnTrigger,
    actionsOnResolve,
    adopt: spec.adopt ?? false,
    templates: ACTION_LISTS.flatMap(([field, key]) => templatesOf({ actions, actionsOnTrigger, actionsOnResolve }[field], [...path, key], at)),
    source: { ...at([...path, 'name'], 'key'), key: `automations[${path[path.length - 1] ?? 0}]` },
  };
}

/** A deployment's trigger, read into the automation `prefect deploy` makes of it (its action names the deployment). */
export function readDeploymentTrigger(
  value: JsonValue | undefined,
  path: readonly PathPart[],
  deployment: { key: string; name: string; index: number },
  context: ReadContext,
): DesiredAutomation | undefined {
  const { at, issues } = context;
  if (!isObject(value)) {
    issues.error(at(path), `each trigger must be a mapping such as \`{expect: [my.event], posture: Reactive}\`, found ${kindOf(value)}`);
    return undefined;
  }
  const extraKeys = Object.keys(DEPLOYMENT_TRIGGER_FIELDS);
  const extra = parse(z.object(DEPLOYMENT_TRIGGER_FIELDS), value, 'a deployment trigger', path, context);
  // Unknown keys are the trigger's to report: it knows the allowed keys of its type.
  const trigger = readTrigger(value, path, context, extraKeys);
  if (!extra || !trigger) return undefined;
  const after = extra.schedule_after === undefined ? 0 : secondsOf(extra.schedule_after, [...path, 'schedule_after'], context);
  if (after === undefined) return undefined;
  const name = extra.name ?? `${deployment.name}__automation_${deployment.index + 1}`;
  const problem = nameProblem('automation', name);
  if (problem) {
    issues.error(at([...path, 'name']), problem);
    return undefined;
  }
  const source = at(path);
  return {
    name,
    description: extra.description ?? '',
    enabled: extra.enabled ?? true,
    tags: [],
    trigger,
    actions: [
      {
        body: { type: 'run-deployment', source: 'selected', parameters: extra.parameters ?? null, job_variables: extra.job_variables ?? null, schedule_after: after },
        reference: { kind: 'deployment', name: deployment.key, source },
        source,
      },
    ],
    actionsOnTrigger: [],
    actionsOnResolve: [],
    adopt: false,
    templates: [],
    source: { ...source, key: `${formatKey(path)}` },
  };
}

function formatKey(path: readonly PathPart[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

// ---------------------------------------------------------------------------------------------
// Loading the `automations:` lists of the prefect.yaml files (-d).

/** Action fields that hold what Prefect renders when the action runs: never templated here. */
const RUNTIME_TEMPLATED = new Set(['parameters', 'job_variables', 'subject', 'body', 'payload']);

/** An automation entry with its `{{ $ENV }}` placeholders resolved, the runtime templates of its actions kept. */
function templated(entry: JsonValue, path: readonly PathPart[], templater: Templater, at: Locate): { value: JsonValue; complete: boolean } {
  if (!isObject(entry)) return { value: entry, complete: true };
  let complete = true;
  const resolve = (value: JsonValue, where: PathPart[]): JsonValue => {
    const result = templater.resolve(value, where, at);
    complete &&= result.complete;
    return result.value;
  };
  const value = Object.fromEntries(
    Object.entries(entry).map(([key, field]) => {
      if (!ACTION_LISTS.some(([, list]) => list === key) || !Array.isArray(field)) return [key, resolve(field, [...path, key])];
      return [
        key,
        field.map((action, index) =>
          isObject(action)
            ? Object.fromEntries(Object.entries(action).map(([name, item]) => [name, RUNTIME_TEMPLATED.has(name) ? item : resolve(item, [...path, key, index, name])]))
            : action,
        ),
      ];
    }),
  );
  return { value, complete };
}

const MAX_FILE_BYTES = 5 * 1024 * 1024;

export function loadAutomations(files: readonly string[], env: Record<string, string | undefined>, issues: IssueList): { automations: DesiredAutomation[]; declared: boolean } {
  const templater = new Templater({ env, issues });
  const byName = new Map<string, DesiredAutomation>();
  let declared = false;
  for (const file of files) {
    // The deployments kind reads the same files and reports what is wrong with them as YAML.
    const yaml = readYamlFile(file, { what: 'deployments file', maxBytes: MAX_FILE_BYTES }, new IssueList());
    if (!yaml || !isObject(yaml.value) || yaml.value.automations === undefined) continue;
    declared = true;
    const list = yaml.value.automations;
    const context: ReadContext = { at: yaml.at, issues };
    if (list === null) continue;
    if (!Array.isArray(list)) {
      issues.error(yaml.at(['automations']), `must be a list of automations (\`- name: ...\`), found ${kindOf(list)}`);
      continue;
    }
    for (const [index, entry] of list.entries()) {
      const resolved = templated(entry, ['automations', index], templater, yaml.at);
      const automation = readAutomation(resolved.value, ['automations', index], context);
      if (!automation || !resolved.complete) continue;
      const earlier = byName.get(automation.name);
      if (earlier) {
        issues.error(automation.source, `automation "${automation.name}" is already declared at ${earlier.source.file}:${earlier.source.line ?? '?'}; automations are matched by name, so give each its own`);
        continue;
      }
      byName.set(automation.name, automation);
    }
  }
  templater.finish();
  return { automations: referencedFirst([...byName.values()]), declared };
}

/**
 * The automations in file order, except that one naming another declared one (pause-automation,
 * resume-automation) comes after it: apply writes them one at a time in this order, and a new
 * automation's id exists only once it is created. A cycle (automations that name each other) is
 * broken where it was entered: the one written first gets its action naming the other by an
 * update once the other is written (reconcile.ts).
 */
function referencedFirst(automations: readonly DesiredAutomation[]): DesiredAutomation[] {
  const declared = new Map(automations.map((automation) => [automation.name, automation]));
  const ordered: DesiredAutomation[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (automation: DesiredAutomation) => {
    if (state.has(automation.name)) return;
    state.set(automation.name, 'visiting');
    for (const [field] of ACTION_LISTS) {
      for (const action of automation[field]) {
        const name = action.reference?.kind === 'automation' ? action.reference.name : undefined;
        const target = name !== undefined && name !== automation.name ? declared.get(name) : undefined;
        if (target && !state.has(target.name)) visit(target);
      }
    }
    state.set(automation.name, 'done');
    ordered.push(automation);
  };
  for (const automation of automations) visit(automation);
  return ordered;
}

/** The shapes automations and deployment triggers are read with, for the editors' JSON Schema (src/schemas/documents.ts). */
export const AUTOMATION_SCHEMAS = {
  automation: AUTOMATION_SCHEMA,
  triggers: TRIGGER_SCHEMAS,
  deploymentTriggerFields: DEPLOYMENT_TRIGGER_FIELDS,
  actions: ACTION_SCHEMAS,
  actionLists: ACTION_LISTS.map(([, key]) => key),
} as const;
