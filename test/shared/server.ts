// Reads and clears the objects this project manages, straight through the REST API, so tests
// check what the server holds without going through the code under test.

async function post<T>(apiUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function pages<T>(fetchPage: (offset: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += 200) {
    const page = await fetchPage(offset);
    all.push(...page);
    if (page.length < 200) return all;
  }
}

export interface ServerState {
  variables: Record<string, { value: unknown; tags: string[] }>;
  secrets: Record<string, unknown>;
  tagLimits: Record<string, number>;
}

export async function readState(apiUrl: string, headers: Record<string, string> = {}): Promise<ServerState> {
  const variables = await pages((offset) =>
    post<Array<{ name: string; value: unknown; tags: string[] }>>(apiUrl, '/variables/filter', { limit: 200, offset }, headers),
  );
  const documents = await pages((offset) =>
    post<Array<{ name: string; data: { value?: unknown } }>>(
      apiUrl,
      '/block_documents/filter',
      { block_types: { slug: { any_: ['secret'] } }, include_secrets: true, limit: 200, offset },
      headers,
    ),
  );
  const limits = await pages((offset) =>
    post<Array<{ tag: string; concurrency_limit: number }>>(apiUrl, '/concurrency_limits/filter', { limit: 200, offset }, headers),
  );
  return {
    variables: Object.fromEntries(variables.map((v) => [v.name, { value: v.value, tags: [...v.tags].sort() }])),
    secrets: Object.fromEntries(documents.map((d) => [d.name, d.data.value])),
    tagLimits: Object.fromEntries(limits.map((l) => [l.tag, l.concurrency_limit])),
  };
}

/** Deletes every variable, secret block and tag limit, so each test starts from an empty server. */
export async function clearServer(apiUrl: string, headers: Record<string, string> = {}): Promise<void> {
  const send = async (method: string, path: string): Promise<void> => {
    const response = await fetch(`${apiUrl}${path}`, { method, headers });
    if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status}`);
  };
  const variables = await pages((offset) => post<Array<{ name: string }>>(apiUrl, '/variables/filter', { limit: 200, offset }, headers));
  for (const v of variables) await send('DELETE', `/variables/name/${encodeURIComponent(v.name)}`);
  const documents = await pages((offset) =>
    post<Array<{ id: string }>>(apiUrl, '/block_documents/filter', { block_types: { slug: { any_: ['secret'] } }, limit: 200, offset }, headers),
  );
  for (const d of documents) await send('DELETE', `/block_documents/${d.id}`);
  const limits = await pages((offset) => post<Array<{ tag: string }>>(apiUrl, '/concurrency_limits/filter', { limit: 200, offset }, headers));
  for (const l of limits) await send('DELETE', `/concurrency_limits/tag/${encodeURIComponent(l.tag)}`);
  // openem-config's ownership record, so that each test starts as on a new server.
  const record = await fetch(`${apiUrl}/block_types/slug/openem-config-state/block_documents/name/ownership`, { headers });
  if (record.ok) await send('DELETE', `/block_documents/${((await record.json()) as { id: string }).id}`);
}

/** Deletes every deployment, flow and work pool (the fake has none of these routes). */
export async function clearPoolsAndDeployments(apiUrl: string): Promise<void> {
  const send = async (method: string, path: string): Promise<void> => {
    const response = await fetch(`${apiUrl}${path}`, { method });
    if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status}`);
  };
  const deployments = await pages((offset) => post<Array<{ id: string }>>(apiUrl, '/deployments/filter', { limit: 200, offset }));
  for (const d of deployments) await send('DELETE', `/deployments/${d.id}`);
  const flows = await pages((offset) => post<Array<{ id: string }>>(apiUrl, '/flows/filter', { limit: 200, offset }));
  for (const f of flows) await send('DELETE', `/flows/${f.id}`);
  const pools = await pages((offset) => post<Array<{ name: string }>>(apiUrl, '/work_pools/filter', { limit: 200, offset }));
  for (const p of pools) await send('DELETE', `/work_pools/${encodeURIComponent(p.name)}`);
}

export async function getJson<T>(apiUrl: string, path: string): Promise<T> {
  const response = await fetch(`${apiUrl}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export { post as postJson };

/** Deletes every automation (deployment triggers included). */
export async function clearAutomations(apiUrl: string): Promise<void> {
  const automations = await pages((offset) => post<Array<{ id: string }>>(apiUrl, '/automations/filter', { limit: 200, offset }));
  for (const automation of automations) {
    const response = await fetch(`${apiUrl}/automations/${automation.id}`, { method: 'DELETE' });
    if (!response.ok && response.status !== 404) throw new Error(`DELETE /automations/${automation.id}: ${response.status}`);
  }
}

export interface AutomationRead {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  trigger: { type: string; expect?: string[]; match?: Record<string, unknown>; within?: number; triggers?: unknown[] };
  actions: Array<Record<string, unknown>>;
}

export async function readAutomations(apiUrl: string): Promise<Record<string, AutomationRead>> {
  const automations = await pages((offset) => post<AutomationRead[]>(apiUrl, '/automations/filter', { limit: 200, offset }));
  return Object.fromEntries(automations.map((automation) => [automation.name, automation]));
}
