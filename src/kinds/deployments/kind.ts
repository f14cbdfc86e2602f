// Deployments, from prefect.yaml files (-d), with flow names and parameter schemas read from the
// flow files (--flows-dir).
import { deploymentKey, createDeploymentsKind } from './reconcile.js';
import type { DesiredDeployment } from '../../config/types.js';
import { defineKind } from '../../reconcile/kind.js';
import { deploymentsExport } from './export.js';
import { loadDeployments } from './spec.js';

export const deployments = defineKind({
  name: 'deployment',
  countKey: 'deployments',
  label: ['deployment', 'deployments'],
  since: '3.0.0',
  load({ options, env }, issues) {
    const desired = loadDeployments(options.deployments, { env, flowsDir: options.flowsDir }, issues);
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
