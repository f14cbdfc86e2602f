// Work pools with their base job template, concurrency limit and queues. Only declared fields are
// compared and written: a template or a limit the file does not mention is never reset.
import type { DesiredQueue, DesiredWorkPool, JsonValue } from '../../config/types.js';
import { unwrap, unwrapOptional, type Api } from '../../prefect/client.js';
import type { components } from '../../prefect/schema.js';
import { jsonEqual } from '../../reconcile/json.js';
import { withCredentialsHidden } from '../../export/credentials.js';
import { createOrFind, foundMeanwhile } from '../../prefect/create.js';
import { PAGE, pages, pagesByName } from '../../prefect/paging.js';
import type { Applied, Diff, FieldChange, Kind } from '../../reconcile/types.js';

type WorkPool = components['schemas']['WorkPoolResponse'];
type WorkPoolUpdate = components['schemas']['WorkPoolUpdate'];
type WorkPoolCreate = components['schemas']['WorkPoolCreate'];
type WorkQueue = components['schemas']['WorkQueueResponse'];
type WorkQueueUpdate = components['schemas']['WorkQueueUpdate'];

export interface CurrentPool {
  pool: WorkPool;
  queues: Map<string, WorkQueue>;
}


/** Reads pools by name in bulk. */
export async function readPools(api: Api, names: readonly string[]): Promise<Map<string, WorkPool>> {
  const pools = await pagesByName(names, (batch, offset, limit) =>
    unwrap(api.client.POST('/work_pools/filter', { body: { work_pools: { operator: 'and_', name: { any_: batch } }, limit, offset } })),
  );
  return new Map(pools.map((pool) => [pool.name, pool]));
}

async function readQueues(api: Api, pool: string): Promise<Map<string, WorkQueue>> {
  const queues = await pages((offset, limit) =>
    unwrap(api.client.POST('/work_pools/{work_pool_name}/queues/filter', { params: { path: { work_pool_name: pool } }, body: { limit, offset } })),
  );
  return new Map(queues.map((queue) => [queue.name, queue]));
}

/**
 * The declared queues of several existing pools, by pool name. One `/work_queues/filter` by queue
 * name answers for all of them (it spans every pool, matched here by pool id). That filter has no
 * order that makes paging stable across pools, so when its first page is full the pools are read
 * one by one instead.
 */
async function readDeclaredQueues(api: Api, pools: ReadonlyArray<{ pool: WorkPool; queueNames: string[] }>): Promise<Map<string, Map<string, WorkQueue>>> {
  const byPool = new Map<string, Map<string, WorkQueue>>();
  if (pools.length === 0) return byPool;
  const names = [...new Set(pools.flatMap((entry) => entry.queueNames))];
  if (names.length <= PAGE) {
    const page = await unwrap(
      api.client.POST('/work_queues/filter', { body: { work_queues: { operator: 'and_', name: { any_: names } }, limit: PAGE, offset: 0 } }),
    );
    if (page.length < PAGE) {
      const poolById = new Map(pools.map((entry) => [entry.pool.id, entry.pool.name]));
      for (const entry of pools) byPool.set(entry.pool.name, new Map());
      for (const queue of page) {
        const pool = queue.work_pool_id ? poolById.get(queue.work_pool_id) : undefined;
        if (pool) byPool.get(pool)!.set(queue.name, queue);
      }
      return byPool;
    }
  }
  for (const entry of pools) byPool.set(entry.pool.name, await readQueues(api, entry.pool.name));
  return byPool;
}

/** Prefect stores an empty description as null; both mean "none". */
const sameDescription = (want: string, have: string | null | undefined): boolean => want === (have ?? '');

/** The fields of a queue that differ from the declaration, as a PATCH body and as plan changes. */
function queueUpdate(desired: DesiredQueue, current: WorkQueue | undefined): { body: WorkQueueUpdate; changes: FieldChange[] } {
  const body: WorkQueueUpdate = {};
  const changes: FieldChange[] = [];
  const field = (name: string, from: unknown, to: unknown): void => {
    changes.push(current ? { field: `queues.${desired.name}.${name}`, from: from ?? null, to } : { field: `queues.${desired.name}.${name}`, to });
  };
  if (desired.description !== undefined && !sameDescription(desired.description, current?.description)) {
    body.description = desired.description;
    field('description', current?.description, desired.description);
  }
  if (desired.paused !== undefined && desired.paused !== (current?.is_paused ?? false)) {
    body.is_paused = desired.paused;
    field('paused', current?.is_paused, desired.paused);
  }
  if (desired.concurrencyLimit !== undefined && desired.concurrencyLimit !== (current?.concurrency_limit ?? null)) {
    body.concurrency_limit = desired.concurrencyLimit;
    field('concurrency_limit', current?.concurrency_limit, desired.concurrencyLimit);
  }
  if (desired.priority !== undefined && desired.priority !== current?.priority) {
    body.priority = desired.priority;
    field('priority', current?.priority, desired.priority);
  }
  if (!current) changes.unshift({ field: `queues.${desired.name}`, to: 'new queue' });
  return { body, changes };
}

/** The declared pool fields that differ from the server's pool. */
function poolUpdate(desired: DesiredWorkPool, pool: WorkPool): { body: WorkPoolUpdate; changes: FieldChange[] } {
  const body: WorkPoolUpdate = {};
  const changes: FieldChange[] = [];
  if (desired.description !== undefined && !sameDescription(desired.description, pool.description)) {
    body.description = desired.description;
    changes.push({ field: 'description', from: pool.description ?? null, to: desired.description });
  }
  if (desired.paused !== undefined && desired.paused !== pool.is_paused) {
    body.is_paused = desired.paused;
    changes.push({ field: 'paused', from: pool.is_paused, to: desired.paused });
  }
  if (desired.concurrencyLimit !== undefined && desired.concurrencyLimit !== (pool.concurrency_limit ?? null)) {
    body.concurrency_limit = desired.concurrencyLimit;
    changes.push({ field: 'concurrency_limit', from: pool.concurrency_limit ?? null, to: desired.concurrencyLimit });
  }
  if (desired.baseJobTemplate && !jsonEqual(desired.baseJobTemplate, pool.base_job_template ?? {})) {
    body.base_job_template = desired.baseJobTemplate;
    changes.push(templateChange(pool.base_job_template ?? {}, desired.baseJobTemplate));
  }
  return { body, changes };
}

/**
 * A template change as the plan shows it: the whole documents, which the report expands into the
 * paths that differ (`base_job_template.variables.properties.image.default: ...`), with every value
 * under a credential-like key (a variable named db_password, its default included) hidden; when
 * only hidden values differ, the change says so without them.
 */
function templateChange(current: unknown, desired: unknown): FieldChange {
  const from = withCredentialsHidden(current);
  const to = withCredentialsHidden(desired);
  return jsonEqual(from as JsonValue, to as JsonValue) ? { field: 'base_job_template', secret: true } : { field: 'base_job_template', from, to };
}

export const workPoolsKind: Kind<DesiredWorkPool, CurrentPool> = {
  name: 'work-pool',
  key: (desired) => desired.name,

  async read(api, desired) {
    const pools = await readPools(api, desired.map((d) => d.name));
    const withQueues = desired.flatMap((spec) => {
      const pool = pools.get(spec.name);
      return pool && spec.queues.length > 0 ? [{ pool, queueNames: spec.queues.map((queue) => queue.name) }] : [];
    });
    const queues = await readDeclaredQueues(api, withQueues);
    const current = new Map<string, CurrentPool>();
    for (const [name, pool] of pools) current.set(name, { pool, queues: queues.get(name) ?? new Map() });
    return current;
  },

  async lookup(api, names) {
    const pools = await readPools(api, [...names]);
    return new Map([...pools].map(([name, pool]) => [name, { pool, queues: new Map() }]));
  },

  prune: {
    async list(api, owned) {
      const pools = await readPools(api, [...owned]);
      return new Map([...pools].map(([name, pool]) => [name, { pool, queues: new Map() }]));
    },
    async remove(api, name) {
      await unwrap(api.client.DELETE('/work_pools/{name}', { params: { path: { name } } }));
    },
  },

  diff(desired, current): Diff {
    if (!current) {
      const changes: FieldChange[] = [{ field: 'type', to: desired.type }];
      if (desired.concurrencyLimit !== undefined) changes.push({ field: 'concurrency_limit', to: desired.concurrencyLimit });
      if (desired.baseJobTemplateFile) changes.push({ field: 'base_job_template', to: desired.baseJobTemplateFile });
      for (const queue of desired.queues) changes.push(...queueUpdate(queue, undefined).changes);
      return { action: 'create', changes };
    }
    const { pool, queues } = current;
    if (pool.type !== desired.type) {
      return {
        action: 'update',
        changes: [{ field: 'type', from: pool.type, to: desired.type }],
        problem:
          `the pool's type is "${pool.type}" on the server but "${desired.type}" in ${desired.source.file}; Prefect cannot change a pool's type. ` +
          `Declare type = "${pool.type}", or delete the pool (prefect work-pool delete ${desired.name}) and run again`,
      };
    }
    const { changes } = poolUpdate(desired, pool);
    for (const queue of desired.queues) changes.push(...queueUpdate(queue, queues.get(queue.name)).changes);
    return { action: changes.length > 0 ? 'update' : 'noop', changes };
  },

  async apply(api, item, desired, current) {
    let met: Applied = undefined;
    if (item.action === 'create' && !current) {
      const body: WorkPoolCreate = { name: desired.name, type: desired.type };
      if (desired.description !== undefined) body.description = desired.description;
      if (desired.paused !== undefined) body.is_paused = desired.paused;
      if (desired.concurrencyLimit !== undefined) body.concurrency_limit = desired.concurrencyLimit;
      if (desired.baseJobTemplate) body.base_job_template = desired.baseJobTemplate;
      // Found instead of created: made since we read (another run, or our own retried request whose answer was lost).
      const found = await createOrFind({
        path: '/work_pools/',
        what: 'work pool',
        create: () => api.client.POST('/work_pools/', { body }),
        find: () => unwrapOptional(api.client.GET('/work_pools/{name}', { params: { path: { name: desired.name } } })),
      });
      if (!found) {
        // Prefect creates the `default` queue with every pool; read it so it is patched, not created.
        await applyQueues(api, desired, await readQueues(api, desired.name));
        return;
      }
      current = { pool: found, queues: await readQueues(api, desired.name) };
      const diff = workPoolsKind.diff(desired, current);
      if (diff.problem) throw new Error(diff.problem);
      met = foundMeanwhile(found, diff.action !== 'noop');
    }
    const { body } = poolUpdate(desired, current!.pool);
    if (Object.keys(body).length > 0) {
      await unwrap(api.client.PATCH('/work_pools/{name}', { params: { path: { name: desired.name } }, body }));
    }
    await applyQueues(api, desired, current!.queues);
    return met;
  },
};

async function applyQueues(api: Api, desired: DesiredWorkPool, current: Map<string, WorkQueue>): Promise<void> {
  for (const queue of desired.queues) {
    let existing = current.get(queue.name);
    if (!existing) {
      // Found instead of created: made since we read (another run, or our own retried request).
      existing = await createOrFind({
        path: `/work_pools/${desired.name}/queues`,
        what: 'work queue',
        create: () =>
          api.client.POST('/work_pools/{work_pool_name}/queues', {
            params: { path: { work_pool_name: desired.name } },
            body: { ...queueUpdate(queue, undefined).body, name: queue.name },
          }),
        find: () =>
          unwrapOptional(api.client.GET('/work_pools/{work_pool_name}/queues/{name}', { params: { path: { work_pool_name: desired.name, name: queue.name } } })),
      });
      if (!existing) continue;
    }
    const { body } = queueUpdate(queue, existing);
    if (Object.keys(body).length > 0) {
      await unwrap(
        api.client.PATCH('/work_pools/{work_pool_name}/queues/{name}', {
          params: { path: { work_pool_name: desired.name, name: queue.name } },
          body,
        }),
      );
    }
  }
}
