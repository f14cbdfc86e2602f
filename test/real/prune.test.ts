// --prune against a real server: deletes what openem-config owns and the inputs no longer declare,
// shows deletions first in the plan, and never touches what it does not own.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { DEPLOY_ENV, EXAMPLE_ENV, exampleLimits, exampleVars, SECRET_VALUES, writeSecretFiles } from '../shared/example-cases.js';
import { clearPoolsAndDeployments, clearServer, getJson, postJson, readState } from '../shared/server.js';

const repo = resolve(import.meta.dirname, '..', '..');
const apiUrl = () => inject('prefectApiUrl');
const env = () => ({ PREFECT_API_URL: apiUrl(), ...writeSecretFiles(), ...EXAMPLE_ENV, ...DEPLOY_ENV });
const secretNames = Object.keys(SECRET_VALUES);

function edited(source: string, edit: (text: string) => string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'openem-prune-'));
  const path = join(dir, name);
  writeFileSync(path, edit(readFileSync(source, 'utf8')));
  return path;
}

const fullArgs = (vars = exampleVars, secrets = secretNames, limits = exampleLimits, pools = join(repo, 'vars', 'work-pools_dev.toml'), yaml = join(repo, 'vars', 'prefect.yaml')) => [
  '-v', vars, '-s', ...secrets, '-l', limits, '-l', pools, '-d', yaml,
];

describe('--prune', () => {
  beforeEach(async () => {
    await clearPoolsAndDeployments(apiUrl());
    await clearServer(apiUrl());
  });

  it('deletes exactly the owned objects the inputs dropped, deletions first, and nothing it does not own', async () => {
    expect((await runCli(fullArgs(), { env: env() })).code).toBe(EXIT.ok);
    // Objects made by hand: same kinds, not owned.
    await postJson(apiUrl(), '/variables/', { name: 'hand_made', value: 1 });
    await postJson(apiUrl(), '/concurrency_limits/', { tag: 'hand-made', concurrency_limit: 1 });
    await postJson(apiUrl(), '/work_pools/', { name: 'hand-made-pool', type: 'process' });

    const vars = edited(exampleVars, (t) => t.replace(/^S3_REGION = .*\n/m, ''), 'vars.toml');
    const limits = edited(exampleLimits, (t) => t.replace(/^read-from-lts-share = .*\n/m, ''), 'limits.toml');
    const yaml = edited(join(repo, 'vars', 'prefect.yaml'), (t) => t.slice(0, t.indexOf('  - name: end_to_end_test')), 'prefect.yaml');
    const fewer = secretNames.filter((n) => n !== 'SCICAT_PASSWORD_FILE');
    const args = fullArgs(vars, fewer, limits, join(repo, 'vars', 'work-pools_dev.toml'), yaml);

    const plan = await runCli(['plan', '--prune', ...args], { env: env() });
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.writes).toEqual([]);
    const planLines = plan.stdout.trim().split('\n');
    expect(planLines.slice(0, 6)).toEqual([
      '- deployment archive_datasetlist/datasets_archival',
      '- deployment end_to_end_test_flow/end_to_end_test',
      '- deployment retrieve_datasetlist/datasets_retrieval',
      '- tag-limit read-from-lts-share',
      '- secret scicat-password',
      '- variable s3_region',
    ]);
    expect(plan.stdout).toContain('6 to delete');

    const apply = await runCli(['--prune', ...args], { env: env() });
    expect(apply.code).toBe(EXIT.ok);
    expect(apply.writes.filter((w) => w.method === 'DELETE')).toHaveLength(6);
    const state = await readState(apiUrl());
    expect(state.variables.s3_region).toBeUndefined();
    expect(state.variables.hand_made).toBeDefined();
    expect(state.secrets['scicat-password']).toBeUndefined();
    expect(state.secrets['scicat-user']).toBe(SECRET_VALUES.SCICAT_USER_FILE);
    expect(state.tagLimits).toEqual({ 'write-to-lts-share': 4, 'hand-made': 1 });
    const deployments = await postJson<Array<{ name: string }>>(apiUrl(), '/deployments/filter', {});
    expect(deployments.map((d) => d.name)).toEqual(['dataset_creation']);
    expect((await getJson<{ name: string }>(apiUrl(), '/work_pools/hand-made-pool')).name).toBe('hand-made-pool');

    const again = await runCli(['--prune', ...args], { env: env() });
    expect(again.code).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });

  it('prunes only the kinds whose inputs were given', async () => {
    expect((await runCli(fullArgs(), { env: env() })).code).toBe(EXIT.ok);
    const vars = edited(exampleVars, (t) => t.replace(/^S3_REGION = .*\n/m, ''), 'vars.toml');
    const result = await runCli(['--prune', '-v', vars], { env: env() });
    expect(result.code).toBe(EXIT.ok);
    expect(result.writes.map((w) => `${w.method} ${w.path}`)).toEqual(['DELETE /variables/name/s3_region']);
    const state = await readState(apiUrl());
    expect(Object.keys(state.secrets)).toHaveLength(6);
    expect(Object.keys(state.tagLimits)).toHaveLength(2);
  });

  it('prunes only what --only selects', async () => {
    expect((await runCli(fullArgs(), { env: env() })).code).toBe(EXIT.ok);
    const vars = edited(exampleVars, (t) => t.replace(/^S3_REGION = .*\n/m, '').replace(/^SCICAT_ENDPOINT = .*\n/m, ''), 'vars.toml');
    const args = fullArgs(vars, secretNames.filter((n) => n !== 'SCICAT_PASSWORD_FILE'));
    // A name only the objects to delete have is selected too; a name nothing has is refused.
    const typo = await runCli(['--prune', '--only', 'variable:s3_regoin', ...args], { env: env() });
    expect(typo.code).toBe(EXIT.invalidInput);
    expect(typo.stderr).toContain('--only variable:s3_regoin selects nothing the inputs declare or --prune would delete');
    expect(typo.writes).toEqual([]);
    const result = await runCli(['--prune', '--only', 'variable:s3_region', ...args], { env: env() });
    expect(result.code).toBe(EXIT.ok);
    expect(result.writes.map((w) => `${w.method} ${w.path}`)).toEqual(['DELETE /variables/name/s3_region']);
    const state = await readState(apiUrl());
    expect(state.variables.scicat_endpoint).toBeDefined();
    expect(state.secrets['scicat-password']).toBe(SECRET_VALUES.SCICAT_PASSWORD_FILE);
  });

  it('prunes pools only when a manifest has [work_pools], and tag limits only when one declares tag limits', async () => {
    expect((await runCli(fullArgs(), { env: env() })).code).toBe(EXIT.ok);
    const tagsOnly = await runCli(['--prune', '-l', exampleLimits], { env: env() });
    expect(tagsOnly.code).toBe(EXIT.ok);
    expect(tagsOnly.writes).toEqual([]);
    const poolsOnly = await runCli(['--prune', '-l', join(repo, 'vars', 'work-pools_dev.toml')], { env: env() });
    expect(poolsOnly.code).toBe(EXIT.ok);
    expect(poolsOnly.writes).toEqual([]);
    // An empty [work_pools] table says "no pools": the owned ones go (their deployments first, here none).
    const noPools = edited(exampleLimits, (t) => `${t}\n[work_pools]\n`, 'limits.toml');
    const emptied = await runCli(['--prune', '-l', noPools, '-d', join(repo, 'vars', 'prefect.yaml')], { env: env() });
    expect(emptied.code).toBe(EXIT.invalidInput);
    expect(emptied.stderr).toContain('runs on work pool "archival-docker-workpool", which --prune would delete');
    expect(emptied.writes).toEqual([]);
    // Deployments pruned too (an empty deployments file), the pools go, deployments first.
    const noDeployments = edited(join(repo, 'vars', 'prefect.yaml'), () => 'deployments: []\n', 'prefect.yaml');
    const pruned = await runCli(['--prune', '-l', noPools, '-d', noDeployments], { env: env() });
    expect(pruned.code).toBe(EXIT.ok);
    const deletes = pruned.writes.filter((w) => w.method === 'DELETE').map((w) => w.path.split('/')[1]);
    expect(deletes).toEqual(['deployments', 'deployments', 'deployments', 'deployments', 'work_pools', 'work_pools']);
    expect(await postJson<unknown[]>(apiUrl(), '/work_pools/filter', {})).toEqual([]);
  });

  it('keeps its ownership record on the server, where a later run in another place finds it', async () => {
    expect((await runCli(fullArgs(), { env: env() })).code).toBe(EXIT.ok);
    const record = await getJson<{ data: { owned: Record<string, string[]> } }>(
      apiUrl(),
      '/block_types/slug/openem-config-state/block_documents/name/ownership',
    );
    expect(record.data.owned).toEqual({
      deployment: [
        'archive_datasetlist/datasets_archival',
        'create_test_dataset/dataset_creation',
        'end_to_end_test_flow/end_to_end_test',
        'retrieve_datasetlist/datasets_retrieval',
      ],
      secret: ['github-password', 'github-user', 's3-password', 's3-user', 'scicat-password', 'scicat-user'],
      'tag-limit': ['read-from-lts-share', 'write-to-lts-share'],
      'work-pool': ['archival-docker-workpool', 'retrieval-docker-workpool'],
    });
  });
});
