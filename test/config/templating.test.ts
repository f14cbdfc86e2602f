import { describe, expect, it } from 'vitest';
import { stepOutputVariable, Templater, type PathPart } from '../../src/config/templating.js';
import type { JsonValue } from '../../src/config/types.js';
import { IssueList, type Source } from '../../src/errors.js';

const FILE = 'prefect.yaml';
/** Each value sits on the line given by the depth of its path, which is enough to tell places apart. */
const locate = (path: readonly PathPart[]): Source => ({ file: FILE, line: path.length, key: path.join('.') });

function templater(env: Record<string, string | undefined> = {}) {
  const issues = new IssueList();
  return { templater: new Templater({ env, issues }), issues };
}

function resolve(value: JsonValue, env: Record<string, string | undefined> = {}) {
  const { templater: t, issues } = templater(env);
  const result = t.resolve(value, ['job_variables'], locate);
  t.finish();
  return { ...result, issues: issues.items };
}

describe('Templater.resolve', () => {
  it('replaces {{ $NAME }} whole or inside text, always with a string', () => {
    const env = { IMAGE: 'ghcr.io/x/runtime:1.2', HOST: '/srv/scratch', TARGET: '/scratch', COUNT: '4' };
    expect(resolve({ image: '{{ $IMAGE }}', volumes: ['{{$HOST}}:{{  $TARGET  }}'], workers: '{{ $COUNT }}' }, env)).toEqual({
      value: { image: 'ghcr.io/x/runtime:1.2', volumes: ['/srv/scratch:/scratch'], workers: '4' },
      references: [],
      complete: true,
      issues: [],
    });
  });

  it('leaves values without placeholders, numbers, booleans, null and keys alone', () => {
    const value = { '{{ $KEY }}': 1, flag: true, nothing: null, text: 'a {b} c', list: [2.5, 'x'] };
    expect(resolve(value)).toEqual({ value, references: [], complete: true, issues: [] });
  });

  it('keeps prefect.blocks, prefect.variables and ctx placeholders and records the references', () => {
    const value = {
      user: '{{ prefect.blocks.secret.github-user }}',
      bucket: '{{ prefect.blocks.s3-bucket.archive.bucket_name }}',
      url: 'https://{{ prefect.variables.scicat_host }}/api',
      // Inside other text too: the worker substitutes the block's value there.
      login: 'user:{{ prefect.blocks.secret.password }}',
      run: '{{ ctx.flow_run.id }}',
    };
    expect(resolve(value)).toEqual({
      value,
      references: [
        { kind: 'secret', name: 'github-user', source: { file: FILE, line: 2, key: 'job_variables.user' } },
        { kind: 'block', name: 's3-bucket/archive', source: { file: FILE, line: 2, key: 'job_variables.bucket' } },
        { kind: 'variable', name: 'scicat_host', source: { file: FILE, line: 2, key: 'job_variables.url' } },
        { kind: 'secret', name: 'password', source: { file: FILE, line: 2, key: 'job_variables.login' } },
      ],
      complete: true,
      issues: [],
    });
  });

  it('reads a bare {{ NAME }} from the environment with a warning suggesting {{ $NAME }}', () => {
    const { value, issues } = resolve({ volumes: ['/srv:{{ ARCHIVER_SCRATCH_FOLDER }}'] }, { ARCHIVER_SCRATCH_FOLDER: '/scratch' });
    expect(value).toEqual({ volumes: ['/srv:/scratch'] });
    expect(issues).toEqual([
      {
        file: FILE,
        line: 3,
        key: 'job_variables.volumes.0',
        severity: 'warning',
        message: expect.stringContaining('`{{ ARCHIVER_SCRATCH_FOLDER }}` is read from environment variable ARCHIVER_SCRATCH_FOLDER; write `{{ $ARCHIVER_SCRATCH_FOLDER }}`'),
      },
    ]);
  });

  it('reports an unset or empty variable once, at its first use, listing the other places', () => {
    const { templater: t, issues } = templater({ EMPTY: '', SET: 'yes' });
    const first = t.resolve({ a: '{{ $MISSING }}', b: { c: 'x-{{ $MISSING }}' }, d: '{{ $EMPTY }}' }, [], locate);
    expect(first).toMatchObject({ value: { a: '{{ $MISSING }}', b: { c: 'x-{{ $MISSING }}' } }, complete: false });
    t.resolve(['{{ $MISSING }}'], ['other'], (path) => ({ file: 'other.yaml', line: 7, key: path.join('.') }));
    expect(t.resolve('{{ $SET }}', [], locate).complete).toBe(true);
    expect(issues.items).toEqual([]);
    t.finish();
    expect(issues.items).toEqual([
      {
        file: FILE,
        line: 1,
        key: 'a',
        severity: 'error',
        message: 'environment variable MISSING is not set or is empty (also used at prefect.yaml:2, other.yaml:7); set it for openem-config, or write the value here',
      },
      { file: FILE, line: 1, key: 'd', severity: 'error', message: expect.stringContaining('environment variable EMPTY is not set or is empty;') },
    ]);
  });

  it("says that {{ flow_run.* }} without ctx. is no run-time value, and keeps {{ ctx.flow_run.* }} for the worker", () => {
    const { value, issues } = resolve({ name: '{{ ctx.flow_run.name }}', env: { HOST: '{{ flow_run.name }}' } }, {});
    expect(value).toEqual({ name: '{{ ctx.flow_run.name }}', env: { HOST: '{{ flow_run.name }}' } });
    expect(issues.map((issue) => `${issue.key}: ${issue.message}`)).toEqual([
      expect.stringMatching(/^job_variables.env.HOST: `\{\{ flow_run.name \}\}` is the output of a build or push step.*; for the run's own flow_run, Prefect's workers fill in `\{\{ ctx.flow_run.name \}\}` when a run starts, but only in the job's name \(`job_variables: \{name: \.\.\.\}`\), elsewhere it stays as written; prefect deploy leaves `\{\{ flow_run.name \}\}` out, with a warning$/),
    ]);
  });

  it('refuses step outputs, unknown prefect.* and malformed placeholders', () => {
    const { issues } = resolve(
      {
        image: '{{ build-image.image }}',
        other: '{{ prefect.deployment.name }}',
        shell: '{{ $HOME:-/root }}',
        badBlock: '{{ prefect.blocks.Secret }}',
        badVariable: '{{ prefect.variables.My.Var }}',
        badEnv: '{{ $1ABC }}',
      },
      { HOME: '/root' },
    );
    const messages = issues.map((issue) => `${issue.key}: ${issue.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^job_variables.image: `\{\{ build-image.image \}\}` is the output of a build or push step, and openem-config runs no build or push step: give its value with --step-output build-image.image=VALUE or in the environment variable OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE/),
      expect.stringMatching(/^job_variables.other: `\{\{ prefect.deployment.name \}\}` is not a Prefect placeholder/),
      expect.stringMatching(/^job_variables.shell: `\{\{ \$HOME:-\/root \}\}` is not a placeholder: write `\{\{ \$NAME \}\}`/),
      expect.stringMatching(/^job_variables.badBlock: `\{\{ prefect.blocks.Secret \}\}` must name a block as/),
      expect.stringMatching(/^job_variables.badVariable: `\{\{ prefect.variables.My.Var \}\}` must name a variable as/),
      expect.stringMatching(/^job_variables.badEnv: `\{\{ \$1ABC \}\}` does not name an environment variable/),
    ]);
    expect(issues.every((issue) => issue.severity === 'error')).toBe(true);
  });

  it('does not expand a placeholder inside an environment value, and says so without showing the value', () => {
    const { value, issues } = resolve({ a: '{{ $OUTER }}' }, { OUTER: 'secret-{{ $INNER }}' });
    expect(value).toEqual({ a: 'secret-{{ $INNER }}' });
    expect(issues).toEqual([
      {
        file: FILE,
        line: 2,
        key: 'job_variables.a',
        severity: 'error',
        message: 'the value of environment variable OUTER holds a `{{ }}` placeholder, which is not resolved again; give the final value',
      },
    ]);
  });

  it('keeps a key named __proto__ as data', () => {
    const value = JSON.parse('{"__proto__": {"polluted": "{{ $X }}"}}') as JsonValue;
    const result = resolve(value, { X: 'yes' }).value as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('Templater.references', () => {
  it('records references but leaves environment variables and step outputs for the worker', () => {
    const { templater: t, issues } = templater({});
    const steps: JsonValue = [
      { 'prefect.deployments.steps.git_clone': { id: 'clone', repository: '{{ $REPO }}', access_token: '{{ prefect.blocks.secret.git-token }}' } },
      { 'prefect.deployments.steps.pip_install_requirements': { directory: '{{ clone.directory }}' } },
    ];
    expect(t.references(steps, ['pull'], locate)).toEqual([
      { kind: 'secret', name: 'git-token', source: { file: FILE, line: 4, key: 'pull.0.prefect.deployments.steps.git_clone.access_token' } },
    ]);
    t.finish();
    expect(issues.items).toEqual([]);
  });
});

describe('step outputs', () => {
  it('names the environment variable of each step output', () => {
    expect(stepOutputVariable('build-image.image')).toBe('OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE');
    expect(stepOutputVariable('get-commit-hash.stdout')).toBe('OPENEM_STEP_OUTPUT_GET_COMMIT_HASH__STDOUT');
    expect(stepOutputVariable('build_image.image_name')).toBe('OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE_NAME');
  });

  it('fills {{ step-id.field }} from the values given, then from the environment, whole or inside text', () => {
    const issues = new IssueList();
    const t = new Templater({
      env: { OPENEM_STEP_OUTPUT_GET_COMMIT_HASH__STDOUT: 'abc123', OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE: 'from-env' },
      issues,
      stepOutputs: { 'build-image.image': 'registry.example.org/app:1.4' },
    });
    const result = t.resolve({ image: '{{ build-image.image }}', tag: 'v-{{ get-commit-hash.stdout }}' }, ['job_variables'], locate);
    t.finish();
    expect(result).toEqual({ value: { image: 'registry.example.org/app:1.4', tag: 'v-abc123' }, references: [], complete: true });
    expect(issues.items).toEqual([]);
  });

  it('refuses a value that holds a placeholder, without showing it', () => {
    const issues = new IssueList();
    const t = new Templater({ env: {}, issues, stepOutputs: { 'build-image.image': '{{ $X }}' } });
    t.resolve({ image: '{{ build-image.image }}' }, ['job_variables'], locate);
    expect(issues.items.map((issue) => issue.message)).toEqual([
      'the value given for step output `build-image.image` holds a `{{ }}` placeholder, which is not resolved again; give the final value',
    ]);
  });
});
