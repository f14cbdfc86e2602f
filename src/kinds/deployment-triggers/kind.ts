// The triggers of deployments, from `triggers:` in prefect.yaml: automations that run them.
import { defineKind, type DesiredSet } from '../../reconcile/kind.js';
import { conflictIssues } from '../automations/reconcile.js';
import { checkTemplates } from '../automations/server.js';
import { deployments } from '../deployments/kind.js';
import { deploymentTriggersExport } from './export.js';
import { createTriggersKind, triggerKey, type DesiredTrigger } from './reconcile.js';

/** The deployments that declare `triggers:` (an empty list too), by key, with their names. */
function scopeOf(desired: DesiredSet): Map<string, string> {
  return new Map(desired.get(deployments).flatMap((deployment) => (deployment.triggers ? [[deployments.key(deployment), deployment.name] as const] : [])));
}

export const deploymentTriggers = defineKind({
  name: 'deployment-trigger',
  countKey: 'deploymentTriggers',
  label: ['deployment trigger', 'deployment triggers'],
  // The automations API and owner_resource.
  since: '3.0.0',
  load({ loaded }) {
    const desired = loaded.get(deployments).flatMap((deployment) =>
      (deployment.triggers ?? []).map((trigger): DesiredTrigger => ({ ...trigger, deployment: deployments.key(deployment) })),
    );
    return { desired, declared: loaded.get(deployments).some((deployment) => deployment.triggers !== undefined) };
  },
  key: (desired: DesiredTrigger) => triggerKey(desired.deployment, desired.name),
  needsOwnership: true,
  prunesUndeclared: true,
  // `<flow>/<deployment>/<trigger>`: names of flows and deployments hold no `/`.
  partOf: { kind: 'deployment', key: (key: string) => key.split('/').slice(0, 2).join('/') },
  reconcile: (desired) => createTriggersKind(desired ? scopeOf(desired) : undefined),
  async checkAgainstServer(api, desired, current) {
    return [...conflictIssues(desired, current, (trigger) => triggerKey(trigger.deployment, trigger.name)), ...(await checkTemplates(api, desired))];
  },
  export: deploymentTriggersExport,
});
