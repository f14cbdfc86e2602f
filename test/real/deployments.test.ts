// Deployments from the example prefect.yaml against a real Prefect server: convergence, no-op
// runs that keep schedules and scheduled runs, one PATCH per change, and input errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { venvBin } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { analyzeFlowSource } from '../../src/python/flow.js';
import { preparePythonReader } from '../../src/python/syntax.js';
import { schemaRulesFor } from '../../src/python/versions.js';
import { runCli } from '../helpers/cli.js';
import { DEPLOY_ENV, EXAMPLE_ENV, OLD_COMMAND_LINE, SECRET_VALUES, writeSecretFiles } from '../shared/example-cases.js';
import { clearPoolsAndDeployments, clearServer, getJson, postJson } from '../shared/server.js';

const repo = resolve(import.meta.dirname, '..', '..');
const prefectYaml = join(repo, 'vars', 'prefect.yaml');
const pools = join(repo, 'vars', 'work-pools_dev.toml');
const apiUrl = () => inject('prefectApiUrl');
await preparePythonReader();


const env = (extra: Record<string, string> = {}) => ({ PREFECT_API_URL: apiUrl(), ...writeSecretFiles(), ...EXAMPLE_ENV, ...DEPLOY_ENV, ...extra });
const everything = (deployments = prefectYaml) => [...OLD_COMMAND_LINE, '-l', pools, '-d', deployments];

/** A copy of the example prefect.yaml, edited. */
function editedYaml(edit: (text: string) => string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'openem-deploy-')), 'prefect.yaml');
  writeFileSync(path, edit(readFileSync(prefectYaml, 'utf8')));
  return path;
}

const SCHEDULES = `    schedules:
      - cron: "0 3 * * *"
        timezone: Europe/Zurich
        slug: nightly
      - interval: 3600
`;
const withSchedules = (text: string) => text.replace('    flow_name: create_test_dataset\n', `    flow_name: create_test_dataset\n${SCHEDULES}`);

interface Deployment {
  id: string;
  name: string;
  version: string;
  job_variables: Record<string, unknown>;
  pull_steps: unknown[];
  global_concurrency_limit: { limit: number } | null;
  concurrency_options: { collision_strategy: string } | null;
  work_pool_name: string;
  work_queue_name: string;
  schedules: Array<{ id: string; slug: string | null; schedule: Record<string, unknown>; active: boolean }>;
}

const read = (flow: string, name: string) => getJson<Deployment>(apiUrl(), `/deployments/name/${flow}/${name}`);

async function scheduledRuns(deploymentId: string): Promise<number> {
  return postJson<number>(apiUrl(), '/flow_runs/count', {
    deployments: { id: { any_: [deploymentId] } },
    flow_runs: { state: { type: { any_: ['SCHEDULED'] } } },
  });
}

describe('deployments from prefect.yaml', () => {
  beforeEach(async () => {
    await clearPoolsAndDeployments(apiUrl());
    await clearServer(apiUrl());
  });

  it('converges the example and reads back as declared, secrets still placeholders', async () => {
    const result = await runCli(everything(), { env: env() });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('deployments: 4 created, 0 updated, 0 unchanged, 0 failed');
    const archival = await read('archive_datasetlist', 'datasets_archival');
    expect(archival).toMatchObject({
      version: '1.0.0',
      work_pool_name: 'archival-docker-workpool',
      work_queue_name: 'default',
      global_concurrency_limit: { limit: 2 },
      concurrency_options: { collision_strategy: 'ENQUEUE' },
      pull_steps: [{ 'prefect.deployments.steps.set_working_directory': { directory: '/app/backend' } }],
    });
    expect(archival.job_variables).toEqual({
      image: 'registry.example.org/archiver-runtime:2.1',
      image_pull_policy: 'Never',
      registry_credentials: {
        registry_url: 'registry.example.org',
        username: '{{ prefect.blocks.secret.github-user }}',
        password: '{{ prefect.blocks.secret.github-password }}',
      },
      networks: ['archiver_internal'],
      volumes: ['/data/scratch:/scratch'],
    });
    for (const [flow, name] of [
      ['create_test_dataset', 'dataset_creation'],
      ['end_to_end_test_flow', 'end_to_end_test'],
      ['retrieve_datasetlist', 'datasets_retrieval'],
    ] as const) {
      expect((await read(flow, name)).name).toBe(name);
    }
    const again = await runCli(everything(), { env: env() });
    expect(again.code).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });

  it('hides what prefect deploy resolved a block placeholder to, whatever the key, in the plan and its JSON', async () => {
    // A block placeholder under a key that is not credential-like: the plan cannot tell by the name.
    const yaml = editedYaml((text) => text.replace('    image_pull_policy: Never\n', '    image_pull_policy: Never\n    env:\n      GIT_AUTHOR: "{{ prefect.blocks.secret.github-user }}"\n      LOG_LEVEL: INFO\n'));
    expect((await runCli(everything(yaml), { env: env() })).code).toBe(EXIT.ok);
    const archival = await read('archive_datasetlist', 'datasets_archival');
    // As prefect deploy stores the job variables: the secret block's value resolved into them.
    const resolved = 'resolved-user-from-block';
    const jobVariables = { ...archival.job_variables, env: { GIT_AUTHOR: resolved, LOG_LEVEL: 'DEBUG' } };
    const patched = await fetch(`${apiUrl()}/deployments/${archival.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_variables: jobVariables }) });
    expect(patched.status).toBe(204);
    for (const output of ['text', 'json']) {
      const plan = await runCli(['plan', ...everything(yaml), '--output', output], { env: env() });
      expect(plan.code).toBe(EXIT.ok);
      expect(plan.stdout).toContain('job_variables.env.GIT_AUTHOR');
      expect(plan.stdout).toContain('(hidden)');
      // What is not a block's value is still shown.
      expect(plan.stdout).toContain('DEBUG');
      expect(plan.all).not.toContain(resolved);
    }
    const applied = await runCli(everything(yaml), { env: env() });
    expect(applied.code).toBe(EXIT.ok);
    expect(applied.all).not.toContain(resolved);
    expect((await read('archive_datasetlist', 'datasets_archival')).job_variables).toMatchObject({ env: { GIT_AUTHOR: '{{ prefect.blocks.secret.github-user }}' } });
  });

  it('keeps a block placeholder inside other text, which Prefect resolves there when a run starts', async () => {
    const yaml = editedYaml((text) => text.replace('    image_pull_policy: Never\n', '    image_pull_policy: Never\n    env:\n      REGISTRY_LOGIN: "https://{{ prefect.blocks.secret.github-user }}@registry.example.org/v2"\n'));
    const applied = await runCli(everything(yaml), { env: env() });
    expect(applied.code, applied.stderr).toBe(EXIT.ok);
    expect(applied.all).not.toContain(SECRET_VALUES.GITHUB_USER_FILE);
    const stored = await read('archive_datasetlist', 'datasets_archival');
    expect(stored.job_variables).toMatchObject({ env: { REGISTRY_LOGIN: 'https://{{ prefect.blocks.secret.github-user }}@registry.example.org/v2' } });
    // What a worker does with the job variables before it starts a run: Prefect's own resolver.
    const script = [
      'import asyncio, json, sys',
      'from prefect.client.orchestration import get_client',
      'from prefect.utilities.templating import resolve_block_document_references',
      'async def main():',
      '    async with get_client() as client:',
      '        deployment = await client.read_deployment_by_name(sys.argv[1])',
      '        print(json.dumps(await resolve_block_document_references(deployment.job_variables, client=client)))',
      'asyncio.run(main())',
    ].join('\n');
    const home = mkdtempSync(join(tmpdir(), 'openem-resolve-home-'));
    const resolved = spawnSync(venvBin('python', { version: inject('prefectVersion'), depsBefore: undefined }), ['-c', script, 'archive_datasetlist/datasets_archival'], {
      env: { ...process.env, PREFECT_HOME: home, PREFECT_API_URL: apiUrl() },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(resolved.status, resolved.stderr).toBe(0);
    expect((JSON.parse(resolved.stdout) as { env: Record<string, string> }).env.REGISTRY_LOGIN).toBe(`https://${SECRET_VALUES.GITHUB_USER_FILE}@registry.example.org/v2`);
  });

  it('derives flow names and enforced parameter schemas from the flow files with --flows-dir', async () => {
    const flowsDir = join(repo, 'test', 'fixtures', 'flows');
    const withoutNames = editedYaml((text) => text.replace(/ {4}flow_name: .*\n/g, ''));
    const result = await runCli([...everything(withoutNames), '--flows-dir', flowsDir], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.ok);
    const archival = await getJson<Deployment & { enforce_parameter_schema: boolean; parameter_openapi_schema: { required?: string[]; properties: Record<string, unknown> } }>(
      apiUrl(),
      '/deployments/name/archive_datasetlist/datasets_archival',
    );
    expect(archival.enforce_parameter_schema).toBe(true);
    expect(archival.parameter_openapi_schema.required).toEqual(['job_id']);
    expect(archival.parameter_openapi_schema.properties.job_id).toMatchObject({ format: 'uuid', type: 'string' });
    const again = await runCli([...everything(withoutNames), '--flows-dir', flowsDir], { env: env() });
    expect(again.writes).toEqual([]);
  });

  it("derives the schema for the server's release: *args and **kwargs (SCHEMA_RULES.variadicCollections)", async () => {
    const flowsDir = mkdtempSync(join(tmpdir(), 'openem-variadic-'));
    writeFileSync(join(flowsDir, 'variadic.py'), 'from prefect import flow\n\n@flow(name="variadic")\ndef f(x: int, *args: str, **kwargs: int):\n    """Takes anything."""\n');
    const yaml = join(flowsDir, 'prefect.yaml');
    writeFileSync(yaml, 'deployments:\n  - name: variadic\n    entrypoint: variadic.py:f\n    parameters: {x: 1, anything: 2}\n    work_pool: {name: archival-docker-workpool}\n');
    const result = await runCli(['--output', 'json', ...everything(yaml), '--flows-dir', flowsDir], { env: env() });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const version = inject('prefectVersion');
    expect(JSON.parse(result.stdout)).toMatchObject({ schemasFor: { version, source: 'server' } });
    const stored = await getJson<{ description: string | null; parameter_openapi_schema: { required?: string[] } }>(apiUrl(), '/deployments/name/variadic/variadic');
    // No description in the file: the flow's docstring, as prefect deploy gives it.
    expect(stored.description).toBe('Takes anything.');
    const derived = analyzeFlowSource(readFileSync(join(flowsDir, 'variadic.py'), 'utf8'), 'f', { prefectVersion: version });
    expect('problem' in derived ? derived.problem : stored.parameter_openapi_schema).toEqual('problem' in derived ? undefined : derived.parameterSchema);
    expect(stored.parameter_openapi_schema.required).toEqual(schemaRulesFor(version).variadicCollections ? ['x'] : ['x', 'args', 'kwargs']);
    const again = await runCli([...everything(yaml), '--flows-dir', flowsDir], { env: env() });
    expect(again.writes).toEqual([]);
  });

  it('checks parameters against the schema the server holds when the inputs give none, before any write', async () => {
    const flowsDir = join(repo, 'test', 'fixtures', 'flows');
    expect((await runCli([...everything(), '--flows-dir', flowsDir], { env: env() })).code).toBe(EXIT.ok);
    // The same file without --flows-dir, a parameter the flow lacks and one of the wrong type.
    const wrong = editedYaml((text) =>
      text.replace('    flow_name: archive_datasetlist\n', '    flow_name: archive_datasetlist\n    parameters: { job_id: 5, priority: high }\n').replace('version: 1.0.0', 'version: 1.0.1'),
    );
    const result = await runCli(everything(wrong), { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr).toContain('parameters.priority: the flow archive_datasetlist has no parameter `priority`');
    expect(result.stderr).toContain('parameters.job_id: must be string');
  });

  it('refuses a schedule or a trigger whose runs would lack a required parameter, against the schema of the flow file or of the server, before any write', async () => {
    const flowsDir = join(repo, 'test', 'fixtures', 'flows');
    expect((await runCli([...everything(), '--flows-dir', flowsDir], { env: env() })).code).toBe(EXIT.ok);
    // The fact the rule stands on: Prefect refuses a run of the deployment without its required job_id.
    const stored = await read('archive_datasetlist', 'datasets_archival');
    const refused = await fetch(`${apiUrl()}/deployments/${stored.id}/create_flow_run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await refused.text()).toContain('job_id');
    const withRuns = (runs: string) =>
      editedYaml((text) => text.replace('    flow_name: archive_datasetlist\n', `    flow_name: archive_datasetlist\n${runs}`).replace('version: 1.0.0', 'version: 1.0.2'));
    const schedule = withRuns('    schedules:\n      - cron: "0 4 * * *"\n');
    const trigger = withRuns('    triggers:\n      - type: event\n        expect: [archive.requested]\n        parameters: { job_id: "{{ event.resource.id }}", dataset_ids: 7 }\n');
    for (const args of [['--flows-dir', flowsDir], []]) {
      const result = await runCli([...everything(schedule), ...args], { env: env() });
      expect(result.code).toBe(EXIT.invalidInput);
      expect(result.writes).toEqual([]);
      expect(result.stderr).toContain('every run of this schedule would fail: the flow archive_datasetlist requires `job_id`');
    }
    const result = await runCli([...everything(trigger), '--flows-dir', flowsDir], { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr).toContain('triggers[0].parameters.dataset_ids: must be array');
    // The schedule's own parameter satisfies the flow.
    const given = withRuns('    schedules:\n      - cron: "0 4 * * *"\n        parameters: { job_id: "6f1c7d4e-58a3-4b0e-9d57-2d1f0c3b9a11" }\n');
    expect((await runCli([...everything(given), '--flows-dir', flowsDir], { env: env() })).code).toBe(EXIT.ok);
  });

  it('applies one deployment with --only, its triggers with it, and needs what it leaves out on the server', async () => {
    const withTrigger = editedYaml((text) =>
      text.replace('    flow_name: create_test_dataset\n', '    flow_name: create_test_dataset\n    triggers:\n      - type: event\n        expect: [dataset.requested]\n'),
    );
    // The pools and secrets are declared but left out, and the server has none yet.
    const missing = await runCli(['apply', ...everything(withTrigger), '--only', 'deployment:create_test_dataset/*'], { env: env() });
    expect(missing.code).toBe(EXIT.invalidInput);
    expect(missing.writes).toEqual([]);
    expect(missing.stderr).toContain('leaves out what it does not select: the server must have it');
    expect((await runCli(['apply', ...everything(withTrigger), '--only', 'work-pools,secrets'], { env: env() })).code).toBe(EXIT.ok);
    const one = await runCli(['apply', ...everything(withTrigger), '--only', 'deployment:create_test_dataset/*'], { env: env() });
    expect(one.stderr).not.toContain('error');
    expect(one.code).toBe(EXIT.ok);
    expect(one.stdout).toContain('deployments: 1 created');
    expect(one.stdout).toContain('deployment-triggers: 1 created');
    const names = (await postJson<Array<{ name: string }>>(apiUrl(), '/deployments/filter', {})).map((deployment) => deployment.name);
    expect(names).toEqual(['dataset_creation']);
    // The rest follows with a full run; the selected deployment is unchanged by it.
    const rest = await runCli(['apply', ...everything(withTrigger)], { env: env() });
    expect(rest.code).toBe(EXIT.ok);
    expect(rest.stdout).toMatch(/deployments: \d+ created, 0 updated, 1 unchanged/);
    expect(rest.stdout).toContain('deployment-triggers: 0 created, 0 updated, 1 unchanged');
  });

  it('applies a saved plan of pools, deployments, schedules and a trigger exactly, and refuses a second one made before it', async () => {
    const yaml = editedYaml((text) => withSchedules(text).replace('    flow_name: end_to_end_test_flow\n', '    flow_name: end_to_end_test_flow\n    triggers:\n      - type: event\n        expect: [dataset.archived]\n'));
    const dir = mkdtempSync(join(tmpdir(), 'openem-plan-'));
    const [first, second, third] = ['first.json', 'second.json', 'third.json'].map((name) => join(dir, name)) as [string, string, string];
    const inputs = env();
    expect((await runCli(['plan', ...everything(yaml), '--out', first], { env: inputs })).code).toBe(EXIT.ok);
    expect((await runCli(['plan', ...everything(yaml), '--out', second], { env: inputs })).code).toBe(EXIT.ok);
    const applied = await runCli(['apply', first], { env: inputs });
    expect(applied.stderr).not.toContain('error');
    expect(applied.code).toBe(EXIT.ok);
    expect(applied.stdout).toMatch(/deployments: [1-9]\d* created/);
    expect(applied.stdout).toContain('deployment-triggers: 1 created');
    const schedules = await postJson<Array<{ name: string; schedules: unknown[] }>>(apiUrl(), '/deployments/filter', {});
    expect(schedules.find((deployment) => deployment.name === 'dataset_creation')?.schedules).toHaveLength(2);
    // The second plan was made before the first was applied: what it would create exists now.
    const stale = await runCli(['apply', second], { env: inputs });
    expect(stale.code).toBe(EXIT.stalePlan);
    expect(stale.stderr).toMatch(/the change planned for these \d+ objects differ now: .*deployment create_test_dataset\/dataset_creation/);
    expect(stale.writes).toEqual([]);
    // Read again from the same inputs, the digest is the same: a plan of nothing applies as nothing.
    expect((await runCli(['plan', ...everything(yaml), '--out', third], { env: inputs })).code).toBe(EXIT.ok);
    const nothing = await runCli(['apply', third], { env: inputs });
    expect(nothing.code).toBe(EXIT.ok);
    expect(nothing.writes).toEqual([]);
  });

  it('keeps hand-added schedules and the scheduled runs of an unchanged deployment', async () => {
    const yaml = editedYaml(withSchedules);
    expect((await runCli(everything(yaml), { env: env() })).code).toBe(EXIT.ok);
    const deployment = await read('create_test_dataset', 'dataset_creation');
    expect(deployment.schedules.map((s) => s.slug).sort()).toEqual(['nightly', 'openem-2']);
    // As the UI does: a schedule without a slug.
    await postJson(apiUrl(), `/deployments/${deployment.id}/schedules`, [{ schedule: { interval: 86400 }, active: true }]);
    // Let the server schedule runs, as its scheduler service would.
    await postJson(apiUrl(), `/deployments/${deployment.id}/schedule`, {});
    const runs = await scheduledRuns(deployment.id);
    expect(runs).toBeGreaterThan(0);

    const noop = await runCli(everything(yaml), { env: env() });
    expect(noop.code).toBe(EXIT.ok);
    expect(noop.writes).toEqual([]);
    expect((await read('create_test_dataset', 'dataset_creation')).schedules).toHaveLength(3);
    expect(await scheduledRuns(deployment.id)).toBe(runs);
  });

  it('sends one PATCH of one deployment when one job variable changes', async () => {
    expect((await runCli(everything(), { env: env() })).code).toBe(EXIT.ok);
    // One job variable more for the retrieval deployment only (the last one in the file).
    const yaml = editedYaml((text) => {
      const at = text.lastIndexOf('      job_variables: *job_variables_with_scratch');
      return `${text.slice(0, at)}      job_variables:\n        <<: *job_variables_with_scratch\n        mem_limit: 8g\n`;
    });
    const changed = await runCli(everything(yaml), { env: env() });
    expect(changed.code).toBe(EXIT.ok);
    const retrieval = await read('retrieve_datasetlist', 'datasets_retrieval');
    expect(changed.writes.map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /deployments/${retrieval.id}`]);
    expect(Object.keys(JSON.parse(changed.writes[0]!.body) as object)).toEqual(['job_variables']);
    expect(retrieval.job_variables.mem_limit).toBe('8g');

    const image = await runCli(everything(yaml), { env: env({ PREFECT_RUNTIME_IMAGE: 'registry.example.org/archiver-runtime:2.2' }) });
    expect(image.code).toBe(EXIT.ok);
    // The image is shared through a YAML anchor, so each deployment gets exactly one PATCH.
    expect(image.writes).toHaveLength(4);
    expect(image.writes.every((w) => w.method === 'PATCH' && JSON.parse(w.body).job_variables.image === 'registry.example.org/archiver-runtime:2.2')).toBe(true);
  });

  it('removes a schedule taken out of the file, updates a changed one, keeps slug-less ones', async () => {
    const yaml = editedYaml(withSchedules);
    expect((await runCli(everything(yaml), { env: env() })).code).toBe(EXIT.ok);
    const before = await read('create_test_dataset', 'dataset_creation');
    await postJson(apiUrl(), `/deployments/${before.id}/schedules`, [{ schedule: { interval: 86400 }, active: true }]);
    const edited = editedYaml((text) => withSchedules(text).replace('"0 3 * * *"', '"30 4 * * *"').replace('      - interval: 3600\n', ''));
    const result = await runCli(everything(edited), { env: env() });
    expect(result.code).toBe(EXIT.ok);
    expect(result.writes.map((w) => w.method).sort()).toEqual(['DELETE', 'PATCH']);
    const after = await read('create_test_dataset', 'dataset_creation');
    expect(after.schedules.map((s) => [s.slug, s.schedule.cron ?? s.schedule.interval]).sort()).toEqual([
      [null, 86400],
      ['nightly', '30 4 * * *'],
    ]);
  });

  it('keeps an rrule schedule without DTSTART, which the server stores with one, unchanged on the next run', async () => {
    const rrule = (text: string) =>
      text.replace('    flow_name: create_test_dataset\n', '    flow_name: create_test_dataset\n    schedules:\n      - rrule: "FREQ=MINUTELY;INTERVAL=30"\n        slug: half-hourly\n      - rrule: "FREQ=DAILY;BYHOUR=3"\n        slug: daily\n');
    const yaml = editedYaml(rrule);
    expect((await runCli(everything(yaml), { env: env() })).code).toBe(EXIT.ok);
    // Prefect 3.7.2 stores both with a DTSTART line the file does not have.
    const stored = (await read('create_test_dataset', 'dataset_creation')).schedules.map((s) => String(s.schedule.rrule));
    expect(stored.map((text) => text.split('\n').at(-1)).sort()).toEqual(['FREQ=DAILY;BYHOUR=3', 'FREQ=MINUTELY;INTERVAL=30']);
    const again = await runCli(everything(yaml), { env: env() });
    expect(again.code).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });

  it('refuses a work queue that the pool neither declares nor has, and takes one the server has', async () => {
    const nightly = editedYaml((text) => text.replace('work_queue_name: default', 'work_queue_name: nightly'));
    const refused = await runCli(everything(nightly), { env: env() });
    expect(refused.code).toBe(EXIT.invalidInput);
    expect(refused.writes).toEqual([]);
    expect(refused.stderr).toMatch(/prefect\.yaml:\d+(:\d+)? › .*work queue "nightly" of pool "archival-docker-workpool" is neither declared nor on the server/);
    // Made on the server (by hand, or by another tool): the deployment may use it.
    expect((await runCli([...OLD_COMMAND_LINE, '-l', pools], { env: env() })).code).toBe(EXIT.ok);
    await postJson(apiUrl(), '/work_pools/archival-docker-workpool/queues', { name: 'nightly' });
    const accepted = await runCli(everything(nightly), { env: env() });
    expect(accepted.code).toBe(EXIT.ok);
  });

  it('rejects the misplaced work_pool.concurrency_limit before any request', async () => {
    const yaml = editedYaml((text) =>
      text.replace('      job_variables: *job_variables\n\n  - name: end_to_end_test', '      job_variables: *job_variables\n      concurrency_limit: 2\n\n  - name: end_to_end_test'),
    );
    const result = await runCli(everything(yaml), { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.requests).toEqual([]);
    expect(result.stderr).toContain(`${yaml}:`);
    expect(result.stderr).toContain('concurrency_limit');
    expect(result.stderr).toContain('deployment level');
  });

  it('rejects a pool, a secret or a job variable the server cannot take, with no write', async () => {
    const yaml = editedYaml((text) =>
      text
        .replace('name: retrieval-docker-workpool', 'name: no-such-pool')
        .replace('image_pull_policy: Never', 'image_pull_policy: Sometimes')
        .replace('prefect.blocks.secret.github-user', 'prefect.blocks.secret.gitlab-user'),
    );
    const result = await runCli(everything(yaml), { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr).toContain('work pool "no-such-pool" is neither declared');
    expect(result.stderr).toContain('secret block "gitlab-user"');
    expect(result.stderr).toContain('image_pull_policy: must be one of "IfNotPresent", "Always", "Never", found another string');
  });

  it('rejects an environment placeholder that is not set, naming where it is used', async () => {
    const result = await runCli(everything(), { env: env({ PREFECT_NETWORK: '' }) });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.requests).toEqual([]);
    expect(result.stderr).toContain('PREFECT_NETWORK');
    expect(result.stderr).toContain(prefectYaml);
  });
});
