// The command line without a server: help, version, usage errors, validate, and the invalid-input
// path of apply (which must fail before any request).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/prefect-env.js';
import { EXIT } from '../src/exit-codes.js';
import { runCli } from './helpers/cli.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, SECRET_VALUES, exampleLimits, exampleVars, writeSecretFiles } from './shared/example-cases.js';

const env = () => ({ ...writeSecretFiles(), ...EXAMPLE_ENV });
// A loopback port nothing listens on any more (low ports are on fetch's list of forbidden ports).
let nowhere = '';
beforeAll(async () => {
  nowhere = `http://127.0.0.1:${await freePort()}/api`;
});

describe('openem-config command line', () => {
  it('prints help with every command and the old flags', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(EXIT.ok);
    for (const word of ['apply', 'plan', 'validate', '--version']) expect(result.stdout).toContain(word);
    const apply = await runCli(['apply', '--help']);
    for (const flag of ['-v, --variables', '-s, --secrets', '-l, --limits', '--secrets-dir', '--from-env', '--wait-timeout']) {
      expect(apply.stdout).toContain(flag);
    }
  });

  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects an unknown flag with the invalid-input code', async () => {
    const result = await runCli(['--no-such-flag']);
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toContain('--no-such-flag');
  });

  it('suggests the command meant for a mistyped one, and says where a misplaced one goes', async () => {
    const typo = await runCli(['aplly']);
    expect(typo.code).toBe(EXIT.invalidInput);
    expect(typo.stderr).toContain("error: unknown command 'aplly'\n(Did you mean apply?)");
    expect(typo.stderr).not.toContain('too many arguments');
    expect((await runCli(['valdiate', '-v', 'vars.toml'])).stderr).toContain('(Did you mean validate?)');
    const late = await runCli(['-v', 'vars.toml', 'plan']);
    expect(late.code).toBe(EXIT.invalidInput);
    expect(late.stderr).toContain("the command 'plan' comes first, before every option: openem-config plan [options]");
    const stray = await runCli(['vars.toml']);
    expect(stray.stderr).toContain("unexpected argument 'vars.toml': the commands are apply, plan, validate, export, init, migrate, schemas, help");
    const second = await runCli(['plan', 'apply']);
    expect(second.code).toBe(EXIT.invalidInput);
    expect(second.stderr).toContain("plan takes no arguments, and got 'apply'");
    // apply takes one argument, a saved plan; a second is refused, a defaulted apply takes none.
    const third = await runCli(['apply', 'one.plan', 'two.plan']);
    expect(third.code).toBe(EXIT.invalidInput);
    expect(third.stderr).toContain("apply takes one argument, a plan saved by plan --out, and got 'two.plan' after it");
    for (const result of [typo, late, stray, second, third]) expect(result.requests).toEqual([]);
  });

  it('prints the warnings of validate in file and line order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openem-cli-'));
    const project = join(dir, 'prefect.yaml');
    const deployment = (name: string, queue: string) =>
      `  - name: ${name}\n    flow_name: f\n    entrypoint: flows/${name}.py:${name}\n    work_pool:\n      name: pool\n      work_queue_name: ${queue}\n      job_variables:\n        image: "{{ IMAGE }}"\n`;
    writeFileSync(project, `build:\n  - prefect_docker.deployments.steps.build_docker_image: {}\ndeployments:\n${deployment('a', 'q1')}${deployment('b', 'q2')}${deployment('c', 'q3')}`);
    const other = join(dir, 'other.yaml');
    writeFileSync(other, `deployments:\n${deployment('d', 'q4')}`);
    const result = await runCli(['validate', '-d', project, '-d', other], { env: { IMAGE: 'registry/image:1' } });
    expect(result.code).toBe(EXIT.ok);
    const places = result.stderr
      .trim()
      .split('\n')
      .map((line) => /^warning: (.*?):(\d+):(\d+) ›/.exec(line))
      .map((match) => [match?.[1] === project ? 0 : 1, Number(match?.[2]), Number(match?.[3])] as const);
    expect(places.length).toBeGreaterThan(10);
    const sorted = [...places].sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    expect(places).toEqual(sorted);
    // What Prefect 3.7.2's `prefect deploy` does with a bare name: apply_values(deploy_config, os.environ) first.
    expect(result.stderr).toContain('`{{ IMAGE }}` is read from environment variable IMAGE; write `{{ $IMAGE }}` to say so: prefect deploy also fills a bare name from the environment when it is set there');
    const json = await runCli(['validate', '--output', 'json', '-d', project, '-d', other], { env: { IMAGE: 'registry/image:1' } });
    const warnings = (JSON.parse(json.stdout) as { warnings: Array<{ file: string; line: number }> }).warnings;
    expect(warnings.map((warning) => [warning.file === project ? 0 : 1, warning.line])).toEqual(sorted.map(([file, line]) => [file, line]));
  });

  it('asks for inputs when none are given', async () => {
    const result = await runCli(['plan'], { env: { PREFECT_API_URL: nowhere } });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toContain('nothing to do');
    expect(result.requests).toEqual([]);
  });

  it('validates the old command line offline', async () => {
    const result = await runCli(['validate', ...OLD_COMMAND_LINE], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('Inputs are valid: 13 variables, 6 secrets, 2 tag limits, 0 global limits, 0 blocks, 0 work pools, 0 deployments, 0 deployment triggers, 0 automations.\n');
    expect(result.requests).toEqual([]);
  });

  it('reports every problem at once with file, line and key, and sends nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openem-cli-'));
    const vars = join(dir, 'vars.toml');
    writeFileSync(vars, '[group]\nGOOD = 1\n"Bad Name!" = 2\n');
    const limits = join(dir, 'limits.toml');
    writeFileSync(limits, 'LTS_WRITE_LIMIT = 4\nOTHER_LIMIT = 2\n');
    const result = await runCli(['-v', vars, '-s', 'S3_USER_FILE', 'MISSING_FILE', '-l', limits], {
      env: { ...env(), PREFECT_API_URL: nowhere },
    });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.requests).toEqual([]);
    expect(result.stderr).toContain(`${vars}:3`);
    expect(result.stderr).toContain('Bad Name!');
    expect(result.stderr).toContain(`${limits}:2`);
    expect(result.stderr).toContain('OTHER_LIMIT');
    expect(result.stderr).toContain('MISSING_FILE');
    expect(result.stderr).toContain('nothing was sent to the server');
  });

  it('fails without PREFECT_API_URL for apply and plan, not for validate', async () => {
    const apply = await runCli(OLD_COMMAND_LINE, { env: env() });
    expect(apply.code).toBe(EXIT.invalidInput);
    expect(apply.stderr).toContain('PREFECT_API_URL');
    const bad = await runCli(OLD_COMMAND_LINE, { env: { ...env(), PREFECT_API_URL: 'ftp://x/api' } });
    expect(bad.code).toBe(EXIT.invalidInput);
    expect(bad.stderr).toContain('http:// or https://');
  });

  it('refuses a URL with port 0, a port past 65535 or no host, naming PREFECT_API_URL or --api-url, and sends nothing', async () => {
    for (const [url, problem] of [
      ['http://127.0.0.1:0/api', 'has port 0; a port is between 1 and 65535'],
      ['http://[::1]:0/api', 'has port 0; a port is between 1 and 65535'],
      ['http://127.0.0.1:65536/api', 'has port 65536; a port is between 1 and 65535'],
      ['http:///api', 'has no host'],
      ['https://:4200/api', 'has no host'],
    ] as const) {
      const fromEnv = await runCli(OLD_COMMAND_LINE, { env: { ...env(), PREFECT_API_URL: url } });
      expect(fromEnv.code, url).toBe(EXIT.invalidInput);
      expect(fromEnv.stderr).toContain(`PREFECT_API_URL: "${url}" ${problem}`);
      expect(fromEnv.requests).toEqual([]);
      const fromFlag = await runCli([...OLD_COMMAND_LINE, '--api-url', url], { env: env() });
      expect(fromFlag.code, url).toBe(EXIT.invalidInput);
      expect(fromFlag.stderr).toContain(`--api-url: "${url}" ${problem}`);
    }
    const fine = await runCli(['validate', ...OLD_COMMAND_LINE], { env: { ...env(), PREFECT_API_URL: 'http://127.0.0.1:0/api' } });
    expect(fine.code).toBe(EXIT.ok);
  });

  it('says the server is unreachable with its own exit code, naming the URL', async () => {
    const result = await runCli([...OLD_COMMAND_LINE, '--wait-timeout', '0.2'], { env: { ...env(), PREFECT_API_URL: nowhere } });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toContain(nowhere);
    expect(result.stderr).toContain('ECONNREFUSED');
  });

  it('prints problems as JSON with --output json', async () => {
    const result = await runCli(['validate', '--output', 'json', '-v', join(tmpdir(), 'no-such-vars.toml')]);
    expect(result.code).toBe(EXIT.invalidInput);
    const report = JSON.parse(result.stdout) as { ok: boolean; error: { issues: Array<{ file: string; message: string }> } };
    expect(report.ok).toBe(false);
    expect(report.error.issues[0]?.file).toContain('no-such-vars.toml');
  });

  it('rejects an unknown output format and log level', async () => {
    expect((await runCli(['validate', '--output', 'xml', '-v', exampleVars], { env: env() })).code).toBe(EXIT.invalidInput);
    expect((await runCli(['validate', '--log-level', 'loud', '-v', exampleVars], { env: env() })).code).toBe(EXIT.invalidInput);
  });

  it('keeps secret values out of every output of a failing run', async () => {
    const result = await runCli(['--log-level', 'debug', '--output', 'json', ...OLD_COMMAND_LINE, '-l', exampleLimits], {
      env: { ...env(), PREFECT_API_URL: nowhere },
      logLevel: 'trace',
    });
    expect(result.code).toBe(EXIT.invalidInput);
    for (const value of Object.values(SECRET_VALUES)) expect(result.all).not.toContain(value);
  });
});

describe('--step-output', () => {
  const yaml = () => {
    const dir = mkdtempSync(join(tmpdir(), 'openem-step-output-'));
    const path = join(dir, 'prefect.yaml');
    writeFileSync(
      path,
      'build:\n  - prefect_docker.deployments.steps.build_docker_image:\n      id: build-image\n      image_name: app\ndeployments:\n  - name: d\n    flow_name: f\n    entrypoint: f.py:f\n    work_pool:\n      name: p\n      job_variables:\n        image: "{{ build-image.image }}"\n',
    );
    return path;
  };

  it('gives a build step output its value; without one, the error names the option', async () => {
    const file = yaml();
    const given = await runCli(['validate', '-d', file, '--step-output', 'build-image.image=registry.example.org/app:1.4']);
    expect(given.code, given.stderr).toBe(EXIT.ok);
    const missing = await runCli(['validate', '-d', file]);
    expect(missing.code).toBe(EXIT.invalidInput);
    expect(missing.stderr).toContain('give its value with --step-output build-image.image=VALUE or in the environment variable OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE');
  });
});
