// Tag concurrency limits, from the limits manifest (-l).
import type { DesiredTagLimit } from '../../config/types.js';
import { defineKind } from '../../reconcile/kind.js';
import { tagLimitsExport } from './export.js';
import { tagLimitsKind } from './reconcile.js';
import { loadTagLimits, tagLimitsManifest } from './spec.js';

export const tagLimits = defineKind({
  name: 'tag-limit',
  countKey: 'tagLimits',
  label: ['tag limit', 'tag limits'],
  // The v1 routes are in every 3.x; before 3.4.19 tag limits are not rows of the v2 list this kind
  // reads, so there every run re-sends them (upserts, harmless but not a no-op).
  since: '3.0.0',
  manifest: tagLimitsManifest,
  load({ manifest: parts }, issues) {
    return { desired: loadTagLimits(parts, issues), declared: parts.length > 0 };
  },
  key: (desired: DesiredTagLimit) => desired.tag,
  reconcile: () => tagLimitsKind,
  export: tagLimitsExport,
});
