// Global concurrency limits, from the limits manifest (-l); deployments may share one by name.
import type { DesiredGlobalLimit } from '../../config/types.js';
import { defineKind } from '../../reconcile/kind.js';
import { globalLimitsExport } from './export.js';
import { globalLimitsKind } from './reconcile.js';
import { globalLimitsManifest, loadGlobalLimits } from './spec.js';

export const globalLimits = defineKind({
  name: 'global-limit',
  countKey: 'globalLimits',
  label: ['global limit', 'global limits'],
  // Linking a deployment to a shared limit by id (global_concurrency_limit_id) came later than the v2 routes.
  since: '3.0.0',
  manifest: globalLimitsManifest,
  load({ manifest: parts }, issues) {
    return { desired: loadGlobalLimits(parts, issues), declared: parts.some((part) => part.entries.global_limits !== undefined) };
  },
  key: (desired: DesiredGlobalLimit) => desired.name,
  reconcile: () => globalLimitsKind,
  export: globalLimitsExport,
});
