// Prefect 2-era prefect.yaml files (test/fixtures/deployments/legacy): what is converted the way
// Prefect 3 converts it, what is ignored with a warning, what is refused, and --strict refusing
// every conversion and ignored key.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { preparePythonReader } from '../../../src/python/syntax.js';
import { loadDeployments, type DeploymentsOptions } from '../../../src/kinds/deployments/spec.js';
import { IssueList, type ConfigIssue } from '../../../src/errors.js';
import { EXIT } from '../../../src/exit-codes.js';
import { runCli } from '../../helpers/cli.js';

// Deployments with --flows-dir read flow files: the grammar is compiled once, as run() does.
beforeAll(preparePythonReader);

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/deployments/legacy/${name}`, import.meta.url));
const flowsDir = fileURLToPath(new URL('../../fixtures/flows', import.meta.url));

function load(file: string, options: Partial<DeploymentsOptions> = {}) {
  const issues = new IssueList();
  const deployments = loadDeployments([file], { env: {}, ...options }, issues);
  return { deployments, issues: issues.items.map(({ column: _column, ...rest }) => rest) };
}

const issue = (severity: 'error' | 'warning', file: string, line: number, key: string, fragment: string): ConfigIssue =>
  ({ file, line, key, severity, message: expect.stringContaining(fragment) }) as ConfigIssue;

describe('a Prefect 2-era project file', () => {
  const file = fixture('prefect2-project.yaml');

  it('loads every deployment, with the single schedule converted to a one-item schedules list', () => {
    const { deployments } = load(file);
    const byName = Object.fromEntries(deployments.map((d) => [d.name, d]));
    expect(Object.keys(byName).sort()).toEqual(['hourly', 'manual', 'manual-empty', 'nightly']);
    expect(byName.nightly?.schedules.map(({ source: _source, ...rest }) => rest)).toEqual([
      { slug: 'openem-1', schedule: { cron: '0 3 * * *', timezone: 'Europe/Zurich', day_or: true }, active: true, parameters: {} },
    ]);
    expect(byName.nightly?.schedules[0]?.source).toMatchObject({ file, line: 21, key: 'deployments[0].schedule' });
    expect(byName.hourly?.schedules.map(({ source: _source, ...rest }) => rest)).toEqual([
      { slug: 'openem-1', schedule: { interval: 3600, anchor_date: '2024-01-01T00:00:00+00:00', timezone: 'UTC' }, active: true, parameters: {} },
    ]);
    // `schedule: null` and `schedule: {}` are no schedule; `concurrency_limit: null` removes the deployment's own limit.
    expect(byName.manual?.schedules).toEqual([]);
    expect(byName.manual?.concurrency).toBeNull();
    expect(byName['manual-empty']?.schedules).toEqual([]);
    expect(byName['manual-empty']?.paused).toBeUndefined();
    expect(byName.manual?.workQueueName).toBeUndefined();
  });

  it('warns once for each conversion and each ignored key, at its line', () => {
    expect(load(file).issues).toEqual([
      issue('warning', file, 5, 'version', 'a top-level `version` is ignored, as Prefect 3 ignores it'),
      issue('warning', file, 20, 'deployments[0].schedule', 'the single `schedule` is converted to a one-item `schedules` list, as Prefect 3 converts it'),
      issue('warning', file, 32, 'deployments[1].schedule', 'the single `schedule` is converted'),
      issue('warning', file, 36, 'deployments[1].is_schedule_active', '`is_schedule_active` (Prefect 2) is ignored'),
      issue('warning', file, 41, 'deployments[1].work_pool.type', '`work_pool.type` is ignored, as Prefect 3 ignores it'),
      issue('warning', file, 43, 'deployments[2].schedule', '`schedule: null` (no schedule, as older prefect deploy wrote it) is ignored'),
      issue('warning', file, 47, 'deployments[2].work_queue_name', 'a deployment-level `work_queue_name` is ignored'),
      issue('warning', file, 51, 'deployments[3].schedule', '`schedule: {}` (no schedule'),
      issue('warning', file, 54, 'deployments[3].is_paused', '`is_paused` is ignored'),
    ]);
  });

  it('with strict, refuses each of them and loads nothing', () => {
    const { deployments, issues } = load(file, { strict: true });
    expect(deployments).toEqual([]);
    expect(issues.map((i) => [i.severity, i.line])).toEqual([5, 20, 32, 36, 41, 43, 47, 51, 54].map((line) => ['error', line]));
    for (const found of issues) expect(found.message).toContain('--strict refuses this');
  });
});

describe('schedules as Prefect 2.16+ saved them', () => {
  const file = fixture('prefect2-saved-schedules.yaml');

  it('ignores max_active_runs: null and catchup: false, reads flow_name: null as absent, and reads limit: null as no limit', () => {
    const { deployments, issues } = load(file, { flowsDir });
    expect(deployments.map((d) => [d.flowName, d.name, d.concurrency])).toEqual([['zoo-scalars', 'zoo', null]]);
    expect(deployments[0]?.schedules.map((s) => [s.slug, s.schedule, s.active])).toEqual([
      ['openem-1', { cron: '0 6 * * 1-5', timezone: 'Europe/Zurich', day_or: true }, true],
      ['openem-2', { interval: 900, anchor_date: '2024-01-01T00:00:00Z', timezone: 'UTC' }, false],
    ]);
    expect(issues).toEqual([
      issue('warning', file, 21, 'deployments[0].concurrency_limit.limit', '`limit: null` means no limit'),
      issue('warning', file, 12, 'deployments[0].schedules[0].max_active_runs', '`max_active_runs: null` (Prefect 2) is ignored'),
      issue('warning', file, 13, 'deployments[0].schedules[0].catchup', '`catchup` (Prefect 2) is ignored'),
      issue('warning', file, 18, 'deployments[0].schedules[1].max_active_runs', '`max_active_runs: null`'),
      issue('warning', file, 19, 'deployments[0].schedules[1].catchup', '`catchup` (Prefect 2) is ignored'),
    ]);
  });

  it('without --flows-dir, a null flow_name is a missing flow name, and the message names --flows-dir', () => {
    const { deployments, issues } = load(file);
    expect(deployments).toEqual([]);
    expect(issues.filter((i) => i.severity === 'error')).toEqual([issue('error', file, 4, 'deployments[0]', 'the flow name is unknown: add `flow_name:`')]);
    expect(issues.find((i) => i.severity === 'error')?.message).toContain('--flows-dir');
  });

  it('with strict, refuses the ignored keys and the null limit', () => {
    const { issues } = load(file, { flowsDir, strict: true });
    expect(issues.map((i) => [i.severity, i.line])).toEqual([21, 12, 13, 18, 19].map((line) => ['error', line]));
  });
});

describe('legacy forms that are refused', () => {
  const file = fixture('prefect2-refused.yaml');

  it('refuses each form whose loss would change how flows run, and says what to write', () => {
    const { deployments, issues } = load(file);
    expect(deployments).toEqual([]);
    expect(issues).toEqual([
      issue('error', file, 6, 'deployments[0].schedule', '`schedule` and `schedules` are both given, which prefect deploy refuses too'),
      issue('error', file, 12, 'deployments[1].is_paused', 'write `paused: true` instead'),
      issue('error', file, 13, 'deployments[1].is_schedule_active', 'write `paused: true`, or `active: false` on each schedule'),
      issue('warning', file, 17, 'deployments[2].schedule', 'the single `schedule` is converted'),
      issue('error', file, 19, 'deployments[2].schedule.catchup', '`catchup: true` (Prefect 2) is not read by Prefect 3'),
      issue('error', file, 20, 'deployments[2].schedule.max_active_runs', 'give the deployment `concurrency_limit:` instead'),
      issue('error', file, 24, 'deployments[3].work_queue_name', 'move it under `work_pool:` as `work_queue_name: urgent`'),
      issue('error', file, 25, 'deployments[3].work_pool_name', 'move it under `work_pool:` as `name: other-pool`'),
      issue('error', file, 32, 'deployments[4].schedule', 'must be one schedule, a mapping such as'),
    ]);
  });
});

describe('--strict on the command line', () => {
  it('validate accepts the legacy project with warnings, and refuses it with --strict (exit 3)', async () => {
    const file = fixture('prefect2-project.yaml');
    const lenient = await runCli(['validate', '-d', file], { env: {} });
    expect(lenient.code).toBe(EXIT.ok);
    expect(lenient.stderr).toContain('the single `schedule` is converted');
    const strict = await runCli(['validate', '--strict', '-d', file], { env: {} });
    expect(strict.code).toBe(EXIT.invalidInput);
    expect(strict.stderr).toContain('--strict refuses this');
    expect(strict.stderr).toContain('9 problems in the inputs');
  });

  it('plan and apply take --strict too, and refuse before any request', async () => {
    for (const command of ['plan', 'apply']) {
      const result = await runCli([command, '--strict', '-d', fixture('prefect2-project.yaml')], { env: { PREFECT_API_URL: 'http://127.0.0.1:9/api' } });
      expect(result.code).toBe(EXIT.invalidInput);
      expect(result.requests).toEqual([]);
    }
  });
});

describe('step outputs of build and push steps', () => {
  const file = fixture('step-outputs.yaml');
  const env = { OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE: 'ghcr.io/example/app:from-env', OPENEM_STEP_OUTPUT_GET_COMMIT_HASH__STDOUT: 'abc123' };
  const jobVariables = (options: Partial<DeploymentsOptions>) => {
    const issues = new IssueList();
    const [deployment] = loadDeployments([file], { env: {}, ...options }, issues);
    return { jobVariables: deployment?.jobVariables, errors: issues.items.filter((i) => i.severity === 'error').map((i) => `${i.line} ${i.message}`) };
  };

  it('fills {{ step-id.field }} from the environment, and the values given win over it', () => {
    expect(jobVariables({ env })).toEqual({ jobVariables: { image: 'ghcr.io/example/app:from-env', env: { GIT_COMMIT: 'abc123' } }, errors: [] });
    expect(jobVariables({ env, stepOutputs: ['build-image.image=ghcr.io/example/app:1.4'] }).jobVariables?.image).toBe('ghcr.io/example/app:1.4');
  });

  it('without a value, each reference is an error that names the environment variable and says the steps are not run', () => {
    expect(jobVariables({}).errors).toEqual([
      expect.stringMatching(/^19 `\{\{ build-image.image \}\}` is the output of a build or push step, and openem-config runs no build or push step: give its value with --step-output build-image.image=VALUE or in the environment variable OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE/),
      expect.stringMatching(/^21 `\{\{ get-commit-hash.stdout \}\}` .* OPENEM_STEP_OUTPUT_GET_COMMIT_HASH__STDOUT/),
    ]);
  });

  it('refuses a malformed step output value', () => {
    const issues = new IssueList();
    loadDeployments([], { env: {}, stepOutputs: ['image=x', 'prefect.blocks.a=b', 'build-image.image='] }, issues);
    expect(issues.items.map((issue) => [issue.key, issue.severity])).toEqual([
      ['step output image', 'error'],
      ['step output prefect.blocks.a', 'error'],
      ['step output build-image.image', 'error'],
    ]);
  });
});
