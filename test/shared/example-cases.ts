// Cases that run both against the msw fake and against a real Prefect server: the fake stays
// honest only as long as the same assertions pass on both.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { clearServer, readState } from './server.js';

export interface Target {
  apiUrl(): string;
  /** Environment the CLI needs for this server besides PREFECT_API_URL (credentials). */
  env?: () => Record<string, string>;
}

const repo = resolve(import.meta.dirname, '..', '..');
export const exampleVars = join(repo, 'vars', 'vars_dev.toml');
export const exampleLimits = join(repo, 'vars', 'concurrency-limits.toml');

/** The six secrets of the archiver, written the way `echo value > file` writes them. */
export const SECRET_VALUES: Record<string, string> = {
  S3_USER_FILE: 'archiver-s3-user',
  S3_PASSWORD_FILE: 's3 pa$$word with "quotes" and ünïcödé',
  GITHUB_USER_FILE: 'archiver-bot',
  GITHUB_PASSWORD_FILE: 'ghp_exampleTokenValue1234567890',
  SCICAT_USER_FILE: 'ingestor',
  SCICAT_PASSWORD_FILE: "sc1cat'pass\\word",
};

export function writeSecretFiles(values: Record<string, string> = SECRET_VALUES): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'openem-secrets-'));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    const path = join(dir, name.toLowerCase().replace(/_file$/, '.txt'));
    writeFileSync(path, `${value}\n`);
    env[name] = path;
  }
  return env;
}

/** The old tool's command line, unchanged. */
export const OLD_COMMAND_LINE = ['-v', exampleVars, '-s', ...Object.keys(SECRET_VALUES), '-l', exampleLimits];

/** What the example prefect.yaml takes from the environment ({{ $NAME }}). */
export const DEPLOY_ENV = {
  PREFECT_RUNTIME_IMAGE: 'registry.example.org/archiver-runtime:2.1',
  PREFECT_NETWORK: 'archiver_internal',
  PREFECT_ARCHIVER_HOST_SCRATCH: '/data/scratch',
  ARCHIVER_SCRATCH_FOLDER: '/scratch',
};

export const EXAMPLE_ENV = {
  S3_ENDPOINT: 'http://minio:9000',
  S3_EXTERNAL_ENDPOINT: 'https://s3.example.org',
  SCICAT_ENDPOINT: 'https://scicat.example.org/backend',
};

export function defineExampleCases(target: Target): void {
  describe('the example configuration with the old command line', () => {
    let env: Record<string, string>;
    const run = (argv: string[], extraEnv: Record<string, string> = {}) =>
      runCli(argv, { env: { PREFECT_API_URL: target.apiUrl(), ...target.env?.(), ...env, ...extraEnv } });

    beforeEach(async () => {
      await clearServer(target.apiUrl(), authHeaders(target));
      env = { ...writeSecretFiles(), ...EXAMPLE_ENV };
    });

    it('applies and reads back with the declared values, types, secrets and limits', async () => {
      const result = await run(OLD_COMMAND_LINE);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(EXIT.ok);
      // Secrets are to be created: their block type is looked up once, while planning, before any write.
      const sent = result.requests.map((r) => `${r.method} ${r.path}`);
      expect(sent.filter((r) => r === 'GET /block_types/slug/secret')).toHaveLength(1);
      expect(sent.indexOf('GET /block_types/slug/secret')).toBeLessThan(result.requests.findIndex((r) => r.write));
      const state = await readState(target.apiUrl(), authHeaders(target));
      expect(state.variables).toEqual({
        archiver_scratch_folder: { value: '/scratch', tags: ['openem-config'] },
        archiver_target_size_gb: { value: 20, tags: ['openem-config'] },
        archiver_num_workers: { value: 2, tags: ['openem-config'] },
        s3_region: { value: 'eu-central-1', tags: ['openem-config'] },
        s3_archival_bucket: { value: 'dev-archive', tags: ['openem-config'] },
        s3_landingzone_bucket: { value: 'dev-landing', tags: ['openem-config'] },
        s3_url_expiration_days: { value: 7, tags: ['openem-config'] },
        s3_endpoint: { value: 'http://minio:9000', tags: ['openem-config'] },
        s3_external_endpoint: { value: 'https://s3.example.org', tags: ['openem-config'] },
        // The environment overrides the file, as with the old tool.
        scicat_endpoint: { value: 'https://scicat.example.org/backend', tags: ['openem-config'] },
        scicat_api_prefix: { value: '/api/v3', tags: ['openem-config'] },
        scicat_datasets_api_prefix: { value: '/api/v3', tags: ['openem-config'] },
        scicat_jobs_api_prefix: { value: '/api/v3', tags: ['openem-config'] },
      });
      expect(state.secrets).toEqual({
        's3-user': SECRET_VALUES.S3_USER_FILE,
        's3-password': SECRET_VALUES.S3_PASSWORD_FILE,
        'github-user': SECRET_VALUES.GITHUB_USER_FILE,
        'github-password': SECRET_VALUES.GITHUB_PASSWORD_FILE,
        'scicat-user': SECRET_VALUES.SCICAT_USER_FILE,
        'scicat-password': SECRET_VALUES.SCICAT_PASSWORD_FILE,
      });
      expect(state.tagLimits).toEqual({ 'write-to-lts-share': 4, 'read-from-lts-share': 4 });
      expect(result.stdout).toContain('variables: 13 created, 0 updated, 0 unchanged, 0 failed');
      expect(result.stdout).toContain('secrets: 6 created, 0 updated, 0 unchanged, 0 failed');
      expect(result.stdout).toContain('tag-limits: 2 created, 0 updated, 0 unchanged, 0 failed');
    });

    it('plans and applies only what --only selects, after checking every input', async () => {
      const one = await run(['apply', ...OLD_COMMAND_LINE, '--only', 'variable:archiver_scratch_folder']);
      expect(one.stderr).toBe('');
      expect(one.code).toBe(EXIT.ok);
      expect(one.writes.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /variables/']);
      expect(one.stdout).toContain('variables: 1 created, 0 updated, 0 unchanged, 0 failed');
      let state = await readState(target.apiUrl(), authHeaders(target));
      expect(Object.keys(state.variables)).toEqual(['archiver_scratch_folder']);
      expect(state.secrets).toEqual({});
      // A kind as in plan lines, or as export names it; the plan lists only the selection.
      const plan = await run(['plan', ...OLD_COMMAND_LINE, '--only', 'secrets', '--only', 'tag-limit:*']);
      expect(plan.code).toBe(EXIT.ok);
      expect(plan.writes).toEqual([]);
      expect(plan.stdout).toContain('+ secret s3-user');
      expect(plan.stdout).not.toContain('variable');
      const limits = await run(['apply', ...OLD_COMMAND_LINE, '--only', 'limits']);
      expect(limits.code).toBe(EXIT.ok);
      state = await readState(target.apiUrl(), authHeaders(target));
      expect(Object.keys(state.variables)).toEqual(['archiver_scratch_folder']);
      expect(Object.keys(state.tagLimits).length).toBeGreaterThan(0);
      // A typo of a kind, or a name that selects nothing, is refused before any request.
      const typo = await run(['apply', ...OLD_COMMAND_LINE, '--only', 'varible']);
      expect(typo.code).toBe(EXIT.invalidInput);
      expect(typo.stderr).toContain('--only: unknown kind "varible" (did you mean "variable"?)');
      expect(typo.requests).toEqual([]);
      const nothing = await run(['apply', ...OLD_COMMAND_LINE, '--only', 'variable:archiver_scrach*']);
      expect(nothing.code).toBe(EXIT.invalidInput);
      expect(nothing.stderr).toContain('--only variable:archiver_scrach* selects none of the 13 variables the inputs declare');
      expect(nothing.requests).toEqual([]);
      // An input error outside the selection still stops the run: every input is checked.
      const broken = await run(['apply', ...OLD_COMMAND_LINE, '--only', 'variables'], { S3_USER_FILE: '/nonexistent/s3-user.txt' });
      expect(broken.code).toBe(EXIT.invalidInput);
      expect(broken.writes).toEqual([]);
    });

    it('applies a plan saved with plan --out exactly, and refuses it once stale, before any write', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'openem-plan-'));
      const file = join(dir, 'plan.json');
      const saved = await run(['plan', ...OLD_COMMAND_LINE, '--only', 'variables,secrets', '--out', file]);
      expect(saved.stderr).toBe('');
      expect(saved.code).toBe(EXIT.ok);
      expect(saved.writes).toEqual([]);
      expect(saved.stdout).toContain(`Plan saved to ${file}; apply exactly it with: openem-config apply ${file}`);
      const text = readFileSync(file, 'utf8');
      for (const value of Object.values(SECRET_VALUES)) expect(text).not.toContain(value);
      const document = JSON.parse(text) as { server: { url: string }; options: { only: string[]; variables: string[] }; kinds: Array<{ name: string; items: unknown[] }> };
      expect(document.options.only).toEqual(['variables,secrets']);
      expect(document.options.variables).toEqual([exampleVars]);
      expect(document.kinds.map((kind) => [kind.name, kind.items.length])).toEqual([['variable', 13], ['secret', 6]]);

      // Input options come from the plan: given again, they are refused.
      const mixed = await run(['apply', file, '-v', exampleVars]);
      expect(mixed.code).toBe(EXIT.invalidInput);
      expect(mixed.stderr).toContain(`apply ${file} takes its inputs and options from the saved plan: leave out --variables`);
      expect(mixed.requests).toEqual([]);

      const applied = await run(['apply', file]);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(EXIT.ok);
      expect(applied.stdout).toContain('variables: 13 created, 0 updated, 0 unchanged, 0 failed');
      expect(applied.stdout).toContain('secrets: 6 created, 0 updated, 0 unchanged, 0 failed');
      const state = await readState(target.apiUrl(), authHeaders(target));
      expect(Object.keys(state.variables)).toHaveLength(13);
      expect(state.tagLimits).toEqual({});

      // Applied once, the plan no longer says what apply would do: the server changed since.
      const again = await run(['apply', file]);
      expect(again.code).toBe(EXIT.stalePlan);
      expect(again.stderr).toContain('the saved plan is stale, nothing was written: the server changed since the plan was made');
      expect(again.writes).toEqual([]);

      // A changed input (the environment here, a rotated secret file below) makes it stale too.
      const next = join(dir, 'next.json');
      expect((await run(['plan', ...OLD_COMMAND_LINE, '--out', next])).code).toBe(EXIT.ok);
      const changedEnv = await run(['apply', next], { SCICAT_ENDPOINT: 'https://other.example.org' });
      expect(changedEnv.code).toBe(EXIT.stalePlan);
      expect(changedEnv.stderr).toContain('the inputs changed since the plan was made');
      expect(changedEnv.writes).toEqual([]);
      const rotated = await run(['apply', next], writeSecretFiles({ ...SECRET_VALUES, GITHUB_PASSWORD_FILE: 'rotated token value' }));
      expect(rotated.code).toBe(EXIT.stalePlan);
      expect(rotated.writes).toEqual([]);
      expect(rotated.all).not.toContain('rotated token value');
      // Another server than the plan's is refused before any request.
      const elsewhere = await run(['apply', next, '--api-url', 'http://127.0.0.1:9/api']);
      expect(elsewhere.code).toBe(EXIT.stalePlan);
      expect(elsewhere.stderr).toContain('the plan was made for the server');
      expect(elsewhere.requests).toEqual([]);
      // Unchanged, it applies: only the limits were left to create.
      const fresh = await run(['apply', next, '--output', 'json']);
      expect(fresh.code).toBe(EXIT.ok);
      expect((JSON.parse(fresh.stdout) as { summary: Record<string, { created: number }> }).summary['tag-limit']?.created).toBe(2);
      expect((await readState(target.apiUrl(), authHeaders(target))).tagLimits).toEqual({ 'write-to-lts-share': 4, 'read-from-lts-share': 4 });
    });

    it('applies a plan made with relative input paths, from another directory too', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'openem-plan-relative-'));
      const relative = ['-v', 'vars/vars_dev.toml', '-s', ...Object.keys(SECRET_VALUES), '-l', 'vars/concurrency-limits.toml'];
      const file = join(dir, 'plan.json');
      const saved = await runCli(['plan', '--no-project', ...relative, '--out', file], { cwd: repo, env: { PREFECT_API_URL: target.apiUrl(), ...target.env?.(), ...env } });
      expect(saved.code, saved.stderr).toBe(EXIT.ok);
      const applied = await runCli(['apply', file], { cwd: dir, env: { PREFECT_API_URL: target.apiUrl(), ...target.env?.(), ...env } });
      expect(applied.code, applied.stderr).toBe(EXIT.ok);
      expect(applied.stdout).toContain('variables: 13 created, 0 updated, 0 unchanged, 0 failed');
      expect(Object.keys((await readState(target.apiUrl(), authHeaders(target))).variables)).toHaveLength(13);
    });

    it('sends no write on a second apply, and plan reports no changes', async () => {
      expect((await run(OLD_COMMAND_LINE)).code).toBe(EXIT.ok);
      const second = await run(OLD_COMMAND_LINE);
      expect(second.code).toBe(EXIT.ok);
      expect(second.writes).toEqual([]);
      // Reads stay in bulk: readiness (3), the CSRF probe, the ownership record, one filter per
      // kind; the secret block type is looked up only when a secret is to be created.
      expect(second.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
        'GET /admin/version',
        'GET /block_types/slug/openem-config-state/block_documents/name/ownership',
        'GET /csrf-token',
        'GET /health',
        'GET /ready',
        'POST /block_documents/filter',
        'POST /v2/concurrency_limits/filter',
        'POST /variables/filter',
      ]);
      expect(second.stdout).toContain('variables: 0 created, 0 updated, 13 unchanged, 0 failed');
      const plan = await run(['plan', '--detailed-exitcode', ...OLD_COMMAND_LINE]);
      expect(plan.code).toBe(EXIT.ok);
      expect(plan.writes).toEqual([]);
      expect(plan.stdout).toContain('No changes');
    });

    it('writes exactly once when one value changes', async () => {
      expect((await run(OLD_COMMAND_LINE)).code).toBe(EXIT.ok);
      const plan = await run(['plan', '--detailed-exitcode', ...OLD_COMMAND_LINE], { SCICAT_ENDPOINT: 'https://other.example.org' });
      expect(plan.code).toBe(EXIT.changesPending);
      expect(plan.writes).toEqual([]);
      expect(plan.stdout).toContain(
        '~ variable scicat_endpoint: value: "https://scicat.example.org/backend" -> "https://other.example.org"',
      );
      const changed = await run(OLD_COMMAND_LINE, { SCICAT_ENDPOINT: 'https://other.example.org' });
      expect(changed.code).toBe(EXIT.ok);
      expect(changed.writes.map((w) => `${w.method} ${w.path}`)).toEqual(['PATCH /variables/name/scicat_endpoint']);
      expect((await readState(target.apiUrl(), authHeaders(target))).variables.scicat_endpoint?.value).toBe('https://other.example.org');
    });

    it('updates a changed secret with one write and shows it only as changed', async () => {
      expect((await run(OLD_COMMAND_LINE)).code).toBe(EXIT.ok);
      const rotated = writeSecretFiles({ ...SECRET_VALUES, GITHUB_PASSWORD_FILE: 'rotated token value' });
      const result = await run(['--output', 'json', ...OLD_COMMAND_LINE], rotated);
      expect(result.code).toBe(EXIT.ok);
      expect(result.writes.map((w) => w.method)).toEqual(['PATCH']);
      expect(result.writes[0]?.path).toMatch(/^\/block_documents\/[0-9a-f-]{36}$/);
      // An update needs neither the block type nor the schema: neither is read.
      expect(result.requests.filter((r) => r.path.startsWith('/block_types/slug/secret') || r.path === '/block_schemas/filter')).toEqual([]);
      expect(result.all).not.toContain('rotated token value');
      expect(result.all).not.toContain(SECRET_VALUES.GITHUB_PASSWORD_FILE);
      const report = JSON.parse(result.stdout) as { items: Array<{ kind: string; key: string; outcome: string; changes: unknown[] }> };
      expect(report.items.find((i) => i.key === 'github-password')).toMatchObject({
        kind: 'secret',
        outcome: 'updated',
        changes: [{ field: 'value', secret: true }],
      });
      expect((await readState(target.apiUrl(), authHeaders(target))).secrets['github-password']).toBe('rotated token value');
    });

    it('prints no secret value at debug level, in any output', async () => {
      const result = await run(['--log-level', 'debug', ...OLD_COMMAND_LINE]);
      expect(result.code).toBe(EXIT.ok);
      expect(result.logs).toContain('"event":"http"');
      for (const value of Object.values(SECRET_VALUES)) expect(result.all).not.toContain(value);
    });

    it('rejects invalid input before any request', async () => {
      const result = await run(['-v', join(repo, 'vars', 'missing.toml'), '-s', 'S3_USER_FILE', 'NOT_SET_FILE', '-l', exampleLimits]);
      expect(result.code).toBe(EXIT.invalidInput);
      expect(result.requests).toEqual([]);
      expect(result.stderr).toContain('missing.toml');
      expect(result.stderr).toContain('NOT_SET_FILE');
      expect(await readState(target.apiUrl(), authHeaders(target))).toEqual({ variables: {}, secrets: {}, tagLimits: {} });
    });
  });
}

export function authHeaders(target: Target): Record<string, string> {
  const auth = target.env?.().PREFECT_API_AUTH_STRING;
  return auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {};
}
