// Global concurrency limits in a limits manifest: `[global_limits.<name>]` with `limit`, `active`
// and `slot_decay_per_second` (a rate limit when above 0).
import { z } from 'zod';
import type { ManifestClaim, ManifestPart } from '../../config/inputs.js';
import { dottedKey, isTable, KIND_NAMES, tomlKind, type TomlValue } from '../../config/toml.js';
import type { IssueList, Source } from '../../errors.js';
import { nameProblem, showName } from '../../config/names.js';

export interface DesiredGlobalLimit {
  name: string;
  limit: number;
  active: boolean;
  /** Only compared and written when declared. */
  slotDecayPerSecond?: number | undefined;
  source: Source;
}

const TABLE = 'global_limits';
/**
 * One global limit as the editors' schema states it; its keys are the ones the loader allows. The
 * loader checks the TOML values itself (integers are bigints there) to the same rules.
 */
const globalLimitSchema = z.strictObject({
  limit: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('slots: an integer of 0 or more'),
  active: z.boolean().describe('default true').optional(),
  slot_decay_per_second: z.number().min(0).describe('a rate limit: slots free themselves at this rate (0 or more)').optional(),
});
const KEYS = Object.keys(globalLimitSchema.shape);
/** Prefect's own limits for tags and for a deployment's own limit share the list; they are not global limits to declare. */
export const RESERVED_PREFIXES = ['tag:', 'deployment:'] as const;

export const globalLimitsManifest: ManifestClaim = {
  claims: (key) => key === TABLE,
  describe: `[${TABLE}]`,
  schema: {
    properties: {
      [TABLE]: z
        .record(z.string(), globalLimitSchema)
        .describe(
          `global concurrency limits by name, shared by deployments with global_concurrency_limit: NAME; names starting with ${RESERVED_PREFIXES.join(' or ')}, Prefect's name rule and a name declared twice are checked by openem-config, not by this schema`,
        ),
    },
  },
};

/** Why a name cannot be a global limit's (a phrase to follow the name), or undefined. */
export function globalLimitNameProblem(name: string): string | undefined {
  const problem = nameProblem('global limit', name);
  if (problem) return problem;
  const reserved = RESERVED_PREFIXES.find((prefix) => name.startsWith(prefix));
  if (reserved) {
    return `starts with "${reserved}", which Prefect keeps for its own limits (${reserved === 'tag:' ? 'declare a tag limit in [tag_limits] instead' : "a deployment's own limit is its concurrency_limit in prefect.yaml"})`;
  }
  return undefined;
}

function number(value: TomlValue | undefined): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Every global limit of the manifests' parts, sorted by name; a name declared twice is an error. */
export function loadGlobalLimits(parts: readonly ManifestPart[], issues: IssueList): DesiredGlobalLimit[] {
  const byName = new Map<string, DesiredGlobalLimit>();
  for (const { entries, at } of parts) {
    const table = entries[TABLE];
    if (table === undefined) continue;
    if (!isTable(table)) {
      issues.error(at(TABLE), `must be tables of limits, e.g. [${TABLE}.database] limit = 5`);
      continue;
    }
    for (const [name, raw] of Object.entries(table)) {
      const where = at(TABLE, name);
      const problem = globalLimitNameProblem(name);
      if (problem) issues.error(where, `global limit name ${showName(name)} ${problem}`);
      if (!isTable(raw)) {
        issues.error(where, `must be a table with limit (and optionally active, slot_decay_per_second), e.g. [${TABLE}.${/^[A-Za-z0-9_-]+$/.test(name) ? name : showName(name)}] limit = 5`);
        continue;
      }
      let ok = problem === undefined;
      const limit = raw.limit;
      if (limit === undefined) {
        issues.error(where, 'add `limit = n`, the number of slots (an integer of 0 or more)');
        ok = false;
      } else if (typeof limit !== 'bigint' || limit < 0n || limit > BigInt(Number.MAX_SAFE_INTEGER)) {
        issues.error(at(TABLE, name, 'limit'), `must be an integer of 0 or more, found ${typeof limit === 'bigint' ? String(limit) : KIND_NAMES[tomlKind(limit)]}`);
        ok = false;
      }
      const active = raw.active;
      if (active !== undefined && typeof active !== 'boolean') {
        issues.error(at(TABLE, name, 'active'), `must be true or false, found ${KIND_NAMES[tomlKind(active)]}`);
        ok = false;
      }
      const decay = raw.slot_decay_per_second;
      const decayValue = number(decay);
      if (decay !== undefined && (decayValue === undefined || decayValue < 0)) {
        issues.error(at(TABLE, name, 'slot_decay_per_second'), `must be a number of 0 or more (slots freed per second, for a rate limit), found ${decayValue ?? KIND_NAMES[tomlKind(decay)]}`);
        ok = false;
      }
      // After the known keys: the issues of a table then come in the order of its lines, mostly.
      for (const key of Object.keys(raw)) {
        if (!KEYS.includes(key)) {
          issues.error(at(TABLE, name, key), `unknown key \`${dottedKey([key])}\`; a global limit has ${KEYS.join(', ')}`);
          ok = false;
        }
      }
      const earlier = byName.get(name);
      if (earlier) {
        issues.error(where, `global limit "${name}" is already declared at ${earlier.source.file}:${earlier.source.line}; declare each limit once`);
        continue;
      }
      if (!ok) continue;
      byName.set(name, {
        name,
        limit: Number(limit),
        active: active === undefined ? true : active === true,
        ...(decayValue !== undefined && { slotDecayPerSecond: decayValue }),
        source: where,
      });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
