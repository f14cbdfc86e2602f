// Automations, from the `automations:` lists of prefect.yaml files (-d).
import { defineKind } from '../../reconcile/kind.js';
import { automationsKind, conflictIssues } from './reconcile.js';
import { automationsExport } from './export.js';
import { checkTemplates } from './server.js';
import { loadAutomations, type DesiredAutomation } from './spec.js';

export const automations = defineKind({
  name: 'automation',
  countKey: 'automations',
  label: ['automation', 'automations'],
  // The automations API; `tags` (sent only when declared) needs a newer server, see requires.
  since: '3.0.0',
  requires: (desired) => (desired.some((automation) => automation.tags.length > 0) ? [{ version: '3.4.7', feature: 'automation tags' }] : []),
  load({ options, env }, issues) {
    const { automations: desired, declared } = loadAutomations(options.deployments, env, issues);
    return { desired, declared };
  },
  key: (desired: DesiredAutomation) => desired.name,
  needsOwnership: true,
  reconcile: () => automationsKind,
  async checkAgainstServer(api, desired, current) {
    return [...conflictIssues(desired, current, (automation) => automation.name), ...(await checkTemplates(api, desired))];
  },
  export: automationsExport,
});
