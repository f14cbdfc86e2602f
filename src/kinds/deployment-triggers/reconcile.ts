// A deployment's triggers: each is an automation owned by the deployment (`owner_resource`
// prefect.deployment.<id>) whose one action runs it, as `prefect deploy` makes them. They are
// matched by name among the automations that only run that deployment; an unnamed trigger has the
// name `prefect deploy` gives it (<deployment>__automation_<n>), so triggers it made are taken over
// in place. A deployment that declares `triggers:` gets exactly those: a trigger openem-config made
// (the ownership record) or `prefect deploy` made (its name) and no longer declared is deleted.
import type { Api } from '../../prefect/client.js';
import type { Diff, Kind } from '../../reconcile/types.js';
import type { CurrentAutomation } from '../automations/reconcile.js';
import { readRunNames } from '../automations/reconcile.js';
import { automationChanges, createAutomation, deleteAutomation, idOf, readAllAutomations, runsOnly, updateAutomation, type Automation, type NamesById } from '../automations/server.js';
import type { DesiredAutomation } from '../automations/spec.js';

export interface DesiredTrigger extends DesiredAutomation {
  /** The deployment it runs, `<flow>/<deployment>`. */
  deployment: string;
}

/** The deployments whose `triggers:` the inputs declare, by key, with their names (for prefect deploy's trigger names). */
export type TriggerScope = ReadonlyMap<string, string>;

export const triggerKey = (deployment: string, name: string): string => `${deployment}/${name}`;

/** The automations that only run one of the deployments in scope, by deployment key and name. */
async function triggersOnServer(api: Api, scope: Iterable<string>): Promise<{ byDeployment: Map<string, Map<string, Automation[]>>; names: NamesById }> {
  const [all, names] = await Promise.all([readAllAutomations(api), readRunNames(api, [])]);
  const wanted = new Set(scope);
  const byDeployment = new Map<string, Map<string, Automation[]>>();
  for (const automation of all) {
    const deployment = runsOnly(automation, names);
    if (deployment === undefined || !wanted.has(deployment)) continue;
    const byName = byDeployment.get(deployment) ?? new Map<string, Automation[]>();
    byName.set(automation.name, [...(byName.get(automation.name) ?? []), automation]);
    byDeployment.set(deployment, byName);
  }
  return { byDeployment, names };
}

const PREFECT_DEPLOY_NAME = /^(.*)__automation_[1-9][0-9]*$/;

export function createTriggersKind(scope: TriggerScope = new Map()): Kind<DesiredTrigger, CurrentAutomation> {
  return {
    name: 'deployment-trigger',
    key: (desired) => triggerKey(desired.deployment, desired.name),

    async read(api, desired) {
      const { byDeployment, names } = await triggersOnServer(api, new Set(desired.map((trigger) => trigger.deployment)));
      const current = new Map<string, CurrentAutomation>();
      for (const trigger of desired) {
        const held = byDeployment.get(trigger.deployment)?.get(trigger.name) ?? [];
        if (held.length === 0) continue;
        current.set(triggerKey(trigger.deployment, trigger.name), {
          automation: held[0]!,
          names,
          ...(held.length > 1 && {
            conflict: `${held.length} automations named "${trigger.name}" run deployment ${trigger.deployment}; openem-config cannot tell which one this trigger is: delete the others on the server, or rename this trigger`,
          }),
        });
      }
      return current;
    },

    // Without --prune too: a deployment that declares `triggers:` has exactly those.
    prune: {
      async list(api, owned) {
        const { byDeployment, names } = await triggersOnServer(api, scope.keys());
        const ownedKeys = new Set(owned);
        const found = new Map<string, CurrentAutomation>();
        for (const [deployment, byName] of byDeployment) {
          for (const [name, held] of byName) {
            const madeByPrefectDeploy = PREFECT_DEPLOY_NAME.exec(name)?.[1] === scope.get(deployment);
            // Two of a name: which one is this tool's cannot be told; neither is deleted.
            if (held.length === 1 && (ownedKeys.has(triggerKey(deployment, name)) || madeByPrefectDeploy)) found.set(triggerKey(deployment, name), { automation: held[0]!, names });
          }
        }
        return found;
      },
      async remove(api, _key, current) {
        await deleteAutomation(api, current.automation.id);
      },
    },

    diff(desired, current): Diff {
      if (current?.conflict) return { action: 'update', changes: [], problem: current.conflict };
      const changes = automationChanges(desired, current?.automation, current?.names ?? new Map());
      if (!current) return { action: 'create', changes };
      return { action: changes.length > 0 ? 'update' : 'noop', changes };
    },

    async apply(api, item, desired, current) {
      if (item.action === 'create' || !current) {
        const id = await idOf(api, 'deployment', desired.deployment);
        if (!id) throw new Error(`deployment ${desired.deployment} was not found when its trigger was written`);
        await createAutomation(api, desired, `prefect.deployment.${id}`);
      } else {
        await updateAutomation(api, current.automation.id, desired);
      }
    },
  };
}
