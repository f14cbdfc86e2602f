// JSON Schemas (draft-07, what taplo and yaml-language-server read) of the files openem-config reads,
// made from the zod schemas its loaders check them with, so that an editor completes and checks
// them as the tool does. What a schema cannot say (name rules, cron and time zones, cross-file
// rules) is listed in `notChecked`, which goes into the schema's description and the README.
import { z } from 'zod';
import { PROJECT_FILE, projectSchema } from '../config/project.js';
import { KINDS } from '../kinds/index.js';
import { AUTOMATION_SCHEMAS } from '../kinds/automations/spec.js';
import { DEPLOYMENT_SCHEMAS } from '../kinds/deployments/spec.js';
import { LEGACY_RULES, type LegacyScope } from '../kinds/deployments/legacy.js';
import { CONFIG_TABLE, varsSettingsSchema } from '../kinds/variables/spec.js';

export type JsonSchema = Record<string, unknown>;

export interface SchemaDocument {
  /** The schema's file is `<name>.json`; `openem-config schemas NAME` prints it. */
  name: string;
  format: 'toml' | 'yaml';
  /** The files it describes, for the listing and the description. */
  describes: string;
  title: string;
  /** What openem-config checks that this schema cannot express. */
  notChecked: readonly string[];
  zod(): z.ZodType | JsonSchema;
}

/** The directory beside its files where init and export write the schemas. */
export const SCHEMAS_DIR = '.schemas';

const NAME_RULES = "Prefect's name rules (length, control characters, / % & < >, and the lower-case rules of variables and blocks)";

// ---------------------------------------------------------------------------------------------
// The vars file: any key is a variable (a table only groups them), except the settings table.

function varsSchema(): JsonSchema {
  return {
    type: 'object',
    properties: { [CONFIG_TABLE]: toJson(varsSettingsSchema.describe('settings of this file, not variables')) },
    additionalProperties: {
      description: 'a variable (named by the key in lower case; its TOML type is kept as JSON), or a table that groups variables',
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The limits manifest: each kind that claims keys there gives their shape (src/kinds/index.ts order).

function limitsSchema(): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const patternProperties: Record<string, JsonSchema> = {};
  for (const kind of KINDS) {
    const schema = kind.manifest?.schema;
    for (const [key, shape] of Object.entries(schema?.properties ?? {})) properties[key] = toJson(shape);
    for (const [pattern, shape] of Object.entries(schema?.patternProperties ?? {})) patternProperties[pattern] = toJson(shape);
  }
  return { type: 'object', properties, patternProperties, additionalProperties: false };
}

// ---------------------------------------------------------------------------------------------
// prefect.yaml (and automation files of the same shape): deployments with their triggers,
// automations, and the legacy forms the reader converts, ignores or refuses by value.

const LEGACY = 'legacy form: converted or ignored with a warning (an error under --strict), refused for some values; `openem-config migrate` rewrites it';
/** A legacy key: `deprecated` (JSON Schema 2019-09, which editors read in draft-07 files too) and VS Code's `deprecationMessage`, shown as a warning. */
const deprecated = (text: string) => ({ description: text, deprecated: true, deprecationMessage: text });
const legacy = (shape: z.ZodType, what: string) => shape.meta(deprecated(`${what} (${LEGACY})`)).optional();

/** Each legacy key the reader knows, by the mapping it sits in, with the values it may hold there. */
const LEGACY_SHAPES: Record<LegacyScope, Record<string, z.ZodType>> = {
  file: {
    version: legacy(z.unknown(), 'Prefect 3 ignores a top-level version'),
    // Its shape is pullShape: a list of steps, or the legacy single mapping.
    pull: z.unknown().optional(),
  },
  deployment: {
    version_type: legacy(z.unknown(), 'ignored; the version is `version:`'),
    is_paused: legacy(z.boolean(), 'Prefect 3 reads `paused:`'),
    is_schedule_active: legacy(z.boolean(), "Prefect 3 reads `paused:` and each schedule's `active:`"),
    work_queue_name: legacy(z.string().nullable(), 'Prefect 3 reads `work_pool.work_queue_name`'),
    work_pool_name: legacy(z.string().nullable(), 'Prefect 3 reads `work_pool.name`'),
    // Their shapes are in deploymentEntry: a schedule's legacy keys, or current keys whose legacy value is null.
    schedule: z.unknown().optional(),
    flow_name: z.unknown().optional(),
    pull: z.unknown().optional(),
    concurrency_limit: z.unknown().optional(),
  },
  work_pool: { type: legacy(z.unknown(), "Prefect 3 ignores it: a pool's type is set when the pool is created") },
  schedule: {
    catchup: legacy(z.boolean(), 'Prefect 2; Prefect 3 never creates missed runs'),
    max_active_runs: legacy(z.null(), 'Prefect 2; give the deployment `concurrency_limit:`'),
  },
};

/** Pull steps: a list, or (legacy) one step written as a mapping, or `{}` for none. */
function pullShape(what: string): z.ZodType {
  const mapping = z.record(z.string(), z.unknown()).meta(deprecated(`one step written as a mapping, or {} for none (${LEGACY})`));
  return z.union([DEPLOYMENT_SCHEMAS.pull, mapping]).nullable().describe(what).optional();
}

/** `shape` with a description on each key of `docs`, for the editor's hover; the checks stay the loader's. */
function described<T extends z.ZodObject>(shape: T, docs: Record<string, string>): T {
  const fields = shape.shape as Record<string, z.ZodType>;
  const missing = Object.keys(docs).filter((key) => !(key in fields));
  if (missing.length > 0) throw new Error(`no keys ${missing.join(', ')} to describe`);
  return shape.extend(Object.fromEntries(Object.entries(docs).map(([key, doc]) => [key, fields[key]!.describe(doc)]))) as unknown as T;
}

const SCHEDULE_DOCS = {
  cron: 'a cron expression, e.g. "0 3 * * *"',
  interval: 'seconds, or an ISO 8601 duration such as PT1H',
  rrule: 'an iCalendar recurrence rule, e.g. "FREQ=WEEKLY;BYDAY=MO"',
  timezone: 'an IANA time zone, e.g. Europe/Zurich',
  anchor_date: 'when an interval schedule starts counting',
  active: 'false keeps the schedule without runs (default true)',
  parameters: "parameters of this schedule's runs, over the deployment's",
  slug: "the schedule's name, unique in the deployment; openem-config matches schedules by it (openem-<n> when missing)",
};

const DEPLOYMENT_DOCS = {
  name: 'the deployment name; with the flow name, its key <flow>/<deployment>',
  entrypoint: 'path/to/file.py:function relative to --flows-dir (or flows_dir), or a module path: package.module:function',
  version: "the deployment's version",
  tags: "the deployment's tags",
  description: "the deployment's description",
  parameters: "parameters of its runs, checked against the flow's parameter schema",
  parameter_openapi_schema: "the flow's parameter schema; derived from the flow file with --flows-dir when missing",
  enforce_parameter_schema: "whether Prefect checks a run's parameters against the schema",
  paused: 'true: no runs are scheduled',
  global_concurrency_limit: 'the name of a global concurrency limit this deployment shares (declared in a limits manifest or on the server)',
  work_pool: 'the work pool, queue and job variables of its runs',
};

function scheduleShape() {
  return described(DEPLOYMENT_SCHEMAS.schedule, SCHEDULE_DOCS).extend(LEGACY_SHAPES.schedule);
}

/** A trigger, recursive through the triggers of compound and sequence ones; `extra` adds fields at the top only. */
function triggerShapes(extra: z.core.$ZodShape = {}): z.ZodType {
  const { event, compound, sequence } = AUTOMATION_SCHEMAS.triggers;
  // One schema for every nested trigger, so that the JSON Schema refers to it instead of unfolding it forever.
  const nested: z.ZodType = z.lazy(() => plainTrigger);
  const children = z.array(nested).describe('the triggers this one combines');
  const plainTrigger: z.ZodType = z.union([
    event.describe('an event trigger (the default type)'),
    compound.extend({ triggers: children }).describe('a compound trigger: `require` of its `triggers` within `within`'),
    sequence.extend({ triggers: children }).describe('a sequence trigger: its `triggers` in order within `within`'),
  ]);
  if (Object.keys(extra).length === 0) return plainTrigger;
  return z.union([
    event.extend(extra).describe('an event trigger (the default type)'),
    compound.extend({ ...extra, triggers: children }).describe('a compound trigger: `require` of its `triggers` within `within`'),
    sequence.extend({ ...extra, triggers: children }).describe('a sequence trigger: its `triggers` in order within `within`'),
  ]);
}

function actionShape(): z.ZodType {
  const actions = Object.entries(AUTOMATION_SCHEMAS.actions).map(([type, shape]) => shape.extend({ type: z.literal(type) }));
  return z.union(actions as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]).describe('an action, by its `type`; objects are named (`deployment: <flow>/<deployment>`, `work_pool: <pool>`, ...) or given by id');
}

function automationShape(): z.ZodType {
  const action = z.array(actionShape());
  const lists = Object.fromEntries(AUTOMATION_SCHEMAS.actionLists.map((key) => [key, key === 'actions' ? action : action.optional()]));
  const automation = described(AUTOMATION_SCHEMAS.automation, {
    name: 'the automation name, unique among the automations openem-config owns',
    enabled: 'default true',
    adopt: 'true: take over an automation of this name that openem-config does not own yet',
  });
  return automation.extend({ trigger: triggerShapes(), ...lists }).describe('an automation, matched by name among those openem-config owns');
}

function deploymentEntry(): z.ZodType {
  const { deployment, concurrency, workPool } = DEPLOYMENT_SCHEMAS;
  const limit = z.union([concurrency.shape.limit, concurrency.extend({ limit: concurrency.shape.limit.nullable() }), z.null()]);
  return described(deployment, DEPLOYMENT_DOCS).extend({
    ...LEGACY_SHAPES.deployment,
    flow_name: deployment.shape.flow_name.unwrap().nullable().describe('the name given to @flow; read from the entrypoint with --flows-dir when missing').optional(),
    schedules: z.array(scheduleShape()).nullable().optional(),
    schedule: legacy(scheduleShape().nullable(), 'one schedule; write `schedules: [...]`'),
    concurrency_limit: limit.describe('the deployment\'s own limit: n, or {limit, collision_strategy, grace_period_seconds}; null removes it').optional(),
    work_pool: workPool.extend(LEGACY_SHAPES.work_pool).nullable().describe(DEPLOYMENT_DOCS.work_pool).optional(),
    pull: pullShape('the pull steps the worker runs before the flow; the top-level ones when absent'),
    sla: z.array(z.unknown()).max(0).nullable().describe('no SLA ([] or null): SLAs are Prefect Cloud\'s, a self-hosted server has none').optional(),
    triggers: z.array(triggerShapes(AUTOMATION_SCHEMAS.deploymentTriggerFields)).nullable().describe("the deployment's own automations: each runs it when its trigger fires").optional(),
    build: z.unknown().describe('not run by openem-config (a warning says so)').optional(),
    push: z.unknown().describe('not run by openem-config (a warning says so)').optional(),
  });
}

function prefectYamlShape(): z.ZodType {
  const known: Record<string, z.ZodType> = {
    name: z.string().nullable().describe('the project name').optional(),
    'prefect-version': z.union([z.string(), z.number()]).nullable().optional(),
    build: z.unknown().describe('not run by openem-config (a warning says so)').optional(),
    push: z.unknown().describe('not run by openem-config (a warning says so)').optional(),
    deployments: z.array(deploymentEntry()).nullable().optional(),
    definitions: z.unknown().describe('anchors to reuse with *alias and <<: merge keys').optional(),
    automations: z.array(automationShape()).nullable().optional(),
    ...LEGACY_SHAPES.file,
    pull: pullShape('pull steps of every deployment that gives none'),
  };
  const missing = DEPLOYMENT_SCHEMAS.topLevelKeys.filter((key) => !(key in known));
  if (missing.length > 0) throw new Error(`the prefect.yaml schema lacks the top-level keys ${missing.join(', ')}`);
  return z.strictObject(known);
}

/**
 * A value that is one placeholder the reader fills in before it checks the value (`{{ $NAME }}` or,
 * with a warning, `{{ NAME }}` from the environment, `{{ step-id.field }}` or a step's output key
 * `{{ image }}` from --step-output): the
 * editor cannot know the text, so such a value is allowed wherever the tool allows text of fixed
 * words or of a pattern. Not `{{ prefect.* }}` or `{{ ctx.* }}`, which stay as written.
 */
const TEMPLATE: JsonSchema = {
  type: 'string',
  pattern: String.raw`^\{\{\s*(?:\$[A-Za-z_][A-Za-z0-9_]*|(?!prefect\.|ctx\.|\$)[\w\-\[\]$]+(?:\.[\w\-\[\]$]+)*)\s*\}\}$`,
  description: 'a {{ $NAME }} or {{ step-id.field }} placeholder; openem-config checks the text it is filled in with',
};

/** Keys of the values at `properties` that are schemas (the rest hold data: defaults, enums, examples). */
const DATA_KEYS = new Set(['default', 'examples', 'enum', 'const']);

/**
 * `schema` with every string of fixed words, a constant or a pattern also accepting a placeholder,
 * as the readers of deployments, triggers and automations fill placeholders in before their checks.
 * A `type` of fixed word stays strict: it picks a trigger's or action's shape, which an editor
 * reads to complete the rest of the entry.
 */
export function allowTemplates(schema: JsonSchema, key?: string): JsonSchema {
  const walked = Object.fromEntries(
    Object.entries(schema).map(([name, value]) => {
      if (DATA_KEYS.has(name) || value === null || typeof value !== 'object') return [name, value];
      if (Array.isArray(value)) return [name, value.map((item) => (item !== null && typeof item === 'object' && !Array.isArray(item) ? allowTemplates(item as JsonSchema) : item))];
      // Below `properties` and `definitions`, each value is a schema named by its key.
      if (name === 'properties' || name === 'definitions' || name === 'patternProperties') {
        return [name, Object.fromEntries(Object.entries(value as JsonSchema).map(([child, shape]) => [child, allowTemplates(shape as JsonSchema, name === 'properties' ? child : undefined)]))];
      }
      return [name, allowTemplates(value as JsonSchema)];
    }),
  );
  const fixed = walked.type === 'string' && (walked.enum !== undefined || walked.const !== undefined || walked.pattern !== undefined);
  if (!fixed || (key === 'type' && walked.const !== undefined)) return walked;
  const { description, ...rest } = walked;
  return { ...(description === undefined ? {} : { description }), anyOf: [rest, TEMPLATE] };
}

/** The legacy keys of the reader's table that the prefect.yaml schema does not declare (none, or a bug). */
export function undeclaredLegacyKeys(): string[] {
  return LEGACY_RULES.filter((rule) => !(rule.key in LEGACY_SHAPES[rule.scope])).map((rule) => `${rule.scope}.${rule.key}`);
}

// ---------------------------------------------------------------------------------------------
// The registry.

export const DOCUMENTS: readonly SchemaDocument[] = [
  {
    name: 'project',
    format: 'toml',
    describes: `the project file (${PROJECT_FILE})`,
    title: `openem-config project file (${PROJECT_FILE})`,
    notChecked: ['that the files and directories named exist', 'that `--env NAME` names an [env.NAME] table'],
    zod: () => projectSchema,
  },
  {
    name: 'vars',
    format: 'toml',
    describes: 'vars files (-v, `variables` of the project file)',
    title: 'openem-config vars file',
    notChecked: [
      `${NAME_RULES} of variable names`,
      'nested tables ([a.b]) and arrays of tables ([[a]]), which the tool refuses: after parsing they look like inline tables, which it accepts',
      'a variable defined twice in one file, and the 5000-byte limit of a value',
    ],
    zod: varsSchema,
  },
  {
    name: 'limits',
    format: 'toml',
    describes: 'limits manifests (-l, `limits` of the project file): tag and global limits, blocks, work pools',
    title: 'openem-config limits manifest',
    notChecked: [
      `${NAME_RULES} of tags, limits, blocks, pools and queues`,
      'a <STUB>_LIMIT without its <STUB>_TAG (but LTS_WRITE and LTS_READ), a tag or name declared twice',
      'a limit written as a float such as 4.0 (an integer after parsing, refused by the tool)',
      "blocks' fields (checked against the server's block schemas by plan and apply)",
      'the base job template file and its placeholders',
    ],
    zod: limitsSchema,
  },
  {
    name: 'prefect-yaml',
    format: 'yaml',
    describes: 'prefect.yaml and automation files (-d, `deployments` of the project file)',
    title: 'prefect.yaml as openem-config reads it (deployments, triggers, automations)',
    notChecked: [
      `${NAME_RULES} of deployments, flows, pools, queues, schedule slugs and automations`,
      'cron, rrule, time zones, anchor dates and ISO 8601 durations (checked by openem-config with the libraries Prefect agrees with)',
      'legacy forms refused for some values only (is_paused: true without paused: true, catchup: true, a deployment-level work_queue_name that differs from work_pool.work_queue_name, schedule beside schedules)',
      'that an action names a declared or existing object, parameters against the flow\'s schema, and a pull step with more than one key',
      'the text a {{ $NAME }} or {{ step-id.field }} placeholder is filled in with (the schema accepts a value that is one placeholder wherever the tool takes text of fixed words or of a pattern, such as collision_strategy or posture, except the `type` that picks a trigger\'s or action\'s shape; a placeholder within other text there is refused by the schema only)',
    ],
    zod: () => allowTemplates(toJson(prefectYamlShape())),
  },
];

/** Custom zod types (the readers' JSON objects) as JSON Schema objects; the rest as zod emits them. */
function toJson(shape: z.ZodType): JsonSchema {
  const schema = z.toJSONSchema(shape, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
    override: (context) => {
      if (context.zodSchema._zod.def.type === 'custom') context.jsonSchema.type = 'object';
    },
  }) as JsonSchema;
  delete schema.$schema;
  return schema;
}

/** The JSON Schema of `document`, as written to `<name>.json`. */
export function renderSchema(document: SchemaDocument): JsonSchema {
  const made = document.zod();
  const body = made instanceof z.ZodType ? toJson(made) : made;
  const description = [`${document.title}: ${document.describes}. Made by openem-config from the zod schemas it checks these files with.`, `Not checked by this schema (openem-config checks it): ${document.notChecked.join('; ')}.`].join(' ');
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: document.title, description, ...body };
}

/** The schema file's text: stable, two-space JSON with a final newline. */
export function schemaText(document: SchemaDocument): string {
  return `${JSON.stringify(renderSchema(document), null, 2)}\n`;
}

export function schemaFile(document: SchemaDocument): string {
  return `${document.name}.json`;
}

/** The first line of a file that tells its editor where its schema is (a comment to the tool). */
export function schemaDirective(document: SchemaDocument, path: string): string {
  return document.format === 'toml' ? `#:schema ${path}` : `# yaml-language-server: $schema=${path}`;
}

export function findDocument(name: string): SchemaDocument | undefined {
  return DOCUMENTS.find((document) => document.name === name);
}

/** `content` with the directive naming `<dir>/<name>.json` as its first line. */
export function withDirective(name: string, content: string, dir = `./${SCHEMAS_DIR}`): string {
  const document = findDocument(name);
  if (!document) throw new Error(`no schema document ${name}`);
  return `${schemaDirective(document, `${dir}/${schemaFile(document)}`)}\n${content}`;
}
