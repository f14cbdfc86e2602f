// The project file: inputs declared once, per-environment sections, paths relative to the file,
// the command line adding to it, and errors at file:line:key like every other input.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject, PROJECT_FILE } from '../../src/config/project.js';
import { IssueList } from '../../src/errors.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { useTempDir } from './temp.js';

const temp = useTempDir();

function load(text: string, options: { env?: string; name?: string } = {}) {
  const file = temp.write(join(options.name ?? 'p', PROJECT_FILE), text);
  const issues = new IssueList();
  const project = loadProject({ cwd: join(temp.dir, options.name ?? 'p'), env: options.env }, issues);
  return { file, project, issues: issues.items.map(({ file: _file, column: _column, ...rest }) => rest) };
}

describe('loadProject', () => {
  it('reads the inputs with paths relative to the file, and lets an environment add to lists and replace values', () => {
    const { project, issues } = load(
      [
        'variables = ["vars.toml"]',
        'secrets = ["S3_USER_FILE"]',
        'limits = ["limits.toml"]',
        'deployments = ["prefect.yaml"]',
        'concurrency = 1',
        'secret = { s3-password = "secrets/s3-password" }',
        '',
        '[env.prod]',
        'variables = ["vars_prod.toml"]',
        'secret = { github-token = "/run/secrets/github-token" }',
        'api_url = "http://prefect-prod:4200/api"',
        'concurrency = 2',
      ].join('\n'),
      { env: 'prod', name: 'a' },
    );
    expect(issues).toEqual([]);
    const dir = join(temp.dir, 'a');
    expect(project?.settings).toEqual({
      variables: [join(dir, 'vars.toml'), join(dir, 'vars_prod.toml')],
      secrets: ['S3_USER_FILE'],
      limits: [join(dir, 'limits.toml')],
      deployments: [join(dir, 'prefect.yaml')],
      concurrency: 2,
      api_url: 'http://prefect-prod:4200/api',
      secret: { 's3-password': join(dir, 'secrets/s3-password'), 'github-token': '/run/secrets/github-token' },
    });
  });

  it('names the line and key of an unknown key (with a suggestion) and of a wrong type', () => {
    const { issues, project } = load(['variables = ["v.toml"]', 'limit = ["l.toml"]', '', '[env.dev]', 'concurrency = "two"'].join('\n'), { name: 'b' });
    expect(project).toBeUndefined();
    expect([...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))).toEqual([
      expect.objectContaining({ line: 2, key: 'limit', severity: 'error', message: expect.stringMatching(/^unknown key `limit`; did you mean `limits`\?/) }),
      expect.objectContaining({ line: 5, key: 'env.dev.concurrency', message: 'must be a whole number' }),
    ]);
  });

  it('refuses an environment the file does not have, with the ones it has', () => {
    const { issues } = load(['[env.prod]', 'variables = ["p.toml"]', '[env.dev]', 'variables = ["d.toml"]'].join('\n'), { env: 'prd', name: 'c' });
    expect(issues.map((i) => i.message)).toEqual(['--env prd: the project file has no [env.prd]; did you mean prod? its environments are prod, dev']);
  });

  it('is optional: no file, no project; --env without one is an error', () => {
    const issues = new IssueList();
    expect(loadProject({ cwd: join(temp.dir, 'nowhere') }, issues)).toBeUndefined();
    expect(issues.items).toEqual([]);
    loadProject({ cwd: join(temp.dir, 'nowhere'), env: 'prod' }, issues);
    expect(issues.items.map((i) => i.message)).toEqual([expect.stringMatching(/^--env prod needs a project file: there is no openem-config\.toml here/)]);
  });
});

describe('the command line with a project file', () => {
  const dir = join(temp.dir, 'cli');
  temp.write('cli/vars.toml', 'ALPHA = 1\n');
  temp.write('cli/vars_prod.toml', 'BETA = 2\n');
  temp.write('cli/extra.toml', 'GAMMA = 3\n');
  temp.write('cli/limits.toml', '[tag_limits]\nshared = 2\n');
  temp.write(`cli/${PROJECT_FILE}`, 'variables = ["vars.toml"]\nlimits = ["limits.toml"]\n\n[env.prod]\nvariables = ["vars_prod.toml"]\n');

  it('finds openem-config.toml in the current directory; --env adds the environment; -v adds after the file', async () => {
    expect((await runCli(['validate'], { cwd: dir })).stdout).toMatch(/^Inputs are valid: 1 variable, 0 secrets, 1 tag limit,/);
    expect((await runCli(['validate', '--env', 'prod'], { cwd: dir })).stdout).toMatch(/^Inputs are valid: 2 variables, 0 secrets, 1 tag limit,/);
    expect((await runCli(['validate', '--env', 'prod', '-v', join(dir, 'extra.toml')], { cwd: dir })).stdout).toMatch(/^Inputs are valid: 3 variables,/);
  });

  it('takes -c FILE from anywhere, and ignores the current directory with --no-project', async () => {
    expect((await runCli(['validate', '-c', join(dir, PROJECT_FILE)], { cwd: temp.dir })).stdout).toMatch(/^Inputs are valid: 1 variable,/);
    expect((await runCli(['validate', '--no-project', '-v', join(dir, 'extra.toml')], { cwd: dir })).stdout).toMatch(/^Inputs are valid: 1 variable, 0 secrets, 0 tag limits,/);
  });

  it("takes the file's single values unless the command line gives them", async () => {
    temp.write(`urls/${PROJECT_FILE}`, 'variables = ["../cli/vars.toml"]\napi_url = "http://127.0.0.1:9/from-file"\nwait_timeout = 0\n');
    const fromFile = await runCli(['plan'], { cwd: join(temp.dir, 'urls') });
    expect(fromFile.code).toBe(EXIT.unreachable);
    expect(fromFile.stderr).toContain('http://127.0.0.1:9/from-file');
    const fromCli = await runCli(['plan', '--api-url', 'http://127.0.0.1:9/from-cli'], { cwd: join(temp.dir, 'urls') });
    expect(fromCli.code).toBe(EXIT.unreachable);
    expect(fromCli.stderr).toContain('http://127.0.0.1:9/from-cli');
    expect(fromCli.stderr).not.toContain('from-file');
  });

  it('stops with exit 3 and the place of the problem, before any request', async () => {
    temp.write(`bad/${PROJECT_FILE}`, 'variables = "vars.toml"\n');
    const result = await runCli(['plan', '--api-url', 'http://127.0.0.1:9/api'], { cwd: join(temp.dir, 'bad') });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toMatch(/openem-config\.toml:1\b.*variables: must be a list of vars TOML files/);
    expect(result.requests).toEqual([]);
    const missing = await runCli(['validate', '-c', join(temp.dir, 'none.toml')], { cwd: temp.dir });
    expect(missing.code).toBe(EXIT.invalidInput);
    expect(missing.stderr).toContain('none.toml');
  });
});

describe('init', () => {
  it('writes a starter that validates as it is, in every environment, and refuses to overwrite it', async () => {
    const dir = join(temp.dir, 'starter');
    const first = await runCli(['init', dir]);
    expect(first.code).toBe(EXIT.ok);
    expect(first.stdout).toContain(`Wrote ${PROJECT_FILE}, vars.toml, vars_dev.toml, vars_prod.toml, limits.toml, prefect.yaml, flows/example.py to ${dir}, and in .schemas/ the JSON Schemas editors check them with.`);
    for (const env of [[], ['--env', 'dev'], ['--env', 'prod']]) {
      const result = await runCli(['validate', ...env], { cwd: dir });
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^Inputs are valid: [23] variables, 0 secrets, 1 tag limit, 1 global limit, 0 blocks, 1 work pool, 1 deployment, 1 deployment trigger, 1 automation\.$/m);
    }
    const again = await runCli(['init', dir]);
    expect(again.code).toBe(EXIT.invalidInput);
    expect(again.stderr).toContain('already holds openem-config.toml, vars.toml');
    expect((await runCli(['init', dir, '--force'])).code).toBe(EXIT.ok);
  });
});
