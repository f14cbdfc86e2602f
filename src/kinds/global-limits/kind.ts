// Global concurrency limits, from the limits manifest (-l); deployments may share one by name.
import { defineKind } from '../../reconcile/kind.js';
import { globalLimitsExport } from './export.js';
import { globalLimitsKind } from './reconcile.js';
import { globalLimitsManifest, loadGlobalLimits, type DesiredGlobalLimit } from './spec.js';

export const globalLimits = defineKind({
  name: 'global-limit',
  countKey: 'globalLimits',
  label: ['global limit', 'global limits'],
  // The v2 routes and fields; a deployment sharing one by id needs 3.3.6 (see the deployments kind).
  since: '3.0.0',
  manifest: globalLimitsManifest,
  load({ manifest: parts }, issues) {
    return { desired: loadGlobalLimits(parts, issues), declared: parts.some((part) => part.entries.global_limits !== undefined) };
  },
  key: (desired: DesiredGlobalLimit) => desired.name,
  reconcile: () => globalLimitsKind,
  export: globalLimitsExport,
});
