// A deployment's triggers as its `triggers:` in prefect.yaml: every automation that only runs one
// deployment (as `prefect deploy` and openem-config make them), written in the deployment trigger
// shape (the trigger's fields, then name, description, enabled and the run's parameters). The
// deployments part writes them into its entries; this part gives the export their count and the
// server's objects to verify the written file against.
import { protectCredentials, type Finding } from '../../export/credentials.js';
import type { SecretValues } from '../../export/secret-values.js';
import type { JsonObject } from '../../config/json.js';
import { defineExport } from '../../reconcile/kind.js';
import { fileAction, fileTrigger, readServerAutomations, type ServerAutomations } from '../automations/export.js';
import type { CurrentAutomation } from '../automations/reconcile.js';
import { triggerOf, type Automation } from '../automations/server.js';
import { triggerKey } from './reconcile.js';

export interface ServerTriggers extends ServerAutomations {
  /** The trigger automations by deployment key (`<flow>/<deployment>`). */
  byDeployment: Map<string, Automation[]>;
  /** The triggers written into prefect.yaml, by trigger key: filled in by the deployments part. */
  written: Map<string, CurrentAutomation>;
}

/** Read once per export: the deployments part and this one share it (and so what was written). */
const ofExport = new WeakMap<ServerAutomations, ServerTriggers>();
export async function readServerTriggers(api: Parameters<typeof readServerAutomations>[0]): Promise<ServerTriggers> {
  const server = await readServerAutomations(api);
  let triggers = ofExport.get(server);
  if (!triggers) {
    const byDeployment = new Map<string, Automation[]>();
    for (const automation of server.automations) {
      const deployment = triggerOf(automation, server.names);
      if (deployment !== undefined) byDeployment.set(deployment, [...(byDeployment.get(deployment) ?? []), automation]);
    }
    triggers = { ...server, byDeployment, written: new Map() };
    ofExport.set(server, triggers);
  }
  return triggers;
}

/** One trigger in the deployment trigger shape, or why it cannot be written. */
export function triggerEntry(automation: Automation, server: ServerAutomations): JsonObject | string {
  const trigger = fileTrigger(automation.trigger);
  if (typeof trigger === 'string') return trigger;
  const action = fileAction((automation.actions ?? [])[0], server.names);
  if (typeof action === 'string') return action;
  const { type: _type, deployment: _deployment, ...run } = action;
  const entry: JsonObject = { name: automation.name };
  if (automation.description) entry.description = automation.description;
  if (automation.enabled === false) entry.enabled = false;
  return { ...entry, ...trigger, ...run };
}

/**
 * The `triggers:` of one deployment (sorted by name); `warn` hears each one that cannot be written,
 * and `record` marks them written once the deployment's entry is kept. Undefined when the
 * deployment has none: the entry then has no `triggers:` key, which keeps the target's triggers.
 */
export function deploymentTriggerEntries(
  server: ServerTriggers,
  deployment: string,
  warn: (message: string) => void,
  credentials: { secrets: SecretValues; allowPlain: boolean } = { secrets: new Map(), allowPlain: false },
): { entries: JsonObject[]; record: () => void; findings: Finding[] } | undefined {
  const automations = server.byDeployment.get(deployment) ?? [];
  if (automations.length === 0) return undefined;
  const entries: JsonObject[] = [];
  const kept: Automation[] = [];
  const findings: Finding[] = [];
  const sorted = [...automations].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const automation of sorted) {
    const twins = automations.filter((other) => other.name === automation.name).length;
    const entry = twins > 1 ? `${twins} of its triggers are named "${automation.name}", and triggers are matched by name; rename all but one on the server` : triggerEntry(automation, server);
    if (typeof entry === 'string') {
      warn(`its trigger "${automation.name}" is not exported: ${entry}`);
      continue;
    }
    // A trigger's automation resolves no block placeholder: a credential in it is left out, or written when allowed.
    const found = protectCredentials(entry, { path: `triggers[${JSON.stringify(automation.name)}]`, secrets: credentials.secrets, referable: false, allowPlain: credentials.allowPlain }).findings;
    findings.push(...found);
    if (found.some((finding) => finding.action === 'withheld')) continue;
    entries.push(entry);
    kept.push(automation);
  }
  const record = () => {
    for (const automation of kept) server.written.set(triggerKey(deployment, automation.name), { automation, names: server.names });
  };
  return { entries, record, findings };
}

export const deploymentTriggersExport = defineExport({
  section: 'deployments',
  read: (api) => readServerTriggers(api),
  // The deployments part, written first (registry order), has put the triggers into its entries.
  write: (server: ServerTriggers) => ({ files: [], warnings: [], count: server.written.size }),
  current: (server) => server.written,
});
