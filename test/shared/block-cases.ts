// Blocks of any type, the same cases against the msw fake and a real Prefect server: declared in a
// manifest, checked against the server's block schemas, created and replaced without merging,
// secret fields never shown, pruned when owned.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import type { Target } from './example-cases.js';
import { clearServer, postJson } from './server.js';

/** The block types these cases use, as a Prefect 3.7.2 server registers them (read from one). */
const TYPES = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'block-schemas', 'prefect-3.7.2.json'), 'utf8')) as Record<
  string,
  { name: string; fields: Record<string, unknown>; capabilities: string[]; version: string }
>;

/** Registers the types a server lacks (the fake knows only `secret`), as a Prefect integration would. */
export async function ensureBlockTypes(apiUrl: string): Promise<void> {
  for (const [slug, type] of Object.entries(TYPES)) {
    if ((await fetch(`${apiUrl}/block_types/slug/${slug}`)).ok) continue;
    const created = await postJson<{ id: string }>(apiUrl, '/block_types/', { name: type.name, slug });
    await postJson(apiUrl, '/block_schemas/', { block_type_id: created.id, fields: type.fields, capabilities: type.capabilities, version: type.version });
  }
}

export const SECRETS = {
  slack: 'https://hooks.slack.com/services/T000/B000/sentinel-slack-url',
  registry: 'sentinel-registry-password',
  aws: 'sentinel-aws-secret-key',
  token: 'sentinel-webhook-token',
};

interface Document {
  id: string;
  name: string;
  data: Record<string, unknown>;
  block_type: { slug: string };
  block_document_references: Record<string, { block_document: { name: string } }>;
}

async function readBlocks(apiUrl: string): Promise<Record<string, Document>> {
  const documents = await postJson<Document[]>(apiUrl, '/block_documents/filter', { block_documents: { is_anonymous: { eq_: false } }, include_secrets: true, limit: 200 });
  return Object.fromEntries(documents.filter((d) => d.block_type.slug !== 'openem-config-state').map((d) => [`${d.block_type.slug}/${d.name}`, d]));
}

export async function clearBlocks(apiUrl: string): Promise<void> {
  await clearServer(apiUrl);
  const documents = await postJson<Array<{ id: string }>>(apiUrl, '/block_documents/filter', { block_documents: { is_anonymous: { eq_: false } }, limit: 200 });
  for (const document of documents) await fetch(`${apiUrl}/block_documents/${document.id}`, { method: 'DELETE' });
}

export function configuration(manifest: string, files: Record<string, string> = {}): { dir: string; limits: string } {
  const dir = mkdtempSync(join(tmpdir(), 'openem-blocks-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  writeFileSync(join(dir, 'limits.toml'), manifest);
  return { dir, limits: join(dir, 'limits.toml') };
}

export const MANIFEST = `
[blocks.slack-webhook.alerts]
url = { file = "slack-url.txt" }
notify_type = "failure"

[blocks.docker-registry-credentials.registry]
username = "archiver-bot"
password = { file = "registry-password.txt" }
registry_url = "registry.example.org"

[blocks.aws-credentials.prod]
aws_access_key_id = "AKIAEXAMPLE"
aws_secret_access_key = { env = "AWS_SECRET_ACCESS_KEY" }
region_name = "eu-central-1"

[blocks.s3-bucket.archive]
bucket_name = "archive"
credentials = { block = "aws-credentials/prod" }

[blocks.custom-webhook.hook]
name = "hook"
url = "https://example.org/hook"
secrets = { token = { file = "token.txt" } }

[blocks.local-file-system.scratch]
basepath = "/scratch"
`;

export const FILES = { 'slack-url.txt': `${SECRETS.slack}\n`, 'registry-password.txt': `${SECRETS.registry}\n`, 'token.txt': `${SECRETS.token}\n` };

export function defineBlockCases(target: Target): void {
  const apiUrl = target.apiUrl;
  const env = () => ({ PREFECT_API_URL: apiUrl(), AWS_SECRET_ACCESS_KEY: SECRETS.aws, ...target.env?.() });

  describe('blocks of any type', () => {
  beforeEach(async () => {
    await ensureBlockTypes(apiUrl());
    await clearBlocks(apiUrl());
  });

  it('creates every declared block with its references, shows no secret at debug level, and a second run sends no write', async () => {
    const { limits } = configuration(MANIFEST, FILES);
    const plan = await runCli(['plan', '-l', limits], { env: env(), logLevel: 'debug' });
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.stdout).toContain('+ block slack-webhook/alerts: notify_type = "failure", url (hidden)');
    const apply = await runCli(['apply', '--output', 'json', '-l', limits], { env: env(), logLevel: 'debug' });
    expect(apply.code).toBe(EXIT.ok);
    for (const value of Object.values(SECRETS)) {
      expect(plan.all).not.toContain(value);
      expect(apply.all).not.toContain(value);
    }
    const blocks = await readBlocks(apiUrl());
    expect(Object.keys(blocks).sort()).toEqual([
      'aws-credentials/prod',
      'custom-webhook/hook',
      'docker-registry-credentials/registry',
      'local-file-system/scratch',
      's3-bucket/archive',
      'slack-webhook/alerts',
    ]);
    expect(blocks['slack-webhook/alerts']!.data).toEqual({ url: SECRETS.slack, notify_type: 'failure' });
    expect(blocks['docker-registry-credentials/registry']!.data).toEqual({ username: 'archiver-bot', password: SECRETS.registry, registry_url: 'registry.example.org' });
    expect(blocks['custom-webhook/hook']!.data).toMatchObject({ secrets: { token: SECRETS.token } });
    expect(blocks['s3-bucket/archive']!.block_document_references.credentials!.block_document.name).toBe('prod');
    expect(blocks['s3-bucket/archive']!.data.credentials).toMatchObject({ aws_secret_access_key: SECRETS.aws });

    const again = await runCli(['apply', '-l', limits], { env: env() });
    expect(again.code).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });

  it('replaces a block whose secret file changed with exactly one PATCH, and drops a field taken out of the file', async () => {
    const { dir, limits } = configuration(MANIFEST, FILES);
    expect((await runCli(['apply', '-l', limits], { env: env() })).code).toBe(EXIT.ok);
    writeFileSync(join(dir, 'slack-url.txt'), 'https://hooks.slack.com/services/T000/B000/rotated\n');
    writeFileSync(limits, MANIFEST.replace('notify_type = "failure"\n', ''));
    const plan = await runCli(['plan', '-l', limits], { env: env() });
    expect(plan.stdout).toContain('~ block slack-webhook/alerts: notify_type: "failure" -> null, url changed (hidden)');
    const apply = await runCli(['apply', '-l', limits], { env: env() });
    expect(apply.code).toBe(EXIT.ok);
    expect(apply.writes.filter((w) => w.path.startsWith('/block_documents/')).map((w) => w.method)).toEqual(['PATCH']);
    expect((await readBlocks(apiUrl()))['slack-webhook/alerts']!.data).toEqual({ url: 'https://hooks.slack.com/services/T000/B000/rotated' });
  });

  it('applies a plan saved with relative paths from another directory, and refuses it once a value shaped like a place changes', async () => {
    const manifest = `${MANIFEST}\n[blocks.custom-webhook.shaped]\nname = "shaped"\nurl = "https://example.org/shaped"\njson_data = { source = { file = "a.txt", mode = "r" } }\n`;
    const { dir } = configuration(manifest, FILES);
    const elsewhere = mkdtempSync(join(tmpdir(), 'openem-blocks-plan-'));
    const plan = join(elsewhere, 'plan.json');
    const saved = await runCli(['plan', '--no-project', '-l', 'limits.toml', '--out', plan], { cwd: dir, env: env() });
    expect(saved.code, saved.stderr).toBe(EXIT.ok);
    const applied = await runCli(['apply', plan], { cwd: elsewhere, env: env() });
    expect(applied.code, applied.stderr).toBe(EXIT.ok);
    expect(applied.stdout).toContain('blocks: 7 created');

    const next = join(elsewhere, 'next.json');
    writeFileSync(join(dir, 'limits.toml'), manifest.replace('json_data = { source = { file = "a.txt", mode = "r" } }', 'json_data = { source = { file = "a.txt", mode = "r" }, extra = 1 }'));
    expect((await runCli(['plan', '--no-project', '-l', 'limits.toml', '--out', next], { cwd: dir, env: env() })).code).toBe(EXIT.ok);
    writeFileSync(join(dir, 'limits.toml'), manifest.replace('json_data = { source = { file = "a.txt", mode = "r" } }', 'json_data = { source = { file = "EVIL", mode = "w" }, extra = 1 }'));
    const stale = await runCli(['apply', next], { cwd: elsewhere, env: env() });
    expect(stale.code).toBe(EXIT.stalePlan);
    expect(stale.stderr).toContain('the inputs changed since the plan was made');
    expect(stale.writes).toEqual([]);
  });

  it('refuses a schema violation and a type the server does not have, naming the line, with no write', async () => {
    const { limits } = configuration('[blocks.slack-webhook.bad]\nurl = 5\ncolour = "red"\n\n[blocks.no-such-type.x]\na = 1\n\n[blocks.docker-registry-credentials.half]\nusername = "bot"\n');
    const result = await runCli(['apply', '--output', 'json', '-l', limits], { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    const issues = (JSON.parse(result.stdout) as { error: { issues: Array<{ line: number; key: string; message: string }> } }).error.issues;
    expect(issues.map((i) => [i.line, i.key])).toEqual(
      expect.arrayContaining([
        [2, 'blocks.slack-webhook.bad.url'],
        [3, 'blocks.slack-webhook.bad.colour'],
        [5, 'blocks.no-such-type.x'],
        [8, 'blocks.docker-registry-credentials.half'],
      ]),
    );
    expect(issues.find((i) => i.key === 'blocks.no-such-type.x')!.message).toContain('prefect block register');
    expect(Object.keys(await readBlocks(apiUrl()))).toEqual([]);
  });

  it('takes a secret block declared in [blocks.secret], not also as a secret file', async () => {
    const { dir, limits } = configuration('[blocks.secret.api-key]\nvalue = { file = "api-key.txt" }\n', { 'api-key.txt': `${SECRETS.token}\n` });
    const apply = await runCli(['apply', '-l', limits], { env: env() });
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(EXIT.ok);
    expect((await readBlocks(apiUrl()))['secret/api-key']!.data).toEqual({ value: SECRETS.token });
    expect((await runCli(['apply', '-l', limits], { env: env() })).writes).toEqual([]);
    const twice = await runCli(['apply', '-l', limits, '--secret', `api-key=${join(dir, 'api-key.txt')}`], { env: env() });
    expect(twice.code).toBe(EXIT.invalidInput);
    expect(twice.requests).toEqual([]);
    expect(twice.stderr).toContain('secret block "api-key" is also given as a secret file');
    // Whatever --only selects: the two declarations cannot both hold.
    const selected = await runCli(['apply', '-l', limits, '--secret', `api-key=${join(dir, 'api-key.txt')}`, '--only', 'secrets'], { env: env() });
    expect(selected.code).toBe(EXIT.invalidInput);
    expect(selected.requests).toEqual([]);
  });

  it('moves a secret from a secret file to [blocks.secret] under --prune without deleting it', async () => {
    const { dir, limits } = configuration('[blocks.secret.api-key]\nvalue = { file = "api-key.txt" }\n', { 'api-key.txt': `${SECRETS.token}\n`, 'other.txt': 'other\n' });
    const asFiles = await runCli(['apply', '--secret', `api-key=${join(dir, 'api-key.txt')}`, '--secret', `other=${join(dir, 'other.txt')}`], { env: env() });
    expect(asFiles.code).toBe(EXIT.ok);
    const moved = await runCli(['apply', '--prune', '--secret', `other=${join(dir, 'other.txt')}`, '-l', limits], { env: env() });
    expect(moved.code).toBe(EXIT.ok);
    expect(moved.writes.filter((w) => w.method === 'DELETE')).toEqual([]);
    expect((await readBlocks(apiUrl()))['secret/api-key']!.data).toEqual({ value: SECRETS.token });
    const again = await runCli(['apply', '--prune', '--secret', `other=${join(dir, 'other.txt')}`, '-l', limits], { env: env() });
    expect(again.writes).toEqual([]);
  });

  it('refuses to prune a block that a declared block still refers to', async () => {
    const { limits } = configuration(MANIFEST, FILES);
    expect((await runCli(['apply', '-l', limits], { env: env() })).code).toBe(EXIT.ok);
    const withoutCredentials = configuration(MANIFEST.replace(/\[blocks\.aws-credentials\.prod\][^[]*/, ''), FILES);
    const result = await runCli(['apply', '--prune', '-l', withoutCredentials.limits], { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr).toContain('refers to block aws-credentials/prod, which --prune would delete');
  });

  it('prunes the blocks it owns and no other, never its own record', async () => {
    const { limits } = configuration(MANIFEST, FILES);
    expect((await runCli(['apply', '-l', limits], { env: env() })).code).toBe(EXIT.ok);
    await postJson(apiUrl(), '/block_documents/', await handMadeBlock(apiUrl()));
    const fewer = configuration(MANIFEST.replace(/\[blocks\.local-file-system\.scratch\][^[]*/, ''), FILES);
    const plan = await runCli(['plan', '--prune', '-l', fewer.limits], { env: env() });
    expect(plan.stdout.split('\n').filter((line) => line.startsWith('-'))).toEqual(['- block local-file-system/scratch']);
    expect((await runCli(['apply', '--prune', '-l', fewer.limits], { env: env() })).code).toBe(EXIT.ok);
    const blocks = await readBlocks(apiUrl());
    expect(blocks['local-file-system/scratch']).toBeUndefined();
    expect(blocks['local-file-system/by-hand']).toBeDefined();
    const record = await fetch(`${apiUrl()}/block_types/slug/openem-config-state/block_documents/name/ownership`);
    expect(record.status).toBe(200);
  });

  });
}

async function handMadeBlock(apiUrl: string) {
  const type = await (await fetch(`${apiUrl}/block_types/slug/local-file-system`)).json() as { id: string };
  const [schema] = await postJson<Array<{ id: string }>>(apiUrl, '/block_schemas/filter', { block_schemas: { block_type_id: { any_: [type.id] } }, limit: 1 });
  return { name: 'by-hand', block_type_id: type.id, block_schema_id: schema!.id, data: { basepath: '/by-hand' }, is_anonymous: false };
}
