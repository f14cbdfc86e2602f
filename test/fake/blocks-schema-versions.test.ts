// A block on an older schema version of its type: moved to the newest schema, and a field that was
// secret in the older version stays hidden when it leaves (the fake can add a schema version).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { postJson } from '../shared/server.js';
import { useFake } from './use-fake.js';

const { fake } = useFake();
const SENTINEL = 'sentinel-old-secret-token';

const schema = (properties: Record<string, unknown>, secret: string[]) => ({ type: 'object', title: 'Hook', properties, required: [], secret_fields: secret, block_type_slug: 'versioned-hook' });

describe('a block whose type got a new schema version', () => {
  it('moves the document to the newest schema and never shows a field that was secret in its older version', async () => {
    const api = fake.baseUrl;
    const type = await postJson<{ id: string }>(api, '/block_types/', { name: 'Versioned Hook', slug: 'versioned-hook' });
    const v1 = await postJson<{ id: string }>(api, '/block_schemas/', {
      block_type_id: type.id,
      fields: schema({ url: { type: 'string' }, token: { type: 'string', format: 'password', writeOnly: true } }, ['token']),
      capabilities: [],
      version: '1',
    });
    await postJson(api, '/block_documents/', { name: 'hook', block_type_id: type.id, block_schema_id: v1.id, data: { url: 'https://a', token: SENTINEL }, is_anonymous: false });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await postJson(api, '/block_schemas/', { block_type_id: type.id, fields: schema({ url: { type: 'string' } }, []), capabilities: [], version: '2' });

    const dir = mkdtempSync(join(tmpdir(), 'openem-block-versions-'));
    writeFileSync(join(dir, 'limits.toml'), '[blocks.versioned-hook.hook]\nurl = "https://a"\n');
    const plan = await runCli(['plan', '--output', 'json', '-l', join(dir, 'limits.toml')], { env: { PREFECT_API_URL: api }, logLevel: 'debug' });
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.all).not.toContain(SENTINEL);
    const items = (JSON.parse(plan.stdout) as { items: Array<{ key: string; changes: Array<{ field: string; secret?: boolean; to?: unknown }> }> }).items;
    expect(items.find((item) => item.key === 'versioned-hook/hook')!.changes).toEqual([
      { field: 'token', secret: true },
      { field: 'block_schema', from: '1', to: '2' },
    ]);
    const apply = await runCli(['apply', '-l', join(dir, 'limits.toml')], { env: { PREFECT_API_URL: api } });
    expect(apply.code).toBe(EXIT.ok);
    expect((await runCli(['apply', '-l', join(dir, 'limits.toml')], { env: { PREFECT_API_URL: api } })).writes).toEqual([]);
  });
});
