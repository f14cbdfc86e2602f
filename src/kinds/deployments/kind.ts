// Deployments, from prefect.yaml files (-d), with flow names and parameter schemas read from the
// flow files (--flows-dir).
import { createDeploymentsKind } from './reconcile.js';
import { deploymentKey } from './key.js';
import type { DesiredDeployment } from '../../config/types.js';
import { defineKind } from '../../reconcile/kind.js';
import { deploymentsExport } from './export.js';
import { checkParameters } from './parameters.js';
import { loadDeployments } from './spec.js';

export const deployments = defineKind({
  name: 'deployment',
  countKey: 'deployments',
  label: ['deployment', 'deployments'],
  // Schedules are matched by slug (PATCH by slug, keeping the others): Prefect 3.2.0.
  since: '3.2.0',
  requires(desired) {
    const needs: Array<{ version: string; feature: string }> = [];
    if (desired.some((d) => d.globalConcurrencyLimit)) needs.push({ version: '3.3.6', feature: 'global_concurrency_limit (a deployment sharing a global limit)' });
    if (desired.some((d) => d.concurrency?.gracePeriodSeconds !== undefined)) needs.push({ version: '3.6.6', feature: 'concurrency_limit.grace_period_seconds' });
    return needs;
  },
  load({ options, env }, issues) {
    const desired = loadDeployments(options.deployments, { env, flowsDir: options.flowsDir, strict: options.strict, stepOutputs: options.stepOutputs, prefectVersion: options.prefectVersion }, issues);
    for (const deployment of desired) checkParameters(deployment, issues);
    for (const deployment of desired.filter((d) => d.parameterSchema === undefined)) {
      issues.warn(
        deployment.source,
        `no parameter_openapi_schema and no --flows-dir: the server's schema is kept (a new deployment gets an empty one, not enforced); add flow files with --flows-dir to derive it`,
      );
    }
    return { desired, declared: options.deployments.length > 0 };
  },
  key: (desired: DesiredDeployment) => deploymentKey(desired.flowName, desired.name),
  reconcile: createDeploymentsKind,
  export: deploymentsExport,
});
