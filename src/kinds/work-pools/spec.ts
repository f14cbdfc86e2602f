// Work pools, declared in the limits manifest under [work_pools.<name>], with their queues and a
// base job template read from a JSON file beside the manifest.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { IssueList, Source } from '../../errors.js';
import { readTextFile } from '../../config/files.js';
import type { ManifestClaim, ManifestPart } from '../../config/inputs.js';
import { dottedKey, toJsonValue } from '../../config/toml.js';
import { isObject, parseJsonText } from '../../config/json.js';
import { nameError } from '../../config/names.js';
import type { DesiredQueue, DesiredWorkPool, JsonValue } from '../../config/types.js';

const WORK_POOLS = 'work_pools';


/** The [work_pools] table of one manifest, as JSON, with the lines of its keys. */
interface RawSection {
  value: JsonValue;
  source: Source;
  /** The line of a key below the section, e.g. `['archival', 'queues', 'default']`. */
  lineOf(path: readonly string[]): number | undefined;
}

/** The pools of every manifest part that has a [work_pools] table. */
export function loadWorkPoolParts(parts: readonly ManifestPart[], issues: IssueList): DesiredWorkPool[] {
  const sections: RawSection[] = [];
  for (const part of parts) {
    const raw = part.entries[WORK_POOLS];
    if (raw === undefined) continue;
    const json = toJsonValue(raw);
    if ('problem' in json) issues.error(part.at(WORK_POOLS), json.problem);
    else sections.push({ value: json.value, source: part.at(WORK_POOLS), lineOf: (path) => part.lineOf([WORK_POOLS, ...path]) });
  }
  return loadWorkPools(sections, issues);
}

const MAX_TEMPLATE_BYTES = 1024 * 1024;
/** `false` declares "no limit" (TOML has no null); an integer >= 0 sets it. */
const limit = z.union([z.number().int().min(0), z.literal(false)]);

const queueSchema = z.strictObject({
  description: z.string().optional(),
  paused: z.boolean().optional(),
  concurrency_limit: limit.optional(),
  priority: z.number().int().min(1).optional(),
});

const poolSchema = z.strictObject({
  type: z.string().min(1).default('docker').describe('the worker type, default "docker"; Prefect cannot change it later'),
  description: z.string().optional(),
  paused: z.boolean().optional(),
  concurrency_limit: limit.describe('runs of the whole pool at once; false = no limit').optional(),
  base_job_template: z.string().min(1, 'must name a JSON file').describe('a JSON file, relative to this manifest').optional(),
  queues: z.record(z.string(), z.unknown()).optional(),
});

export const workPoolsManifest: ManifestClaim = {
  claims: (key) => key === WORK_POOLS,
  describe: `[${WORK_POOLS}]`,
  schema: {
    properties: {
      [WORK_POOLS]: z
        .record(
          z.string(),
          poolSchema.extend({ queues: z.record(z.string(), queueSchema).describe('work queues by name; priorities must be unique within the pool').optional() }),
        )
        .describe(
          'work pools by name; Prefect\'s name rules (no "prefect" prefix, no / % & < >), unique queue priorities and the base job template\'s content are checked by openem-config, not by this schema',
        ),
    },
  },
};

function loadWorkPools(sections: RawSection[], issues: IssueList): DesiredWorkPool[] {
  const pools = new Map<string, DesiredWorkPool>();
  for (const section of sections) {
    const file = section.source.file;
    const at = (path: Array<string | number>): Source => {
      const keys = path.map(String);
      return { file, line: section.lineOf(keys) ?? section.source.line, key: dottedKey(['work_pools', ...keys]) };
    };
    if (!isObject(section.value)) {
      issues.error(section.source, 'must be a table of pools: [work_pools.<pool name>] with type, base_job_template, concurrency_limit, queues');
      continue;
    }
    for (const [poolName, raw] of Object.entries(section.value)) {
      const nameProblem = nameError('work pool', poolName);
      if (nameProblem) issues.error(at([poolName]), nameProblem);
      if (poolName.toLowerCase().startsWith('prefect')) issues.error(at([poolName]), 'pool names may not start with "prefect" (Prefect reserves them)');
      const parsed = poolSchema.safeParse(raw);
      if (!parsed.success) {
        reportZodIssues(parsed.error.issues, [poolName], at, issues);
        // Still check the queues, so that every problem is reported in one run.
        const queues = (raw as { queues?: unknown } | undefined)?.queues;
        if (isObject(queues)) for (const [queueName, rawQueue] of Object.entries(queues)) parseQueue(poolName, queueName, rawQueue, at, issues);
        continue;
      }
      const spec = parsed.data;
      const pool: DesiredWorkPool = {
        name: poolName,
        type: spec.type,
        description: spec.description,
        paused: spec.paused,
        concurrencyLimit: spec.concurrency_limit === false ? null : spec.concurrency_limit,
        queues: [],
        source: at([poolName]),
      };
      if (spec.base_job_template && /[\p{Cc}\u2028\u2029]/u.test(spec.base_job_template)) {
        issues.error(at([poolName, 'base_job_template']), 'the path holds a control character or line break; give the path of the JSON file');
      } else if (spec.base_job_template) {
        const templateFile = resolve(dirname(file), spec.base_job_template);
        pool.baseJobTemplateFile = templateFile;
        pool.baseJobTemplate = loadTemplate(templateFile, at([poolName, 'base_job_template']), issues);
      }
      for (const [queueName, rawQueue] of Object.entries(spec.queues ?? {})) {
        const queue = parseQueue(poolName, queueName, rawQueue, at, issues);
        if (queue) pool.queues.push(queue);
      }
      const priorities = pool.queues.filter((q) => q.priority !== undefined);
      for (const [index, queue] of priorities.entries()) {
        const twin = priorities.slice(0, index).find((other) => other.priority === queue.priority);
        if (twin) issues.error(queue.source, `priority ${queue.priority} is also given to queue "${twin.name}"; Prefect keeps priorities unique within a pool`);
      }
      const earlier = pools.get(poolName);
      if (earlier) issues.error(pool.source, `work pool "${poolName}" is already declared at ${earlier.source.file}:${earlier.source.line}`);
      else if (!nameProblem) pools.set(poolName, pool);
    }
  }
  return [...pools.values()].sort((a, b) => a.name.localeCompare(b.name));
}

type At = (path: Array<string | number>) => Source;

function parseQueue(poolName: string, queueName: string, raw: unknown, at: At, issues: IssueList): DesiredQueue | undefined {
  const nameProblem = nameError('work queue', queueName);
  if (nameProblem) issues.error(at([poolName, 'queues', queueName]), nameProblem);
  const queue = queueSchema.safeParse(raw);
  if (!queue.success) {
    reportZodIssues(queue.error.issues, [poolName, 'queues', queueName], at, issues);
    return undefined;
  }
  return {
    name: queueName,
    description: queue.data.description,
    paused: queue.data.paused,
    concurrencyLimit: queue.data.concurrency_limit === false ? null : queue.data.concurrency_limit,
    priority: queue.data.priority,
    source: at([poolName, 'queues', queueName]),
  };
}

/** Each problem at its own key: an unknown key is reported at its line, not at the table's. */
function reportZodIssues(zodIssues: z.core.$ZodIssue[], prefix: string[], at: At, issues: IssueList): void {
  for (const issue of zodIssues) {
    const path = [...prefix, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.error(at([...path, key]), describeZodIssue(issue, key));
    } else {
      issues.error(at(path), describeZodIssue(issue));
    }
  }
}


function describeZodIssue(issue: z.core.$ZodIssue, key?: string): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key \`${dottedKey([key ?? ''])}\`; a pool takes type, description, paused, concurrency_limit, base_job_template, queues; a queue takes description, paused, concurrency_limit, priority`;
  }
  if (issue.path.at(-1) === 'concurrency_limit') return 'must be an integer >= 0, or false for no limit';
  return issue.message;
}

/** Placeholders Prefect fills from the pool's variables; `prefect.*` ones are resolved by the worker itself. */
const PLACEHOLDER = /\{\{\s*([^{}]+?)\s*\}\}/g;

export function templatePlaceholders(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const match of value.matchAll(PLACEHOLDER)) {
      const placeholder = match[1]!;
      if (!placeholder.startsWith('prefect.') && !placeholder.startsWith('$')) found.add(placeholder);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) templatePlaceholders(item, found);
  } else if (isObject(value)) {
    for (const item of Object.values(value)) templatePlaceholders(item, found);
  }
  return found;
}

function loadTemplate(path: string, source: Source, issues: IssueList): { [key: string]: JsonValue } | undefined {
  const text = readTextFile(path, { maxBytes: MAX_TEMPLATE_BYTES, what: 'base job template', key: source.key, rejectEmpty: true }, issues);
  if (text === undefined) return undefined;
  const parsed = parseJsonText(text);
  if ('problem' in parsed) {
    // Position only: the text may be anything, a secret file given by mistake included.
    issues.error({ file: path, line: parsed.line, column: parsed.column, key: source.key }, `not valid JSON: ${parsed.problem}; fix the template here`);
    return undefined;
  }
  const template = parsed.value;
  const at: Source = { file: path, key: source.key };
  if (!isObject(template)) {
    issues.error(at, 'a base job template is a JSON object with "job_configuration" and "variables"');
    return undefined;
  }
  const { job_configuration: jobConfiguration, variables } = template;
  if (!isObject(jobConfiguration) || !isObject(variables)) {
    issues.error(at, 'a base job template needs both "job_configuration" (an object) and "variables" (a JSON schema object)');
    return undefined;
  }
  const properties = isObject(variables.properties) ? variables.properties : {};
  const undeclared = [...templatePlaceholders(jobConfiguration)].filter((placeholder) => !Object.hasOwn(properties, placeholder));
  if (undeclared.length > 0) {
    issues.error(
      at,
      `job_configuration uses ${undeclared.map((p) => `{{ ${p} }}`).join(', ')}, which ${undeclared.length === 1 ? 'is' : 'are'} not in variables.properties; declare ${undeclared.length === 1 ? 'it' : 'them'} there or remove the placeholder`,
    );
    return undefined;
  }
  return template as { [key: string]: JsonValue };
}
