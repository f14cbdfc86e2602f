// Work pools with their queues as [work_pools.<name>] tables of the limits manifest, each base job
// template in a JSON file beside it.
import type { JsonValue } from '../../config/types.js';
import { isObject } from '../../config/json.js';
import type { Matcher } from '../../config/glob.js';
import { tomlString, tomlTableName } from '../../export/toml.js';
import { compareText, type ExportFile, type ExportWarning } from '../../export/types.js';
import { unwrap } from '../../prefect/client.js';
import { pages } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import { defineExport } from '../../reconcile/kind.js';
import { templatePlaceholders } from './spec.js';

export type WorkPool = components['schemas']['WorkPoolResponse'];
export type WorkQueue = components['schemas']['WorkQueueResponse'];

export const TEMPLATES_DIR = 'job-templates';

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

/** A work pool with its queues, as the server has them. */
export interface ServerPool {
  pool: WorkPool;
  queues: WorkQueue[];
}

export const workPoolsExport = defineExport({
  section: 'pools',
  async read(api, matches): Promise<ServerPool[]> {
    const pools = await pages((offset, limit) => unwrap(api.client.POST('/work_pools/filter', { body: { limit, offset } })));
    const selected: ServerPool[] = [];
    // Only the matching pools' queues are read.
    for (const pool of pools.filter((p) => matches(p.name))) {
      const queues = await pages((offset, limit) =>
        unwrap(api.client.POST('/work_pools/{work_pool_name}/queues/filter', { params: { path: { work_pool_name: pool.name } }, body: { limit, offset } })),
      );
      selected.push({ pool, queues });
    }
    return selected;
  },
  write: (pools, { matches }) => exportPools(pools, matches),
  current: (pools) => new Map(pools.map(({ pool, queues }) => [pool.name, { pool, queues: new Map(queues.map((queue) => [queue.name, queue])) }])),
});

export interface PoolsExport {
  /** The base job template files. */
  files: ExportFile[];
  /** The [work_pools] tables of the limits manifest. */
  manifest: string[] | undefined;
  warnings: ExportWarning[];
  count: number;
}

export function exportPools(serverPools: readonly ServerPool[], matches: Matcher): PoolsExport {
  const warnings: ExportWarning[] = [];
  const templates: ExportFile[] = [];
  const pools: PoolEntry[] = [];
  const takenFiles = new Set<string>();
  const sortedPools = [...serverPools].filter(({ pool }) => matches(pool.name)).sort((a, b) => compareText(a.pool.name, b.pool.name));
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
  return { files: templates, manifest: pools.length > 0 ? renderPools(pools) : undefined, warnings, count: pools.length };
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

export function renderPools(pools: readonly PoolEntry[]): string[] {
  const lines: string[] = [];
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
  return lines;
}
