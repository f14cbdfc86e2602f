import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { preparePythonReader } from '../../../src/python/syntax.js';
import { loadDeployments, type DeploymentsOptions } from '../../../src/kinds/deployments/spec.js';
import { cronProblem, intervalSeconds, timezoneProblem } from '../../../src/config/schedules.js';
import { formatPath } from '../../../src/config/yaml.js';
import { IssueList, type ConfigIssue } from '../../../src/errors.js';
import { useTempDir } from '../../config/temp.js';

// Deployments with --flows-dir read flow files: the grammar is compiled once, as run() does.
beforeAll(preparePythonReader);

const temp = useTempDir();
const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/deployments/${name}`, import.meta.url));
const flowsDir = fileURLToPath(new URL('../../fixtures/flows', import.meta.url));
const archiver = fixture('archiver.yaml');

const ENV = {
  PREFECT_RUNTIME_IMAGE: 'ghcr.io/example/runtime:1.2',
  PREFECT_NETWORK: 'archiver-net',
  HOST_SCRATCH: '/srv/scratch',
  SCRATCH_FOLDER: '/tmp/scratch',
};

function load(files: string[], options: Partial<DeploymentsOptions> = {}) {
  const issues = new IssueList();
  const deployments = loadDeployments(files, { env: ENV, ...options }, issues);
  return { deployments, issues: issues.items };
}

/** A small prefect.yaml in a temporary file. */
function yamlFile(name: string, text: string): string {
  return temp.write(name, text);
}

function error(file: string, line: number, key: string | undefined, fragment: string, column?: number): ConfigIssue {
  return { file, line, ...(column !== undefined && { column }), key, severity: 'error', message: expect.stringContaining(fragment) } as ConfigIssue;
}

function withoutColumns(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.map(({ column: _column, ...rest }) => rest);
}

const jobVariables = {
  image: 'ghcr.io/example/runtime:1.2',
  registry_credentials: {
    registry_url: 'ghcr.io',
    username: '{{ prefect.blocks.secret.github-user }}',
    password: '{{ prefect.blocks.secret.github-password }}',
  },
  image_pull_policy: 'Never',
  networks: ['archiver-net'],
};
const credentialReferences = (index: number) => [
  {
    kind: 'secret',
    name: 'github-user',
    source: { file: archiver, line: 10, column: 17, key: `deployments[${index}].work_pool.job_variables.registry_credentials.username` },
  },
  {
    kind: 'secret',
    name: 'github-password',
    source: { file: archiver, line: 11, column: 17, key: `deployments[${index}].work_pool.job_variables.registry_credentials.password` },
  },
];
const topPull = [{ 'prefect.deployments.steps.set_working_directory': { directory: '/app/backend' } }];

describe('loadDeployments on an archiver-like prefect.yaml', () => {
  const { deployments, issues } = load([archiver]);

  it('loads the four deployments, sorted by flow/name, without an issue', () => {
    expect(issues).toEqual([]);
    expect(deployments.map((d) => `${d.flowName}/${d.name}`)).toEqual([
      'archive_datasetlist/datasets_archival',
      'create_test_dataset/dataset_creation',
      'end_to_end_test_flow/end_to_end_test',
      'retrieve_datasetlist/datasets_retrieval',
    ]);
  });

  it('expands anchors and merges, resolves {{ $ENV }} and keeps {{ prefect.blocks.* }} with their references', () => {
    expect(deployments[1]).toEqual({
      name: 'dataset_creation',
      flowName: 'create_test_dataset',
      entrypoint: './archiver/flows/mock_flows.py:create_test_dataset_flow',
      version: '1.0.0',
      tags: ['archiver'],
      parameters: {},
      schedules: [],
      concurrency: { limit: 2, collisionStrategy: 'ENQUEUE' },
      workPoolName: 'archival-docker-workpool',
      // Reached through an alias: placed where the anchor defines it, where it would be fixed.
      workPoolSource: { file: archiver, line: 20, column: 11, key: 'deployments[0].work_pool.name' },
      workQueueName: 'default',
      jobVariables,
      jobVariableSources: expect.objectContaining({
        image: { file: archiver, line: 7, column: 12, key: 'deployments[0].work_pool.job_variables.image' },
        'registry_credentials.password': { file: archiver, line: 11, column: 17, key: 'deployments[0].work_pool.job_variables.registry_credentials.password' },
        'networks.0': { file: archiver, line: 14, column: 9, key: 'deployments[0].work_pool.job_variables.networks[0]' },
      }),
      pullSteps: topPull,
      references: credentialReferences(0),
      source: { file: archiver, line: 39, column: 5, key: 'deployments[0]' },
    });
    // `description:` with no value is "not declared", and no parameter schema is known without --flows-dir.
    expect(deployments[1]).not.toHaveProperty('description', null);
    expect(deployments[1]?.description).toBeUndefined();
    expect(deployments[1]?.parameterSchema).toBeUndefined();
  });

  it('merges a mapping into a merged mapping, own keys winning', () => {
    const archival = deployments[0];
    expect(archival?.jobVariables).toEqual({ ...jobVariables, volumes: ['/srv/scratch:/tmp/scratch'] });
    const retrieval = deployments[3];
    expect(retrieval?.jobVariables).toEqual({ ...jobVariables, image_pull_policy: 'IfNotPresent', volumes: ['/srv/scratch:/tmp/scratch'] });
    expect(retrieval?.workPoolName).toBe('retrieval-docker-workpool');
  });

  it('keeps a version written as a number as written, and reads an integer concurrency limit', () => {
    expect(deployments[2]?.version).toBe('1.10');
    expect(deployments[2]?.description).toBe('Archives and retrieves a generated dataset');
    expect(deployments[3]?.concurrency).toEqual({ limit: 1 });
  });

  it('reads schedules, making up a stable slug for one without', () => {
    expect(deployments[2]?.schedules).toEqual([
      {
        slug: 'openem-1',
        schedule: { cron: '0 3 * * MON-FRI', timezone: 'Europe/Zurich' },
        active: true,
        parameters: {},
        source: { file: archiver, line: 52, column: 9, key: 'deployments[1].schedules[0]' },
      },
      {
        slug: 'every-six-hours',
        schedule: { interval: 21600 },
        active: false,
        parameters: { num_files: 2 },
        source: { file: archiver, line: 54, column: 9, key: 'deployments[1].schedules[1]' },
      },
    ]);
  });

  it('inherits the top-level pull steps, and keeps a deployment’s own pull steps as written', () => {
    expect(deployments[0]?.pullSteps).toEqual(topPull);
    expect(deployments[3]?.pullSteps).toEqual([{ 'prefect.deployments.steps.set_working_directory': { directory: '{{ $RETRIEVAL_WORKDIR }}' } }]);
  });

  it('keeps {{ prefect.variables.* }} in parameters and records it', () => {
    expect(deployments[3]?.parameters).toEqual({ timeout: '{{ prefect.variables.retrieval_timeout }}' });
    expect(deployments[3]?.references).toEqual([
      { kind: 'variable', name: 'retrieval_timeout', source: { file: archiver, line: 74, column: 16, key: 'deployments[3].parameters.timeout' } },
      ...credentialReferences(3),
    ]);
  });

  it('gives the same result on a second load', () => {
    expect(load([archiver]).deployments).toEqual(deployments);
  });
});

describe('loadDeployments with --flows-dir', () => {
  it('takes the parameter schema from the flow source and checks flow_name against it', () => {
    const { deployments, issues } = load([archiver], { flowsDir });
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const archival = deployments.find((d) => d.name === 'datasets_archival');
    expect(archival?.parameterSchema).toMatchObject({
      type: 'object',
      properties: { job_id: { type: 'string', format: 'uuid' } },
      required: ['job_id'],
    });
    expect(deployments.every((d) => d.parameterSchema !== undefined)).toBe(true);
  });

  it('finds the flow name when flow_name is absent, and refuses a flow_name the source contradicts', () => {
    const file = yamlFile(
      'flows-dir.yaml',
      [
        'deployments:',
        '  - name: retrieval',
        '    entrypoint: ./archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow',
        '  - name: wrong',
        '    entrypoint: ./archiver/flows/archive_datasets_flow.py:archive_datasets_flow',
        '    flow_name: archive_datasets',
        '  - name: declared-schema',
        '    entrypoint: ./archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow',
        '    parameter_openapi_schema: {type: object, properties: {}}',
        '',
      ].join('\n'),
    );
    const { deployments, issues } = load([file], { flowsDir });
    expect(deployments.map((d) => `${d.flowName}/${d.name}`)).toEqual(['retrieve_datasetlist/declared-schema', 'retrieve_datasetlist/retrieval']);
    expect(deployments[0]?.parameterSchema).toEqual({ type: 'object', properties: {} });
    expect(deployments[1]?.parameterSchema).toMatchObject({ required: ['job_id'] });
    expect(withoutColumns(issues)).toEqual([
      error(file, 6, 'deployments[1].flow_name', 'is named `archive_datasetlist`', undefined),
    ]);
  });

  it("gives a deployment without a description its flow's, as prefect deploy does", () => {
    const file = yamlFile(
      'descriptions.yaml',
      [
        'deployments:',
        '  - name: from-docstring',
        '    entrypoint: ./archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow',
        '  - name: empty',
        '    description: ""',
        '    entrypoint: ./archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow',
        '  - name: own',
        '    description: Its own',
        '    entrypoint: ./archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow',
        '  - name: from-decorator',
        '    entrypoint: ./typing_zoo.py:tabs',
        '  - name: none',
        '    entrypoint: ./typing_zoo.py:scalars',
        '',
      ].join('\n'),
    );
    const { deployments, issues } = load([file], { flowsDir });
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(Object.fromEntries(deployments.map((d) => [d.name, d.description]))).toEqual({
      'from-docstring': 'Retrieves every dataset of a retrieve job.',
      empty: 'Retrieves every dataset of a retrieve job.',
      own: 'Its own',
      'from-decorator': 'Given in the decorator',
      none: undefined,
    });
    // Without --flows-dir nothing is known of the flow: no description is made up.
    const named = yamlFile('named.yaml', 'deployments:\n  - name: d\n    flow_name: retrieve_datasetlist\n    entrypoint: ./archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow\n');
    expect(load([named], {}).deployments.map((d) => d.description)).toEqual([undefined]);
  });

  it('reports an entrypoint whose file does not exist at the entrypoint', () => {
    const file = yamlFile('missing-flow.yaml', 'deployments:\n  - name: gone\n    entrypoint: ./nowhere.py:gone_flow\n    flow_name: gone\n');
    const { deployments, issues } = load([file], { flowsDir });
    expect(deployments).toEqual([]);
    expect(withoutColumns(issues)).toEqual([error(file, 3, 'deployments[0].entrypoint', 'does not exist')]);
  });
});

describe('loadDeployments reports', () => {
  it('a concurrency_limit under work_pool, saying where it belongs', () => {
    const file = fixture('misplaced-concurrency.yaml');
    const { deployments, issues } = load([file]);
    expect(deployments).toEqual([]);
    expect(issues).toEqual([
      {
        file,
        line: 9,
        column: 7,
        key: 'deployments[0].work_pool.concurrency_limit',
        severity: 'error',
        message:
          '`concurrency_limit` does not belong under `work_pool:`, where Prefect silently ignores it; move it to the deployment level (`concurrency_limit:` beside `work_pool:`), where Prefect reads it',
      },
    ]);
  });

  it('unknown keys at every level, with the closest allowed key', () => {
    const file = fixture('unknown-keys.yaml');
    const { deployments, issues } = load([file]);
    expect(deployments).toEqual([]);
    expect(withoutColumns(issues).sort((a, b) => (a.line ?? 0) - (b.line ?? 0))).toEqual([
      error(file, 2, 'deploymnets', 'unknown key `deploymnets` in a prefect.yaml; did you mean `deployments`? the allowed keys are name, prefect-version, build, push, pull, deployments, definitions'),
      error(file, 7, 'deployments[0].parmeters', 'unknown key `parmeters` in a deployment; did you mean `parameters`?'),
      error(file, 10, 'deployments[0].work_pool.job_varaibles', 'unknown key `job_varaibles` in `work_pool`; did you mean `job_variables`? the allowed keys are name, work_queue_name, job_variables'),
      error(file, 13, 'deployments[0].schedules[0].timezon', 'unknown key `timezon` in a schedule; did you mean `timezone`?'),
    ]);
  });

  it('environment variables that are not set, once each, and loads nothing that needs them', () => {
    const { deployments, issues } = load([archiver], { env: { PREFECT_RUNTIME_IMAGE: 'x', HOST_SCRATCH: '' } });
    expect(deployments).toEqual([]);
    expect(issues).toEqual([
      { file: archiver, line: 14, column: 9, key: 'deployments[0].work_pool.job_variables.networks[0]', severity: 'error', message: expect.stringContaining('environment variable PREFECT_NETWORK is not set or is empty; set it') },
      { file: archiver, line: 18, column: 9, key: 'deployments[2].work_pool.job_variables.volumes[0]', severity: 'error', message: expect.stringContaining('environment variable HOST_SCRATCH is not set or is empty;') },
      { file: archiver, line: 18, column: 9, key: 'deployments[2].work_pool.job_variables.volumes[0]', severity: 'error', message: expect.stringContaining('environment variable SCRATCH_FOLDER is not set or is empty;') },
    ]);
  });

  it('every problem of the schedules at once', () => {
    const file = fixture('bad-schedules.yaml');
    const { deployments, issues } = load([file]);
    expect(deployments).toEqual([]);
    expect(withoutColumns(issues)).toEqual([
      error(file, 6, 'deployments[0].schedules[0].cron', '`0 3 * *` has 4 fields; a cron expression has 5 (minute hour day-of-month month day-of-week)'),
      error(file, 7, 'deployments[0].schedules[1].cron', '`61 3 * * *`: `61` is not 0-59 in the minute field'),
      error(file, 8, 'deployments[0].schedules[2].cron', '`FUN` is not 0-7 or SUN-SAT in the day of week field'),
      error(file, 9, 'deployments[0].schedules[2].timezone', '`Europe/Zurch` is not an IANA time zone; did you mean `Europe/Zurich`?'),
      error(file, 10, 'deployments[0].schedules[3].interval', '`P1M` counts years or months, which have no fixed length'),
      error(file, 11, 'deployments[0].schedules[4].interval', 'must be more than 0 seconds, found 0'),
      error(file, 12, 'deployments[0].schedules[5].rrule', 'must be an iCalendar recurrence rule starting with FREQ=, RRULE: or DTSTART'),
      error(file, 14, 'deployments[0].schedules[6].interval', 'a schedule has one of cron, interval or rrule, this one has cron and interval'),
      error(file, 15, 'deployments[0].schedules[7]', 'a schedule needs one of `cron`, `interval` or `rrule`'),
      error(file, 19, 'deployments[0].schedules[9].slug', 'schedule slug `daily` is already used by deployments[0].schedules[8]; give each schedule its own slug'),
      error(file, 21, 'deployments[0].schedules[10].timezone', 'write the time zone as `Europe/Zurich`'),
    ]);
  });

  it('a deployment declared twice, across files and within one, naming the first place', () => {
    const file = fixture('duplicate.yaml');
    const { deployments, issues } = load([archiver, file]);
    expect(deployments.map((d) => `${d.flowName}/${d.name}`)).toContain('tape_archival/datasets_archival');
    expect(deployments.find((d) => d.name === 'datasets_archival' && d.flowName === 'archive_datasetlist')?.source.file).toBe(archiver);
    expect(issues).toEqual([
      {
        file,
        line: 3,
        column: 5,
        key: 'deployments[0]',
        severity: 'error',
        message: `deployment \`archive_datasetlist/datasets_archival\` is already declared at ${archiver}:61 (deployments[2]); rename one of them or remove one`,
      },
      error(file, 9, 'deployments[2]', `deployment \`tape_archival/datasets_archival\` is already declared at ${file}:6 (deployments[1])`, 5),
    ]);
  });

  it('an alias bomb quickly, at the alias that expands too far', () => {
    const file = fixture('alias-bomb.yaml');
    const started = performance.now();
    const { deployments, issues } = load([file]);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(deployments).toEqual([]);
    expect(issues).toEqual([error(file, 8, undefined, '`*e` expands to more than 100000 values, which looks like an alias bomb', 10)].map(({ key: _key, ...rest }) => rest));
  });

  it('a merge bomb (each level merging the one below twice) quickly', () => {
    const levels = ['l0: &l0 {a: 1, b: 2}'];
    for (let level = 1; level <= 40; level++) levels.push(`l${level}: &l${level} {<<: [*l${level - 1}, *l${level - 1}], k${level}: ${level}}`);
    const file = yamlFile('merge-bomb.yaml', `definitions:\n${levels.map((line) => `  ${line}`).join('\n')}\ndeployments: []\n`);
    const started = performance.now();
    const { issues } = load([file]);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  });

  it('a YAML syntax error at its line and column', () => {
    const file = fixture('syntax-error.yaml');
    expect(load([file])).toEqual({
      deployments: [],
      issues: [error(file, 4, undefined, 'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]', 5)].map(({ key: _key, ...rest }) => rest),
    });
  });

  it('placeholders that only build steps could fill, and warns that build steps are not run', () => {
    const file = fixture('step-output.yaml');
    const { deployments, issues } = load([file], { env: { SCRATCH_HOST: '/srv/scratch' } });
    expect(deployments).toEqual([]);
    expect(withoutColumns(issues)).toEqual([
      { file, line: 1, key: 'build', severity: 'warning', message: expect.stringContaining('`build` steps are not run: openem-config only registers deployments') },
      error(file, 12, 'deployments[0].work_pool.job_variables.image', '`{{ build-image.image }}` is the output of a build or push step, and openem-config runs no build or push step: give its value with --step-output build-image.image=VALUE or in the environment variable OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE'),
      { file, line: 14, key: 'deployments[0].work_pool.job_variables.volumes[0]', severity: 'warning', message: expect.stringContaining('write `{{ $SCRATCH_HOST }}`') },
      error(file, 18, 'deployments[0].work_pool.job_variables.env.BROKEN', '`{{ $NOT A NAME }}` is not a placeholder'),
    ]);
  });
});

describe('loadDeployments on small files', () => {
  const one = (name: string, body: string) => yamlFile(name, `deployments:\n  - name: one\n    entrypoint: ./flows/one.py:one\n    flow_name: one\n${body}`);

  it('reads the three forms of concurrency_limit and null', () => {
    const forms = [
      ['    concurrency_limit: 3\n', { limit: 3 }],
      ['    concurrency_limit: {limit: 1, collision_strategy: CANCEL_NEW, grace_period_seconds: 600}\n', { limit: 1, collisionStrategy: 'CANCEL_NEW', gracePeriodSeconds: 600 }],
      ['    concurrency_limit:\n', null],
      ['', undefined],
    ] as const;
    for (const [index, [body, expected]] of forms.entries()) {
      const { deployments, issues } = load([one(`concurrency-${index}.yaml`, body)]);
      expect(issues).toEqual([]);
      expect(deployments[0]?.concurrency).toEqual(expected);
    }
  });

  it('refuses a bad concurrency_limit with what is expected', () => {
    const file = one('concurrency-bad.yaml', '    concurrency_limit: {limit: 0, collision_strategy: QUEUE, grace_period_seconds: 30, strategy: x}\n');
    expect(withoutColumns(load([file]).issues)).toEqual([
      error(file, 5, 'deployments[0].concurrency_limit.limit', 'must be 1 or more'),
      error(file, 5, 'deployments[0].concurrency_limit.collision_strategy', 'must be ENQUEUE or CANCEL_NEW, found `QUEUE`'),
      error(file, 5, 'deployments[0].concurrency_limit.grace_period_seconds', 'must be at least 60 seconds'),
      error(file, 5, 'deployments[0].concurrency_limit.strategy', 'unknown key `strategy` in `concurrency_limit`'),
    ]);
    const text = one('concurrency-text.yaml', '    concurrency_limit: two\n');
    expect(withoutColumns(load([text]).issues)).toEqual([error(text, 5, 'deployments[0].concurrency_limit', 'must be a whole number of 1 or more, `{limit: n, collision_strategy')]);
  });

  it('refuses sla, and warns about version_type, build steps and the converted legacy schedule', () => {
    const file = one(
      'unsupported.yaml',
      ['    schedule: {cron: "0 3 * * *"}', '    triggers: []', '    sla: [{name: late, duration: 60}]', '    version_type: simple', '    push:', '      - prefect.deployments.steps.run_shell_script: {script: echo}', ''].join('\n'),
    );
    const { deployments, issues } = load([file]);
    expect(deployments).toEqual([]);
    expect(withoutColumns(issues)).toEqual([
      error(file, 7, 'deployments[0].sla', '`sla` declares SLAs, which only Prefect Cloud keeps'),
      { file, line: 9, key: 'deployments[0].push', severity: 'warning', message: expect.stringContaining('`push` steps are not run') },
      // The legacy forms in the order written (the report sorts every issue by line).
      { file, line: 5, key: 'deployments[0].schedule', severity: 'warning', message: expect.stringContaining('the single `schedule` is converted to a one-item `schedules` list') },
      { file, line: 8, key: 'deployments[0].version_type', severity: 'warning', message: expect.stringContaining('`version_type` is not supported and is ignored') },
    ]);
  });

  it('says what `sla` must be when it is no list', () => {
    const file = one('sla-mapping.yaml', '    sla: {}\n');
    expect(withoutColumns(load([file]).issues)).toEqual([error(file, 5, 'deployments[0].sla', 'must be a list of SLAs, found a mapping; write `sla: []` or remove it for none')]);
  });

  it('accepts `sla: []` and `sla: null` (no SLA, as a self-hosted server has none) without a word, also under --strict', () => {
    for (const [name, body] of [['sla-empty.yaml', '    sla: []\n'], ['sla-null.yaml', '    sla:\n']] as const) {
      const file = one(name, body);
      for (const strict of [false, true]) {
        const { deployments, issues } = load([file], { strict });
        expect(issues, name).toEqual([]);
        expect(deployments.map((d) => d.name)).toEqual(['one']);
      }
    }
  });

  it('says where deployment-level job_variables and concurrency_options go, naming the key once', () => {
    const file = one('misplaced.yaml', '    job_variables: {image: x}\n    concurrency_options: {collision_strategy: ENQUEUE}\n');
    expect(withoutColumns(load([file]).issues)).toEqual([
      error(file, 5, 'deployments[0].job_variables', '`job_variables` belongs under `work_pool:`, e.g. `work_pool: {name: ..., job_variables: {...}}`'),
      error(file, 6, 'deployments[0].concurrency_options', '`concurrency_options` is not read here: write the options inside `concurrency_limit`'),
    ]);
  });

  it('reads an empty flow_name as absent, as prefect deploy does: the name comes from --flows-dir, or the error names it', () => {
    const file = yamlFile('empty-flow-name/prefect.yaml', 'deployments:\n  - name: d\n    flow_name: ""\n    entrypoint: flows.py:extract\n  - name: e\n    flow_name: " "\n    entrypoint: flows.py:extract\n');
    temp.write('empty-flow-name/flows.py', '@flow(name="extract-files")\ndef extract(): pass\n');
    const read = load([file], { flowsDir: file.replace(/prefect\.yaml$/, '') });
    expect(read.issues).toEqual([]);
    expect(read.deployments.map((d) => [d.flowName, d.name])).toEqual([['extract-files', 'd'], ['extract-files', 'e']]);
    expect(withoutColumns(load([file]).issues)).toEqual([error(file, 2, 'deployments[0]', 'the flow name is unknown'), error(file, 5, 'deployments[1]', 'the flow name is unknown')]);
  });

  it('needs a flow name: from flow_name or --flows-dir', () => {
    const file = yamlFile(
      'flow-names.yaml',
      ['deployments:', '  - name: no-flow-name', '    entrypoint: ./flows/a.py:a_flow', '  - name: nothing', '  - name: no-entrypoint', '    flow_name: b', ''].join('\n'),
    );
    const { deployments, issues } = load([file]);
    expect(deployments.map((d) => d.name)).toEqual(['no-entrypoint']);
    expect(withoutColumns(issues)).toEqual([
      error(file, 2, 'deployments[0]', 'the flow name is unknown: add `flow_name:` with the name given to @flow in ./flows/a.py:a_flow, or pass --flows-dir'),
      error(file, 4, 'deployments[1]', 'add `entrypoint: path/to/file.py:function`'),
      { file, line: 5, key: 'deployments[2]', severity: 'warning', message: expect.stringContaining('has no `entrypoint`, so workers cannot start its runs') },
    ]);
  });

  it('places each issue at its key or value, never at the deployment\'s first line', () => {
    const file = yamlFile(
      'places.yaml',
      [
        'deployments:',
        '  - name: d1',
        '    flow_name: f1',
        '    entrypoint: flows.py:f1',
        '    work_pool: {name, work_queue_name: q, bogus: 1}',
        '    concurrency_limit:',
        '      limit: 0',
        '    schedules:',
        '      - {cron: "0 3 * * *", slug: }',
        '',
      ].join('\n'),
    );
    const { issues } = load([file]);
    expect(issues).toEqual([
      error(file, 7, 'deployments[0].concurrency_limit.limit', 'must be 1 or more', 14),
      error(file, 9, 'deployments[0].schedules[0].slug', 'must be text naming the schedule', 29),
      error(file, 5, 'deployments[0].work_pool.name', 'must be the work pool name', 17),
      error(file, 5, 'deployments[0].work_pool.bogus', 'unknown key `bogus`', 43),
    ]);
  });

  it('records where the pool and each job variable are written, for the checks against the pool', () => {
    const file = yamlFile(
      'job-variable-places.yaml',
      ['deployments:', '  - name: d1', '    flow_name: f1', '    entrypoint: flows.py:f1', '    work_pool:', '      name: p', '      job_variables:', '        image: x', '        networks: [a, b]', ''].join('\n'),
    );
    const [deployment] = load([file]).deployments;
    expect(deployment?.workPoolSource).toEqual({ file, line: 6, column: 13, key: 'deployments[0].work_pool.name' });
    expect(deployment?.jobVariableSources).toEqual({
      image: { file, line: 8, column: 16, key: 'deployments[0].work_pool.job_variables.image' },
      networks: { file, line: 9, column: 19, key: 'deployments[0].work_pool.job_variables.networks' },
      'networks.0': { file, line: 9, column: 20, key: 'deployments[0].work_pool.job_variables.networks[0]' },
      'networks.1': { file, line: 9, column: 23, key: 'deployments[0].work_pool.job_variables.networks[1]' },
    });
  });

  it('checks names, the entrypoint form and the types of values', () => {
    const file = yamlFile(
      'types.yaml',
      [
        'deployments:',
        '  - name: "a/b"',
        '    entrypoint: flows/a.py',
        '    flow_name: a',
        '    tags: archiver',
        '    paused: "yes"',
        '    work_pool: {work_queue_name: default}',
        '  - flow_name: b',
        '    entrypoint: ./b.py:b',
        '',
      ].join('\n'),
    );
    const { deployments, issues } = load([file]);
    expect(deployments).toEqual([]);
    expect(withoutColumns(issues)).toEqual([
      error(file, 2, 'deployments[0].name', 'holds `/`, which Prefect refuses in names'),
      error(file, 3, 'deployments[0].entrypoint', 'must be `path/to/file.py:function`'),
      error(file, 5, 'deployments[0].tags', 'must be a list of tags, e.g. `tags: [archiver]`, found text'),
      error(file, 6, 'deployments[0].paused', 'must be true or false, found text'),
      error(file, 7, 'deployments[0].work_pool.name', 'is required: add the work pool name'),
      error(file, 8, 'deployments[1].name', 'is required: add the deployment name'),
    ]);
  });

  it('refuses a file that is not a mapping, a deployments key that is not a list, and bad pull steps', () => {
    const list = yamlFile('list.yaml', '- name: a\n');
    expect(withoutColumns(load([list]).issues)).toEqual([
      { file: list, line: 1, key: undefined, severity: 'error', message: 'a prefect.yaml must be a mapping with a `deployments:` list, found a list' },
    ]);
    const notList = yamlFile('not-list.yaml', 'deployments:\n  name: a\n');
    expect(withoutColumns(load([notList]).issues)).toEqual([error(notList, 2, 'deployments', 'must be a list of deployments (`- name: ...`), found a mapping')]);
    const pull = yamlFile('pull.yaml', 'pull:\n  - a: {}\n    b: {}\n  - just-a-string\ndeployments: []\n');
    expect(withoutColumns(load([pull]).issues)).toEqual([
      error(pull, 2, 'pull[0]', 'must be one step, a mapping with a single key naming the step function; found 2 keys'),
      error(pull, 4, 'pull[1]', 'must be a step'),
    ]);
    const empty = yamlFile('empty-deployments.yaml', 'name: nothing\n');
    expect(withoutColumns(load([empty]).issues)).toEqual([
      { file: empty, line: 1, key: undefined, severity: 'warning', message: 'declares no deployments; add a `deployments:` list' },
    ]);
  });

  it('refuses YAML that has no JSON form, unknown aliases and repeated keys', () => {
    const infinite = one('infinite.yaml', '    parameters: {x: .inf}\n');
    expect(withoutColumns(load([infinite]).issues)).toEqual([error(infinite, 5, undefined, '.inf cannot be stored: JSON has no NaN or infinity')].map(({ key: _key, ...rest }) => rest));
    const alias = one('alias.yaml', '    parameters: *nowhere\n');
    expect(withoutColumns(load([alias]).issues)).toEqual([error(alias, 5, undefined, 'alias `*nowhere` names no anchor before it')].map(({ key: _key, ...rest }) => rest));
    const repeated = one('repeated.yaml', '    paused: true\n    paused: false\n');
    expect(withoutColumns(load([repeated]).issues)).toEqual([error(repeated, 6, undefined, 'invalid YAML: Map keys must be unique')].map(({ key: _key, ...rest }) => rest));
  });

  it('keeps a key named __proto__ as data', () => {
    const file = one('proto.yaml', '    parameters: {__proto__: {polluted: true}}\n');
    const { deployments, issues } = load([file]);
    expect(issues).toEqual([]);
    expect(Object.keys(deployments[0]?.parameters ?? {})).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads interval, rrule and cron schedules with their options', () => {
    const file = one(
      'schedules.yaml',
      [
        '    schedules:',
        '      - interval: 90.5',
        '        anchor_date: "2024-01-01T00:00:00Z"',
        '        timezone: UTC',
        '      - rrule: "FREQ=WEEKLY;BYDAY=MO,FR"',
        '        timezone: America/New_York',
        '        slug: twice-a-week',
        '      - cron: "*/15 8-18 L * 1-5,SAT"',
        '        day_or: false',
        '        parameters: {quick: true}',
        '',
      ].join('\n'),
    );
    const { deployments, issues } = load([file]);
    expect(issues).toEqual([]);
    expect(deployments[0]?.schedules.map(({ source: _source, ...rest }) => rest)).toEqual([
      { slug: 'openem-1', schedule: { interval: 90.5, anchor_date: '2024-01-01T00:00:00Z', timezone: 'UTC' }, active: true, parameters: {} },
      { slug: 'twice-a-week', schedule: { rrule: 'FREQ=WEEKLY;BYDAY=MO,FR', timezone: 'America/New_York' }, active: true, parameters: {} },
      { slug: 'openem-3', schedule: { cron: '*/15 8-18 L * 1-5,SAT', day_or: false }, active: true, parameters: { quick: true } },
    ]);
  });

  it('takes {{ $ENV }} in any templated key, but not in pull steps', () => {
    const file = yamlFile(
      'env-everywhere.yaml',
      ['deployments:', '  - name: "{{ $DEPLOYMENT }}"', '    entrypoint: ./flows/one.py:one', '    flow_name: one', '    tags: ["{{ $SITE }}"]', '    pull:', '      - x.y: {dir: "{{ $UNSET_AT_DEPLOY_TIME }}"}', ''].join('\n'),
    );
    const { deployments, issues } = load([file], { env: { DEPLOYMENT: 'nightly', SITE: 'psi' } });
    expect(issues).toEqual([]);
    expect(deployments[0]).toMatchObject({ name: 'nightly', tags: ['psi'], pullSteps: [{ 'x.y': { dir: '{{ $UNSET_AT_DEPLOY_TIME }}' } }] });
  });

  it('reports a file that cannot be read', () => {
    const missing = `${temp.dir}/absent.yaml`;
    expect(load([missing]).issues).toEqual([{ file: missing, severity: 'error', message: 'deployments file not found; check the path' }]);
  });
});

describe('schedule value checks', () => {
  it.each(['0 3 * * *', '*/5 * * * *', '0 0 1,15 * *', '0 9 * JAN-MAR MON', '0 0 * * 5#3', '0 0 L * *', '0 12 ? * 7', '0 0 * * * 30', '@daily', '@HOURLY', '5/10 * * * *'])(
    'accepts the cron expression %s',
    (expression) => expect(cronProblem(expression)).toBeUndefined(),
  );

  it.each([
    ['', 'has 0 fields'],
    ['* * * *', 'has 4 fields'],
    ['* * * * * * *', 'has 7 fields'],
    ['60 * * * *', '`60` is not 0-59 in the minute field'],
    ['* 24 * * *', '`24` is not 0-23 in the hour field'],
    ['* * 0 * *', '`0` is not 1-31 in the day of month field'],
    ['* * * 13 *', '`13` is not 1-12 or JAN-DEC in the month field'],
    ['* * * * 8', '`8` is not 0-7 or SUN-SAT in the day of week field'],
    ['*/0 * * * *', 'the step `/0` must be a whole number of 1 or more'],
    ['1,,2 * * * *', 'an empty list item'],
    ['1-2-3 * * * *', 'is not a value or a range'],
    ['? * * * *', '`?` is not 0-59'],
    ['@reboot', '`@reboot` is not a cron macro'],
  ])('refuses the cron expression %j', (expression, fragment) => expect(cronProblem(expression)).toContain(fragment));

  it('turns intervals into seconds', () => {
    expect(intervalSeconds(60)).toBe(60);
    expect(intervalSeconds('PT1H')).toBe(3600);
    expect(intervalSeconds('P1DT30M')).toBe(88_200);
    expect(intervalSeconds('P2W')).toBe(1_209_600);
    expect(intervalSeconds('PT0.5S')).toBe(0.5);
    for (const bad of ['P', 'PT', 'PT0S', '1h', 'P1Y', -5, 0]) expect(intervalSeconds(bad)).toBeUndefined();
  });

  it('knows IANA time zones, and refuses offsets and wrong case', () => {
    for (const zone of ['UTC', 'Etc/UTC', 'Europe/Zurich', 'America/Argentina/Buenos_Aires']) expect(timezoneProblem(zone)).toBeUndefined();
    expect(timezoneProblem('+01:00')).toContain('is not an IANA time zone');
    expect(timezoneProblem('Mars/Olympus')).toContain('is not an IANA time zone');
    expect(timezoneProblem('utc')).toBe('write the time zone as `UTC`');
  });
});

describe('formatPath', () => {
  it('writes list indexes in brackets and quotes keys that are not plain words', () => {
    expect(formatPath(['deployments', 0, 'work_pool', 'job_variables', 'image'])).toBe('deployments[0].work_pool.job_variables.image');
    expect(formatPath(['pull', 0, 'prefect.deployments.steps.x', 'directory'])).toBe('pull[0]["prefect.deployments.steps.x"].directory');
  });
});
