// The forms test/real/prefect-yaml-parity.test.ts found stored otherwise than prefect deploy stores
// them, each read as Prefect reads it: a single `pull:` mapping, build and push step outputs in pull
// steps, a deployment's version from its flow, the concurrency options sent only when written, and
// a `work_pool.type` that is not the pool's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssueList } from '../../../src/errors.js';
import { EXIT } from '../../../src/exit-codes.js';
import { deploymentCreateBody } from '../../../src/kinds/deployments/reconcile.js';
import { loadDeployments, type DeploymentsOptions } from '../../../src/kinds/deployments/spec.js';
import { migrateText } from '../../../src/migrate/rewrite.js';
import { preparePythonReader } from '../../../src/python/syntax.js';
import { runCli } from '../../helpers/cli.js';

beforeAll(preparePythonReader);

const corpus = fileURLToPath(new URL('../../fixtures/prefect-yaml-corpus/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'openem-parity-forms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function load(file: string, options: Partial<DeploymentsOptions> = {}) {
  const issues = new IssueList();
  const deployments = loadDeployments([file], { env: {}, ...options }, issues);
  const byName = Object.fromEntries(deployments.map((d) => [d.name, d]));
  return { byName, errors: issues.errors.map((i) => i.message), warnings: issues.items.filter((i) => i.severity === 'warning').map((i) => `${i.line}: ${i.message}`) };
}

const STEP = { 'prefect.deployments.steps.git_clone': { repository: 'https://example.org/r.git' } };

describe('a `pull:` written as a mapping', () => {
  const text = `pull:
  prefect.deployments.steps.git_clone:
    repository: https://example.org/r.git
deployments:
- name: top
  flow_name: f
  entrypoint: f.py:f
- name: own
  flow_name: f
  entrypoint: f.py:f
  pull:
    prefect.deployments.steps.set_working_directory:
      directory: /app
- name: empty
  flow_name: f
  entrypoint: f.py:f
  pull: {}
`;

  it('is read as a one-step list, as Prefect 3.9 reads it, and `pull: {}` as no `pull`, with a warning each', () => {
    const file = write('pull-mapping.yaml', text);
    const { byName, errors, warnings } = load(file);
    expect(errors).toEqual([]);
    expect(byName.top?.pullSteps).toEqual([STEP]);
    expect(byName.own?.pullSteps).toEqual([{ 'prefect.deployments.steps.set_working_directory': { directory: '/app' } }]);
    // The deployment's empty mapping falls back to the top-level steps, as prefect deploy falls back.
    expect(byName.empty?.pullSteps).toEqual([STEP]);
    expect(warnings).toEqual([
      expect.stringMatching(/^1: `pull` is a mapping, not a list: it is read as a list of this one step/),
      expect.stringMatching(/^11: `pull` is a mapping, not a list/),
      expect.stringMatching(/^17: `pull: \{\}` is read as no `pull`, as Prefect 3 reads it: the deployment takes the file's top-level `pull` steps/),
    ]);
  });

  it('is refused under --strict', () => {
    const file = write('pull-mapping-strict.yaml', text);
    expect(load(file, { strict: true }).errors).toHaveLength(3);
  });

  it('is rewritten by migrate into a list, and a top-level `pull: {}` removed', () => {
    const issues = new IssueList();
    const result = migrateText(text, 'prefect.yaml', issues);
    expect(issues.errors).toEqual([]);
    expect(result?.ok).toBe(true);
    if (!result?.ok) return;
    expect(result.changes.map((change) => change.change)).toEqual([
      'pull -> a list of its one step',
      'pull -> a list of its one step',
      'pull: {} removed (the deployment takes the top-level pull steps, as Prefect 3 reads it)',
    ]);
    expect(result.text).toContain('pull:\n- prefect.deployments.steps.git_clone:\n    repository: https://example.org/r.git\n');
    expect(result.text).toContain('  pull:\n  - prefect.deployments.steps.set_working_directory:\n      directory: /app\n');
    expect(result.text).not.toContain('pull: {}');
    const empty = migrateText('pull: {}\ndeployments: []\n', 'prefect.yaml', new IssueList());
    expect(empty?.ok && empty.text).toBe('deployments: []\n');
  });
});

describe('placeholders in pull steps', () => {
  const file = () =>
    write(
      'pull-placeholders.yaml',
      `pull:
- prefect.deployments.steps.git_clone:
    id: clone
    repository: https://example.org/r.git
    commit_sha: '{{ get-commit-hash.stdout }}'
    access_token: '{{ prefect.blocks.secret.token }}'
- prefect.deployments.steps.set_working_directory:
    directory: '{{ clone.directory }}/{{ $SUBDIR }}'
deployments:
- name: d
  flow_name: f
  entrypoint: f.py:f
`,
    );

  it('fill in build and push step outputs, as prefect deploy does, and keep the rest for the worker', () => {
    const { byName, errors, warnings } = load(file(), { stepOutputs: ['get-commit-hash.stdout=4f2a9c1'], env: { SUBDIR: 'flows' } });
    expect(errors).toEqual([]);
    expect(byName.d?.pullSteps).toEqual([
      { 'prefect.deployments.steps.git_clone': { id: 'clone', repository: 'https://example.org/r.git', commit_sha: '4f2a9c1', access_token: '{{ prefect.blocks.secret.token }}' } },
      { 'prefect.deployments.steps.set_working_directory': { directory: '{{ clone.directory }}/{{ $SUBDIR }}' } },
    ]);
    expect(byName.d?.references).toEqual([expect.objectContaining({ kind: 'secret', name: 'token' })]);
    // The environment variable is set here: prefect deploy would store its value.
    expect(warnings).toEqual([expect.stringMatching(/^8: `\{\{ \$SUBDIR \}\}` in a pull step is stored as written, and the worker fills it in from its own environment when a run starts; prefect deploy would store the value SUBDIR has/)]);
  });

  it('refuse a build or push step output without a value, naming the option', () => {
    const { byName, errors } = load(file());
    expect(byName.d).toBeUndefined();
    expect(errors).toEqual([
      expect.stringContaining('`{{ get-commit-hash.stdout }}` in a pull step, is the output of a build or push step (no earlier pull step has the id `get-commit-hash`; prefect deploy fills it in when it deploys'),
    ]);
    expect(errors[0]).toContain('--step-output get-commit-hash.stdout=VALUE');
  });
});

describe('a deployment read with --flows-dir', () => {
  it("gets its flow's version when it gives none, as prefect deploy: `version=` of @flow, else the MD5 of the flow file", () => {
    const s3 = load(join(corpus, 's3-storage/prefect.yaml'), { flowsDir: join(corpus, 's3-storage'), stepOutputs: ['push_code.bucket=b', 'push_code.folder=f'] });
    expect(s3.errors).toEqual([]);
    expect(s3.byName['train-nightly']?.version).toBe('2.0');
    const local = load(join(corpus, 'local-recipe/prefect.yaml'), { flowsDir: join(corpus, 'local-recipe'), env: { HOUSEKEEPING_HOME: '/h', RELEASE: '5.1.0', TEAM: 't' } });
    expect(local.byName['rotate-logs']?.version).toBe('5.1.0');
    expect(local.byName['vacuum-db']?.version).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('a new deployment with a concurrency limit', () => {
  const desired = { name: 'd', flowName: 'f', schedules: [], references: [], source: { file: 'prefect.yaml' } };

  it('is created without concurrency options when the file gives a bare number, as prefect deploy creates it', () => {
    const body = deploymentCreateBody({ ...desired, concurrency: { limit: 3 } }, 'flow-id');
    expect(body.concurrency_limit).toBe(3);
    expect(body).not.toHaveProperty('concurrency_options');
  });

  it('is created with the options the file gives', () => {
    const body = deploymentCreateBody({ ...desired, concurrency: { limit: 1, collisionStrategy: 'CANCEL_NEW' } }, 'flow-id');
    expect(body.concurrency_options).toEqual({ collision_strategy: 'CANCEL_NEW' });
  });
});

describe('`work_pool.type`', () => {
  it('that is not the type of the pool is refused, since the runs would go to a pool of another type', async () => {
    const deployments = write(
      'pool-type.yaml',
      'deployments:\n- name: d\n  flow_name: f\n  entrypoint: f.py:f\n  work_pool:\n    name: billing-pool\n    type: kubernetes\n',
    );
    const limits = write('pool-type.toml', '[work_pools.billing-pool]\ntype = "process"\n');
    const result = await runCli(['validate', '--no-project', '-d', deployments, '-l', limits]);
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toContain('`work_pool.type` is `kubernetes`, but the work pool `billing-pool` declared with -l is of type `process`');
    const same = await runCli(['validate', '--no-project', '-d', deployments, '-l', write('pool-type-same.toml', '[work_pools.billing-pool]\ntype = "kubernetes"\n')]);
    expect(same.code, same.stderr).toBe(EXIT.ok);
    expect(same.stderr).toContain('`work_pool.type` is ignored, as Prefect 3 ignores it');
  });
});
