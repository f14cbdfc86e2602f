// Work pools and their queues, from the limits manifest (-l).
import type { DesiredWorkPool } from '../../config/types.js';
import { defineKind } from '../../reconcile/kind.js';
import { workPoolsExport } from './export.js';
import { workPoolsKind } from './reconcile.js';
import { loadWorkPoolParts, workPoolsManifest } from './spec.js';

export const workPools = defineKind({
  name: 'work-pool',
  countKey: 'workPools',
  label: ['work pool', 'work pools'],
  since: '3.0.0',
  manifest: workPoolsManifest,
  load({ manifest: parts }, issues) {
    return { desired: loadWorkPoolParts(parts, issues), declared: parts.length > 0 };
  },
  key: (desired: DesiredWorkPool) => desired.name,
  reconcile: () => workPoolsKind,
  export: workPoolsExport,
});
