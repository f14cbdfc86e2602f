// The schemas agree with the tool: every example and fixture input the tool accepts is valid
// against its schema, and files the tool refuses for a structural reason (an unknown key, a wrong
// type) are invalid. Refusals for reasons a JSON Schema cannot state (names, cron, duplicates,
// environment) are listed with the reason, so that the table shows what the schemas leave out.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stepOutputVariable } from '../../src/config/templating.js';
import { EXIT } from '../../src/exit-codes.js';
import { undeclaredLegacyKeys } from '../../src/schemas/documents.js';
import { useTempDir } from '../config/temp.js';
import { runCli } from '../helpers/cli.js';
import { parseFile, schemaErrors } from './validator.js';

const root = join(import.meta.dirname, '..', '..');
const FLAG = { vars: '-v', limits: '-l', 'prefect-yaml': '-d', project: '-c' } as const;
type Name = keyof typeof FLAG;

/** What the environment of a run gives: every `{{ $NAME }}`, step output and `from_env` name of the file, so that only the file is judged. */
function environmentFor(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name] of text.matchAll(/\{\{\s*\$(\w+)\s*\}\}/g)) env[name!] = 'x';
  for (const [, expression] of text.matchAll(/\{\{\s*([\w-]+\.[\w.-]+)\s*\}\}/g)) if (!expression!.startsWith('prefect.')) env[stepOutputVariable(expression!)] = 'x';
  for (const [, list] of text.matchAll(/^from_env\s*=\s*\[([^\]]*)\]/gm)) for (const [, name] of list!.matchAll(/"([^"]+)"/g)) env[name!] = 'x';
  return env;
}

/** Whether `openem-config validate` accepts the file as the input `name`. */
async function toolAccepts(name: Name, path: string, flows?: string): Promise<boolean> {
  const text = readFileSync(path, 'utf8');
  const dir = flows ?? (name === 'prefect-yaml' && text.includes('typing_zoo') ? join(root, 'test/fixtures/flows') : undefined);
  const flowsDir = dir ? ['--flows-dir', dir] : [];
  const result = await runCli(['validate', FLAG[name], path, ...flowsDir, ...(name === 'project' ? [] : ['--no-project'])], { env: environmentFor(text) });
  expect([EXIT.ok, EXIT.invalidInput], result.stderr).toContain(result.code);
  return result.code === EXIT.ok;
}

function schemaAccepts(name: Name, path: string): boolean | 'unparsable' {
  let data: unknown;
  try {
    data = parseFile(path);
  } catch {
    return 'unparsable';
  }
  return schemaErrors(name, data).length === 0;
}

interface Case {
  file: string;
  schema: Name;
  /** --flows-dir, relative to the repository. */
  flows?: string;
  /** Why the tool refuses a file the schema takes: what no JSON Schema can check. Absent: both agree. */
  notStructural?: string;
}

const accepted: Case[] = [
  ...['vars_dev', 'vars_qa', 'vars_prod'].map((file) => ({ file: `vars/${file}.toml`, schema: 'vars' as const })),
  ...['concurrency-limits', 'work-pools_dev', 'work-pools_qa', 'work-pools_prod'].map((file) => ({ file: `vars/${file}.toml`, schema: 'limits' as const })),
  { file: 'vars/prefect.yaml', schema: 'prefect-yaml' },
  ...['vars-archiver', 'vars-override', 'vars-types'].map((file) => ({ file: `test/fixtures/config/${file}.toml`, schema: 'vars' as const })),
  ...['limits-flat', 'limits-table'].map((file) => ({ file: `test/fixtures/config/${file}.toml`, schema: 'limits' as const })),
  ...[
    'deployments/archiver.yaml',
    'deployments/legacy/prefect2-project.yaml',
    'deployments/legacy/prefect2-saved-schedules.yaml',
    'deployments/legacy/step-outputs.yaml',
    'migrate/current.yaml',
    'migrate/docker-anchors.yaml',
    'migrate/flow-style.yaml',
    'migrate/git-project.yaml',
    'migrate/saved-schedules.yaml',
    'migrate/expected/docker-anchors.yaml',
    'migrate/expected/flow-style.yaml',
    'migrate/expected/git-project.yaml',
    'migrate/expected/saved-schedules.yaml',
  ].map((file) => ({ file: `test/fixtures/${file}`, schema: 'prefect-yaml' as const })),
  // The prefect.yaml parity corpus, each project with its flow files.
  ...readdirSync(join(root, 'test/fixtures/prefect-yaml-corpus'))
    .filter((project) => !project.startsWith('_'))
    .map((project) => ({ file: `test/fixtures/prefect-yaml-corpus/${project}/prefect.yaml`, schema: 'prefect-yaml' as const, flows: `test/fixtures/prefect-yaml-corpus/${project}` })),
];

const refused: Case[] = [
  { file: 'test/fixtures/config/limits-invalid.toml', schema: 'limits' },
  { file: 'test/fixtures/deployments/unknown-keys.yaml', schema: 'prefect-yaml' },
  { file: 'test/fixtures/deployments/misplaced-concurrency.yaml', schema: 'prefect-yaml' },
  { file: 'test/fixtures/deployments/legacy/prefect2-refused.yaml', schema: 'prefect-yaml' },
  { file: 'test/fixtures/deployments/bad-schedules.yaml', schema: 'prefect-yaml', notStructural: 'cron, rrule, interval and time zone values' },
  { file: 'test/fixtures/deployments/duplicate.yaml', schema: 'prefect-yaml', notStructural: 'a deployment declared twice' },
  { file: 'test/fixtures/deployments/step-output.yaml', schema: 'prefect-yaml', notStructural: 'a malformed {{ $NAME }} template' },
  { file: 'test/fixtures/migrate/partly-refused.yaml', schema: 'prefect-yaml', notStructural: 'legacy keys refused for their value (is_paused: true, catchup: true)' },
  { file: 'test/fixtures/migrate/expected/partly-refused.yaml', schema: 'prefect-yaml', notStructural: 'legacy keys refused for their value (is_paused: true, catchup: true)' },
];

// Files that do not parse are refused by the tool and cannot be given to a schema at all.
const unparsable: Case[] = [
  { file: 'test/fixtures/config/vars-broken.toml', schema: 'vars' },
  { file: 'test/fixtures/config/vars-invalid.toml', schema: 'vars' },
  { file: 'test/fixtures/deployments/syntax-error.yaml', schema: 'prefect-yaml' },
  { file: 'test/fixtures/deployments/alias-bomb.yaml', schema: 'prefect-yaml' },
];

describe('the schemas agree with the tool on the repository files', () => {
  it.each(accepted)('$file: accepted by the tool and valid against $schema', async ({ file, schema, flows }) => {
    const path = join(root, file);
    expect(schemaErrors(schema, parseFile(path))).toEqual([]);
    expect(await toolAccepts(schema, path, flows && join(root, flows))).toBe(true);
  });

  it.each(refused)('$file: refused by the tool, and by $schema unless not structural', async ({ file, schema, notStructural }) => {
    const path = join(root, file);
    expect(await toolAccepts(schema, path)).toBe(false);
    expect(schemaAccepts(schema, path)).toBe(notStructural !== undefined);
  });

  it.each(unparsable)('$file: refused by the tool, and not parsed for the schema', async ({ file, schema }) => {
    const path = join(root, file);
    expect(await toolAccepts(schema, path)).toBe(false);
    expect(schemaAccepts(schema, path)).toBe('unparsable');
  });
});

// Small files, each with one thing the tool refuses or accepts, of every document.
const temp = useTempDir();
const inline: Array<{ what: string; schema: Name; name: string; text: string; accepted: boolean }> = [
  { what: 'a project file with an environment', schema: 'project', name: 'openem-config.toml', accepted: true, text: 'from_env = ["SOME_VAR"]\nstring_values = true\nconcurrency = 2\n[env.prod]\napi_url = "http://x/api"\nretries = 3\n' },
  { what: 'an unknown key in a project file', schema: 'project', name: 'openem-config.toml', accepted: false, text: 'variabels = ["v.toml"]\n' },
  { what: 'an unknown key in an environment', schema: 'project', name: 'openem-config.toml', accepted: false, text: '[env.prod]\napi = "x"\n' },
  { what: 'a project list given as text', schema: 'project', name: 'openem-config.toml', accepted: false, text: 'limits = "limits.toml"\n' },
  { what: 'concurrency 0', schema: 'project', name: 'openem-config.toml', accepted: false, text: 'concurrency = 0\n' },
  { what: 'vars settings and groups', schema: 'vars', name: 'v.toml', accepted: true, text: '[openem-config]\ntags = ["a"]\n[group]\nA = 1\nB = { c = [1, 2] }\n' },
  { what: 'an unknown vars setting', schema: 'vars', name: 'v.toml', accepted: false, text: '[openem-config]\ntagz = ["a"]\n' },
  { what: 'from_env as text', schema: 'vars', name: 'v.toml', accepted: false, text: '[openem-config]\nfrom_env = "S3"\n' },
  { what: 'an empty tag', schema: 'vars', name: 'v.toml', accepted: false, text: '[openem-config]\ntags = [""]\n' },
  { what: 'every manifest table', schema: 'limits', name: 'l.toml', accepted: true, text: 'LTS_READ_LIMIT = 2\nTAPE_LIMIT = 1\nTAPE_TAG = "tape"\n[tag_limits]\ngpu = 1\n[global_limits.db]\nlimit = 3\nactive = false\nslot_decay_per_second = 0.5\n[blocks.secret.token]\nvalue = "token"\n[work_pools.pool]\ntype = "process"\nconcurrency_limit = false\n[work_pools.pool.queues.q]\npriority = 1\nconcurrency_limit = 2\n' },
  { what: 'an unknown manifest key', schema: 'limits', name: 'l.toml', accepted: false, text: 'MAX_RUNS = 3\n' },
  { what: 'an unknown global limit key', schema: 'limits', name: 'l.toml', accepted: false, text: '[global_limits.db]\nlimit = 3\nslots = 2\n' },
  { what: 'a global limit without limit', schema: 'limits', name: 'l.toml', accepted: false, text: '[global_limits.db]\nactive = true\n' },
  { what: 'a global limit as text', schema: 'limits', name: 'l.toml', accepted: false, text: '[global_limits.db]\nlimit = "3"\n' },
  { what: 'an unknown pool key', schema: 'limits', name: 'l.toml', accepted: false, text: '[work_pools.pool]\nlimit = 2\n' },
  { what: 'a queue priority as text', schema: 'limits', name: 'l.toml', accepted: false, text: '[work_pools.pool.queues.q]\npriority = "1"\n' },
  { what: 'a block type that is no slug', schema: 'limits', name: 'l.toml', accepted: false, text: '[blocks.Secret.token]\nvalue = "x"\n' },
  {
    what: 'automations with every trigger type',
    schema: 'prefect-yaml',
    name: 'a.yaml',
    accepted: true,
    text: [
      'automations:',
      '  - name: one',
      '    trigger:',
      '      require: any',
      '      within: 60',
      '      triggers:',
      '        - { expect: [a.b], posture: Reactive, threshold: 2, within: PT1M }',
      '        - { type: sequence, within: null, triggers: [{ expect: [c.d] }] }',
      '    actions:',
      '      - { type: pause-work-pool, work_pool: pool }',
      '      - { type: change-flow-run-state, state: FAILED, message: stop }',
      '    actions_on_resolve:',
      '      - { type: do-nothing }',
      '',
    ].join('\n'),
  },
  { what: 'an unknown action type', schema: 'prefect-yaml', name: 'a.yaml', accepted: false, text: 'automations:\n  - name: one\n    trigger: { expect: [a.b] }\n    actions: [{ type: pause-pool, work_pool: pool }]\n' },
  { what: 'an unknown action key', schema: 'prefect-yaml', name: 'a.yaml', accepted: false, text: 'automations:\n  - name: one\n    trigger: { expect: [a.b] }\n    actions: [{ type: pause-work-pool, pool: pool }]\n' },
  { what: 'an unknown trigger key', schema: 'prefect-yaml', name: 'a.yaml', accepted: false, text: 'automations:\n  - name: one\n    trigger: { expects: [a.b] }\n    actions: [{ type: do-nothing }]\n' },
  { what: 'a threshold as text', schema: 'prefect-yaml', name: 'a.yaml', accepted: false, text: 'automations:\n  - name: one\n    trigger: { expect: [a.b], threshold: two }\n    actions: [{ type: do-nothing }]\n' },
  {
    what: 'a deployment with triggers, schedules and a limit',
    schema: 'prefect-yaml',
    name: 'd.yaml',
    accepted: true,
    text: [
      'deployments:',
      '  - name: nightly',
      '    flow_name: f',
      '    entrypoint: flows/f.py:f',
      '    concurrency_limit: { limit: 1, collision_strategy: CANCEL_NEW }',
      '    schedules: [{ cron: "0 3 * * *", timezone: UTC, slug: n }]',
      '    work_pool: { name: pool, work_queue_name: q, job_variables: { image: x } }',
      '    triggers:',
      '      - { name: on-event, expect: [a.b], parameters: { n: 1 }, enabled: false }',
      '      - { triggers: [{ expect: [a] }, { expect: [b] }], require: all, within: 10 }',
      '',
    ].join('\n'),
  },
  { what: 'a legacy pull step written as a mapping', schema: 'prefect-yaml', name: 'd.yaml', accepted: true, text: 'pull: {}\ndeployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    pull: { prefect.deployments.steps.set_working_directory: { directory: /app } }\n' },
  { what: 'pull steps as text', schema: 'prefect-yaml', name: 'd.yaml', accepted: false, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    pull: git\n' },
  { what: 'a legacy single schedule', schema: 'prefect-yaml', name: 'd.yaml', accepted: true, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    schedule: { cron: "0 3 * * *", catchup: false }\n    is_schedule_active: true\n' },
  { what: 'a deployment trigger with an unknown key', schema: 'prefect-yaml', name: 'd.yaml', accepted: false, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    triggers: [{ expect: [a], paramters: {} }]\n' },
  { what: 'schedules as text', schema: 'prefect-yaml', name: 'd.yaml', accepted: false, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    schedules: daily\n' },
  { what: 'an entrypoint without a function', schema: 'prefect-yaml', name: 'd.yaml', accepted: false, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py\n' },
  { what: 'no SLA', schema: 'prefect-yaml', name: 'd.yaml', accepted: true, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    sla: []\n' },
  { what: 'an SLA, which only Prefect Cloud keeps', schema: 'prefect-yaml', name: 'd.yaml', accepted: false, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    sla: [{name: late, duration: 60}]\n' },
  { what: 'a collision strategy the server lacks', schema: 'prefect-yaml', name: 'd.yaml', accepted: false, text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n    concurrency_limit: { limit: 1, collision_strategy: QUEUE }\n' },
];

describe('the schemas agree with the tool on structural cases', () => {
  it.each(inline)('$what ($schema): accepted is $accepted', async ({ schema, name, text, accepted }) => {
    const path = temp.write(`${schema}-${inline.findIndex((item) => item.text === text)}/${name}`, text);
    expect(await toolAccepts(schema, path)).toBe(accepted);
    expect(schemaAccepts(schema, path)).toBe(accepted);
  });

  const head = 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: f.py:f\n';
  const trigger = (fields: string) => `${head}    triggers:\n      - { ${fields} }\n`;
  const templated: { what: string; text: string; env: Record<string, string>; tool: boolean; schema: boolean }[] = [
    { what: 'a collision strategy from the environment', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ $STRATEGY }}" }\n`, env: { STRATEGY: 'ENQUEUE' }, tool: true, schema: true },
    { what: 'a collision strategy from a step output', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ pick.strategy }}" }\n`, env: { [stepOutputVariable('pick.strategy')]: 'CANCEL_NEW' }, tool: true, schema: true },
    { what: 'an entrypoint from the environment', text: 'deployments:\n  - name: n\n    flow_name: f\n    entrypoint: "{{ $ENTRY }}"\n', env: { ENTRY: 'f.py:f' }, tool: true, schema: true },
    { what: "a trigger's posture from the environment", text: trigger('expect: [a.b], posture: "{{ $POSTURE }}"'), env: { POSTURE: 'Reactive' }, tool: true, schema: true },
    { what: 'a variable placeholder, which the worker fills in, where fixed words go', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ prefect.variables.strategy }}" }\n`, env: {}, tool: false, schema: false },
    { what: 'a block placeholder, which the worker fills in, where fixed words go', text: trigger('expect: [a.b], posture: "{{ prefect.blocks.secret.posture }}"'), env: {}, tool: false, schema: false },
    { what: 'a bare {{ NAME }}, read from the environment with a warning', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ STRATEGY }}" }\n`, env: { STRATEGY: 'ENQUEUE' }, tool: true, schema: true },
    { what: 'a placeholder that names no environment variable', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ $A.B }}" }\n`, env: {}, tool: false, schema: false },
    { what: 'a run-time placeholder ({{ ctx.* }}), kept as written', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ ctx.flow_run.name }}" }\n`, env: {}, tool: false, schema: false },
    { what: 'a variable placeholder followed by another', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ prefect.variables.s }}{{ $A }}" }\n`, env: { A: 'x' }, tool: false, schema: false },
    // Where the schemas and the tool differ (the README and the schema's description say so):
    { what: "a step's output key without a step id", text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ my-strategy }}" }\n`, env: { [stepOutputVariable('my-strategy')]: 'ENQUEUE' }, tool: true, schema: true },
    { what: 'a placeholder within other text', text: `${head}    concurrency_limit: { limit: 1, collision_strategy: "{{ $PREFIX }}QUEUE" }\n`, env: { PREFIX: 'EN' }, tool: true, schema: false },
    { what: "a trigger's type from the environment", text: trigger('type: "{{ $KIND }}", expect: [a.b]'), env: { KIND: 'event' }, tool: true, schema: false },
    { what: 'a boolean from the environment (text once filled in)', text: `${head}    paused: "{{ $PAUSED }}"\n`, env: { PAUSED: 'true' }, tool: false, schema: false },
  ];

  it.each(templated)('a placeholder: $what (tool $tool, schema $schema)', async ({ text, env, tool, schema }) => {
    const path = temp.write(`templated-${templated.findIndex((item) => item.text === text)}/d.yaml`, text);
    const result = await runCli(['validate', '--no-project', '-d', path], { env });
    expect(result.code, result.stderr).toBe(tool ? EXIT.ok : EXIT.invalidInput);
    expect(schemaAccepts('prefect-yaml', path)).toBe(schema);
  });

  it('declares every legacy key the deployments reader knows', () => {
    expect(undeclaredLegacyKeys()).toEqual([]);
  });
});
