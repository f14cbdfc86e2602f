// A server edited by hand after a run: plan names each drifted field as old -> new, secrets only
// as changed, and apply puts them back with one write each.
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { DEPLOY_ENV, EXAMPLE_ENV, OLD_COMMAND_LINE, SECRET_VALUES, writeSecretFiles } from '../shared/example-cases.js';
import { clearPoolsAndDeployments, clearServer, getJson, postJson } from '../shared/server.js';

const repo = resolve(import.meta.dirname, '..', '..');
const apiUrl = () => inject('prefectApiUrl');
const env = () => ({
  PREFECT_API_URL: apiUrl(),
  ...writeSecretFiles(),
  ...EXAMPLE_ENV,
  ...DEPLOY_ENV,
});
const args = [...OLD_COMMAND_LINE, '-l', join(repo, 'vars', 'work-pools_dev.toml'), '-d', join(repo, 'vars', 'prefect.yaml')];

async function send(method: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${apiUrl()}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

describe('drift', () => {
  beforeEach(async () => {
    await clearPoolsAndDeployments(apiUrl());
    await clearServer(apiUrl());
  });

  it('shows every hand edit as old -> new, and apply reverts each with one write', async () => {
    expect((await runCli(args, { env: env() })).code).toBe(EXIT.ok);
    await send('PATCH', '/variables/name/s3_region', { value: 'us-east-1' });
    await send('PATCH', '/work_pools/archival-docker-workpool', { concurrency_limit: 9 });
    const deployment = await getJson<{ id: string }>(apiUrl(), '/deployments/name/create_test_dataset/dataset_creation');
    await send('PATCH', `/deployments/${deployment.id}`, { description: 'edited in the UI' });
    const [secret] = await postJson<Array<{ id: string }>>(apiUrl(), '/block_documents/filter', { block_documents: { name: { any_: ['s3-user'] } } });
    await send('PATCH', `/block_documents/${secret!.id}`, { data: { value: 'typed-in-the-ui' }, merge_existing_data: false });
    await postJson(apiUrl(), '/concurrency_limits/', { tag: 'write-to-lts-share', concurrency_limit: 1 });

    const plan = await runCli(['plan', '--detailed-exitcode', ...args], { env: env() });
    expect(plan.code).toBe(EXIT.changesPending);
    expect(plan.stdout.split('\n').filter((line) => line.startsWith('~ '))).toEqual([
      '~ variable s3_region: value: "us-east-1" -> "eu-central-1"',
      '~ secret s3-user: value changed (hidden)',
      '~ tag-limit write-to-lts-share: limit: 1 -> 4',
      '~ work-pool archival-docker-workpool: concurrency_limit: 9 -> 2',
      '~ deployment create_test_dataset/dataset_creation: description: "edited in the UI" -> "Creates a test dataset in the catalogue"',
    ]);
    expect(plan.all).not.toContain('typed-in-the-ui');
    expect(plan.all).not.toContain(SECRET_VALUES.S3_USER_FILE);

    const apply = await runCli(args, { env: env() });
    expect(apply.code).toBe(EXIT.ok);
    expect(apply.writes).toHaveLength(5);
    const again = await runCli(['plan', '--detailed-exitcode', ...args], { env: env() });
    expect(again.code).toBe(EXIT.ok);
  });
});
