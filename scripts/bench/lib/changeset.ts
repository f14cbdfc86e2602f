// The change set every tool under test applies, taken from openem-config's own input loader so
// that the Prefect SDK script and the bare-loop floor write exactly the objects openem-config
// writes: the same variables (values and tags), secrets, tag limits, pools and deployments.
import { chmodSync, writeFileSync } from 'node:fs';
import type { DesiredDeployment, DesiredSecret, DesiredTagLimit, DesiredVariable, DesiredWorkPool, JsonValue } from '../../../src/config/types.js';
import { deployments } from '../../../src/kinds/deployments/kind.js';
import { secrets } from '../../../src/kinds/secrets/kind.js';
import { tagLimits } from '../../../src/kinds/tag-limits/kind.js';
import { variables } from '../../../src/kinds/variables/kind.js';
import { workPools } from '../../../src/kinds/work-pools/kind.js';

/** The desired objects of the kinds a changeset holds. */
export interface DesiredState {
  variables: DesiredVariable[];
  secrets: DesiredSecret[];
  tagLimits: DesiredTagLimit[];
  workPools: DesiredWorkPool[];
  deployments: DesiredDeployment[];
}
import { deploymentCreateBody } from '../../../src/kinds/deployments/reconcile.js';
import type { components } from '../../../src/prefect/schema.js';
import { loadInputs, type RunOptions } from '../../../src/run.js';

export interface ChangesetQueue {
  name: string;
  priority?: number;
  concurrency_limit?: number | null;
  description?: string;
  is_paused?: boolean;
}

export interface ChangesetPool {
  name: string;
  type: string;
  description?: string;
  base_job_template?: { [key: string]: JsonValue };
  concurrency_limit?: number | null;
  is_paused?: boolean;
  queues: ChangesetQueue[];
}

export interface ChangesetDeployment {
  flowName: string;
  name: string;
  /** The POST /deployments/ body without flow_id: openem-config's own create body (deploymentCreateBody). */
  body: Omit<components['schemas']['DeploymentCreate'], 'flow_id'>;
}

export interface Changeset {
  variables: Array<{ name: string; value: JsonValue; tags: string[] }>;
  /** Benchmark values only; the file is written with mode 0600 in a temporary directory. */
  secrets: Array<{ name: string; value: string }>;
  tagLimits: Array<{ tag: string; limit: number }>;
  workPools: ChangesetPool[];
  deployments: ChangesetDeployment[];
}

export interface CliInputs {
  variables?: string[];
  secrets?: string[];
  secretsDirs?: string[];
  limits?: string[];
  deployments?: string[];
  flowsDir?: string;
}

/** Loads the inputs exactly as `openem-config validate` does; throws on invalid input. */
export function loadDesired(inputs: CliInputs, env: NodeJS.ProcessEnv): DesiredState {
  // Partial: options this harness does not care about keep their defaults (undefined), and a new
  // option of the CLI does not break the harness.
  const options: Partial<RunOptions> = {
    command: 'validate',
    variables: inputs.variables ?? [],
    secrets: inputs.secrets ?? [],
    secretsDirs: inputs.secretsDirs ?? [],
    secretPairs: [],
    limits: inputs.limits ?? [],
    deployments: inputs.deployments ?? [],
    flowsDir: inputs.flowsDir,
    fromEnv: [],
    stringValues: false,
    keepTrailingNewline: false,
    waitTimeoutMs: 0,
    requestTimeoutMs: 0,
    retries: 0,
    concurrency: 1,
  };
  const { desired } = loadInputs(options as RunOptions, env);
  return {
    variables: desired.get(variables),
    secrets: desired.get(secrets),
    tagLimits: desired.get(tagLimits),
    workPools: desired.get(workPools),
    deployments: desired.get(deployments),
  };
}

export function toChangeset(state: DesiredState): Changeset {
  return {
    variables: state.variables.map((v) => ({ name: v.name, value: v.value, tags: v.tags })),
    secrets: state.secrets.map((s) => ({ name: s.name, value: s.value })),
    tagLimits: state.tagLimits.map((t) => ({ tag: t.tag, limit: t.limit })),
    workPools: state.workPools.map((p) => {
      const pool: ChangesetPool = { name: p.name, type: p.type, queues: [] };
      if (p.description !== undefined) pool.description = p.description;
      if (p.baseJobTemplate !== undefined) pool.base_job_template = p.baseJobTemplate;
      if (p.concurrencyLimit !== undefined) pool.concurrency_limit = p.concurrencyLimit;
      if (p.paused !== undefined) pool.is_paused = p.paused;
      pool.queues = p.queues.map((q) => {
        const queue: ChangesetQueue = { name: q.name };
        if (q.priority !== undefined) queue.priority = q.priority;
        if (q.concurrencyLimit !== undefined) queue.concurrency_limit = q.concurrencyLimit;
        if (q.description !== undefined) queue.description = q.description;
        if (q.paused !== undefined) queue.is_paused = q.paused;
        return queue;
      });
      return pool;
    }),
    deployments: state.deployments.map((d) => {
      const { flow_id: _flowId, ...body } = deploymentCreateBody(d, '');
      return { flowName: d.flowName, name: d.name, body };
    }),
  };
}

export function writeChangeset(path: string, changeset: Changeset): void {
  writeFileSync(path, JSON.stringify(changeset), { mode: 0o600 });
  chmodSync(path, 0o600);
}
