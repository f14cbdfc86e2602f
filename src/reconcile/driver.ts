// Reads and diffs the kinds, all at once (the plan), then applies the changes with bounded
// parallelism. A failure on one object is recorded and the others go on, except when the run is
// stopped (the server refused the credentials or stopped answering mid-run, or a signal came): then
// no other object is started, and each one not done is reported.
import { ApiError, ConnectionError, InterruptedError, WrittenError } from '../errors.js';
import type { Api } from '../prefect/client.js';
import type { Logger } from '../log.js';
import type { Applied, ItemResult, Kind, KindSummary, PlanItem } from './types.js';

export interface KindInput<Desired = unknown, Current = unknown> {
  kind: Kind<Desired, Current>;
  desired: Desired[];
  /** With --prune: the keys the ownership record lists for this kind; owned objects not desired are deleted. */
  prune?: readonly string[];
  /** The keys the ownership record lists for this kind, for a kind whose read needs them. */
  owned?: readonly string[];
}

/** One kind of the plan: plain data, safe to print and to serialise (no secret values). */
export interface PlannedKind {
  name: string;
  items: PlanItem[];
  /** Set when the current state could not be read; nothing of this kind can be planned then. */
  error?: string;
}

/** What apply needs of one kind besides the printable plan: the objects themselves, secrets included. */
export interface KindWork {
  kind: Kind<unknown, unknown>;
  desired: Map<string, unknown>;
  current: Map<string, unknown>;
}

export interface Plan {
  /** The printable plan, in the order of the kinds. */
  kinds: PlannedKind[];
  /** By kind name; never printed. */
  work: Map<string, KindWork>;
}

/** What a run is stopped by (PrefectHttp.stopped): its reason is a ConnectionError or an InterruptedError. */
export interface StopOptions {
  /** Once aborted, no other object is started: each one not started is reported as not done. */
  stop?: AbortSignal | undefined;
}

/** The error of an object the run did not start, by the reason it stopped. */
export function notDone(reason: unknown): string {
  if (reason instanceof InterruptedError) return `not done: the run was stopped by ${reason.signal}`;
  if (reason instanceof ConnectionError && reason.reason === 'unauthorized') return 'not done: the run stopped when the server refused the credentials';
  return 'not done: the run stopped when the server stopped answering';
}

const FOUND_UNCHANGED = 'created meanwhile by someone else (another run?); found as declared';
const FOUND_UPDATED = 'created meanwhile by someone else (another run?); found and updated to the declared state';

export async function planKinds(api: Api, inputs: KindInput[], logger: Logger): Promise<Plan> {
  // The kinds are read at the same time: their reads do not depend on each other, and a no-op
  // run is mostly these reads. The plan keeps the order of the inputs.
  const planned = await Promise.all(inputs.map((input) => planKind(api, input, logger)));
  return { kinds: planned.map(({ kind }) => kind), work: new Map(planned.map(({ kind, work }) => [kind.name, work])) };
}

async function planKind(api: Api, input: KindInput, logger: Logger): Promise<{ kind: PlannedKind; work: KindWork }> {
  const { kind, desired, prune, owned } = input;
  const desiredByKey = new Map(desired.map((item) => [kind.key(item), item]));
  const context: KindWork = { kind, desired: desiredByKey, current: new Map<string, unknown>() };
  const pruning = prune !== undefined && kind.prune !== undefined;
  if (desired.length === 0 && !pruning) return { kind: { name: kind.name, items: [] }, work: context };
  const deletions: PlanItem[] = [];
  try {
    if (desired.length > 0) context.current = await kind.read(api, desired, owned ?? []);
    if (pruning) {
      for (const [key, current] of await kind.prune!.list(api, prune)) {
        if (desiredByKey.has(key)) continue;
        context.current.set(key, current);
        deletions.push({ kind: kind.name, key, action: 'delete', changes: [] });
      }
    }
  } catch (error) {
    // After the run stopped (a refusal, a server gone) this is the reason, naming the request that showed it.
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ event: 'read.failed', kind: kind.name, error: message }, `could not read the current ${kind.name}s: ${message}`);
    return { kind: { name: kind.name, items: [], error: message }, work: context };
  }
  const items = [...desiredByKey].map(([key, spec]): PlanItem => {
    const diff = kind.diff(spec, context.current.get(key));
    const item: PlanItem = { kind: kind.name, key, action: diff.action, changes: diff.changes };
    if (diff.problem) item.problem = diff.problem;
    return item;
  });
  return { kind: { name: kind.name, items: [...deletions.sort((a, b) => a.key.localeCompare(b.key)), ...items] }, work: context };
}

export interface ApplyOptions extends StopOptions {
  concurrency: number;
  logger: Logger;
  /** Called after each write with how many of the planned writes are done. */
  onProgress?: (done: number, total: number) => void;
}

export async function applyPlan(api: Api, plan: Plan, options: ApplyOptions): Promise<ItemResult[]> {
  const planned = plan.kinds;
  const results: ItemResult[] = [];
  const total = planned.reduce((sum, kind) => sum + kind.items.filter((item) => item.action !== 'noop' && !item.problem).length, 0);
  let done = 0;
  // Deletions first, dependents before what they depend on (deployments before their pools).
  const passes: Array<[PlannedKind, PlanItem[]]> = [
    ...[...planned].reverse().map((kind): [PlannedKind, PlanItem[]] => [kind, kind.items.filter((item) => item.action === 'delete')]),
    ...planned.map((kind): [PlannedKind, PlanItem[]] => [kind, kind.items.filter((item) => item.action !== 'delete')]),
  ];
  for (const [kind, items] of passes) {
    const pending: PlanItem[] = [];
    for (const item of items) {
      if (item.problem) results.push({ ...item, outcome: 'failed', error: item.problem });
      else if (item.action === 'noop') results.push({ ...item, outcome: 'unchanged' });
      else pending.push(item);
    }
    const concurrency = plan.work.get(kind.name)?.kind.sequential ? 1 : options.concurrency;
    await forEachLimited(pending, concurrency, async (item) => {
      if (options.stop?.aborted) {
        results.push({ ...item, outcome: 'failed', error: notDone(options.stop.reason), notDone: true });
        return;
      }
      const { kind: impl, desired, current } = plan.work.get(kind.name)!;
      try {
        let applied: Applied = undefined;
        if (item.action === 'delete') {
          await impl.prune!.remove(api, item.key, current.get(item.key)).catch((error: unknown) => {
            // Already gone (another run, or our own retried request whose answer was lost): deleted all the same.
            if (!(error instanceof ApiError && error.status === 404)) throw error;
          });
        } else {
          applied = await impl.apply(api, item, desired.get(item.key), current.get(item.key));
        }
        const result: ItemResult = { ...item, outcome: item.action === 'create' ? 'created' : item.action === 'delete' ? 'deleted' : 'updated' };
        // Not created by this run: said so, or two runs at once would both report every object as created.
        if (applied === 'found-unchanged') Object.assign(result, { outcome: 'unchanged', note: FOUND_UNCHANGED });
        if (applied === 'found-updated') Object.assign(result, { outcome: 'updated', note: FOUND_UPDATED });
        results.push(result);
        options.logger.info(
          { event: 'applied', kind: item.kind, key: item.key, action: item.action, outcome: result.outcome, ...(result.note && { note: result.note }) },
          `${result.outcome} ${item.kind} ${item.key}${result.note ? ` (${result.note})` : ''}`,
        );
      } catch (error) {
        const message =
          error instanceof InterruptedError
            ? `interrupted by ${error.signal} before this object was finished: some of its writes may have been sent; the next run finishes it`
            : error instanceof Error
              ? error.message
              : String(error);
        results.push({ ...item, outcome: 'failed', error: message, ...(error instanceof WrittenError && { written: true as const }) });
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
    const entry = summary.get(result.kind) ?? { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
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
