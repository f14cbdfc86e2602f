// The kinds openem-config manages, in dependency order: what a kind refers to comes before it
// (apply creates in this order and deletes in the reverse). Everything that loops over kinds
// (loading, validate counts, plan, apply, --prune, reports, version checks) reads this list.
import type { AnyKind } from '../reconcile/kind.js';
import { automations } from './automations/kind.js';
import { blocks } from './blocks/kind.js';
import { deploymentTriggers } from './deployment-triggers/kind.js';
import { deployments } from './deployments/kind.js';
import { globalLimits } from './global-limits/kind.js';
import { secrets } from './secrets/kind.js';
import { tagLimits } from './tag-limits/kind.js';
import { variables } from './variables/kind.js';
import { workPools } from './work-pools/kind.js';

export const KINDS: readonly AnyKind[] = [variables, secrets, tagLimits, globalLimits, blocks, workPools, deployments, deploymentTriggers, automations];
