// Properties of every loader, on generated and mutated inputs: whatever the input, loading ends in
// reported issues (never an exception, which would exit 70), every issue names its file (and its
// line where the format has lines), no issue spans lines, and no secret value reaches a message.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as tomlStringify } from 'smol-toml';
import { stringify as yamlStringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatIssue, IssueList, type ConfigIssue } from '../../src/errors.js';
import { loadDesired } from '../../src/run.js';
import { loadDeployments } from '../../src/kinds/deployments/spec.js';
import { loadSecrets } from '../../src/kinds/secrets/spec.js';
import { loadVariables } from '../../src/kinds/variables/spec.js';
import { useTempDir } from './temp.js';
import { noInputs } from '../../src/config/inputs.js';

const temp = useTempDir();
/** Runs per property: few enough to keep the unit suite fast; OPENEM_PROPERTY_RUNS=2000 for a longer hunt. */
const RUNS = Number(process.env.OPENEM_PROPERTY_RUNS ?? 40);
const SENTINEL = 'SENTINEL_VALUE_7f3a';

/** Fragments that break parsers and name rules: brackets, quotes, control characters, surrogates, YAML and template syntax. */
const FRAGMENTS = [
  '[', ']', '[[', ']]', '{', '}', '"', "'", '"""', "'''", '\n', '\r\n', '\t', '=', ':', ',', '.', '#', '\\', '\\u12', '- ', '? ',
  '&a ', '*a', '<<: ', '<<: *a', '!tag ', '!!binary ', '%YAML 1.2\n', '---\n', '...\n', '{{ $X }}', '{{ prefect.blocks.secret.x }}', '{{ x }}',
  '\u0000', '\u0007', '\u007f', '\u0085', '\ud800', '\u2028', '\ufeff', 'é', '💥', '9007199254740993', '1e999', '-0', 'nan', 'inf', 'true',
  'null', '~', '__proto__', 'constructor', '%', '/', '<', '>', '&', '[work_pools.x]', '[global_limits.x]', '[tag_limits]', 'limit = 1\n',
  '[openem-config]', 'from_env = ["Y"]', '_LIMIT = 1', '_TAG = "t"', 'deployments:\n', '  - name: d\n', 'schedules: [{cron: "x"}]',
  '['.repeat(150), '{a: '.repeat(120), 'a.'.repeat(120),
];

interface Edit {
  at: number;
  remove: number;
  insert: string;
}
const editArb: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  remove: fc.nat({ max: 8 }),
  insert: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 })),
});
const editsArb = fc.array(editArb, { minLength: 1, maxLength: 4 });

function mutate(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const { at, remove, insert } of edits) {
    const position = at % (out.length + 1);
    out = out.slice(0, position) + insert + out.slice(position + remove);
  }
  return out;
}

let counter = 0;
function write(name: string, content: string | Uint8Array): string {
  return temp.write(`${counter++}-${name}`, content);
}

/** Loads, failing the property on an exception; returns the issues. */
function issuesOf(load: (issues: IssueList) => unknown): ConfigIssue[] {
  const issues = new IssueList();
  load(issues);
  return issues.items;
}

/** The file-level problems that have no line: the file as a whole cannot be used. */
const WHOLE_FILE = /is empty|not valid UTF-8|not found|larger than|is a directory|not a regular file/;

function expectWellFormed(issues: readonly ConfigIssue[], lined: readonly string[]): void {
  for (const issue of issues) {
    expect(issue.file, formatIssue(issue)).toBeTruthy();
    if (lined.includes(issue.file) && !WHOLE_FILE.test(issue.message)) expect(issue.line, formatIssue(issue)).toBeGreaterThan(0);
    const text = formatIssue(issue);
    if (/[\n\r\u2028]|Maximum call stack|RangeError|\[object Object\]/.test(text)) expect.fail(`not one clean line: ${JSON.stringify(text)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Generated TOML: tables of values of every TOML type, nested a little.

const tomlKey = fc.oneof(fc.constantFrom('A', 'b_c', 'D-1', 'ÉTAGE', 'bad.key', 'a b', '', 'x\ny', 'LTS_WRITE_LIMIT', 'TAPE_TAG'), fc.string({ maxLength: 8 }));
const { value: tomlValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.double(),
    fc.string({ maxLength: 10 }),
    fc.boolean(),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(tomlKey, tie('value'), { maxKeys: 3 }),
  ),
}));
const tomlDocument = fc.dictionary(tomlKey, fc.oneof(tomlValue, fc.dictionary(tomlKey, tomlValue, { maxKeys: 4 })), { maxKeys: 6 });

function toToml(data: Record<string, unknown>): string | undefined {
  try {
    return tomlStringify(data);
  } catch {
    return undefined;
  }
}

describe('vars files', () => {
  const seed = ['[openem-config]', 'from_env = ["S3_ENDPOINT"]', 'tags = ["archiver"]', '', '[archiver]', 'FOLDER = "/scratch"', 'SIZE = 20', 'ON = true', 'LIST = ["a", "b"]', 'RETRY = { attempts = 3, delay = 1.5 }', 'WHEN = 1979-05-27', ''].join('\n');
  const env = { S3_ENDPOINT: 'http://minio:9000' };

  it('mutated: issues only, each at its file and line', () => {
    fc.assert(
      fc.property(editsArb, (edits) => {
        const file = write('vars.toml', mutate(seed, edits));
        expectWellFormed(issuesOf((issues) => loadVariables([file], { env, stringValues: false, fromEnv: [] }, issues)), [file]);
      }),
      { numRuns: RUNS },
    );
  });

  it('generated: issues only, each at its file and line', () => {
    fc.assert(
      fc.property(tomlDocument, fc.boolean(), (data, stringValues) => {
        const text = toToml(data);
        fc.pre(text !== undefined);
        const file = write('vars.toml', text!);
        expectWellFormed(issuesOf((issues) => loadVariables([file], { env: {}, stringValues, fromEnv: [] }, issues)), [file]);
      }),
      { numRuns: RUNS },
    );
  });

  it('environment overrides of any text: issues only, at the key, never quoting a JSON value', () => {
    const typed = write('typed.toml', ['[t]', 'S = "s"', 'I = 1', 'F = 1.5', 'B = true', 'A = ["x"]', 'O = { k = 1 }', ''].join('\n'));
    const text = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.json().chain((json) => editsArb.map((edits) => mutate(json, edits))),
      fc.constantFrom('['.repeat(5000), `{"a":${'['.repeat(3000)}`, `[${SENTINEL}]`, `{"k": "${SENTINEL}`),
    );
    fc.assert(
      fc.property(fc.record({ S: text, I: text, F: text, B: text, A: text, O: text }, { requiredKeys: [] }), fc.boolean(), (env, stringValues) => {
        const issues = issuesOf((list) => loadVariables([typed], { env, stringValues, fromEnv: [] }, list));
        expectWellFormed(issues, [typed]);
        for (const issue of issues) if (issue.key === 't.A' || issue.key === 't.O') expect(issue.message).not.toContain(SENTINEL);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('secrets', () => {
  it('any content, any name: issues only, each naming its file or argument, never the value', () => {
    const name = fc.oneof(fc.constantFrom('s3-user', 'Bad_Name', 'a.b', '', '.hidden', 'x\ny', '..data'), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.array(fc.record({ name, content: fc.oneof(fc.uint8Array({ maxLength: 16 }), fc.string({ maxLength: 16 }).map((s) => `${SENTINEL}${s}`)) }), { maxLength: 4 }),
        fc.array(fc.record({ name, content: fc.string({ maxLength: 8 }).map((s) => `${SENTINEL}${s}\n`) }), { maxLength: 3 }),
        fc.boolean(),
        (dirFiles, pairs, keepTrailingNewline) => {
          const dir = join(temp.dir, `secrets-${counter++}`);
          mkdirSync(dir);
          for (const { name: file, content } of dirFiles) {
            if (file === '' || file === '.' || file === '..' || /[/\u0000]/.test(file)) continue;
            writeFileSync(join(dir, file), content);
          }
          const pairArgs = pairs.map(({ name: secretName, content }) => `${secretName}=${write('secret', content)}`);
          const issues = issuesOf((list) => loadSecrets({ env: {}, fileEnvNames: [], dirs: [dir], pairs: pairArgs, keepTrailingNewline }, list));
          expectWellFormed(issues, []);
          for (const issue of issues) expect(formatIssue(issue)).not.toContain(SENTINEL);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('limits manifests', () => {
  const dir = join(temp.dir, 'manifest');
  mkdirSync(join(dir, 'job-templates'), { recursive: true });
  const template = join(dir, 'job-templates', 'docker.json');
  copyFileSync(join(import.meta.dirname, '../../vars/job-templates/docker.json'), template);
  const seed = [
    'LTS_WRITE_LIMIT = 4',
    'TAPE_LIMIT = 2',
    'TAPE_TAG = "tape-drive"',
    '',
    '[tag_limits]',
    '"gpu-nodes" = 1',
    '',
    '[global_limits.database]',
    'limit = 5',
    'slot_decay_per_second = 0.5',
    '',
    '[work_pools.archival]',
    'type = "docker"',
    'base_job_template = "job-templates/docker.json"',
    'concurrency_limit = 2',
    '',
    '[work_pools.archival.queues.default]',
    'priority = 1',
    '',
    '[blocks.slack-webhook.alerts]',
    'url = "https://hooks.example.org/x"',
    '',
  ].join('\n');
  const loadManifest = (file: string) => issuesOf((issues) => loadDesired({ ...noInputs(), limits: [file] }, {}, issues));

  it('mutated: issues only, each at its file and line', () => {
    fc.assert(
      fc.property(editsArb, (edits) => {
        const file = join(dir, `limits-${counter++}.toml`);
        writeFileSync(file, mutate(seed, edits));
        expectWellFormed(loadManifest(file), [file]);
      }),
      { numRuns: RUNS },
    );
  });

  it('generated tables under every manifest key: issues only, each at its file and line', () => {
    const section = fc.constantFrom('tag_limits', 'global_limits', 'work_pools', 'blocks');
    fc.assert(
      fc.property(section, fc.dictionary(tomlKey, fc.oneof(tomlValue, fc.dictionary(tomlKey, tomlValue, { maxKeys: 4 })), { maxKeys: 4 }), (key, body) => {
        const text = toToml({ [key]: body });
        fc.pre(text !== undefined);
        const file = join(dir, `limits-${counter++}.toml`);
        writeFileSync(file, text!);
        expectWellFormed(loadManifest(file), [file]);
      }),
      { numRuns: RUNS },
    );
  });

  it('a mutated base job template: issues only, at the template file with line and column, never quoting it', () => {
    const seedTemplate = JSON.stringify({ job_configuration: { image: '{{ image }}', secret: SENTINEL }, variables: { properties: { image: { type: 'string' } } } }, null, 2);
    fc.assert(
      fc.property(editsArb, (edits) => {
        const sub = join(dir, `pool-${counter++}`);
        mkdirSync(sub);
        const templateFile = join(sub, 'template.json');
        writeFileSync(templateFile, mutate(seedTemplate, edits));
        const file = join(sub, 'pools.toml');
        writeFileSync(file, '[work_pools.p]\nbase_job_template = "template.json"\n');
        const issues = loadManifest(file);
        expectWellFormed(issues, [file]);
        for (const issue of issues.filter((i) => i.message.startsWith('not valid JSON'))) {
          expect(issue).toMatchObject({ file: templateFile, line: expect.any(Number), column: expect.any(Number) });
          expect(issue.message).not.toContain('SENTINEL');
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('prefect.yaml', () => {
  const env = { PREFECT_RUNTIME_IMAGE: 'img:1', X: 'x' };
  const seed = [
    'definitions:',
    '  pool: &pool',
    '    name: archival',
    '    work_queue_name: default',
    '    job_variables: {image: "{{ $PREFECT_RUNTIME_IMAGE }}", password: "{{ prefect.blocks.secret.pw }}"}',
    'pull:',
    '  - prefect.deployments.steps.set_working_directory: {directory: /app}',
    'deployments:',
    '  - name: d1',
    '    flow_name: f1',
    '    entrypoint: flows/f.py:f1',
    '    version: 1.10',
    '    tags: [a]',
    '    parameters: {n: 1}',
    '    concurrency_limit: {limit: 2, collision_strategy: ENQUEUE}',
    '    schedules:',
    '      - cron: "0 3 * * *"',
    '        timezone: Europe/Zurich',
    '        slug: nightly',
    '      - interval: 3600',
    '    work_pool: *pool',
    '  - <<: {flow_name: f2, entrypoint: "flows/g.py:f2"}',
    '    name: d2',
    '    global_concurrency_limit: shared',
    '',
  ].join('\n');

  it('mutated: issues only, each at its file and line', () => {
    fc.assert(
      fc.property(editsArb, (edits) => {
        const file = write('prefect.yaml', mutate(seed, edits));
        expectWellFormed(issuesOf((issues) => loadDeployments([file], { env }, issues)), [file]);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('generated deployments of any JSON values under the known keys: issues only, each at its file and line', () => {
    const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('{{ $X }}', '{{ $UNSET_VAR }}', '{{ prefect.variables.v }}', 'x\ny', 'a/b', '', '0 3 * * *'));
    const deployment = fc.record(
      {
        name: anyValue,
        flow_name: anyValue,
        entrypoint: fc.oneof(anyValue, fc.constant('flows/f.py:f')),
        version: anyValue,
        tags: anyValue,
        parameters: anyValue,
        schedules: fc.oneof(anyValue, fc.array(fc.dictionary(fc.constantFrom('cron', 'interval', 'rrule', 'timezone', 'slug', 'active', 'anchor_date', 'day_or', 'bogus'), anyValue), { maxLength: 3 })),
        concurrency_limit: anyValue,
        global_concurrency_limit: anyValue,
        work_pool: fc.oneof(anyValue, fc.dictionary(fc.constantFrom('name', 'work_queue_name', 'job_variables', 'concurrency_limit'), anyValue)),
        bogus_key: anyValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(deployment, { maxLength: 3 }), fc.array(editArb, { maxLength: 2 }), (deployments, edits) => {
        const file = write('prefect.yaml', mutate(yamlStringify({ deployments }), edits));
        expectWellFormed(issuesOf((issues) => loadDeployments([file], { env }, issues)), [file]);
      }),
      { numRuns: RUNS },
    );
  });
});
