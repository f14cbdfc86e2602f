// The legacy forms of a prefect.yaml (Prefect 2-era keys, the single `schedule`, nulls older
// `prefect deploy` versions wrote) and what becomes of each, in one table. The deployments reader
// turns a verdict into a warning (an error under --strict) or an error; `openem-config migrate`
// turns the same verdict into a rewrite of the file, or leaves the key and reports it. Both read
// this table, so a form migrate rewrites is exactly a form the reader converts. The README's table
// of prefect.yaml forms lists every decision.
import { isObject, kindOf, type JsonObject } from '../../config/json.js';
import type { PathPart } from '../../config/templating.js';
import type { JsonValue } from '../../config/types.js';

/** The mapping a legacy key sits in: the file's top level, a deployment, its `work_pool`, or one schedule. */
export type LegacyScope = 'file' | 'deployment' | 'work_pool' | 'schedule';

/**
 * How the current form is reached: the key removed (ignored, or null meaning absent), the single
 * schedule made a one-item `schedules` list, the value replaced by null, or the value made the one
 * item of a list under the same key (a single pull step).
 */
export type LegacyFix = 'remove' | 'to-schedules' | 'to-null' | 'to-list';

export type LegacyVerdict =
  | {
      /** `legacy`: converted or ignored as Prefect 3 does, with a warning (an error under --strict). `quiet`: the same, without a word. */
      outcome: 'legacy' | 'quiet';
      fix: LegacyFix;
      /** What the reader says. */
      message: string;
      /** What migrate prints for its rewrite, e.g. `schedule -> schedules (one entry)`. */
      change: string;
      /** Where below the key the reader reports it (`concurrency_limit` -> `limit`). */
      at?: readonly PathPart[];
    }
  | {
      /** Refused: ignoring or converting it would make flows run differently from what the file says. */
      outcome: 'refused';
      message: string;
      at?: readonly PathPart[];
      /** Reported at the value rather than at the key. */
      place?: 'value';
    };

export interface LegacyRule {
  scope: LegacyScope;
  key: string;
  /** The verdict on `value`, the key's value in `container`; undefined when the value is a current form. */
  judge(value: JsonValue, container: JsonObject): LegacyVerdict | undefined;
}

const IGNORED = 'Prefect 3 ignores it';

export const LEGACY_RULES: readonly LegacyRule[] = [
  {
    scope: 'file',
    key: 'version',
    judge: () => ({
      outcome: 'legacy',
      fix: 'remove',
      message: 'a top-level `version` is ignored, as Prefect 3 ignores it (it is not the version of the deployments); give each deployment its `version:`, and remove this one',
      change: `top-level version removed (${IGNORED}; each deployment has its own \`version:\`)`,
    }),
  },
  {
    scope: 'deployment',
    key: 'version_type',
    judge: () => ({
      outcome: 'legacy',
      fix: 'remove',
      message: '`version_type` is not supported and is ignored; give the version in `version:`',
      change: 'version_type removed (openem-config ignores it; the version is `version:`)',
    }),
  },
  {
    scope: 'deployment',
    key: 'flow_name',
    // Null or empty is absent, as prefect deploy reads it (it names the flow from the imported one
    // anyway): the flow name then comes from --flows-dir.
    judge: (value) =>
      value === null || (typeof value === 'string' && value.trim() === '')
        ? { outcome: 'quiet', fix: 'remove', message: '', change: `flow_name: ${value === null ? 'null' : JSON.stringify(value)} removed (the same as no flow_name)` }
        : undefined,
  },
  {
    scope: 'deployment',
    key: 'schedule',
    judge(schedule, deployment) {
      const empty = schedule === null || (isObject(schedule) && Object.keys(schedule).length === 0);
      const written = schedule === null ? 'null' : '{}';
      if (empty) {
        return {
          outcome: 'legacy',
          fix: 'remove',
          message: `\`schedule: ${written}\` (no schedule, as older prefect deploy wrote it) is ignored, as Prefect 3 ignores it; remove it`,
          change: `schedule: ${written} removed (no schedule)`,
        };
      }
      if ('schedules' in deployment) {
        // _handle_deprecated_schedule_fields raises on this: which of the two was meant is unknown.
        return {
          outcome: 'refused',
          message: '`schedule` and `schedules` are both given, which prefect deploy refuses too; move this schedule into the `schedules:` list and remove `schedule`',
        };
      }
      if (isObject(schedule)) {
        return {
          outcome: 'legacy',
          fix: 'to-schedules',
          message: 'the single `schedule` is converted to a one-item `schedules` list, as Prefect 3 converts it; write it as `schedules: [{...}]`',
          change: 'schedule -> schedules (one entry)',
        };
      }
      return {
        outcome: 'refused',
        place: 'value',
        message: `must be one schedule, a mapping such as \`{cron: "0 3 * * *"}\`, found ${kindOf(schedule)}; for several, write a list under \`schedules:\``,
      };
    },
  },
  {
    scope: 'deployment',
    key: 'is_paused',
    judge: (value, deployment) =>
      value === true && deployment.paused !== true
        ? {
            outcome: 'refused',
            message: '`is_paused` is not read by Prefect 3 (prefect deploy ignores it, and the deployment would run on its schedules); write `paused: true` instead',
          }
        : { outcome: 'legacy', fix: 'remove', message: '`is_paused` is ignored, as Prefect 3 ignores it; write `paused:` instead, and remove it', change: `is_paused removed (${IGNORED}; the key is \`paused:\`)` },
  },
  {
    scope: 'deployment',
    key: 'is_schedule_active',
    judge: (value, deployment) =>
      value === false && deployment.paused !== true
        ? {
            outcome: 'refused',
            message: '`is_schedule_active` (Prefect 2) is not read by Prefect 3, and the deployment would run on its schedules; write `paused: true`, or `active: false` on each schedule',
          }
        : {
            outcome: 'legacy',
            fix: 'remove',
            message: "`is_schedule_active` (Prefect 2) is ignored, as Prefect 3 ignores it; remove it (`paused:` and each schedule's `active:` say the same now)",
            change: `is_schedule_active removed (${IGNORED}; \`paused:\` and each schedule's \`active:\` say it)`,
          },
  },
  // Prefect 2 wrote the pool and queue beside the deployment; Prefect 3 reads them only under `work_pool:`.
  besideThePool('work_queue_name', 'work_queue_name', 'default'),
  besideThePool('work_pool_name', 'name', undefined),
  {
    scope: 'deployment',
    key: 'concurrency_limit',
    judge: (value) =>
      // prefect deploy sends the limit None: the deployment's own limit is removed, whatever the other options say.
      isObject(value) && 'limit' in value && value.limit === null
        ? {
            outcome: 'legacy',
            fix: 'to-null',
            at: ['limit'],
            message:
              "`limit: null` means no limit: the deployment's own concurrency limit is removed, as prefect deploy removes it, and the other options have no effect; write `concurrency_limit: null`",
            change: 'concurrency_limit with limit: null -> concurrency_limit: null (no limit)',
          }
        : undefined,
  },
  pullMapping('file'),
  pullMapping('deployment'),
  {
    scope: 'work_pool',
    key: 'type',
    judge: () => ({
      outcome: 'legacy',
      fix: 'remove',
      message: "`work_pool.type` is ignored, as Prefect 3 ignores it: a pool's type is set when the pool is created (declare the pool with -l); remove it",
      change: `work_pool.type removed (${IGNORED}; declare the pool and its type with -l)`,
    }),
  },
  {
    scope: 'schedule',
    key: 'catchup',
    judge: (value) =>
      value === true
        ? { outcome: 'refused', message: '`catchup: true` (Prefect 2) is not read by Prefect 3, which never creates missed runs afterwards; remove it' }
        : {
            outcome: 'legacy',
            fix: 'remove',
            message: '`catchup` (Prefect 2) is ignored: Prefect 3 has no such setting and never creates missed runs afterwards (prefect deploy 3.x refuses the whole file for it); remove it',
            change: 'catchup removed (Prefect 3 has no such setting)',
          },
  },
  {
    scope: 'schedule',
    key: 'max_active_runs',
    judge: (value) =>
      value === null
        ? {
            outcome: 'legacy',
            fix: 'remove',
            message: '`max_active_runs: null` (Prefect 2) is ignored: Prefect 3 has no such setting (prefect deploy 3.x refuses the whole file for it); remove it',
            change: 'max_active_runs: null removed (Prefect 3 has no such setting)',
          }
        : { outcome: 'refused', message: '`max_active_runs` (Prefect 2) is not read by Prefect 3, so runs would not be limited; remove it and give the deployment `concurrency_limit:` instead' },
  },
];

/**
 * `pull:` written as one mapping rather than a list: prefect deploy sends a mapping with steps as a
 * one-step list, and takes an empty one for an absent `pull` (a deployment's then falls back to the
 * top-level steps; the top-level one leaves prefect deploy to add its default step).
 */
function pullMapping(scope: 'file' | 'deployment'): LegacyRule {
  return {
    scope,
    key: 'pull',
    judge(value) {
      if (!isObject(value)) return undefined;
      if (Object.keys(value).length === 0) {
        return {
          outcome: 'legacy',
          fix: 'remove',
          message:
            scope === 'file'
              ? '`pull: {}` is read as no `pull`, as Prefect 3 reads it: no pull steps are stored (prefect deploy would add a `set_working_directory` step to the directory it runs in); remove it'
              : "`pull: {}` is read as no `pull`, as Prefect 3 reads it: the deployment takes the file's top-level `pull` steps; remove it, or write `pull: []`",
          change: scope === 'file' ? 'pull: {} removed (no pull steps)' : "pull: {} removed (the deployment takes the top-level pull steps, as Prefect 3 reads it)",
        };
      }
      return {
        outcome: 'legacy',
        fix: 'to-list',
        message: '`pull` is a mapping, not a list: it is read as a list of this one step, as Prefect 3 reads it; write it as a list (`pull:` then `- <step>: {...}`)',
        change: 'pull -> a list of its one step',
      };
    },
  };
}

/** A deployment-level `key` that Prefect 3 reads only as `work_pool.<under>`, where `fallback` is the default. */
function besideThePool(key: string, under: string, fallback: string | undefined): LegacyRule {
  return {
    scope: 'deployment',
    key,
    judge(value, deployment) {
      const workPool = isObject(deployment.work_pool) ? deployment.work_pool : undefined;
      const effective = workPool?.[under] ?? fallback;
      if (value === null || value === effective) {
        return {
          outcome: 'legacy',
          fix: 'remove',
          message: `a deployment-level \`${key}\` is ignored, as Prefect 3 ignores it; it is \`work_pool.${under}\` now: remove it`,
          change: `${key} removed (${IGNORED}; it is \`work_pool.${under}\`, which says the same)`,
        };
      }
      const now = effective === undefined || effective === null ? 'the deployment would have no work pool' : `runs would go to \`${String(effective)}\``;
      return {
        outcome: 'refused',
        message: `a deployment-level \`${key}\` is not read by Prefect 3 (${now}); move it under \`work_pool:\` as \`${under}: ${typeof value === 'string' ? value : JSON.stringify(value)}\``,
      };
    },
  };
}

export interface LegacyFinding {
  rule: LegacyRule;
  verdict: LegacyVerdict;
}

/** The verdict on each legacy key of `container`, a mapping of `scope`, in the order the keys are written. */
export function legacyFindings(scope: LegacyScope, container: JsonObject): LegacyFinding[] {
  const found: LegacyFinding[] = [];
  for (const [key, value] of Object.entries(container)) {
    const rule = LEGACY_RULES.find((candidate) => candidate.scope === scope && candidate.key === key);
    const verdict = rule?.judge(value, container);
    if (rule && verdict) found.push({ rule, verdict });
  }
  return found;
}

/**
 * `container` in its current form: each finding's fix applied, and each refused key left out (the
 * reader has reported it, and reads the rest). The single schedule becomes `schedules: [it]`.
 */
export function withoutLegacyForms(container: JsonObject, findings: readonly LegacyFinding[]): JsonObject {
  const current: JsonObject = { ...container };
  for (const { rule, verdict } of findings) {
    const value = current[rule.key] ?? null;
    delete current[rule.key];
    if (verdict.outcome === 'refused') continue;
    if (verdict.fix === 'to-null') current[rule.key] = null;
    else if (verdict.fix === 'to-list') current[rule.key] = [value];
    else if (verdict.fix === 'to-schedules') current.schedules = [value];
  }
  return current;
}

/**
 * A prefect.yaml's value as the reader reads its deployments, each legacy form it converts in its
 * current form and each one it refuses as written: what a rewrite by migrate must leave unchanged.
 * `definitions` is left out: it is only where anchors live, and migrate rewrites an anchor there.
 */
export function currentForm(root: JsonValue): JsonValue {
  if (!isObject(root)) return root;
  const { definitions: _definitions, ...rest } = converted(root, 'file');
  if (Array.isArray(rest.deployments)) rest.deployments = rest.deployments.map(currentDeployment);
  return rest;
}

function currentDeployment(entry: JsonValue): JsonValue {
  if (!isObject(entry)) return entry;
  const current = converted(entry, 'deployment');
  if (isObject(current.work_pool)) current.work_pool = converted(current.work_pool, 'work_pool');
  if (Array.isArray(current.schedules)) current.schedules = current.schedules.map((schedule) => (isObject(schedule) ? converted(schedule, 'schedule') : schedule));
  return current;
}

function converted(container: JsonObject, scope: LegacyScope): JsonObject {
  return withoutLegacyForms(
    container,
    legacyFindings(scope, container).filter(({ verdict }) => verdict.outcome !== 'refused'),
  );
}
