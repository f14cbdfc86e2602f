// Reads by name in bulk: a batch of 200 unique names is one request, even when all 200 exist.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { DesiredVariable } from '../../src/config/types.js';
import { variablesKind } from '../../src/kinds/variables/reconcile.js';
import { createApi } from '../../src/prefect/client.js';

function countingServer(existing: number) {
  const bodies: Array<{ offset: number; names: string[] }> = [];
  const fetch = async (request: Request): Promise<Response> => {
    if (request.method === 'GET') return new Response(JSON.stringify({ detail: 'CSRF protection is disabled.' }), { status: 422 });
    const body = (await request.json()) as { offset: number; limit: number; variables: { name: { any_: string[] } } };
    bodies.push({ offset: body.offset, names: body.variables.name.any_ });
    const matching = body.variables.name.any_.filter((name) => Number(name.slice(1)) < existing).sort();
    const page = matching.slice(body.offset, body.offset + body.limit).map((name) => ({ id: name, name, value: 1, tags: [] }));
    return new Response(JSON.stringify(page), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, bodies };
}

const desired = (count: number): DesiredVariable[] =>
  Array.from({ length: count }, (_, index) => ({ name: `v${String(index).padStart(4, '0')}`, value: 1, tags: [], source: { file: 'f' } }));

describe('variables read', () => {
  it('sends one filter per 200 names, also when every name exists', async () => {
    const server = countingServer(1000);
    const api = createApi({ apiUrl: 'http://x/api', requestTimeoutMs: 1000, retries: 0, logger: pino({ level: 'silent' }), fetch: server.fetch });
    const found = await variablesKind.read(api, desired(1000));
    expect(found.size).toBe(1000);
    expect(server.bodies.map((b) => [b.offset, b.names.length])).toEqual(Array.from({ length: 5 }, () => [0, 200]));
  });
});
