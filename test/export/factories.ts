// Typed server objects, as the Prefect API returns them, for the export tests: harmless defaults
// and per-test overrides.
import type { Deployment, ServerDeployment } from '../../src/kinds/deployments/export.js';
import type { GlobalLimit } from '../../src/kinds/global-limits/reconcile.js';
import type { Variable } from '../../src/kinds/variables/export.js';
import type { ServerPool, WorkPool, WorkQueue } from '../../src/kinds/work-pools/export.js';
import pino from 'pino';
import { assemble } from '../../src/export/assemble.js';
import type { JsonValue } from '../../src/config/types.js';
import type { SecretValues } from '../../src/export/secret-values.js';
import { createApi, type Api } from '../../src/prefect/client.js';
import type { Matcher } from '../../src/config/glob.js';
import { globalLimits } from '../../src/kinds/global-limits/kind.js';
import { tagLimits } from '../../src/kinds/tag-limits/kind.js';
import { workPools } from '../../src/kinds/work-pools/kind.js';

/** Tag limits, global limits and pools written as export writes them: one limits manifest with its templates. */
export function exportLimits(input: { globalLimits?: GlobalLimit[]; pools?: ServerPool[]; matches: Matcher }) {
  const context = { matches: input.matches, env: {}, scratchFile: () => { throw new Error('not used by these kinds'); } };
  const parts = [
    ...(input.globalLimits ? [tagLimits, globalLimits].map((kind) => ({ kind, written: kind.export!.write(input.globalLimits, context) })) : []),
    ...(input.pools ? [{ kind: workPools, written: workPools.export!.write(input.pools, context) }] : []),
  ];
  const { files, warnings, counts } = assemble(parts);
  return { files, warnings, tagLimits: counts.tagLimits ?? 0, globalLimits: counts.globalLimits ?? 0, workPools: counts.workPools ?? 0 };
}

let ids = 0;
const id = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;
const stamp = '2026-01-01T00:00:00Z';

export function fakeVariable(overrides: Partial<Variable> & Pick<Variable, 'name'>): Variable {
  return { id: id(), created: stamp, updated: stamp, value: 'v', tags: ['openem-config'], ...overrides };
}

export function fakeLimit(name: string, limit: number, overrides: Partial<GlobalLimit> = {}): GlobalLimit {
  return { id: id(), created: stamp, updated: stamp, active: true, name, limit, active_slots: 0, slot_decay_per_second: 0, ...overrides };
}

export const TEMPLATE = {
  job_configuration: { image: '{{ image }}', command: '{{ command }}', env: '{{ env }}' },
  variables: {
    type: 'object',
    properties: {
      image: { type: 'string', title: 'Image', default: 'prefecthq/prefect:3-latest' },
      command: { type: 'string', title: 'Command' },
      env: { type: 'object', title: 'Environment', additionalProperties: { type: 'string' } },
    },
  },
};

export function fakeQueue(overrides: Partial<WorkQueue> & Pick<WorkQueue, 'name'>): WorkQueue {
  return {
    id: id(),
    created: stamp,
    updated: stamp,
    description: null,
    is_paused: false,
    concurrency_limit: null,
    priority: 1,
    work_pool_id: id(),
    filter: null,
    last_polled: null,
    work_pool_name: 'pool',
    status: 'NOT_READY',
    ...overrides,
  } as WorkQueue;
}

export function fakePool(overrides: Partial<WorkPool> & Pick<WorkPool, 'name'>, queues?: WorkQueue[]): ServerPool {
  const pool = {
    id: id(),
    created: stamp,
    updated: stamp,
    description: null,
    type: 'docker',
    base_job_template: TEMPLATE,
    is_paused: false,
    concurrency_limit: null,
    status: 'NOT_READY',
    default_queue_id: id(),
    storage_configuration: { bundle_upload_step: null, bundle_execution_step: null, default_result_storage_block_id: null },
    ...overrides,
  } as WorkPool;
  return { pool, queues: queues ?? [fakeQueue({ name: 'default', description: "The work pool's default queue.", work_pool_name: overrides.name })] };
}

export function fakeDeployment(overrides: Partial<Deployment> & Pick<Deployment, 'name'>, flowName = 'archive-flow'): ServerDeployment {
  const deploymentId = id();
  const deployment = {
    id: deploymentId,
    created: stamp,
    updated: stamp,
    version: null,
    description: null,
    flow_id: id(),
    paused: false,
    schedules: [],
    concurrency_limit: null,
    global_concurrency_limit: null,
    concurrency_options: null,
    job_variables: {},
    parameters: {},
    tags: [],
    labels: {},
    work_queue_name: null,
    work_queue_id: null,
    last_polled: null,
    parameter_openapi_schema: { type: 'object', properties: {} },
    path: null,
    pull_steps: [],
    entrypoint: 'flows/archive.py:archive_flow',
    storage_document_id: null,
    infrastructure_document_id: null,
    created_by: null,
    updated_by: null,
    work_pool_name: null,
    status: 'NOT_READY',
    enforce_parameter_schema: true,
    ...overrides,
  } as Deployment;
  return { deployment, flowName };
}

export function fakeSchedule(schedule: Record<string, unknown>, overrides: Record<string, unknown> = {}): NonNullable<Deployment['schedules']>[number] {
  return {
    id: id(),
    created: stamp,
    updated: stamp,
    deployment_id: null,
    schedule,
    active: true,
    max_scheduled_runs: null,
    parameters: {},
    slug: null,
    ...overrides,
  } as NonNullable<Deployment['schedules']>[number];
}

export function fakeGlobalLimitOf(deploymentId: string, limit: number): GlobalLimit {
  return fakeLimit(`deployment:${deploymentId}`, limit);
}

/** Secret block values by name, as export reads them (in memory). */
export function fakeSecretValues(values: Record<string, JsonValue>): SecretValues {
  return new Map(Object.entries(values));
}

/** A secret block document as `POST /block_documents/filter` returns it with include_secrets. */
export function fakeSecretBlock(name: string, value: JsonValue, overrides: Record<string, unknown> = {}) {
  return { id: id(), created: stamp, updated: stamp, name, data: { value }, block_schema_id: id(), block_type_id: id(), block_type_name: 'Secret', is_anonymous: false, ...overrides };
}

export function fakeAutomation(name: string, overrides: Record<string, unknown> = {}) {
  return { id: id(), created: stamp, updated: stamp, name, description: '', enabled: true, tags: [], trigger: { type: 'event', id: id(), match: {}, match_related: {}, after: [], expect: [], for_each: [], posture: 'Reactive', threshold: 1, within: 0 }, actions: [{ type: 'do-nothing' }], ...overrides };
}

/**
 * An Api whose POST routes answer from `routes` (by path, given the request body), and the requests
 * it was sent: a custom fetch, no shared state. Any other request fails the test.
 */
export function fakeApi(routes: Record<string, (body: Record<string, unknown>) => unknown[]>): { api: Api; sent: Array<{ path: string; body: Record<string, unknown> }> } {
  const sent: Array<{ path: string; body: Record<string, unknown> }> = [];
  const fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname.replace(/^\/api/, '');
    if (request.method === 'GET' && path === '/csrf-token') return new Response(JSON.stringify({ detail: 'CSRF protection is disabled.' }), { status: 422 });
    const route = routes[path];
    if (request.method !== 'POST' || !route) throw new Error(`unexpected request ${request.method} ${path}`);
    const body = (await request.json()) as Record<string, unknown>;
    sent.push({ path, body });
    const rows = route(body);
    const offset = typeof body.offset === 'number' ? body.offset : 0;
    const limit = typeof body.limit === 'number' ? body.limit : 200;
    return new Response(JSON.stringify(rows.slice(offset, offset + limit)), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { api: createApi({ apiUrl: 'http://prefect.test/api', requestTimeoutMs: 1000, retries: 0, logger: pino({ level: 'silent' }), fetch }), sent };
}
