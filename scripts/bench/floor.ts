// The floor: the fewest HTTP requests that make the same change, sent by a bare sequential loop
// of fetch calls with no validation, no diff, no retries and no logging.
//   cold: the creates only (plus the two reads a secret block create needs: its type and schema ids)
//   noop: the bulk reads only, one per 200 objects of a kind (what any tool must read to know
//         that nothing changed), with each response parsed as JSON
// The harness compiles this file to plain JavaScript and runs it with node, so it pays no
// TypeScript loader either. Prints {"reads":N,"writes":N,"requestMs":N} on stdout.
//
// Usage: node floor.mjs CHANGESET.json API_URL cold|noop
import { readFileSync } from 'node:fs';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

interface Changeset {
  variables: Array<{ name: string; value: Json; tags: string[] }>;
  secrets: Array<{ name: string; value: string }>;
  tagLimits: Array<{ tag: string; limit: number }>;
  workPools: Array<{ name: string; queues: Array<{ name: string; [key: string]: Json }>; [key: string]: Json }>;
  deployments: Array<{ flowName: string; name: string; body: { [key: string]: Json } }>;
}

const PAGE = 200;
/** No loop below sends more than this many pages of one kind. */
const MAX_PAGES = 1000;

const [changesetPath, apiUrl, mode] = process.argv.slice(2);
if (!changesetPath || !apiUrl || (mode !== 'cold' && mode !== 'noop')) {
  throw new Error('usage: node floor.mjs CHANGESET.json API_URL cold|noop');
}
const changes = JSON.parse(readFileSync(changesetPath, 'utf8')) as Changeset;
let reads = 0;
let writes = 0;

async function call(method: string, path: string, body?: Json, write = method !== 'GET' && !/\/filter$/.test(path)): Promise<Json> {
  if (write) writes += 1;
  else reads += 1;
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Json) : null;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Reads pages of a filter until one is short, or until `expected` rows have come. */
async function readAll(path: string, body: { [key: string]: Json }, expected = Infinity): Promise<number> {
  let rows = 0;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = (await call('POST', path, { ...body, limit: PAGE, offset: page * PAGE })) as Json[];
    rows += result.length;
    if (result.length < PAGE || rows >= expected) break;
  }
  return rows;
}

/** One read per 200 names: a name filter can match at most that many rows, so no second page. */
async function readByNames(path: string, names: string[], body: (batch: string[]) => { [key: string]: Json }): Promise<void> {
  for (const batch of chunks([...new Set(names)], PAGE)) {
    await call('POST', path, { ...body(batch), limit: PAGE, offset: 0 });
  }
}

async function cold(): Promise<void> {
  for (const variable of changes.variables) await call('POST', '/variables/', variable);
  if (changes.secrets.length > 0) {
    const type = (await call('GET', '/block_types/slug/secret')) as { id: string };
    const schemas = (await call('POST', '/block_schemas/filter', { block_schemas: { block_type_id: { any_: [type.id] } }, limit: 1 })) as Array<{ id: string }>;
    const schemaId = schemas[0]!.id;
    for (const secret of changes.secrets) {
      await call('POST', '/block_documents/', { name: secret.name, block_type_id: type.id, block_schema_id: schemaId, data: { value: secret.value }, is_anonymous: false });
    }
  }
  for (const limit of changes.tagLimits) await call('POST', '/concurrency_limits/', { tag: limit.tag, concurrency_limit: limit.limit });
  for (const { queues, ...pool } of changes.workPools) {
    await call('POST', '/work_pools/', pool);
    // Prefect creates the queue `default` (priority 1) with every pool: only a difference is sent.
    for (const { name, ...fields } of queues) {
      const isDefault = name === 'default' && Object.entries(fields).every(([key, value]) => key === 'priority' && value === 1);
      if (isDefault) continue;
      if (name === 'default') await call('PATCH', `/work_pools/${encodeURIComponent(pool.name as string)}/queues/default`, fields);
      else await call('POST', `/work_pools/${encodeURIComponent(pool.name as string)}/queues`, { name, ...fields });
    }
  }
  const flowIds = new Map<string, string>();
  for (const deployment of changes.deployments) {
    let flowId = flowIds.get(deployment.flowName);
    if (!flowId) {
      flowId = ((await call('POST', '/flows/', { name: deployment.flowName })) as { id: string }).id;
      flowIds.set(deployment.flowName, flowId);
    }
    await call('POST', '/deployments/', { ...deployment.body, flow_id: flowId });
  }
}

async function noop(): Promise<void> {
  await readByNames('/variables/filter', changes.variables.map((v) => v.name), (names) => ({ variables: { name: { any_: names } } }));
  await readByNames('/block_documents/filter', changes.secrets.map((s) => s.name), (names) => ({
    block_types: { slug: { any_: ['secret'] } },
    block_documents: { name: { any_: names } },
    include_secrets: true,
  }));
  // Tag limits are global limits named tag:<tag>; the v2 filter takes no name, so it pages over all.
  if (changes.tagLimits.length > 0) await readAll('/v2/concurrency_limits/filter', {});
  await readByNames('/work_pools/filter', changes.workPools.map((p) => p.name), (names) => ({ work_pools: { name: { any_: names } } }));
  const queueNames = changes.workPools.flatMap((p) => p.queues.map((q) => q.name));
  // Queues of every pool in one filter (each row names its pool); many pools share a queue name.
  if (queueNames.length > 0) await readAll('/work_queues/filter', { work_queues: { name: { any_: [...new Set(queueNames)] } } });
  const flowNames = changes.deployments.map((d) => d.flowName);
  await readByNames('/flows/filter', flowNames, (names) => ({ flows: { name: { any_: names } } }));
  for (const batch of chunks([...new Set(changes.deployments.map((d) => d.name))], PAGE)) {
    const inBatch = new Set(batch);
    const expected = changes.deployments.filter((d) => inBatch.has(d.name)).length;
    await readAll('/deployments/filter', { deployments: { name: { any_: batch } }, flows: { name: { any_: [...new Set(flowNames)] } } }, expected);
  }
}

const started = performance.now();
await (mode === 'cold' ? cold() : noop());
process.stdout.write(`${JSON.stringify({ reads, writes, requestMs: Math.round(performance.now() - started) })}\n`);
