// Global limits as [global_limits.<name>] tables of the limits manifest. The v2 rows of tag limits
// and of deployments' own limits are declared elsewhere (the [tag_limits] table, prefect.yaml).
import type { Matcher } from '../../config/glob.js';
import { tomlTableName } from '../../export/toml.js';
import { compareText, type ExportWarning } from '../../export/types.js';
import { defineExport } from '../../reconcile/kind.js';
import { isGlobalLimitName, readAllLimitsOnce, type GlobalLimit } from './reconcile.js';
import { globalLimitNameProblem } from './spec.js';

export interface GlobalLimitEntry {
  name: string;
  limit: number;
  active: boolean;
  slotDecayPerSecond: number;
}

export const globalLimitsExport = defineExport({
  section: 'limits',
  read: (api) => readAllLimitsOnce(api),
  write(rows: GlobalLimit[], { matches }) {
    const warnings: ExportWarning[] = [];
    const entries = globalLimitEntries(rows, matches, warnings);
    return { files: [], manifest: entries.length > 0 ? renderGlobalLimits(entries) : undefined, warnings, count: entries.length };
  },
  current: (rows) => new Map(rows.filter((row) => isGlobalLimitName(row.name)).map((row) => [row.name, row])),
});

export function globalLimitEntries(rows: readonly GlobalLimit[], matches: Matcher, warnings: ExportWarning[]): GlobalLimitEntry[] {
  const entries: GlobalLimitEntry[] = [];
  for (const row of [...rows].sort((a, b) => compareText(a.name, b.name))) {
    if (!isGlobalLimitName(row.name) || !matches(row.name)) continue;
    const problem = globalLimitNameProblem(row.name);
    if (problem) {
      warnings.push({ subject: `global limit "${row.name}"`, message: `not exported: its name ${problem}` });
      continue;
    }
    entries.push({ name: row.name, limit: row.limit, active: row.active ?? true, slotDecayPerSecond: row.slot_decay_per_second ?? 0 });
  }
  return entries;
}

/** TOML floats need a point: `0.0`, not `0`, so the file says what the server holds. */
function tomlFloat(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

export function renderGlobalLimits(entries: readonly GlobalLimitEntry[]): string[] {
  return entries.flatMap((entry) => [
    '',
    `[${tomlTableName(['global_limits', entry.name])}]`,
    `limit = ${entry.limit}`,
    `active = ${entry.active}`,
    // Written always: a copy on a server whose default decay differs keeps this one.
    `slot_decay_per_second = ${tomlFloat(entry.slotDecayPerSecond)}`,
  ]);
}
