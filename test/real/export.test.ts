// `export` against real Prefect servers: a server configured by hand through the API (the way the
// UI, a worker and `prefect deploy` shape objects) is exported, the export is applied to a second,
// empty server whose export is byte-identical, and applied back to the source it changes nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPrefectServer, venvBin, type PrefectServer } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import type { ExportOutcome } from '../../src/export/run.js';
import { runCli, type SentRequest } from '../helpers/cli.js';
import { clearPoolsAndDeployments, clearServer, getJson, postJson } from '../shared/server.js';

const source = () => inject('prefectApiUrl');
const template = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'export', 'fixtures', 'docker-job-template.json'), 'utf8')) as unknown;

const SECRETS: Record<string, string> = {
  's3-user': 'svc-archiver-7f3k',
  's3-password': 'p@ss "word"\nwith a newline',
  'github-password': 'ghp_exportTestToken123',
  // As the old prefect-config stored it: the whole file, final newline included.
  'github-user': 'archiver-bot\n',
};
/** A credential typed into a deployment that no secret block holds. */
const TYPED_TOKEN = 'typed-in-the-ui-5d2c';

async function send(apiUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok && !(method === 'DELETE' && response.status === 404)) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json().catch(() => undefined);
}

/** A block document as the UI or `Block.save` creates it. */
async function createBlock(apiUrl: string, type: string, name: string, data: unknown): Promise<void> {
  const blockType = (await getJson<{ id: string }>(apiUrl, `/block_types/slug/${type}`)).id;
  const [schema] = await postJson<Array<{ id: string }>>(apiUrl, '/block_schemas/filter', { block_schemas: { block_type_id: { any_: [blockType] } }, limit: 1 });
  await postJson(apiUrl, '/block_documents/', { name, block_type_id: blockType, block_schema_id: schema!.id, data, is_anonymous: false });
}

/** Leaves the shared server without the objects the other suites do not clear: global limits and blocks. */
async function clearEverything(apiUrl: string): Promise<void> {
  await clearPoolsAndDeployments(apiUrl);
  await clearServer(apiUrl);
  const limits = await postJson<Array<{ id: string }>>(apiUrl, '/v2/concurrency_limits/filter', { limit: 200 });
  for (const limit of limits) await send(apiUrl, 'DELETE', `/v2/concurrency_limits/${limit.id}`);
  const blocks = await postJson<Array<{ id: string }>>(apiUrl, '/block_documents/filter', { block_documents: { is_anonymous: { eq_: false } }, limit: 200 });
  for (const block of blocks) await send(apiUrl, 'DELETE', `/block_documents/${block.id}`);
  const automations = await postJson<Array<{ id: string }>>(apiUrl, '/automations/filter', { limit: 200 });
  for (const automation of automations) await send(apiUrl, 'DELETE', `/automations/${automation.id}`);
}

/** The source server, configured by hand the way people and tools do it. */
async function configureByHand(apiUrl: string): Promise<void> {
  // Variables of every JSON type, tagged as an earlier openem-config or prefect-config run left them.
  const variables: Array<[string, unknown, string[]]> = [
    ['archiver_scratch_folder', '/scratch', ['openem-config']],
    ['archiver_target_size_gb', 20, ['openem-config', 'archiver']],
    ['archiver_ratio', 0.75, ['openem-config', 'archiver']],
    ['archiver_enabled', true, ['openem-config', 'archiver']],
    ['archiver-buckets', ['raw', 'processed', 'é ✓'], ['openem-config', 'archiver']],
    ['retry_policy', { attempts: 3, delay: 1.5, codes: [502, 503], 'needs quotes': 'say "hi"\nbye' }, ['openem-config']],
    ['s3_region', 'eu-central-1', ['openem-config', 'archiver', 's3']],
    ['nothing', null, ['openem-config']],
  ];
  for (const [name, value, tags] of variables) await postJson(apiUrl, '/variables/', { name, value, tags });

  await postJson(apiUrl, '/concurrency_limits/', { tag: 'write-to-lts-share', concurrency_limit: 4 });
  await postJson(apiUrl, '/concurrency_limits/', { tag: 'tape drive', concurrency_limit: 1 });
  await postJson(apiUrl, '/v2/concurrency_limits/', { name: 'database-connections', limit: 10 });

  for (const [name, value] of Object.entries(SECRETS)) await createBlock(apiUrl, 'secret', name, { value });
  await createBlock(apiUrl, 'local-file-system', 'scratch-storage', { basepath: '/scratch' });

  // As `prefect worker start --type docker` creates its pool, then as the UI sets the limit and a queue.
  await postJson(apiUrl, '/work_pools/', { name: 'archival-docker-workpool', type: 'docker', base_job_template: template });
  await send(apiUrl, 'PATCH', '/work_pools/archival-docker-workpool', { concurrency_limit: 2, description: 'Archival flow runs, in Docker' });
  await postJson(apiUrl, '/work_pools/archival-docker-workpool/queues', { name: 'urgent', priority: 2, concurrency_limit: 1, description: 'Retries first' });
  await postJson(apiUrl, '/work_pools/', { name: 'local processes', type: 'process', is_paused: true });

  // As `prefect deploy` registers deployments: flow first, then the deployment with its schema and pull steps.
  const archiveFlow = (await postJson<{ id: string }>(apiUrl, '/flows/', { name: 'archive_datasetlist' })).id;
  const createFlow = (await postJson<{ id: string }>(apiUrl, '/flows/', { name: 'create_test_dataset' })).id;
  await postJson(apiUrl, '/deployments/', {
    name: 'datasets_archival',
    flow_id: archiveFlow,
    entrypoint: './archiver/flows/archive_datasets_flow.py:archive_datasets_flow',
    version: '4c1f0d3be2a9e1c8d2f5b7a6c3e4f5a6',
    tags: ['archiver'],
    parameters: { dataset_ids: [], verbose: false },
    parameter_openapi_schema: {
      title: 'Parameters',
      type: 'object',
      properties: { dataset_ids: { items: { type: 'string' }, position: 0, title: 'dataset_ids', type: 'array' }, verbose: { default: false, position: 1, title: 'verbose', type: 'boolean' } },
      required: ['dataset_ids'],
      definitions: {},
    },
    enforce_parameter_schema: true,
    pull_steps: [{ 'prefect.deployments.steps.set_working_directory': { directory: '/app/backend' } }],
    work_pool_name: 'archival-docker-workpool',
    work_queue_name: 'default',
    job_variables: {
      image: 'registry.example.org/archiver-runtime:2.1',
      image_pull_policy: 'Never',
      registry_credentials: { registry_url: 'registry.example.org', username: 'bot', password: '{{ prefect.blocks.secret.github-password }}' },
      networks: ['archiver_internal'],
      volumes: ['/data/scratch:/scratch'],
    },
    concurrency_limit: 2,
    concurrency_options: { collision_strategy: 'ENQUEUE' },
    schedules: [
      { schedule: { cron: '0 3 * * *', timezone: 'Europe/Zurich' }, slug: 'nightly', active: true },
      // As the UI adds one: no slug.
      { schedule: { interval: 3600 }, active: true },
    ],
  });
  await postJson(apiUrl, '/deployments/', {
    name: 'datasets_retrieval',
    flow_id: archiveFlow,
    entrypoint: './archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow',
    description: 'Retrieves datasets from tape.\nRuns "on demand" only.',
    paused: true,
    parameter_openapi_schema: { title: 'Parameters', type: 'object', properties: {} },
    pull_steps: [{ 'prefect.deployments.steps.set_working_directory': { directory: '/app/backend' } }],
    work_pool_name: 'archival-docker-workpool',
    work_queue_name: 'urgent',
    // As `prefect deploy` stores `{{ prefect.blocks.secret.github-* }}`: resolved to the values.
    job_variables: {
      env: { LOG_LEVEL: 'DEBUG' },
      registry_credentials: { registry_url: 'registry.example.org', username: SECRETS['github-user'], password: SECRETS['github-password'] },
    },
    concurrency_limit: 1,
    concurrency_options: { collision_strategy: 'CANCEL_NEW', grace_period_seconds: 120 },
  });
  const creation = await postJson<{ id: string }>(apiUrl, '/deployments/', {
    name: 'dataset_creation',
    flow_id: createFlow,
    entrypoint: './archiver/flows/create_test_dataset.py:create_test_dataset_flow',
    version: '1.10',
    tags: ['test', 'yes'],
    parameters: { size: 3, label: 'on' },
    parameter_openapi_schema: { title: 'Parameters', type: 'object', properties: { size: { type: 'integer' }, label: { type: 'string' } } },
    enforce_parameter_schema: false,
    schedules: [
      { schedule: { interval: 900, anchor_date: '2024-01-01T00:00:00Z', timezone: 'UTC' }, slug: 'quarter-hourly', active: false, parameters: { size: 1 } },
      { schedule: { rrule: 'FREQ=WEEKLY;BYDAY=MO,FR', timezone: 'Europe/Zurich' }, slug: 'mondays-fridays' },
    ],
  });

  // Made in the UI, by ids: exported with names.
  const retrieval = await getJson<{ id: string }>(apiUrl, '/deployments/name/archive_datasetlist/datasets_retrieval');
  const pool = await getJson<{ id: string }>(apiUrl, '/work_pools/archival-docker-workpool');
  await postJson(apiUrl, '/automations/', {
    name: 'notify on failed archival',
    trigger: { type: 'event', match: { 'prefect.resource.id': 'prefect.flow-run.*' }, expect: ['prefect.flow-run.Failed'], posture: 'Reactive', threshold: 1, within: 0 },
    actions: [{ type: 'do-nothing' }],
  });
  await postJson(apiUrl, '/automations/', {
    name: 'retrieve after two failures',
    description: 'Runs a retrieval, then pauses the pool until resolved',
    enabled: false,
    tags: ['archiver'],
    trigger: {
      type: 'compound',
      require: 'any',
      within: 600,
      triggers: [
        { type: 'event', match: { 'prefect.resource.id': 'prefect.flow-run.*' }, expect: ['prefect.flow-run.Failed'], for_each: ['prefect.resource.id'], posture: 'Reactive', threshold: 2, within: 300 },
        { type: 'event', expect: ['prefect.work-pool.not-ready'], match_related: { 'prefect.resource.role': 'work-pool' }, posture: 'Reactive', threshold: 1, within: 0 },
      ],
    },
    actions: [{ type: 'run-deployment', source: 'selected', deployment_id: retrieval.id, parameters: { urgent: true }, job_variables: null }],
    actions_on_trigger: [{ type: 'pause-work-pool', source: 'selected', work_pool_id: pool.id }],
    actions_on_resolve: [{ type: 'resume-work-pool', source: 'selected', work_pool_id: pool.id }],
  });
  // As `prefect deploy` makes a deployment's trigger: owned by it, only running it.
  await postJson(apiUrl, '/automations/', {
    name: 'dataset_creation__automation_1',
    owner_resource: `prefect.deployment.${creation.id}`,
    trigger: { type: 'event', match: { 'prefect.resource.id': 'archiver.upload.*' }, expect: ['archiver.upload.done'], posture: 'Reactive', threshold: 1, within: 0 },
    actions: [{ type: 'run-deployment', source: 'selected', deployment_id: creation.id, parameters: { size: '{{ event.payload.size }}' }, job_variables: null }],
  });
}

/** Every file below `dir`, by relative path, with its content. */
function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(dir, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(dir);
  return out;
}

async function exportTo(apiUrl: string, dir: string, extra: string[] = []): Promise<{ code: number; outcome: ExportOutcome; stderr: string; writes: SentRequest[]; all: string }> {
  const result = await runCli(['export', '--to', dir, '--output', 'json', ...extra], { env: { PREFECT_API_URL: apiUrl } });
  return { code: result.code, outcome: JSON.parse(result.stdout) as ExportOutcome, stderr: result.stderr, writes: result.writes, all: result.all };
}

/** The apply command line of an export, as its README gives it, with the paths made absolute. */
function applyArgv(dir: string, outcome: ExportOutcome): string[] {
  const { args } = outcome;
  return [
    ...args.variables.flatMap((file) => ['-v', join(dir, file)]),
    ...(args.secretEnvNames.length > 0 ? ['-s', ...args.secretEnvNames] : []),
    ...args.limits.flatMap((file) => ['-l', join(dir, file)]),
    ...args.deployments.flatMap((file) => ['-d', join(dir, file)]),
  ];
}

/** The secret files, as the README asks for them here: exactly the values, applied with --keep-trailing-newline (one value ends with a newline). */
function secretFiles(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'openem-export-secrets-'));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(SECRETS)) {
    const path = join(dir, name);
    writeFileSync(path, value);
    env[`${name.toUpperCase().replaceAll('-', '_')}_FILE`] = path;
  }
  return env;
}

/** Writes of the ownership record apply keeps (a block of type openem-config-state), the only ones adopting a server sends. */
const isOwnershipWrite = (write: SentRequest) => /^\/block_(types|schemas|documents)\//.test(write.path) && /openem-config-state|"owned"/.test(write.body);

describe('export and the round trip', () => {
  let target: PrefectServer;
  const exportDir = () => mkdtempSync(join(tmpdir(), 'openem-export-'));

  beforeAll(async () => {
    target = await startPrefectServer();
    await clearEverything(source());
    await configureByHand(source());
  });

  afterAll(async () => {
    await target?.stop();
    await clearEverything(source());
  });

  it('exports a hand-configured server; applied to an empty server, that server exports the same bytes; applied back, only the announced secret references change', async () => {
    const dirA = exportDir();
    const a = await exportTo(source(), dirA);
    expect(a.code).toBe(EXIT.ok);
    expect(a.writes).toEqual([]);
    // Secret values are read to recognise them, and never written: not in a file, a warning or a log.
    const files = readTree(dirA);
    for (const value of Object.values(SECRETS)) {
      expect(a.all).not.toContain(value.trim());
      for (const content of Object.values(files)) expect(content).not.toContain(value.trim());
    }
    expect(Object.keys(files)).toEqual(['.schemas/limits.json', '.schemas/prefect-yaml.json', '.schemas/project.json', '.schemas/vars.json', 'README.md', 'automations.yaml', 'job-templates/archival-docker-workpool.json', 'limits.toml', 'openem-config.toml', 'prefect.yaml', 'vars-archiver+s3.toml', 'vars-archiver.toml', 'vars.toml']);
    expect(a.outcome.counts).toEqual({ variables: 7, secrets: 4, tagLimits: 2, globalLimits: 1, blocks: 1, workPools: 2, deployments: 3, deploymentTriggers: 1, automations: 2 });
    // Objects by name, defaults left out; the deployment's trigger under its deployment, its run-time template kept.
    expect(files['automations.yaml']).toContain(
      '    actions:\n      - type: run-deployment\n        parameters:\n          urgent: true\n        deployment: archive_datasetlist/datasets_retrieval\n' +
        '    actions_on_trigger:\n      - type: pause-work-pool\n        work_pool: archival-docker-workpool\n',
    );
    expect(files['automations.yaml']).not.toMatch(/_id:|dataset_creation__automation_1/);
    expect(files['prefect.yaml']).toContain(
      '    triggers:\n      - name: dataset_creation__automation_1\n        type: event\n        match:\n          prefect.resource.id: archiver.upload.*\n' +
        '        expect:\n          - archiver.upload.done\n        posture: Reactive\n        parameters:\n          size: "{{ event.payload.size }}"\n',
    );
    expect(JSON.parse(files['job-templates/archival-docker-workpool.json']!)).toEqual(template);
    expect(files['vars.toml']).toContain('RETRY_POLICY = { attempts = 3, delay = 1.5, codes = [502, 503], "needs quotes" = "say \\"hi\\"\\nbye" }\n');
    expect(files['vars-archiver.toml']).toContain('ARCHIVER-BUCKETS = ["raw", "processed", "é ✓"]\n');
    expect(files['limits.toml']).toContain('[tag_limits]\n"tape drive" = 1\nwrite-to-lts-share = 4\n');
    expect(files['limits.toml']).toContain('[global_limits.database-connections]\nlimit = 10\nactive = true\nslot_decay_per_second = ');
    expect(files['limits.toml']).toContain('[blocks.local-file-system.scratch-storage]\nbasepath = "/scratch"\n');
    expect(files['limits.toml']).toContain('[work_pools."local processes"]\ntype = "process"\npaused = true\nconcurrency_limit = false   # no limit\n');
    expect(files['prefect.yaml']).toContain('password: "{{ prefect.blocks.secret.github-password }}"');
    // The values `prefect deploy` had resolved are written as the references they came from.
    expect(files['prefect.yaml']).toContain('username: "{{ prefect.blocks.secret.github-user }}"');
    expect(files['prefect.yaml']!.match(/password: "\{\{ prefect\.blocks\.secret\.github-password \}\}"/g)).toHaveLength(2);
    expect(files['README.md']).toContain('openem-config apply \\\n  -v vars.toml \\\n  -v vars-archiver.toml \\\n  -v vars-archiver+s3.toml \\\n  -s GITHUB_PASSWORD_FILE GITHUB_USER_FILE S3_PASSWORD_FILE S3_USER_FILE \\\n  -l limits.toml \\\n  -d prefect.yaml \\\n  -d automations.yaml\n');
    expect(files['README.md']).toContain('| `github-user` (value ends with a newline) | `GITHUB_USER_FILE` |');
    expect(files['README.md']).toContain('Apply with `--keep-trailing-newline`');
    // What the files cannot hold is said, not dropped.
    const [slugless] = (await getJson<{ schedules: Array<{ id: string; slug: string | null }> }>(source(), '/deployments/name/archive_datasetlist/datasets_archival')).schedules.filter((s) => !s.slug);
    const warnings = a.outcome.warnings.map((w) => `${w.subject}: ${w.message}`);
    expect(warnings).toEqual([
      expect.stringMatching(/^variable "nothing": not exported: its value holds null/),
      expect.stringMatching(/^deployment "archive_datasetlist\/datasets_archival": 1 schedule without a slug is not exported: every 3600 s \(schedule [-0-9a-f]+\)\./),
      expect.stringMatching(
        /^deployment "archive_datasetlist\/datasets_retrieval": work_pool\.job_variables\.registry_credentials\.username -> \{\{ prefect\.blocks\.secret\.github-user \}\}, work_pool\.job_variables\.registry_credentials\.password -> \{\{ prefect\.blocks\.secret\.github-password \}\}: these values were the value of a secret block/,
      ),
      expect.stringMatching(/^secret "github-user": its value ends with a newline .*--keep-trailing-newline/),
    ]);
    // The curl that gives the slug-less schedule a slug names it by its id.
    expect(warnings[1]).toContain(`/schedules/${slugless!.id}" -H 'content-type: application/json' -d '{"slug": "every-3600s"}'`);

    // Applied to an empty server through the project file it wrote, with the secrets given from files as the README says.
    const env = { PREFECT_API_URL: target.apiUrl, ...secretFiles() };
    const apply = await runCli(['apply', '--keep-trailing-newline', '-c', join(dirA, 'openem-config.toml')], { env, cwd: tmpdir() });
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(EXIT.ok);
    expect(apply.stdout).toContain('deployments: 3 created, 0 updated, 0 unchanged, 0 failed');
    expect(apply.stdout).toContain('deployment-triggers: 1 created, 0 updated, 0 unchanged, 0 failed');
    expect(apply.stdout).toContain('automations: 2 created, 0 updated, 0 unchanged, 0 failed');
    const secret = await getJson<{ data: { value: string } }>(target.apiUrl, '/block_types/slug/secret/block_documents/name/s3-password?include_secrets=true');
    expect(secret.data.value).toBe(SECRETS['s3-password']);

    const dirB = exportDir();
    const b = await exportTo(target.apiUrl, dirB);
    expect(b.code).toBe(EXIT.ok);
    // The copy holds the references and the newline; it has no slug-less schedule or null.
    expect(b.outcome.warnings.map((w) => w.subject)).toEqual(['secret "github-user"']);
    expect(readTree(dirB)).toStrictEqual(files);

    // Applied back to the source: the one announced change, the references in place of the resolved
    // secrets; secrets given with their final newline are unchanged.
    const onSource = { env: { ...env, PREFECT_API_URL: source() } };
    const plan = await runCli(['plan', '--keep-trailing-newline', ...applyArgv(dirA, a.outcome)], onSource);
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.stdout).toMatch(/^~ deployment archive_datasetlist\/datasets_retrieval: job_variables/);
    expect(plan.stdout).toContain('Plan: 0 to create, 1 to update,');
    expect(plan.writes).toEqual([]);
    // apply adopts the objects: it records them as its own once (for --prune), and changes nothing else but that deployment.
    const adopt = await runCli(['apply', '--keep-trailing-newline', ...applyArgv(dirA, a.outcome)], onSource);
    expect(adopt.code).toBe(EXIT.ok);
    expect(adopt.writes.filter((write) => !isOwnershipWrite(write)).map((write) => `${write.method} ${write.path}`)).toEqual([
      expect.stringMatching(/^PATCH \/deployments\/[-0-9a-f]+$/),
    ]);
    const again = await runCli(['apply', '--keep-trailing-newline', ...applyArgv(dirA, a.outcome)], onSource);
    expect(again.code).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
    // The slug-less schedule the export left out is still on the source.
    const archival = await getJson<{ schedules: Array<{ slug: string | null }> }>(source(), '/deployments/name/archive_datasetlist/datasets_archival');
    expect(archival.schedules.map((s) => s.slug).sort()).toEqual(['nightly', null]);

    // Deterministic: exporting the same server again writes the same bytes.
    const dirC = exportDir();
    expect((await exportTo(source(), dirC)).code).toBe(EXIT.ok);
    expect(readTree(dirC)).toStrictEqual(files);
  });

  it('leaves out a credential that matches no secret block, names it and exits 1; writes it with --allow-plain-credentials', async () => {
    const flow = (await postJson<{ id: string }>(source(), '/flows/', { name: 'typed_flow' })).id;
    const created = await postJson<{ id: string }>(source(), '/deployments/', {
      name: 'typed',
      flow_id: flow,
      entrypoint: './flows/typed.py:typed',
      parameter_openapi_schema: { title: 'Parameters', type: 'object', properties: {} },
      work_pool_name: 'archival-docker-workpool',
      job_variables: { env: { API_TOKEN: TYPED_TOKEN, LOG_LEVEL: 'INFO' } },
    });
    await postJson(source(), '/variables/', { name: 'typed_token', value: TYPED_TOKEN, tags: [] });
    // Its trigger, as prefect deploy makes one, passes the token to the runs it starts.
    const trigger = await postJson<{ id: string }>(source(), '/automations/', {
      name: 'typed trigger',
      owner_resource: `prefect.deployment.${created.id}`,
      trigger: { type: 'event', expect: ['typed.requested'], posture: 'Reactive', threshold: 1, within: 0 },
      actions: [{ type: 'run-deployment', source: 'selected', deployment_id: created.id, parameters: { api_token: TYPED_TOKEN }, job_variables: null }],
    });
    try {
      const dir = exportDir();
      const refused = await exportTo(source(), dir, ['--only', 'variables,deployments', '--match', 'typed*']);
      expect(refused.code).toBe(EXIT.applyFailed);
      expect(refused.all).not.toContain(TYPED_TOKEN);
      expect(refused.outcome.credentialsLeftOut).toEqual([
        { subject: 'variable "typed_token"', paths: ['typed_token'] },
        { subject: 'deployment "typed_flow/typed"', paths: ['work_pool.job_variables.env.API_TOKEN', 'triggers["typed trigger"].parameters.api_token'] },
      ]);
      const files = readTree(dir);
      expect(files['prefect.yaml']).toContain('LOG_LEVEL: INFO');
      expect(files['prefect.yaml']).not.toContain('API_TOKEN');
      expect(files['prefect.yaml']).not.toContain('typed trigger');
      expect(files['README.md']).toContain('| deployment "typed_flow/typed" | `work_pool.job_variables.env.API_TOKEN` |');

      const allowed = await exportTo(source(), exportDir(), ['--only', 'deployments', '--match', 'typed*', '--allow-plain-credentials']);
      expect(allowed.code).toBe(EXIT.ok);
      expect(allowed.outcome.warnings.map((w) => w.credentials)).toContainEqual({ paths: ['work_pool.job_variables.env.API_TOKEN', 'triggers["typed trigger"].parameters.api_token'], written: true });
    } finally {
      await send(source(), 'DELETE', `/automations/${trigger.id}`);
      await send(source(), 'DELETE', `/deployments/${created.id}`);
      await send(source(), 'DELETE', '/variables/name/typed_token');
    }
  });

  it('refers to a string of a JSON secret by its key path and to a secret within other text in place, and Prefect resolves both back', async () => {
    const registry = { username: 'registry-robot-9q', password: 'registry-pass-42x' };
    await createBlock(source(), 'secret', 'registry', { value: registry });
    const flow = (await postJson<{ id: string }>(source(), '/flows/', { name: 'cloned_flow' })).id;
    const created = await postJson<{ id: string }>(source(), '/deployments/', {
      name: 'cloned',
      flow_id: flow,
      entrypoint: './flows/cloned.py:cloned',
      parameter_openapi_schema: { title: 'Parameters', type: 'object', properties: {} },
      work_pool_name: 'archival-docker-workpool',
      // As `prefect deploy` stores `{{ prefect.blocks.secret.registry }}` fields and a clone URL built with the token.
      job_variables: { registry_credentials: { registry_url: 'ghcr.io', ...registry }, env: { LOG_LEVEL: 'INFO' } },
      pull_steps: [{ 'prefect.deployments.steps.git_clone': { repository: `https://x-access-token:${SECRETS['github-password']}@github.com/org/archiver.git` } }],
    });
    try {
      const dir = exportDir();
      const result = await exportTo(source(), dir, ['--only', 'deployments', '--match', 'cloned*']);
      expect(result.code, result.stderr).toBe(EXIT.ok);
      for (const secret of [registry.username, registry.password, SECRETS['github-password']!]) expect(result.all).not.toContain(secret);
      expect(result.outcome.credentialsLeftOut ?? []).toEqual([]);
      expect(result.outcome.warnings.map((w) => w.message).join('\n')).toContain(
        'pull[0].prefect.deployments.steps.git_clone.repository -> {{ prefect.blocks.secret.github-password }} (within the text)',
      );
      const files = readTree(dir);
      for (const secret of [registry.username, registry.password, SECRETS['github-password']!]) expect(Object.values(files).join('\n')).not.toContain(secret);
      expect(files['prefect.yaml']).toContain('username: "{{ prefect.blocks.secret.registry.value.username }}"');
      expect(files['prefect.yaml']).toContain('password: "{{ prefect.blocks.secret.registry.value.password }}"');
      expect(files['prefect.yaml']).toContain('repository: https://x-access-token:{{ prefect.blocks.secret.github-password }}@github.com/org/archiver.git');
      // The file loads, and its references name blocks the server has: applied back, the deployment
      // holds the references, which Prefect's resolver (the worker's, the pull step runner's) turns
      // into what the server held before.
      const applied = await runCli(['apply', '-d', join(dir, 'prefect.yaml')], { env: { PREFECT_API_URL: source() } });
      expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(EXIT.ok);
      expect(applied.stdout).toContain('deployments: 0 created, 1 updated');
      const script = [
        'import asyncio, json, sys',
        'from prefect.client.orchestration import get_client',
        'from prefect.utilities.templating import resolve_block_document_references',
        'async def main():',
        '    async with get_client() as client:',
        '        d = await client.read_deployment_by_name(sys.argv[1])',
        '        print(json.dumps(await resolve_block_document_references({"job_variables": d.job_variables, "pull_steps": d.pull_steps}, client=client)))',
        'asyncio.run(main())',
      ].join('\n');
      const resolved = spawnSync(venvBin('python', { version: inject('prefectVersion'), depsBefore: undefined }), ['-c', script, 'cloned_flow/cloned'], {
        env: { ...process.env, PREFECT_HOME: mkdtempSync(join(tmpdir(), 'openem-resolve-home-')), PREFECT_API_URL: source() },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(resolved.status, resolved.stderr).toBe(0);
      expect(JSON.parse(resolved.stdout)).toEqual({
        job_variables: { registry_credentials: { registry_url: 'ghcr.io', ...registry }, env: { LOG_LEVEL: 'INFO' } },
        pull_steps: [{ 'prefect.deployments.steps.git_clone': { repository: `https://x-access-token:${SECRETS['github-password']}@github.com/org/archiver.git` } }],
      });
    } finally {
      await send(source(), 'DELETE', `/deployments/${created.id}`);
      const block = await getJson<{ id: string }>(source(), '/block_types/slug/secret/block_documents/name/registry');
      await send(source(), 'DELETE', `/block_documents/${block.id}`);
    }
  });

  it('refuses to overwrite an export unless --force, and then writes the same files', async () => {
    const dir = exportDir();
    expect((await exportTo(source(), dir, ['--only', 'limits,pools'])).code).toBe(EXIT.ok);
    const before = readTree(dir);
    expect(Object.keys(before)).toEqual(['.schemas/limits.json', '.schemas/project.json', 'README.md', 'job-templates/archival-docker-workpool.json', 'limits.toml', 'openem-config.toml']);
    const refused = await runCli(['export', '--to', dir, '--only', 'limits,pools'], { env: { PREFECT_API_URL: source() } });
    expect(refused.code).toBe(EXIT.invalidInput);
    expect(refused.stderr).toContain('already holds .schemas/limits.json, .schemas/project.json, README.md, job-templates/archival-docker-workpool.json, limits.toml, openem-config.toml; export into an empty directory, or pass --force');
    const forced = await runCli(['export', '--to', dir, '--only', 'limits,pools', '--force'], { env: { PREFECT_API_URL: source() } });
    expect(forced.code).toBe(EXIT.ok);
    expect(forced.stdout).toContain('Apply them, from that directory, with:\n  openem-config apply \\\n    -l limits.toml\n');
    expect(readTree(dir)).toStrictEqual(before);
  });

  it('selects objects with --only and --match, and warns about a variable apply will tag', async () => {
    await postJson(source(), '/variables/', { name: 'ui_note', value: 'made in the UI', tags: [] });
    try {
      const dir = exportDir();
      const result = await runCli(['export', '--to', dir, '--only', 'variables', '--match', 'ui_*'], { env: { PREFECT_API_URL: source() } });
      expect(result.code).toBe(EXIT.ok);
      expect(Object.keys(readTree(dir))).toEqual(['.schemas/project.json', '.schemas/vars.json', 'README.md', 'openem-config.toml', 'vars.toml']);
      expect(result.stderr).toBe(
        'warning: variables: 1 variable has no "openem-config" tag (ui_note); openem-config tags every variable it writes, so the first apply of this export adds the tag to them and changes nothing else\n',
      );
      const plan = await runCli(['plan', '-v', join(dir, 'vars.toml')], { env: { PREFECT_API_URL: source() } });
      expect(plan.stdout).toBe('~ variable ui_note: tags: [] -> ["openem-config"]\nPlan: 0 to create, 1 to update, 0 unchanged.\n');
    } finally {
      await send(source(), 'DELETE', '/variables/name/ui_note');
    }
  });

  it('exits 4 when the server cannot be reached, and 3 for an unknown --only', async () => {
    const dir = exportDir();
    const unreachable = await runCli(['export', '--to', dir, '--api-url', 'http://127.0.0.1:9/api', '--wait-timeout', '0'], { env: {} });
    expect(unreachable.code).toBe(EXIT.unreachable);
    const unknown = await runCli(['export', '--to', dir, '--only', 'searches'], { env: { PREFECT_API_URL: source() } });
    expect(unknown.code).toBe(EXIT.invalidInput);
    expect(unknown.stderr).toContain('--only takes variables, secrets, limits, blocks, pools, deployments, automations; not "searches"');
    expect(unknown.requests).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
