// The fake's own tests. Every expected status and body below was first observed on a real
// Prefect 3.7.2 server; the fake has to give the same answers.
import { setupServer } from 'msw/node';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { components, paths } from '../../src/prefect/schema.js';
import { createPrefectFake, type PrefectFake } from './prefect-fake.js';

type BlockDocument = components['schemas']['BlockDocument'];
type BlockSchema = components['schemas']['BlockSchema'];
type BlockType = components['schemas']['BlockType'];
type Variable = components['schemas']['Variable'];

const fake = createPrefectFake();
const authFake = createPrefectFake({ baseUrl: 'http://auth.fake/api', authString: 'admin:pass' });
const csrfFake = createPrefectFake({ baseUrl: 'http://csrf.fake/api', csrf: true, authString: 'admin:pass' });
const server = setupServer(...fake.handlers, ...authFake.handlers, ...csrfFake.handlers);

// msw 3 renamed onUnhandledRequest to onUnhandledFrame.
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterAll(() => server.close());
beforeEach(() => {
  fake.reset();
  authFake.reset();
  csrfFake.reset();
});

const BASIC = `Basic ${Buffer.from('admin:pass').toString('base64')}`;
const INTEGRITY = {
  detail: 'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.',
};

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  init: { headers?: Record<string, string>; target?: PrefectFake; redirect?: 'follow' | 'manual' } = {},
): Promise<Answer> {
  const target = init.target ?? fake;
  const response = await fetch(`${target.baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: init.redirect ?? 'follow',
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

async function secretType(): Promise<{ type: BlockType; schema: BlockSchema }> {
  const type = (await call('GET', '/block_types/slug/secret')).body as BlockType;
  const schemas = (await call('POST', '/block_schemas/filter', { block_schemas: { block_type_id: { any_: [type.id] } }, limit: 1 }))
    .body as BlockSchema[];
  const schema = schemas[0];
  if (!schema) throw new Error('no secret schema');
  return { type, schema };
}

async function createSecret(name: string, value: unknown, extra: Record<string, unknown> = {}): Promise<Answer> {
  const { type, schema } = await secretType();
  return call('POST', '/block_documents/', { name, block_type_id: type.id, block_schema_id: schema.id, data: { value }, ...extra });
}

describe('root routes', () => {
  it('answers health, ready, version and admin version', async () => {
    expect(await call('GET', '/health')).toMatchObject({ status: 200, body: true });
    expect(await call('GET', '/ready')).toMatchObject({ status: 200, body: { message: 'OK' } });
    expect(await call('GET', '/version')).toMatchObject({ status: 200, body: '0.8.4' });
    expect(await call('GET', '/admin/version')).toMatchObject({ status: 200, body: '3.7.2' });
  });

  it('answers 404 Not Found for an unknown route and records it', async () => {
    expect(await call('POST', '/work_pools/filter', {})).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    expect(await call('GET', '/variables/not-a-uuid')).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    // Starlette routes on the decoded path: %2F splits the segment.
    expect(await call('GET', '/variables/name/a%2Fb')).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /work_pools/filter',
      'GET /variables/not-a-uuid',
      'GET /variables/name/a%2Fb',
    ]);
  });

  it('answers 405 for a known path with another method', async () => {
    expect(await call('PUT', '/variables/name/x', {})).toMatchObject({ status: 405, body: { detail: 'Method Not Allowed' } });
  });

  it('redirects a missing or extra trailing slash with 307, which fetch follows', async () => {
    const manual = await call('POST', '/variables', { name: 'x', value: 1 }, { redirect: 'manual' });
    expect(manual.status).toBe(307);
    expect(manual.headers.get('location')).toBe('http://prefect.fake/api/variables/');
    expect((await call('POST', '/variables/filter/', {}, { redirect: 'manual' })).status).toBe(307);

    const followed = await call('POST', '/variables', { name: 'x', value: 1 });
    expect(followed.status).toBe(201);
    expect(fake.requests.slice(-2).map((r) => r.path)).toEqual(['/variables', '/variables/']);
  });

  it('rejects an old or malformed X-PREFECT-API-VERSION on API routes only', async () => {
    expect(await call('GET', '/variables/name/x', undefined, { headers: { 'x-prefect-api-version': '0.7.9' } })).toMatchObject({
      status: 400,
      body: { detail: 'The request specified API version 0.7.9 but this server requires version 0.8.0 or higher.' },
    });
    expect(await call('GET', '/variables/name/x', undefined, { headers: { 'x-prefect-api-version': 'abc' } })).toMatchObject({
      status: 400,
      body: { detail: "Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received abc" },
    });
    expect((await call('GET', '/variables/name/x', undefined, { headers: { 'x-prefect-api-version': '0.8.4' } })).status).toBe(404);
    expect((await call('GET', '/health', undefined, { headers: { 'x-prefect-api-version': 'abc' } })).status).toBe(200);
  });

  it('works through a typed openapi-fetch client', async () => {
    const client = createClient<paths>({ baseUrl: fake.baseUrl });
    const created = await client.POST('/variables/', { body: { name: 'typed', value: { a: 1 }, tags: ['t'] } });
    expect(created.response.status).toBe(201);
    expect(created.data?.value).toEqual({ a: 1 });
    const read = await client.GET('/variables/name/{name}', { params: { path: { name: 'typed' } } });
    expect(read.data?.tags).toEqual(['t']);
    const missing = await client.GET('/variables/name/{name}', { params: { path: { name: 'nope' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toEqual({ detail: 'Variable not found.' });
  });
});

describe('variables', () => {
  it('creates with 201 and the Variable shape', async () => {
    const created = await call('POST', '/variables/', { name: 'b_var', value: { x: [1, 2] }, tags: ['t1'] });
    expect(created.status).toBe(201);
    const variable = created.body as Variable;
    expect(Object.keys(variable)).toEqual(['id', 'created', 'updated', 'name', 'value', 'tags']);
    expect(variable).toMatchObject({ name: 'b_var', value: { x: [1, 2] }, tags: ['t1'] });
    expect(variable.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect((await call('POST', '/variables/', { name: 'no-tags', value: null })).body).toMatchObject({ value: null, tags: [] });
    expect(fake.state.variables.get('b_var')?.id).toBe(variable.id);
  });

  it('answers 409 for a duplicate name', async () => {
    await call('POST', '/variables/', { name: 'a-var', value: 'x' });
    expect(await call('POST', '/variables/', { name: 'a-var', value: 'y' })).toMatchObject({
      status: 409,
      body: { detail: "A variable with the name 'a-var' already exists." },
    });
  });

  it('answers 422 for bad names, oversized values and unknown keys', async () => {
    expect(await call('POST', '/variables/', { name: 'Bad', value: 'x' })).toMatchObject({
      status: 422,
      body: {
        exception_message: 'Invalid request received.',
        exception_detail: [
          {
            type: 'value_error',
            loc: ['body', 'name'],
            msg: 'Value error, Variable name must only contain lowercase letters, numbers, and dashes or underscores.',
            input: 'Bad',
            ctx: { error: {} },
          },
        ],
        request_body: { name: 'Bad', value: 'x' },
      },
    });
    const long = await call('POST', '/variables/', { name: 'a'.repeat(256), value: 1 });
    expect(long.status).toBe(422);
    expect(long.body).toMatchObject({ exception_detail: [{ type: 'too_long', loc: ['body', 'name'] }] });
    expect((await call('POST', '/variables/', { name: 'a'.repeat(255), value: 1 })).status).toBe(201);

    // The limit is on the JSON encoding: a 4998-character string encodes to exactly 5000 bytes.
    expect((await call('POST', '/variables/', { name: 'fits', value: 'a'.repeat(4998) })).status).toBe(201);
    expect(await call('POST', '/variables/', { name: 'big', value: 'a'.repeat(4999) })).toMatchObject({
      status: 422,
      body: { exception_detail: [{ type: 'value_error', loc: ['body', 'value'], msg: 'Value error, Variable value must be less than 5000 characters' }] },
    });

    expect(await call('POST', '/variables/', { name: 'ok', value: 1, extra: 1 })).toMatchObject({
      status: 422,
      body: { exception_detail: [{ type: 'extra_forbidden', loc: ['body', 'extra'], msg: 'Extra inputs are not permitted', input: 1 }] },
    });
    expect(await call('POST', '/variables/', { name: 'ok' })).toMatchObject({
      status: 422,
      body: { exception_detail: [{ type: 'missing', loc: ['body', 'value'], msg: 'Field required', input: { name: 'ok' } }] },
    });
    expect(fake.state.variables.has('ok')).toBe(false);
  });

  it('reads by name and by id, 404 otherwise', async () => {
    const created = (await call('POST', '/variables/', { name: 'v', value: [1] })).body as Variable;
    expect(await call('GET', '/variables/name/v')).toMatchObject({ status: 200, body: created });
    expect(await call('GET', `/variables/${created.id}`)).toMatchObject({ status: 200, body: created });
    expect(await call('GET', '/variables/name/nope')).toMatchObject({ status: 404, body: { detail: 'Variable not found.' } });
    expect(await call('GET', '/variables/00000000-0000-0000-0000-000000000000')).toMatchObject({ status: 404 });
  });

  it('patches only the keys sent, with 204', async () => {
    const created = (await call('POST', '/variables/', { name: 'v', value: 'old', tags: ['keep'] })).body as Variable;
    const patched = await call('PATCH', '/variables/name/v', { value: { new: true } });
    expect(patched).toMatchObject({ status: 204, body: undefined });
    const read = (await call('GET', '/variables/name/v')).body as Variable;
    expect(read).toMatchObject({ id: created.id, value: { new: true }, tags: ['keep'], created: created.created });
    expect(read.updated! > created.updated!).toBe(true);

    expect((await call('PATCH', '/variables/name/v', { value: null })).status).toBe(204);
    expect(((await call('GET', '/variables/name/v')).body as Variable).value).toBeNull();
    expect(await call('PATCH', '/variables/name/nope', { value: 1 })).toMatchObject({ status: 404, body: { detail: 'Variable not found.' } });
    expect((await call('PATCH', '/variables/name/v', { x: 1 })).status).toBe(422);
  });

  it('renames, and answers the generic 409 for a taken name or a null name or tags', async () => {
    await call('POST', '/variables/', { name: 'one', value: 1 });
    await call('POST', '/variables/', { name: 'two', value: 2 });
    expect(await call('PATCH', '/variables/name/one', { name: 'two' })).toMatchObject({ status: 409, body: INTEGRITY });
    expect(await call('PATCH', '/variables/name/one', { name: null })).toMatchObject({ status: 409, body: INTEGRITY });
    expect(await call('PATCH', '/variables/name/one', { tags: null })).toMatchObject({ status: 409, body: INTEGRITY });
    expect((await call('PATCH', '/variables/name/one', { name: 'uno' })).status).toBe(204);
    expect([...fake.state.variables.keys()].sort()).toEqual(['two', 'uno']);
  });

  it('deletes with 204, then 404', async () => {
    await call('POST', '/variables/', { name: 'v', value: 1 });
    expect((await call('DELETE', '/variables/name/v')).status).toBe(204);
    expect(await call('DELETE', '/variables/name/v')).toMatchObject({ status: 404, body: { detail: 'Variable not found.' } });
  });

  describe('filter and count', () => {
    beforeEach(async () => {
      await call('POST', '/variables/', { name: 'b_var', value: 1, tags: ['t1', 't2'] });
      await call('POST', '/variables/', { name: 'a-var', value: 1 });
      for (const name of ['c-1', 'c-2', 'd_x', 'cap']) await call('POST', '/variables/', { name, value: name, tags: ['t1'] });
    });
    const names = async (body: unknown): Promise<string[]> => {
      const answer = await call('POST', '/variables/filter', body);
      expect(answer.status).toBe(200);
      return (answer.body as Variable[]).map((v) => v.name);
    };

    it('sorts by name by default and pages with limit and offset', async () => {
      expect(await names({})).toEqual(['a-var', 'b_var', 'c-1', 'c-2', 'cap', 'd_x']);
      expect(await names(undefined)).toEqual(['a-var', 'b_var', 'c-1', 'c-2', 'cap', 'd_x']);
      expect(await names({ limit: 2, offset: 1 })).toEqual(['b_var', 'c-1']);
      expect(await names({ limit: 2, offset: 6 })).toEqual([]);
      expect(await names({ limit: null, offset: null, unknown_top_level_key: 1 })).toHaveLength(6);
    });

    it('answers 422 for limit above 200 or below 0 with a plain detail, and for a negative offset', async () => {
      expect(await call('POST', '/variables/filter', { limit: 201 })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be less than or equal to 200.' },
      });
      expect(await call('POST', '/variables/filter', { limit: -1 })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be greater than or equal to 0.' },
      });
      expect((await names({ limit: 200 })).length).toBe(6);
      expect(await call('POST', '/variables/filter', { offset: -1 })).toMatchObject({
        status: 422,
        body: { exception_detail: [{ type: 'greater_than_equal', loc: ['body', 'offset'], ctx: { ge: 0 } }] },
      });
    });

    it('filters by name, tags and id', async () => {
      expect(await names({ variables: { name: { any_: ['c-1', 'cap', 'zz'] } } })).toEqual(['c-1', 'cap']);
      expect(await names({ variables: { name: { like_: 'C' } } })).toEqual(['c-1', 'c-2', 'cap']);
      expect(await names({ variables: { name: { like_: 'd_' } } })).toEqual(['d_x']);
      expect(await names({ variables: { tags: { all_: ['t1', 't2'] } } })).toEqual(['b_var']);
      expect(await names({ variables: { tags: { is_null_: true } } })).toEqual(['a-var']);
      expect(await names({ variables: { tags: { is_null_: false } } })).toHaveLength(5);
      expect(await names({ variables: { operator: 'or_', name: { any_: ['c-1'] }, tags: { is_null_: true } } })).toEqual(['a-var', 'c-1']);
      const id = fake.state.variables.get('cap')?.id;
      expect(await names({ variables: { id: { any_: [id] } } })).toEqual(['cap']);
      expect(await call('POST', '/variables/filter', { variables: { bogus: 1 } })).toMatchObject({
        status: 422,
        body: { exception_detail: [{ type: 'extra_forbidden', loc: ['body', 'variables', 'bogus'] }] },
      });
    });

    it('sorts by the other keys', async () => {
      expect(await names({ sort: 'NAME_DESC' })).toEqual(['d_x', 'cap', 'c-2', 'c-1', 'b_var', 'a-var']);
      expect(await names({ sort: 'CREATED_DESC' })).toEqual(['cap', 'd_x', 'c-2', 'c-1', 'a-var', 'b_var']);
      await call('PATCH', '/variables/name/b_var', {});
      expect((await names({ sort: 'UPDATED_DESC' }))[0]).toBe('b_var');
      expect((await call('POST', '/variables/filter', { sort: 'BAD' })).body).toMatchObject({
        exception_detail: [{ type: 'enum', msg: "Input should be 'CREATED_DESC', 'UPDATED_DESC', 'NAME_DESC' or 'NAME_ASC'" }],
      });
    });

    it('counts', async () => {
      expect(await call('POST', '/variables/count', {})).toMatchObject({ status: 200, body: 6 });
      expect((await call('POST', '/variables/count', { variables: { tags: { all_: ['t1'] } } })).body).toBe(5);
    });
  });
});

describe('blocks', () => {
  it('serves the seeded secret block type and its schema', async () => {
    const type = await call('GET', '/block_types/slug/secret');
    expect(type).toMatchObject({ status: 200, body: { name: 'Secret', slug: 'secret', is_protected: true } });
    expect(await call('GET', '/block_types/slug/nope')).toMatchObject({ status: 404, body: { detail: 'Block type not found' } });
    const { schema } = await secretType();
    expect(schema).toMatchObject({
      block_type_id: (type.body as BlockType).id,
      block_type: { slug: 'secret' },
      capabilities: [],
      version: '3.7.2',
      fields: { title: 'Secret', type: 'object', required: ['value'], secret_fields: ['value', 'value'] },
    });
    expect(schema.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('lists block schemas newest first', async () => {
    const { type } = await secretType();
    const older = [...fake.state.blockSchemas.values()][0]!;
    const newer: BlockSchema = { ...older, id: crypto.randomUUID(), created: '2999-01-01T00:00:00.000000Z', version: '9.9.9' };
    fake.state.blockSchemas.set(newer.id, newer);
    const listed = (await call('POST', '/block_schemas/filter', { block_schemas: { block_type_id: { any_: [type.id] } } })).body as BlockSchema[];
    expect(listed.map((s) => s.version)).toEqual(['9.9.9', '3.7.2']);
  });

  it('creates a document with 201 and obfuscated secrets', async () => {
    const created = await createSecret('my-secret', 's3cr3t');
    expect(created.status).toBe(201);
    const doc = created.body as BlockDocument;
    expect(doc).toMatchObject({
      name: 'my-secret',
      data: { value: '********' },
      block_type_name: 'Secret',
      block_type: { slug: 'secret' },
      block_schema: { fields: { title: 'Secret' }, block_type: { slug: 'secret' } },
      block_document_references: {},
      is_anonymous: false,
    });
    expect(fake.state.blockDocuments.get(doc.id)?.data).toEqual({ value: 's3cr3t' });
    expect((await createSecret('number', 42)).body).toMatchObject({ data: { value: '********' } });
    expect((await createSecret('null-value', null)).body).toMatchObject({ data: { value: null } });
  });

  it('returns a secret whose value is a non-empty object in clear, like the real server', async () => {
    expect((await createSecret('dict-secret', { user: 'u', pw: 'p' })).body).toMatchObject({ data: { value: { user: 'u', pw: 'p' } } });
    expect((await createSecret('empty-dict', {})).body).toMatchObject({ data: { value: '********' } });
  });

  it('answers 409 for the same type and name, 422 for bad or missing names, 500 for an unknown type', async () => {
    await createSecret('dup', 'a');
    expect(await createSecret('dup', 'b')).toMatchObject({ status: 409, body: { detail: 'Block already exists' } });
    expect(await createSecret('My_secret', 'a')).toMatchObject({
      status: 422,
      body: {
        exception_detail: [
          { type: 'value_error', loc: ['body', 'name'], msg: 'Value error, Block document name must only contain lowercase letters, numbers, and dashes.' },
        ],
      },
    });
    expect(await createSecret('', 'a')).toMatchObject({
      status: 422,
      body: { exception_detail: [{ type: 'value_error', loc: ['body'], msg: 'Value error, Names must be provided for block documents.' }] },
    });
    const { schema } = await secretType();
    const unknownType = await call('POST', '/block_documents/', {
      name: 'x',
      block_type_id: '00000000-0000-0000-0000-000000000000',
      block_schema_id: schema.id,
      data: {},
    });
    expect(unknownType).toMatchObject({ status: 500, body: { exception_message: 'Internal Server Error' } });
  });

  it('reads by type slug and name, or by id, with or without secrets', async () => {
    const doc = (await createSecret('my-secret', 's3cr3t')).body as BlockDocument;
    const byName = '/block_types/slug/secret/block_documents/name/my-secret';
    expect((await call('GET', byName)).body).toMatchObject({ data: { value: '********' } });
    expect((await call('GET', `${byName}?include_secrets=false`)).body).toMatchObject({ data: { value: '********' } });
    expect((await call('GET', `${byName}?include_secrets=true`)).body).toMatchObject({ id: doc.id, data: { value: 's3cr3t' } });
    expect((await call('GET', `/block_documents/${doc.id}?include_secrets=true`)).body).toMatchObject({ data: { value: 's3cr3t' } });
    expect((await call('GET', `/block_documents/${doc.id}`)).body).toMatchObject({ data: { value: '********' } });
    expect(await call('GET', '/block_types/slug/secret/block_documents/name/nope')).toMatchObject({
      status: 404,
      body: { detail: 'Block document not found' },
    });
    expect((await call('GET', '/block_documents/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await call('GET', `${byName}?include_secrets=bogus`)).body).toMatchObject({
      exception_detail: [{ type: 'bool_parsing', loc: ['query', 'include_secrets'] }],
    });
  });

  it('patches with a shallow merge by default, replaces with merge_existing_data false, keeps a secret sent back obfuscated', async () => {
    const doc = (await createSecret('s', 'original')).body as BlockDocument;
    const data = async (): Promise<unknown> => ((await call('GET', `/block_documents/${doc.id}?include_secrets=true`)).body as BlockDocument).data;

    expect((await call('PATCH', `/block_documents/${doc.id}`, { data: { extra: 'e' } })).status).toBe(204);
    expect(await data()).toEqual({ value: 'original', extra: 'e' });

    await call('PATCH', `/block_documents/${doc.id}`, { data: { value: '********' } });
    expect(await data()).toEqual({ value: 'original', extra: 'e' });

    await call('PATCH', `/block_documents/${doc.id}`, { data: { value: 'new' }, merge_existing_data: false });
    expect(await data()).toEqual({ value: 'new' });

    await call('PATCH', `/block_documents/${doc.id}`, { data: { value: '********' }, merge_existing_data: false });
    expect(await data()).toEqual({ value: 'new' });

    await call('PATCH', `/block_documents/${doc.id}`, { merge_existing_data: false });
    expect(await data()).toEqual({});

    expect(await call('PATCH', '/block_documents/00000000-0000-0000-0000-000000000000', { data: {} })).toMatchObject({
      status: 404,
      body: { detail: 'Block document not found' },
    });
    expect((await call('PATCH', `/block_documents/${doc.id}`, { name: 'renamed' })).body).toMatchObject({
      exception_detail: [{ type: 'extra_forbidden', loc: ['body', 'name'] }],
    });
  });

  it('inlines referenced documents, rejects bad references and cycles, drops references a merge does not resend', async () => {
    const child = (await createSecret('child', 'c-secret')).body as BlockDocument;
    const parent = (await createSecret('parent', 'p', { data: { value: 'p', kid: { $ref: { block_document_id: child.id } } } })).body as BlockDocument;
    expect(parent).toMatchObject({
      data: { value: '********', kid: { value: '********' } },
      block_document_references: { kid: { block_document: { id: child.id, name: 'child', is_anonymous: false, block_document_references: {} } } },
    });
    expect((await call('GET', `/block_documents/${parent.id}?include_secrets=true`)).body).toMatchObject({ data: { kid: { value: 'c-secret' } } });
    expect(fake.state.blockDocuments.get(parent.id)?.data).toEqual({ value: 'p' });

    expect((await createSecret('bad', 'x', { data: { kid: { $ref: {} } } })).body).toEqual({
      detail: 'Received block reference without a block_document_id in key kid',
    });
    expect(await createSecret('bad', 'x', { data: { kid: { $ref: { block_document_id: '00000000-0000-0000-0000-000000000000' } } } })).toMatchObject({
      status: 409,
      body: INTEGRITY,
    });
    const cycle = await call('PATCH', `/block_documents/${child.id}`, { data: { back: { $ref: { block_document_id: parent.id } } } });
    expect(cycle).toMatchObject({ status: 400 });
    expect((cycle.body as { detail: string }).detail).toMatch(/^Cannot create block document reference: it would introduce a cycle/);

    await call('PATCH', `/block_documents/${parent.id}`, { data: { value: 'p2' } });
    expect((await call('GET', `/block_documents/${parent.id}`)).body).toMatchObject({ data: { value: '********' }, block_document_references: {} });
  });

  it('deletes with 204, then 404', async () => {
    const doc = (await createSecret('s', 'v')).body as BlockDocument;
    expect((await call('DELETE', `/block_documents/${doc.id}`)).status).toBe(204);
    expect(await call('DELETE', `/block_documents/${doc.id}`)).toMatchObject({ status: 404, body: { detail: 'Block document not found' } });
  });

  it('filters documents sorted by name, hides anonymous ones by default, pages', async () => {
    for (const name of ['c-sec', 'a-sec', 'b-sec']) await createSecret(name, name);
    const { type, schema } = await secretType();
    const anonymousBody = { block_type_id: type.id, block_schema_id: schema.id, data: { value: 'anon' }, is_anonymous: true };
    const anonymous = (await call('POST', '/block_documents/', anonymousBody)).body as BlockDocument;
    expect(anonymous.name).toMatch(/^anonymous-[0-9a-f-]{36}$/);
    // An empty name fails the name pattern even for an anonymous document.
    expect((await call('POST', '/block_documents/', { ...anonymousBody, name: '' })).body).toMatchObject({
      exception_detail: [{ type: 'string_pattern_mismatch', loc: ['body', 'name'] }],
    });
    const filter = async (body: unknown): Promise<Array<[string | null | undefined, unknown]>> =>
      ((await call('POST', '/block_documents/filter', body)).body as BlockDocument[]).map((d) => [d.name, d.data?.value]);

    expect(await filter({})).toEqual([
      ['a-sec', '********'],
      ['b-sec', '********'],
      ['c-sec', '********'],
    ]);
    expect(await filter({ include_secrets: true, limit: 1, offset: 1 })).toEqual([['b-sec', 'b-sec']]);
    expect(await filter({ block_documents: { name: { any_: ['c-sec', 'a-sec'] } }, block_types: { slug: { any_: ['secret'] } } })).toEqual([
      ['a-sec', '********'],
      ['c-sec', '********'],
    ]);
    expect(await filter({ block_documents: { is_anonymous: { eq_: true } } })).toEqual([[anonymous.name, '********']]);
    expect(await filter({ block_documents: { is_anonymous: null } })).toHaveLength(4);
    expect(await filter({ block_types: { slug: { any_: ['aws-credentials'] } } })).toEqual([]);
    expect((await filter({ sort: 'NAME_DESC' })).map(([name]) => name)).toEqual(['c-sec', 'b-sec', 'a-sec']);
    expect((await call('POST', '/block_documents/filter', { limit: 201 })).status).toBe(422);
    expect((await call('POST', '/block_documents/count', {})).body).toBe(3);
  });
});

describe('concurrency limits', () => {
  it('upserts tag limits through v1: 201 on create, 200 on update, v1-shaped', async () => {
    const created = await call('POST', '/concurrency_limits/', { tag: 'db', concurrency_limit: 3 });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body as object)).toEqual(['id', 'created', 'updated', 'tag', 'concurrency_limit', 'active_slots']);
    expect(created.body).toMatchObject({ tag: 'db', concurrency_limit: 3, active_slots: [] });

    const updated = await call('POST', '/concurrency_limits/', { tag: 'db', concurrency_limit: 5 });
    expect(updated).toMatchObject({ status: 200, body: { id: (created.body as { id: string }).id, concurrency_limit: 5 } });
    expect(fake.state.concurrencyLimits.get('tag:db')).toMatchObject({ name: 'tag:db', limit: 5, active: true });

    expect((await call('POST', '/concurrency_limits/', { tag: 'db', concurrency_limit: -1 })).status).toBe(500);
    expect((await call('POST', '/concurrency_limits/', { tag: 'x', concurrency_limit: 1, extra: 1 })).status).toBe(422);
  });

  it('reads, lists and deletes tag limits', async () => {
    await call('POST', '/concurrency_limits/', { tag: 'db', concurrency_limit: 3 });
    await call('POST', '/v2/concurrency_limits/', { name: 'global-1', limit: 2 });
    expect(await call('GET', '/concurrency_limits/tag/db')).toMatchObject({ status: 200, body: { tag: 'db', concurrency_limit: 3 } });
    expect(await call('GET', '/concurrency_limits/tag/nope')).toMatchObject({ status: 404, body: { detail: 'Concurrency limit not found' } });
    expect(((await call('POST', '/concurrency_limits/filter', {})).body as Array<{ tag: string }>).map((l) => l.tag)).toEqual(['db']);
    expect(await call('DELETE', '/concurrency_limits/tag/db')).toMatchObject({ status: 200, body: null });
    expect((await call('DELETE', '/concurrency_limits/tag/db')).status).toBe(404);
  });

  it('pages the v1 list over all v2 rows, as the server does', async () => {
    await call('POST', '/v2/concurrency_limits/', { name: 'global-1', limit: 2 });
    await call('POST', '/concurrency_limits/', { tag: 'a', concurrency_limit: 1 });
    await call('POST', '/concurrency_limits/', { tag: 'b', concurrency_limit: 1 });
    const tags = async (body: unknown): Promise<string[]> =>
      ((await call('POST', '/concurrency_limits/filter', body)).body as Array<{ tag: string }>).map((l) => l.tag);
    expect(await tags({ limit: 1 })).toEqual([]);
    expect(await tags({ limit: 2, offset: 1 })).toEqual(['b']);
    expect(await tags({})).toEqual(['a', 'b']);
  });

  it('creates, reads, patches, lists and deletes v2 limits', async () => {
    const created = await call('POST', '/v2/concurrency_limits/', { name: 'global-1', limit: 2 });
    expect(created).toMatchObject({
      status: 201,
      body: { name: 'global-1', limit: 2, active: true, active_slots: 0, denied_slots: 0, slot_decay_per_second: 0, avg_slot_occupancy_seconds: 2 },
    });
    const id = (created.body as { id: string }).id;
    expect(await call('POST', '/v2/concurrency_limits/', { name: 'global-1', limit: 2 })).toMatchObject({ status: 409, body: INTEGRITY });
    expect((await call('POST', '/v2/concurrency_limits/', { name: 'bad/name', limit: 2 })).body).toMatchObject({
      exception_detail: [{ type: 'string_pattern_mismatch', loc: ['body', 'name'] }],
    });

    const read = await call('GET', '/v2/concurrency_limits/global-1');
    expect(read.status).toBe(200);
    expect(Object.keys(read.body as object)).toEqual(['id', 'created', 'updated', 'active', 'name', 'limit', 'active_slots', 'slot_decay_per_second']);
    expect((await call('GET', `/v2/concurrency_limits/${id}`)).body).toMatchObject({ name: 'global-1' });
    expect(await call('GET', '/v2/concurrency_limits/nope')).toMatchObject({ status: 404, body: { detail: 'Concurrency Limit not found' } });

    expect((await call('PATCH', '/v2/concurrency_limits/global-1', { limit: 7, active: false })).status).toBe(204);
    expect((await call('GET', '/v2/concurrency_limits/global-1')).body).toMatchObject({ limit: 7, active: false });
    expect((await call('PATCH', '/v2/concurrency_limits/nope', { limit: 1 })).status).toBe(404);
    expect(await call('PATCH', '/v2/concurrency_limits/global-1', { limit: null })).toMatchObject({ status: 409 });

    await call('POST', '/concurrency_limits/', { tag: 'db', concurrency_limit: 1 });
    const listed = (await call('POST', '/v2/concurrency_limits/filter', {})).body as Array<{ name: string }>;
    expect(listed.map((l) => l.name)).toEqual(['global-1', 'tag:db']);
    expect((await call('POST', '/v2/concurrency_limits/filter', { limit: 1, offset: 1 })).body).toMatchObject([{ name: 'tag:db' }]);

    expect((await call('DELETE', '/v2/concurrency_limits/global-1')).status).toBe(204);
    expect((await call('DELETE', '/v2/concurrency_limits/global-1')).status).toBe(404);
  });
});

describe('basic auth', () => {
  it('answers 401 without or with wrong credentials, except GET /health and /ready', async () => {
    const unauthorized = { status: 401, body: { exception_message: 'Unauthorized' } };
    expect(await call('GET', '/variables/name/x', undefined, { target: authFake })).toMatchObject(unauthorized);
    const wrong = `Basic ${Buffer.from('admin:wrong').toString('base64')}`;
    expect(await call('GET', '/variables/name/x', undefined, { target: authFake, headers: { authorization: wrong } })).toMatchObject(unauthorized);
    expect(await call('GET', '/variables/name/x', undefined, { target: authFake, headers: { authorization: 'Bearer x' } })).toMatchObject(unauthorized);
    expect(await call('GET', '/version', undefined, { target: authFake })).toMatchObject(unauthorized);
    expect(await call('GET', '/nope', undefined, { target: authFake })).toMatchObject(unauthorized);
    expect((await call('GET', '/health', undefined, { target: authFake })).status).toBe(200);
    expect((await call('GET', '/ready', undefined, { target: authFake })).status).toBe(200);
    expect(await call('GET', '/variables/name/x', undefined, { target: authFake, headers: { authorization: BASIC } })).toMatchObject({
      status: 404,
      body: { detail: 'Variable not found.' },
    });
  });
});

describe('CSRF', () => {
  it('answers 422 for a token when protection is off', async () => {
    expect(await call('GET', '/csrf-token?client=c1')).toMatchObject({ status: 422, body: { detail: 'CSRF protection is disabled.' } });
    expect((await call('GET', '/csrf-token')).body).toMatchObject({ exception_detail: [{ type: 'missing', loc: ['query', 'client'] }] });
  });

  it('rejects writes without a valid token with 403, before checking auth', async () => {
    const options = { target: csrfFake, headers: { authorization: BASIC } };
    expect(await call('POST', '/variables/', { name: 'a', value: 1 }, options)).toMatchObject({
      status: 403,
      body: { detail: 'Missing CSRF token.' },
    });
    expect(await call('POST', '/variables/', { name: 'a', value: 1 }, { target: csrfFake })).toMatchObject({ status: 403 });
    // Read-only POST routes need the token too.
    expect((await call('POST', '/variables/filter', {}, options)).status).toBe(403);
    // GETs do not.
    expect((await call('GET', '/variables/name/a', undefined, options)).status).toBe(404);

    const tokenAnswer = await call('GET', '/csrf-token?client=c1', undefined, options);
    expect(tokenAnswer.status).toBe(200);
    const token = tokenAnswer.body as components['schemas']['CsrfToken'];
    expect(token.client).toBe('c1');
    expect(token.token).toMatch(/^[0-9a-f]{64}$/);
    const ttl = Date.parse(token.expiration) - Date.now();
    expect(ttl).toBeGreaterThan(59 * 60 * 1000);
    expect(ttl).toBeLessThanOrEqual(60 * 60 * 1000);

    const withHeaders = (extra: Record<string, string>) => ({ target: csrfFake, headers: { authorization: BASIC, ...extra } });
    expect((await call('POST', '/variables/', { name: 'a', value: 1 }, withHeaders({ 'prefect-csrf-token': token.token }))).body).toEqual({
      detail: 'Missing client identifier.',
    });
    expect(
      (await call('POST', '/variables/', { name: 'a', value: 1 }, withHeaders({ 'prefect-csrf-token': 'bad', 'prefect-csrf-client': 'c1' }))).body,
    ).toEqual({ detail: 'Invalid CSRF token or client identifier.' });
    expect(
      (await call('POST', '/variables/', { name: 'a', value: 1 }, withHeaders({ 'prefect-csrf-token': token.token, 'prefect-csrf-client': 'c2' })))
        .status,
    ).toBe(403);
    const good = withHeaders({ 'prefect-csrf-token': token.token, 'prefect-csrf-client': 'c1' });
    expect((await call('POST', '/variables/', { name: 'a', value: 1 }, good)).status).toBe(201);
    // A valid token does not replace basic auth.
    expect(
      (await call('POST', '/variables/', { name: 'b', value: 1 }, { target: csrfFake, headers: { 'prefect-csrf-token': token.token, 'prefect-csrf-client': 'c1' } }))
        .status,
    ).toBe(401);

    // Asking again for the same client replaces the token.
    const second = (await call('GET', '/csrf-token?client=c1', undefined, options)).body as components['schemas']['CsrfToken'];
    expect(second.token).not.toBe(token.token);
    expect((await call('POST', '/variables/', { name: 'b', value: 1 }, good)).status).toBe(403);
  });

  it('rejects an expired token', async () => {
    const shortLived = createPrefectFake({ baseUrl: 'http://short.fake/api', csrf: true, csrfTokenTtlMs: 1 });
    server.use(...shortLived.handlers);
    const token = (await call('GET', '/csrf-token?client=c', undefined, { target: shortLived })).body as { token: string };
    await new Promise((resolve) => setTimeout(resolve, 5));
    const answer = await call('DELETE', '/variables/name/x', undefined, {
      target: shortLived,
      headers: { 'prefect-csrf-token': token.token, 'prefect-csrf-client': 'c' },
    });
    expect(answer).toMatchObject({ status: 403, body: { detail: 'Invalid CSRF token or client identifier.' } });
    server.resetHandlers();
  });
});

describe('fault injection', () => {
  it('answers the next matching request with the injected status, then serves normally', async () => {
    fake.inject({ method: 'POST', path: '/variables/', status: 503 });
    expect(await call('POST', '/variables/', { name: 'v', value: 1 })).toMatchObject({
      status: 503,
      body: { exception_message: 'Service Unavailable' },
    });
    expect(fake.state.variables.size).toBe(0);
    expect((await call('POST', '/variables/', { name: 'v', value: 1 })).status).toBe(201);
    expect(fake.requests).toHaveLength(2);
  });

  it('honours times, method, RegExp paths, body and headers', async () => {
    fake.inject({ method: 'GET', path: /^\/variables\/name\//, times: 2, status: 429, body: { detail: 'slow down' }, headers: { 'retry-after': '1' } });
    expect((await call('POST', '/variables/', { name: 'v', value: 1 })).status).toBe(201);
    const first = await call('GET', '/variables/name/v');
    expect(first).toMatchObject({ status: 429, body: { detail: 'slow down' } });
    expect(first.headers.get('retry-after')).toBe('1');
    expect((await call('GET', '/variables/name/v')).status).toBe(429);
    expect((await call('GET', '/variables/name/v')).status).toBe(200);
  });

  it('fails the request at the network level', async () => {
    fake.inject({ path: '/health', networkError: true });
    await expect(fetch(`${fake.baseUrl}/health`)).rejects.toThrow(TypeError);
    expect(fake.requests.map((r) => r.path)).toEqual(['/health']);
    expect((await call('GET', '/health')).status).toBe(200);
  });

  it('delays a request and then serves it normally', async () => {
    fake.inject({ path: '/health', delayMs: 50 });
    const started = Date.now();
    expect((await call('GET', '/health')).body).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('is applied before auth and CSRF', async () => {
    csrfFake.inject({ path: '/variables/', status: 500 });
    expect(await call('POST', '/variables/', { name: 'a', value: 1 }, { target: csrfFake })).toMatchObject({
      status: 500,
      body: { exception_message: 'Internal Server Error' },
    });
  });
});

describe('request log', () => {
  it('records method, path, query, body and headers', async () => {
    await call('GET', '/block_types/slug/secret/block_documents/name/x?include_secrets=true', undefined, { headers: { 'x-test': 'yes' } });
    await call('POST', '/variables/', { name: 'v', value: 1 });
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      path: '/block_types/slug/secret/block_documents/name/x',
      query: 'include_secrets=true',
      body: undefined,
      headers: { 'x-test': 'yes' },
    });
    expect(fake.requests[1]).toMatchObject({ method: 'POST', path: '/variables/', query: '', body: { name: 'v', value: 1 } });
  });

  it('classifies writes: every POST/PATCH/PUT/DELETE but the read-only POST routes', async () => {
    await call('GET', '/variables/name/v');
    await call('POST', '/variables/filter', {});
    await call('POST', '/variables/count', {});
    await call('POST', '/block_schemas/filter', {});
    await call('POST', '/block_types/filter', {});
    await call('POST', '/block_documents/filter', {});
    await call('POST', '/v2/concurrency_limits/filter', {});
    await call('POST', '/variables/', { name: 'v', value: 1 });
    await call('PATCH', '/variables/name/v', { value: 2 });
    await call('DELETE', '/variables/name/v');
    await call('POST', '/concurrency_limits/', { tag: 't', concurrency_limit: 1 });
    fake.inject({ path: '/variables/name/w', status: 500 });
    await call('DELETE', '/variables/name/w');
    expect(fake.writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /variables/',
      'PATCH /variables/name/v',
      'DELETE /variables/name/v',
      'POST /concurrency_limits/',
      'DELETE /variables/name/w',
    ]);
  });

  it('reset clears state, log and faults, and re-seeds the secret type', async () => {
    await call('POST', '/variables/', { name: 'v', value: 1 });
    await createSecret('s', 'x');
    const oldTypeId = (await secretType()).type.id;
    fake.inject({ path: '/health', status: 500, times: 5 });
    fake.reset();
    expect(fake.requests).toEqual([]);
    expect(fake.state.variables.size).toBe(0);
    expect(fake.state.blockDocuments.size).toBe(0);
    expect((await call('GET', '/health')).status).toBe(200);
    const type = (await call('GET', '/block_types/slug/secret')).body as BlockType;
    expect(type.id).not.toBe(oldTypeId);
  });
});
