// The limits manifest: tag concurrency limits in a [tag_limits] table, and work pools with their
// queues in [work_pools.<name>] tables, each base job template in a JSON file beside it.
import type { JsonValue } from '../../config/types.js';
import { templatePlaceholders } from './spec.js';
import { globalLimitNameProblem } from '../global-limits/spec.js';
import type { Matcher } from '../../export/glob.js';
import type { GlobalLimit, ServerPool, WorkQueue } from '../../export/read.js';
import { tomlKey, tomlString, tomlTableName } from '../../export/toml.js';
import { compareText, type ExportFile, type ExportWarning } from '../../export/types.js';

export const LIMITS_FILE = 'limits.toml';
export const TEMPLATES_DIR = 'job-templates';
const TAG_PREFIX = 'tag:';
/** Global limits Prefect makes for a deployment's own limit; the deployment in prefect.yaml declares them. */
const DEPLOYMENT_PREFIX = 'deployment:';

export interface TagLimitEntry {
  tag: string;
  limit: number;
}

export interface GlobalLimitEntry {
  name: string;
  limit: number;
  active: boolean;
  slotDecayPerSecond: number;
}

export interface QueueEntry {
  name: string;
  description?: string | undefined;
  priority?: number | undefined;
  /** null: no limit, written as `false`. */
  concurrencyLimit: number | null;
  paused: boolean;
}

export interface PoolEntry {
  name: string;
  type: string;
  description?: string | undefined;
  paused: boolean;
  concurrencyLimit: number | null;
  /** The template file, relative to the manifest, when the pool has a template. */
  templateFile?: string | undefined;
  queues: QueueEntry[];
}

export interface LimitsExport {
  files: ExportFile[];
  warnings: ExportWarning[];
  tagLimits: number;
  globalLimits: number;
  workPools: number;
}

export interface LimitsInput {
  /** Undefined when tag limits are not exported (`--only`). */
  globalLimits?: readonly GlobalLimit[] | undefined;
  /** Undefined when work pools are not exported. */
  pools?: readonly ServerPool[] | undefined;
  matches: Matcher;
}

export function exportLimits(input: LimitsInput): LimitsExport {
  const warnings: ExportWarning[] = [];
  const globals: GlobalLimitEntry[] = [];
  const tagLimits = input.globalLimits ? tagLimitEntries(input.globalLimits, input.matches, warnings, globals) : [];
  const templates: ExportFile[] = [];
  const pools: PoolEntry[] = [];
  const takenFiles = new Set<string>();
  const sortedPools = [...(input.pools ?? [])].filter(({ pool }) => input.matches(pool.name)).sort((a, b) => compareText(a.pool.name, b.pool.name));
  for (const { pool, queues } of sortedPools) {
    const subject = `work pool "${pool.name}"`;
    if (pool.name.toLowerCase().startsWith('prefect')) {
      warnings.push({ subject, message: 'not exported: Prefect reserves pool names starting with "prefect" (managed pools), and a limits manifest cannot declare them' });
      continue;
    }
    const entry: PoolEntry = {
      name: pool.name,
      type: pool.type,
      description: pool.description ?? undefined,
      paused: pool.is_paused ?? false,
      concurrencyLimit: pool.concurrency_limit ?? null,
      queues: [...queues].sort((a, b) => compareText(a.name, b.name)).map(queueEntry),
    };
    const template = pool.base_job_template as { [key: string]: JsonValue } | undefined;
    if (template && Object.keys(template).length > 0) {
      const problem = templateProblem(template);
      if (problem) {
        warnings.push({ subject, message: `its base job template is not exported: ${problem}; the loader (and Prefect on create) would refuse it` });
      } else {
        const file = templateFileName(pool.name, takenFiles);
        entry.templateFile = file;
        templates.push({ path: file, content: `${JSON.stringify(template, null, 2)}\n`, summary: `base job template of work pool ${pool.name}` });
      }
    }
    const storage = pool.storage_configuration as Record<string, unknown> | null | undefined;
    const storageSet = Object.entries(storage ?? {}).filter(([, value]) => value !== null && value !== undefined).map(([key]) => key);
    if (storageSet.length > 0) {
      warnings.push({ subject, message: `its storage_configuration (${storageSet.join(', ')}) is not exported: a limits manifest cannot declare it; set it again on the target with \`prefect work-pool storage configure\`` });
    }
    pools.push(entry);
  }
  const files: ExportFile[] = [];
  if (tagLimits.length > 0 || globals.length > 0 || pools.length > 0) {
    const parts = [
      tagLimits.length > 0 ? `${tagLimits.length} tag limit${tagLimits.length === 1 ? '' : 's'}` : '',
      globals.length > 0 ? `${globals.length} global limit${globals.length === 1 ? '' : 's'}` : '',
      pools.length > 0 ? `${pools.length} work pool${pools.length === 1 ? '' : 's'}` : '',
    ].filter(Boolean);
    files.push({ path: LIMITS_FILE, content: renderLimitsFile(tagLimits, pools, globals), summary: parts.join(', ') }, ...templates);
  }
  return { files, warnings, tagLimits: tagLimits.length, globalLimits: globals.length, workPools: pools.length };
}

function tagLimitEntries(limits: readonly GlobalLimit[], matches: Matcher, warnings: ExportWarning[], globals: GlobalLimitEntry[]): TagLimitEntry[] {
  const entries: TagLimitEntry[] = [];
  for (const limit of [...limits].sort((a, b) => compareText(a.name, b.name))) {
    if (limit.name.startsWith(DEPLOYMENT_PREFIX)) continue;
    if (!limit.name.startsWith(TAG_PREFIX)) {
      if (!matches(limit.name)) continue;
      const problem = globalLimitNameProblem(limit.name);
      if (problem) warnings.push({ subject: `global limit "${limit.name}"`, message: `not exported: its name ${problem}` });
      else globals.push({ name: limit.name, limit: limit.limit, active: limit.active ?? true, slotDecayPerSecond: limit.slot_decay_per_second ?? 0 });
      continue;
    }
    const tag = limit.name.slice(TAG_PREFIX.length);
    if (!matches(tag)) continue;
    const subject = `tag limit "${tag}"`;
    if (tag === '') {
      warnings.push({ subject, message: 'not exported: a tag limit needs a tag' });
      continue;
    }
    if (limit.active === false) {
      warnings.push({ subject, message: 'is inactive on the server, which a limits manifest cannot say: the export declares it with its limit, so a copy is active' });
    }
    if (limit.slot_decay_per_second) {
      warnings.push({ subject, message: `has slot_decay_per_second = ${limit.slot_decay_per_second}, which a limits manifest cannot say: a copy has none` });
    }
    entries.push({ tag, limit: limit.limit });
  }
  return entries;
}

function queueEntry(queue: WorkQueue): QueueEntry {
  return {
    name: queue.name,
    description: queue.description ?? undefined,
    priority: queue.priority ?? undefined,
    concurrencyLimit: queue.concurrency_limit ?? null,
    paused: queue.is_paused ?? false,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The loader's checks of a template file: both sections, and every placeholder declared. */
function templateProblem(template: { [key: string]: JsonValue }): string | undefined {
  const { job_configuration: jobConfiguration, variables } = template;
  if (!isObject(jobConfiguration) || !isObject(variables)) return 'it lacks "job_configuration" or "variables"';
  const properties = isObject(variables.properties) ? variables.properties : {};
  const undeclared = [...templatePlaceholders(jobConfiguration)].filter((placeholder) => !Object.hasOwn(properties, placeholder));
  return undeclared.length > 0 ? `job_configuration uses ${undeclared.map((p) => `{{ ${p} }}`).join(', ')}, not declared in variables.properties` : undefined;
}

/** `job-templates/<pool>.json`, the name made safe for any file system; a clash gets `-2`, `-3`. */
function templateFileName(pool: string, taken: Set<string>): string {
  const stem = pool.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 100);
  let path = `${TEMPLATES_DIR}/${stem}.json`;
  for (let n = 2; taken.has(path.toLowerCase()); n++) path = `${TEMPLATES_DIR}/${stem}-${n}.json`;
  taken.add(path.toLowerCase());
  return path;
}

export function renderLimitsFile(tagLimits: readonly TagLimitEntry[], pools: readonly PoolEntry[], globals: readonly GlobalLimitEntry[] = []): string {
  const lines = ['# Concurrency limits and work pools, exported by openem-config: a limits manifest (apply it with -l).'];
  if (tagLimits.length > 0) {
    lines.push('', '[tag_limits]');
    for (const { tag, limit } of tagLimits) lines.push(`${tomlKey(tag)} = ${limit}`);
  }
  for (const limit of globals) {
    lines.push('', `[${tomlTableName(['global_limits', limit.name])}]`, `limit = ${limit.limit}`, `active = ${limit.active}`);
    // Written always: a rate limit without it would lose its decay on a server whose default differs.
    lines.push(`slot_decay_per_second = ${Number.isInteger(limit.slotDecayPerSecond) ? `${limit.slotDecayPerSecond}.0` : limit.slotDecayPerSecond}`);
  }
  const limit = (value: number | null) => (value === null ? 'false   # no limit' : String(value));
  for (const pool of pools) {
    lines.push('', `[${tomlTableName(['work_pools', pool.name])}]`, `type = ${tomlString(pool.type)}`);
    if (pool.description !== undefined) lines.push(`description = ${tomlString(pool.description)}`);
    lines.push(`paused = ${pool.paused}`, `concurrency_limit = ${limit(pool.concurrencyLimit)}`);
    if (pool.templateFile) lines.push(`base_job_template = ${tomlString(pool.templateFile)}`);
    for (const queue of pool.queues) {
      lines.push('', `[${tomlTableName(['work_pools', pool.name, 'queues', queue.name])}]`);
      if (queue.description !== undefined) lines.push(`description = ${tomlString(queue.description)}`);
      if (queue.priority !== undefined) lines.push(`priority = ${queue.priority}`);
      lines.push(`paused = ${queue.paused}`, `concurrency_limit = ${limit(queue.concurrencyLimit)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
