// Reads what an export writes, in bulk (200 a page), and only for the selected sections.
import { unwrap, type Api } from '../prefect/client.js';
import type { components } from '../prefect/schema.js';
import { chunks } from '../reconcile/json.js';
import type { Matcher } from './glob.js';
import type { Section } from './types.js';

export type Variable = components['schemas']['Variable'];
export type GlobalLimit = components['schemas']['GlobalConcurrencyLimitResponse'];
export type WorkPool = components['schemas']['WorkPoolResponse'];
export type WorkQueue = components['schemas']['WorkQueueResponse'];
export type Deployment = components['schemas']['DeploymentResponse'];
type BlockDocument = components['schemas']['BlockDocument'];

export interface ServerPool {
  pool: WorkPool;
  queues: WorkQueue[];
}

export interface ServerDeployment {
  deployment: Deployment;
  /** The flow's name, which with the deployment's name is how prefect.yaml and the API name it. */
  flowName: string;
}

/** A named (not anonymous) block document: only its type and name are read, never its data. */
export interface ServerBlock {
  type: string;
  name: string;
}

export interface ServerSnapshot {
  variables: Variable[];
  globalLimits: GlobalLimit[];
  pools: ServerPool[];
  deployments: ServerDeployment[];
  /** Deployments whose flow the server no longer has, by name: they cannot be written. */
  deploymentsWithoutFlow: string[];
  blocks: ServerBlock[];
}

const PAGE = 200;

async function pages<T>(fetchPage: (offset: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await fetchPage(offset);
    all.push(...page);
    if (page.length < PAGE) return all;
  }
}

/** Reads the sections in `only`; pools are filtered by `matches` before their queues are read. */
export async function readServer(api: Api, only: ReadonlySet<Section>, matches: Matcher): Promise<ServerSnapshot> {
  const snapshot: ServerSnapshot = { variables: [], globalLimits: [], pools: [], deployments: [], deploymentsWithoutFlow: [], blocks: [] };
  if (only.has('variables')) {
    snapshot.variables = await pages((offset) =>
      unwrap(api.client.POST('/variables/filter', { body: { sort: 'NAME_ASC', limit: PAGE, offset } })),
    );
  }
  if (only.has('limits')) {
    snapshot.globalLimits = await pages((offset) => unwrap(api.client.POST('/v2/concurrency_limits/filter', { body: { limit: PAGE, offset } })));
  }
  if (only.has('pools')) {
    const pools = await pages((offset) => unwrap(api.client.POST('/work_pools/filter', { body: { limit: PAGE, offset } })));
    for (const pool of pools.filter((p) => matches(p.name))) {
      const queues = await pages((offset) =>
        unwrap(
          api.client.POST('/work_pools/{work_pool_name}/queues/filter', {
            params: { path: { work_pool_name: pool.name } },
            body: { limit: PAGE, offset },
          }),
        ),
      );
      snapshot.pools.push({ pool, queues });
    }
  }
  if (only.has('deployments')) {
    const deployments = await pages((offset) => unwrap(api.client.POST('/deployments/filter', { body: { sort: 'NAME_ASC', limit: PAGE, offset } })));
    const flowNames = new Map<string, string>();
    for (const ids of chunks([...new Set(deployments.map((d) => d.flow_id))], PAGE)) {
      const flows = await unwrap(api.client.POST('/flows/filter', { body: { flows: { operator: 'and_', id: { any_: ids } }, limit: PAGE, offset: 0 } }));
      for (const flow of flows) flowNames.set(flow.id, flow.name);
    }
    for (const deployment of deployments) {
      const flowName = flowNames.get(deployment.flow_id);
      if (flowName !== undefined) snapshot.deployments.push({ deployment, flowName });
      else snapshot.deploymentsWithoutFlow.push(deployment.name);
    }
  }
  if (only.has('secrets')) {
    const documents: BlockDocument[] = await pages((offset) =>
      unwrap(
        api.client.POST('/block_documents/filter', {
          body: { block_documents: { operator: 'and_', is_anonymous: { eq_: false } }, include_secrets: false, sort: 'NAME_ASC', limit: PAGE, offset },
        }),
      ),
    );
    snapshot.blocks = documents
      .filter((document) => document.name)
      .map((document) => ({ type: document.block_type?.slug ?? document.block_type_name ?? 'unknown', name: document.name ?? '' }));
  }
  return snapshot;
}
