// Runs kinds in order: read and diff each (the plan), then apply the changes with bounded
// parallelism. A failure on one object is recorded and the others go on.
import type { Api } from '../prefect/client.js';
import type { Logger } from '../log.js';
import type { ItemResult, Kind, KindSummary, PlanItem } from './types.js';

export interface KindInput<Desired = unknown, Current = unknown> {
  kind: Kind<Desired, Current>;
  desired: Desired[];
}

export interface PlannedKind {
  name: string;
  items: PlanItem[];
  /** Set when the current state could not be read; nothing of this kind can be planned then. */
  error?: string;
  /** Carries what apply needs, out of the printable plan. */
  context: {
    kind: Kind<unknown, unknown>;
    desired: Map<string, unknown>;
    current: Map<string, unknown>;
  };
}

export async function planKinds(api: Api, inputs: KindInput[], logger: Logger): Promise<PlannedKind[]> {
  const planned: PlannedKind[] = [];
  for (const { kind, desired } of inputs) {
    const desiredByKey = new Map(desired.map((item) => [kind.key(item), item]));
    const context = { kind, desired: desiredByKey, current: new Map<string, unknown>() };
    if (desired.length === 0) {
      planned.push({ name: kind.name, items: [], context });
      continue;
    }
    try {
      context.current = await kind.read(api, desired);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.error({ event: 'read.failed', kind: kind.name, error: message }, `could not read the current ${kind.name}s: ${message}`);
      planned.push({ name: kind.name, items: [], error: message, context });
      continue;
    }
    const items = [...desiredByKey].map(([key, spec]): PlanItem => {
      const diff = kind.diff(spec, context.current.get(key));
      const item: PlanItem = { kind: kind.name, key, action: diff.action, changes: diff.changes };
      if (diff.problem) item.problem = diff.problem;
      return item;
    });
    planned.push({ name: kind.name, items, context });
  }
  return planned;
}

export interface ApplyOptions {
  concurrency: number;
  logger: Logger;
  /** Called after each write with how many of the planned writes are done. */
  onProgress?: (done: number, total: number) => void;
}

export async function applyPlan(api: Api, planned: PlannedKind[], options: ApplyOptions): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  const total = planned.reduce((sum, kind) => sum + kind.items.filter((item) => item.action !== 'noop' && !item.problem).length, 0);
  let done = 0;
  for (const kind of planned) {
    const pending: PlanItem[] = [];
    for (const item of kind.items) {
      if (item.problem) results.push({ ...item, outcome: 'failed', error: item.problem });
      else if (item.action === 'noop') results.push({ ...item, outcome: 'unchanged' });
      else pending.push(item);
    }
    await forEachLimited(pending, options.concurrency, async (item) => {
      const { kind: impl, desired, current } = kind.context;
      try {
        await impl.apply(api, item, desired.get(item.key), current.get(item.key));
        const outcome = item.action === 'create' ? 'created' : 'updated';
        results.push({ ...item, outcome });
        options.logger.info({ event: 'applied', kind: item.kind, key: item.key, action: item.action }, `${outcome} ${item.kind} ${item.key}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results.push({ ...item, outcome: 'failed', error: message });
        options.logger.error({ event: 'apply.failed', kind: item.kind, key: item.key, action: item.action, error: message }, `${item.kind} ${item.key}: ${message}`);
      }
      done += 1;
      options.onProgress?.(done, total);
    });
  }
  return orderLike(planned, results);
}

/** Results in plan order, whatever order the parallel writes finished in. */
function orderLike(planned: PlannedKind[], results: ItemResult[]): ItemResult[] {
  const byId = new Map(results.map((result) => [`${result.kind}\u0000${result.key}`, result]));
  return planned.flatMap((kind) => kind.items.map((item) => byId.get(`${item.kind}\u0000${item.key}`)!));
}

export function summarize(results: ItemResult[]): Map<string, KindSummary> {
  const summary = new Map<string, KindSummary>();
  for (const result of results) {
    const entry = summary.get(result.kind) ?? { created: 0, updated: 0, unchanged: 0, failed: 0 };
    entry[result.outcome] += 1;
    summary.set(result.kind, entry);
  }
  return summary;
}

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(limit, 1), items.length) }, worker));
}
