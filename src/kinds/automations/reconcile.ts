// Top-level automations. Prefect does not make automation names unique, so an automation is this
// file's when the ownership record lists its name (openem-config made or adopted it) or the entry
// says `adopt: true`; a name held by two automations, or by one openem-config does not own, is
// an input error before any write. No difference, no request: ids and history are kept.
import { InterruptedError, WrittenError, type ConfigIssue } from '../../errors.js';
import type { Api } from '../../prefect/client.js';
import type { Diff, Kind } from '../../reconcile/types.js';
import {
  automationChanges,
  createAutomation,
  declaredIds,
  deleteAutomation,
  readAllAutomations,
  readNames,
  rememberAutomationId,
  unwrittenTargets,
  updateAutomation,
  type Automation,
  type NamesById,
} from './server.js';
import type { DesiredAutomation } from './spec.js';

/** The server's automation a declared one is, with the names its actions point at. */
export interface CurrentAutomation {
  automation: Automation;
  names: NamesById;
  /** Why the declared automation cannot be matched to one of the server's safely. */
  conflict?: string | undefined;
}

/** Names the declared automations' actions give by id, with every name the server's actions point at. */
const namesOfRun = new WeakMap<Api, Promise<NamesById>>();
export function readRunNames(api: Api, declared: readonly DesiredAutomation[]): Promise<NamesById> {
  let names = namesOfRun.get(api);
  if (!names) {
    names = readAllAutomations(api).then((all) => readNames(api, all, declaredIds(declared)));
    namesOfRun.set(api, names);
    names.catch(() => namesOfRun.delete(api));
  }
  return names;
}

/**
 * What a run's apply keeps between automations. Those that name each other (or themselves) cannot
 * all be written with every action at once, since an id exists only once its automation is
 * written: each is written without the actions naming one not written yet, and updated with
 * them as soon as the last of those is written.
 */
interface RunState {
  /** The names this run declares. */
  declared: Set<string>;
  /** Automations written without some actions: their id, and the names they still wait for. */
  waiting: Array<{ id: string; desired: DesiredAutomation; missing: Set<string> }>;
}
const runs = new WeakMap<Api, RunState>();
function runState(api: Api): RunState {
  let state = runs.get(api);
  if (!state) runs.set(api, (state = { declared: new Set(), waiting: [] }));
  return state;
}

async function writeAutomation(api: Api, desired: DesiredAutomation, current: CurrentAutomation | undefined): Promise<void> {
  const state = runState(api);
  const missing = new Set(await unwrittenTargets(api, desired, state.declared));
  const id = current ? current.automation.id : (await createAutomation(api, desired, undefined, missing)).id;
  if (current) await updateAutomation(api, id, desired, missing);
  rememberAutomationId(api, desired.name, id);
  if (missing.size > 0) state.waiting.push({ id, desired, missing });
  // Those that waited for this one (itself included), once it was the last they waited for. This
  // one is written whatever happens to them: a failure is a WrittenError, so that it stays owned.
  const failed: string[] = [];
  let cause: unknown;
  for (const entry of [...state.waiting]) {
    entry.missing.delete(desired.name);
    if (entry.missing.size > 0) continue;
    state.waiting.splice(state.waiting.indexOf(entry), 1);
    try {
      await updateAutomation(api, entry.id, entry.desired);
    } catch (error) {
      const reason = error instanceof InterruptedError ? `stopped by ${error.signal}` : error instanceof Error ? error.message : String(error);
      failed.push(`"${entry.desired.name}" (${reason})`);
      cause ??= error;
    }
  }
  if (failed.length > 0) {
    throw new WrittenError(`written, but adding the actions that name it to ${failed.join(', ')} failed; the next run adds them`, { cause });
  }
}

function matchByName(desired: DesiredAutomation, candidates: Automation[], owned: ReadonlySet<string>, names: NamesById): CurrentAutomation | undefined {
  const [first] = candidates;
  if (!first) return undefined;
  if (candidates.length > 1) {
    return {
      automation: first,
      names,
      conflict: `${candidates.length} automations on the server are named "${desired.name}", and Prefect does not make names unique, so openem-config cannot tell which one this is; rename this automation, or delete the others on the server`,
    };
  }
  if (!owned.has(desired.name) && !desired.adopt) {
    return {
      automation: first,
      names,
      conflict: `an automation named "${desired.name}" is on the server and openem-config does not own it; rename this one, or add \`adopt: true\` to this entry to take that one over`,
    };
  }
  return { automation: first, names };
}

export const automationsKind: Kind<DesiredAutomation, CurrentAutomation> = {
  name: 'automation',
  key: (desired) => desired.name,

  async read(api, desired, owned = []) {
    for (const automation of desired) runState(api).declared.add(automation.name);
    const [all, names] = await Promise.all([readAllAutomations(api), readRunNames(api, desired)]);
    const ownedNames = new Set(owned);
    const current = new Map<string, CurrentAutomation>();
    for (const automation of desired) {
      const found = matchByName(
        automation,
        all.filter((candidate) => candidate.name === automation.name),
        ownedNames,
        names,
      );
      if (found) current.set(automation.name, found);
    }
    return current;
  },

  async lookup(api, keys) {
    const [all, names] = await Promise.all([readAllAutomations(api), readRunNames(api, [])]);
    const wanted = new Set(keys);
    const found = new Map<string, CurrentAutomation>();
    for (const automation of all) if (wanted.has(automation.name) && !found.has(automation.name)) found.set(automation.name, { automation, names });
    return found;
  },

  prune: {
    async list(api, owned) {
      const all = await readAllAutomations(api);
      const names = await readRunNames(api, []);
      const found = new Map<string, CurrentAutomation>();
      for (const name of owned) {
        const held = all.filter((automation) => automation.name === name);
        // Two of that name: which one is ours cannot be told; neither is deleted.
        if (held.length === 1) found.set(name, { automation: held[0]!, names });
      }
      return found;
    },
    async remove(api, _name, current) {
      await deleteAutomation(api, current.automation.id);
    },
  },

  diff(desired, current): Diff {
    if (current?.conflict) return { action: 'update', changes: [], problem: current.conflict };
    const changes = automationChanges(desired, current?.automation, current?.names ?? new Map());
    if (!current) return { action: 'create', changes };
    return { action: changes.length > 0 ? 'update' : 'noop', changes };
  },

  async apply(api, item, desired, current) {
    await writeAutomation(api, desired, item.action === 'create' ? undefined : current);
  },

  // One at a time, in file order: an automation may pause or resume another declared before it
  // (or, named by one declared before it, complete that one's actions once written).
  sequential: true,
};

/** Names that cannot be matched safely, as input errors with the entry's place. */
export function conflictIssues<D extends DesiredAutomation>(desired: readonly D[], current: ReadonlyMap<string, CurrentAutomation>, key: (d: D) => string): ConfigIssue[] {
  return desired.flatMap((automation) => {
    const conflict = current.get(key(automation))?.conflict;
    return conflict ? [{ ...automation.source, message: conflict, severity: 'error' as const }] : [];
  });
}
