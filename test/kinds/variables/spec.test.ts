import { describe, expect, it } from 'vitest';
import { loadVariables, MANAGED_TAG, type VariablesOptions } from '../../../src/kinds/variables/spec.js';
import { IssueList, type ConfigIssue } from '../../../src/errors.js';
import { fixture, useTempDir } from '../../config/temp.js';

const temp = useTempDir();
const archiver = fixture('vars-archiver.toml');
const override = fixture('vars-override.toml');
const types = fixture('vars-types.toml');

function load(files: string[], options: Partial<VariablesOptions> = {}) {
  const issues = new IssueList();
  const variables = loadVariables(files, { env: {}, stringValues: false, fromEnv: [], ...options }, issues);
  return { variables, issues: issues.items };
}

function values(files: string[], options: Partial<VariablesOptions> = {}) {
  const { variables, issues } = load(files, options);
  expect(issues).toEqual([]);
  return Object.fromEntries(variables.map((variable) => [variable.name, variable.value]));
}

function issue(file: string, line: number | undefined, key: string, fragment: string): ConfigIssue {
  return { file, line, key, message: expect.stringContaining(fragment), severity: 'error' };
}

/** The [t] group of a small vars file with one key of each TOML type. */
const typed = temp.write(
  'typed.toml',
  ['[t]', 'S = "s"', 'I = 1', 'F = 1.5', 'B = true', 'A = ["x"]', 'O = { k = 1 }', 'D = 1979-05-27'].join('\n'),
);
const typedLine = { S: 2, I: 3, F: 4, B: 5, A: 6, O: 7, D: 8 };

describe('loadVariables', () => {
  it('turns every key of the [group] tables into a variable named by the key in lower case', () => {
    const { variables, issues } = load([archiver]);
    expect(issues).toEqual([]);
    expect(variables.map((variable) => variable.name)).toEqual([
      'archiver_num_workers',
      'archiver_scratch_folder',
      'archiver_target_size_gb',
      's3_archival_bucket',
      's3_landingzone_bucket',
      's3_region',
      's3_url_expiration_days',
      'scicat_api_prefix',
      'scicat_datasets_api_prefix',
      'scicat_endpoint',
      'scicat_jobs_api_prefix',
    ]);
    expect(variables[0]).toEqual({
      name: 'archiver_num_workers',
      value: 6,
      tags: [MANAGED_TAG],
      source: { file: archiver, line: 5, key: 'archiver.ARCHIVER_NUM_WORKERS' },
    });
    expect(variables.find((variable) => variable.name === 's3_region')).toEqual({
      name: 's3_region',
      value: 'ch-zurich-1',
      tags: ['openem-config'],
      source: { file: archiver, line: 8, key: 's3.S3_REGION' },
    });
  });

  it('keeps the TOML types, and reads top-level keys, inline tables and dotted keys as variables', () => {
    const { variables, issues } = load([types]);
    expect(issues).toEqual([]);
    expect(Object.fromEntries(variables.map((variable) => [variable.name, variable.value]))).toEqual({
      top_level: 'top',
      retry_delays: [1, 2, 4],
      notes: '[not_a_header]\nfake = "still inside the string"\n',
      literal: "C:\\data\\ = 'x'\n",
      ratio: 0.75,
      enabled: true,
      started: '2024-03-01T08:30:00.000Z',
      shifted: '2024-03-01T08:30:00.000+02:00',
      local_day: '2024-03-01',
      local_time: '08:30:00.000',
      endpoints: { primary: 'https://a.example.org', 'backup host': 'https://b.example.org' },
      quoted_key: 'q',
      limits: { max: 3 },
      after: 'after',
    });
    const sources = Object.fromEntries(variables.map((variable) => [variable.name, variable.source]));
    expect(sources.top_level).toEqual({ file: types, line: 1, key: 'TOP_LEVEL' });
    expect(sources.limits).toEqual({ file: types, line: 24, key: 'types.limits' });
    expect(sources.after).toEqual({ file: types, line: 25, key: 'types.AFTER' });
  });

  it('treats a top-level inline table or dotted key as one variable', () => {
    const file = temp.write('top.toml', 'DATABASE = { host = "db", port = 5432 }\nfeature.flag = true\n');
    expect(values([file])).toEqual({ database: { host: 'db', port: 5432 }, feature: { flag: true } });
  });

  it('lets a later file override an earlier one, with its own tags and environment-only variables', () => {
    const { variables, issues } = load([archiver, override], { env: { S3_ENDPOINT: 'http://minio.test:9000', S3_EXTERNAL_ENDPOINT: 'https://s3.example.org' } });
    expect(issues).toEqual([]);
    const byName = new Map(variables.map((variable) => [variable.name, variable]));
    expect(byName.get('s3_region')).toEqual({
      name: 's3_region',
      value: 'ch-geneva-2',
      tags: ['archiver', 'openem-config', 'test'],
      source: { file: override, line: 7, key: 's3.S3_REGION' },
    });
    expect(byName.get('s3_endpoint')).toEqual({
      name: 's3_endpoint',
      value: 'http://minio.test:9000',
      tags: ['archiver', 'openem-config', 'test'],
      source: { file: override, line: 4, key: 'openem-config.from_env' },
    });
    expect(byName.get('s3_external_endpoint')?.value).toBe('https://s3.example.org');
    expect(byName.get('scicat_endpoint')?.tags).toEqual(['openem-config']);
    expect(variables).toHaveLength(13);
  });

  it('reports an environment-only variable whose environment variable is missing or empty', () => {
    const { variables, issues } = load([override], { env: { S3_ENDPOINT: '' }, fromEnv: ['PREFECT_EXTRA'] });
    expect(variables.map((variable) => variable.name)).toEqual(['s3_region']);
    expect(issues).toEqual([
      issue(override, 4, 'openem-config.from_env', 'environment variable S3_ENDPOINT is not set or empty; set it to the value of variable `s3_endpoint`'),
      issue(override, 4, 'openem-config.from_env', 'environment variable S3_EXTERNAL_ENDPOINT is not set'),
      { file: '<command line>', key: '--from-env PREFECT_EXTRA', message: expect.stringContaining('PREFECT_EXTRA is not set'), severity: 'error' },
    ]);
  });

  it('reads --from-env variables, and lets a file key of the same name win', () => {
    const { variables, issues } = load([archiver], { env: { PREFECT_EXTRA: 'x', S3_REGION: 'eu-central-1' }, fromEnv: ['PREFECT_EXTRA', 'S3_REGION'] });
    expect(issues).toEqual([]);
    expect(variables.find((variable) => variable.name === 'prefect_extra')).toEqual({
      name: 'prefect_extra',
      value: 'x',
      tags: ['openem-config'],
      source: { file: '<command line>', key: '--from-env PREFECT_EXTRA' },
    });
    expect(variables.find((variable) => variable.name === 's3_region')?.source.key).toBe('s3.S3_REGION');
    expect(variables.find((variable) => variable.name === 's3_region')?.value).toBe('eu-central-1');
  });

  it('refuses a --from-env name that makes no variable name', () => {
    expect(load([], { env: { 'BAD.NAME': 'x' }, fromEnv: ['BAD.NAME'] }).issues).toEqual([
      { file: '<command line>', key: '--from-env BAD.NAME', message: expect.stringContaining('"BAD.NAME" cannot name a variable'), severity: 'error' },
    ]);
  });

  describe('environment overrides', () => {
    it('convert the environment value to the type of the file value', () => {
      const env = { S: 'new', I: '-12', F: '2e3', B: 'FALSE', A: '[1, "two"]', O: '{"k": 2}', D: '2000-01-01' };
      expect(values([typed], { env })).toEqual({ s: 'new', i: -12, f: 2000, b: false, a: [1, 'two'], o: { k: 2 }, d: '2000-01-01' });
      expect(values([typed], { env: { B: '1', I: '+7', F: '3' } })).toMatchObject({ b: true, i: 7, f: 3 });
      expect(values([typed], { env: { B: '0' } })).toMatchObject({ b: false });
    });

    it('leave the file value when the environment variable is empty', () => {
      expect(values([typed], { env: { S: '', I: '' } })).toMatchObject({ s: 's', i: 1 });
    });

    it.each([
      ['I', '1.5', 'the file gives an integer, so I must be an integer such as 42'],
      ['I', '9007199254740993', 'must be an integer'],
      ['F', 'abc', 'the file gives a float, so F must be a finite number such as 0.5'],
      ['F', 'Infinity', 'must be a finite number'],
      ['F', ' ', 'must be a finite number'],
      ['B', 'yes', 'the file gives a boolean, so B must be true or false (or 1 or 0)'],
      ['A', '{"k": 1}', 'the file gives an array, so A must be a JSON array'],
      ['A', 'not json', 'must be a JSON array'],
      ['O', '[1]', 'the file gives a table, so O must be a JSON object'],
      ['O', 'null', 'must be a JSON object'],
    ] as const)('report %s=%s that does not fit', (name, text, fragment) => {
      const { variables, issues } = load([typed], { env: { [name]: text } });
      expect(variables.map((variable) => variable.name)).not.toContain(name.toLowerCase());
      // A value that should be JSON is never shown: it may be anything, a secret included.
      const shown = name === 'A' || name === 'O' ? '' : ` = ${JSON.stringify(text)}`;
      expect(issues).toEqual([issue(typed, typedLine[name], `t.${name}`, `environment variable ${name}${shown} cannot override this key`)]);
      expect(issues[0]?.message).toContain(fragment);
      expect(issues[0]?.message).toContain(`; fix or unset ${name}`);
    });

    it('say where JSON that does not parse goes wrong, never quoting it, and refuse it nested too deeply', () => {
      const secret = 'SENTINEL_PASSWORD_4711';
      const bad = load([typed], { env: { A: secret, O: `{"k": 1,\n "j": ${secret}}` } }).issues;
      expect(bad).toEqual([
        issue(typed, typedLine.A, 't.A', 'its value is not valid JSON at line 1, column 1: expected a value'),
        issue(typed, typedLine.O, 't.O', 'its value is not valid JSON at line 2, column 7: expected a value'),
      ]);
      for (const { message } of bad) expect(message).not.toContain('SENTINEL');
      const deep = load([typed], { env: { A: `${'['.repeat(5000)}${']'.repeat(5000)}` } }).issues;
      expect(deep).toEqual([issue(typed, typedLine.A, 't.A', 'at line 1, column 101: nested more than 100 levels deep')]);
      expect(values([typed], { env: { A: `${'['.repeat(100)}${']'.repeat(100)}` } }).a).toHaveLength(1);
    });

    it('leave a long environment value out of the message', () => {
      const { issues } = load([typed], { env: { I: '9'.repeat(100) } });
      expect(issues).toEqual([issue(typed, 3, 't.I', 'environment variable I cannot override this key')]);
    });
  });

  it('writes every value as a string with --string-values', () => {
    expect(values([typed], { stringValues: true })).toEqual({
      s: 's',
      i: '1',
      f: '1.5',
      b: 'true',
      a: '["x"]',
      o: '{"k":1}',
      d: '1979-05-27',
    });
    expect(values([typed], { stringValues: true, env: { I: '42' } })).toMatchObject({ i: '42' });
  });

  it('refuses a value over 5000 bytes of JSON, counting UTF-8 bytes', () => {
    // JSON adds the two quotes: 4998 + 2 and 2 x 2499 + 2 bytes fit.
    const file = temp.write('sizes.toml', `FITS = "${'x'.repeat(4998)}"\nWIDE = "${'é'.repeat(2499)}"\nTOO_WIDE = "${'é'.repeat(2500)}"\n`);
    const { variables, issues } = load([file]);
    expect(variables.map((variable) => variable.name)).toEqual(['fits', 'wide']);
    expect(issues).toEqual([issue(file, 3, 'TOO_WIDE', 'the value is 5002 bytes as JSON, more than the 5000 Prefect allows')]);
  });

  it('reports every problem of a broken vars file', () => {
    const file = fixture('vars-invalid.toml');
    const { variables, issues } = load([file]);
    expect(variables).toEqual([{ name: 'archiver_num_workers', value: 6, tags: ['openem-config'], source: { file, line: 2, key: 'archiver.ARCHIVER_NUM_WORKERS' } }]);
    expect([...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))).toEqual([
      issue(file, 3, 'archiver.BAD KEY', '"BAD KEY" cannot name a variable: in lower case it may only hold a-z, 0-9, _ and -'),
      issue(file, 5, 'archiver.nested', 'nested tables are not supported; write an inline table `nested = { ... }` for an object value'),
      issue(
        file,
        9,
        's3.archiver_num_workers',
        '`s3.archiver_num_workers` (line 9) and `archiver.ARCHIVER_NUM_WORKERS` (line 2) both define variable `archiver_num_workers`; keep one of them',
      ),
      issue(file, 10, 's3.S3_RATIO', 'nan cannot be stored: JSON has no NaN or infinity'),
      issue(file, 11, 's3.S3_HUGE', 'integer 9007199254740993 is too large for JSON numbers'),
      issue(file, 13, 'buckets', 'arrays of tables ([[buckets]]) are not supported; write `buckets = [{ ... }]`'),
      issue(file, 17, 'openem-config.tagz', 'unknown key `tagz` in [openem-config]; the allowed keys are from_env, tags'),
      issue(file, 18, 'openem-config.from_env', 'from_env must be a list of non-empty strings, e.g. from_env = ["S3_ENDPOINT"]'),
    ]);
  });

  it('accepts a 255-character name and refuses a longer or non-ASCII one', () => {
    const file = temp.write('names.toml', `${'n'.repeat(255)} = 1\n${'m'.repeat(256)} = 2\n"ÉTAGE" = 3\n`);
    const { variables, issues } = load([file]);
    expect(variables.map((variable) => variable.name.length)).toEqual([255]);
    expect(issues).toEqual([
      issue(file, 2, 'm'.repeat(256), 'at most 255 characters'),
      issue(file, 3, 'ÉTAGE', '"ÉTAGE" cannot name a variable'),
    ]);
  });

  it('checks the [openem-config] table', () => {
    const notTable = temp.write('config-scalar.toml', '"openem-config" = 3\n');
    const badTags = temp.write('config-tags.toml', '[openem-config]\ntags = ["ok", ""]\n[openem-config.extra]\nx = 1\n');
    expect(load([notTable, badTags]).issues).toEqual([
      issue(notTable, 1, 'openem-config', '[openem-config] must be a table with the keys from_env, tags'),
      issue(badTags, 2, 'openem-config.tags', 'tags must be a list of non-empty strings, e.g. tags = ["archiver"]'),
      issue(badTags, 3, 'openem-config.extra', 'unknown key `extra` in [openem-config]'),
    ]);
  });

  it('reports a missing file and malformed TOML, and still reads the other files', () => {
    const missing = fixture('no-such-vars.toml');
    const broken = fixture('vars-broken.toml');
    const { variables, issues } = load([missing, broken, archiver]);
    expect(variables).toHaveLength(11);
    expect(issues).toEqual([
      { file: missing, message: 'vars file not found; check the path', severity: 'error' },
      { file: broken, line: 2, column: 36, message: expect.stringContaining('invalid TOML'), severity: 'error' },
    ]);
  });
});
