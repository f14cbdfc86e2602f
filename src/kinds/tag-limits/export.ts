// Tag limits as the [tag_limits] table of the limits manifest: the v2 rows named `tag:<tag>`.
import { tomlKey } from '../../export/toml.js';
import { compareText, type ExportWarning } from '../../export/types.js';
import { defineExport } from '../../reconcile/kind.js';
import { readAllLimitsOnce, type GlobalLimit } from '../global-limits/reconcile.js';
import { TAG_PREFIX, type TagLimit } from './reconcile.js';
import type { Matcher } from '../../config/glob.js';

export interface TagLimitEntry {
  tag: string;
  limit: number;
}

export const tagLimitsExport = defineExport({
  section: 'limits',
  read: (api) => readAllLimitsOnce(api),
  write(rows: GlobalLimit[], { matches }) {
    const warnings: ExportWarning[] = [];
    const entries = tagLimitEntries(rows, matches, warnings);
    return { files: [], manifest: entries.length > 0 ? renderTagLimits(entries) : undefined, warnings, count: entries.length };
  },
  current: (rows) =>
    new Map(
      rows.filter((row) => row.name.startsWith(TAG_PREFIX)).map((row): [string, TagLimit] => {
        const tag = row.name.slice(TAG_PREFIX.length);
        return [tag, { tag, limit: row.limit }];
      }),
    ),
});

export function tagLimitEntries(rows: readonly GlobalLimit[], matches: Matcher, warnings: ExportWarning[]): TagLimitEntry[] {
  const entries: TagLimitEntry[] = [];
  for (const row of [...rows].sort((a, b) => compareText(a.name, b.name))) {
    if (!row.name.startsWith(TAG_PREFIX)) continue;
    const tag = row.name.slice(TAG_PREFIX.length);
    if (!matches(tag)) continue;
    const subject = `tag limit "${tag}"`;
    if (tag === '') {
      warnings.push({ subject, message: 'not exported: a tag limit needs a tag' });
      continue;
    }
    if (row.active === false) {
      warnings.push({ subject, message: 'is inactive on the server, which a limits manifest cannot say: the export declares it with its limit, so a copy is active' });
    }
    if (row.slot_decay_per_second) {
      warnings.push({ subject, message: `has slot_decay_per_second = ${row.slot_decay_per_second}, which a limits manifest cannot say: a copy has none` });
    }
    entries.push({ tag, limit: row.limit });
  }
  return entries;
}

export function renderTagLimits(entries: readonly TagLimitEntry[]): string[] {
  return ['', '[tag_limits]', ...entries.map(({ tag, limit }) => `${tomlKey(tag)} = ${limit}`)];
}
