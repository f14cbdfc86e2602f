// The export command end to end against a small fake server (msw): what it says about credentials,
// secrets ending with a newline, automations, and the exit code when a credential is left out.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import type { ExportOutcome } from '../../src/export/run.js';
import { runCli } from '../helpers/cli.js';
import { fakeAutomation, fakeDeployment, fakeSecretBlock } from './factories.js';
import { directiveOf, parseFile, schemaErrors } from '../schemas/validator.js';

const API = 'http://prefect.export.test/api';
const TOKEN = 'ghp_resolvedInDeploy42';
const TYPED = 'typed-in-the-ui-9f3';

interface State {
  secrets: Array<[string, string]>;
  deployments: ReturnType<typeof fakeDeployment>[];
  automations: string[];
}
let state: State;

const rows = (rows: unknown[]) => async ({ request }: { request: Request }) => {
  const body = (await request.json()) as { offset?: number; limit?: number };
  const offset = body.offset ?? 0;
  return HttpResponse.json(rows.slice(offset, offset + (body.limit ?? 200)));
};

const server = setupServer(
  http.get(`${API}/health`, () => HttpResponse.json(true)),
  http.get(`${API}/ready`, () => HttpResponse.json({ message: 'OK' })),
  http.get(`${API}/admin/version`, () => HttpResponse.json('3.7.2')),
  http.get(`${API}/csrf-token`, () => HttpResponse.json({ detail: 'CSRF protection is disabled.' }, { status: 422 })),
  http.post(`${API}/variables/filter`, () => HttpResponse.json([])),
  http.post(`${API}/v2/concurrency_limits/filter`, () => HttpResponse.json([])),
  http.post(`${API}/work_pools/filter`, () => HttpResponse.json([])),
  http.post(`${API}/saved_searches/filter`, () => HttpResponse.json([])),
  // Only the secret type is registered here: the blocks kind finds no other type to read.
  http.post(`${API}/block_types/filter`, () => HttpResponse.json([{ id: 'b0000000-0000-4000-8000-000000000001', name: 'Secret', slug: 'secret', created: null, updated: null }])),
  http.post(`${API}/block_documents/filter`, async (info) => {
    const body = (await info.request.clone().json()) as { include_secrets?: boolean };
    return rows(state.secrets.map(([name, value]) => fakeSecretBlock(name, body.include_secrets ? value : '********', { block_type: { slug: 'secret' } })))(info);
  }),
  http.post(`${API}/deployments/filter`, (info) => rows(state.deployments.map((d) => d.deployment))(info)),
  http.post(`${API}/flows/filter`, (info) => rows(state.deployments.map((d) => ({ id: d.deployment.flow_id, name: d.flowName })))(info)),
  http.post(`${API}/automations/filter`, (info) => rows(state.automations.map((name) => fakeAutomation(name)))(info)),
);
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterAll(() => server.close());
beforeEach(() => {
  state = {
    secrets: [
      ['github-token', TOKEN],
      ['s3-user', 'svc-archiver\n'],
      ['s3-password', 'no-newline'],
    ],
    deployments: [fakeDeployment({ name: 'resolved', work_pool_name: 'pool', job_variables: { registry_credentials: { username: 'bot', password: TOKEN } } }, 'archive')],
    automations: ['retry archival'],
  };
});

async function exportTo(extra: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'openem-export-run-'));
  const result = await runCli(['export', '--to', dir, '--output', 'json', ...extra], { env: { PREFECT_API_URL: API } });
  const outcome = JSON.parse(result.stdout) as ExportOutcome & { ok: boolean; exitCode: number };
  const file = (path: string) => readFileSync(join(dir, path), 'utf8');
  return { ...result, outcome, file };
}

describe('export', () => {
  it('writes a resolved secret as a reference, writes the automation, names the secret ending with a newline, and never writes a value', async () => {
    const result = await exportTo();
    expect(result.code).toBe(EXIT.ok);
    expect(result.writes).toEqual([]);
    for (const [, value] of state.secrets) expect(result.all).not.toContain(value.trim());
    expect(result.file('prefect.yaml')).toContain('password: "{{ prefect.blocks.secret.github-token }}"');
    expect(result.outcome.warnings.map((w) => `${w.subject}: ${w.message}`)).toEqual([
      expect.stringMatching(/^deployment "archive\/resolved": work_pool\.job_variables\.registry_credentials\.password -> \{\{ prefect\.blocks\.secret\.github-token \}\}: /),
      expect.stringMatching(/^secret "s3-user": its value ends with a newline/),
    ]);
    expect(result.file('automations.yaml')).toContain('- name: retry archival\n');
    expect(result.outcome.args.deployments).toEqual(['prefect.yaml', 'automations.yaml']);
    expect(result.outcome.warnings[1]!.message).toContain('--keep-trailing-newline');
    expect(result.file('README.md')).toContain('| `s3-user` (value ends with a newline) | `S3_USER_FILE` |');
    expect(result.outcome.credentialsLeftOut).toEqual([]);
    // Secret values are read once, for both checks.
    expect(result.requests.filter((r) => r.path === '/block_documents/filter' && r.body.includes('"include_secrets":true') && r.body.includes('"any_":["secret"]'))).toHaveLength(1);
  });

  it('starts prefect.yaml and automations.yaml with their schema line, and each is valid against that schema', async () => {
    const result = await exportTo();
    expect(result.code).toBe(EXIT.ok);
    for (const path of ['prefect.yaml', 'automations.yaml', 'openem-config.toml']) {
      const text = result.file(path);
      const schema = directiveOf(text);
      expect(schema, path).toBe(path === 'openem-config.toml' ? 'project' : 'prefect-yaml');
      expect(schemaErrors(schema!, parseFile(path, text)), path).toEqual([]);
      expect(JSON.parse(result.file(`.schemas/${schema}.json`))).toMatchObject({ title: expect.any(String) });
    }
  });

  it('leaves out a credential matching no block, names it, writes the files and exits 1; --allow-plain-credentials writes it', async () => {
    state.deployments = [fakeDeployment({ name: 'typed', work_pool_name: 'pool', job_variables: { env: { API_TOKEN: TYPED, LEVEL: 'INFO' } } }, 'archive')];
    const result = await exportTo(['--only', 'deployments']);
    expect(result.code).toBe(EXIT.applyFailed);
    expect(result.outcome).toMatchObject({ ok: false, exitCode: 1, credentialsLeftOut: [{ subject: 'deployment "archive/typed"', paths: ['work_pool.job_variables.env.API_TOKEN'] }] });
    expect(result.stderr).toContain('error: 1 credential was left out of the files (named in the warnings and the README)');
    expect(result.all).not.toContain(TYPED);
    expect(result.file('prefect.yaml')).toContain('LEVEL: INFO');
    expect(result.file('prefect.yaml')).not.toContain('API_TOKEN');
    expect(result.file('README.md')).toContain('## Credentials left out');
    expect(result.file('README.md')).toContain('| deployment "archive/typed" | `work_pool.job_variables.env.API_TOKEN` |');
    // --only deployments: no secrets listed, so no newline check; automations are a section of their own.
    expect(result.outcome.warnings.map((w) => w.subject)).toEqual(['deployment "archive/typed"']);

    const allowed = await exportTo(['--only', 'deployments', '--allow-plain-credentials']);
    expect(allowed.code).toBe(EXIT.ok);
    expect(allowed.file('prefect.yaml')).toContain(`API_TOKEN: ${TYPED}`);
    expect(allowed.outcome.warnings[0]).toMatchObject({ credentials: { paths: ['work_pool.job_variables.env.API_TOKEN'], written: true } });
    expect(allowed.file('README.md')).toContain('## Credentials written in plain text');
  });

  it("reads the server from the project file's environment, the command line over it", async () => {
    const project = mkdtempSync(join(tmpdir(), 'openem-export-project-'));
    writeFileSync(join(project, 'openem-config.toml'), `api_url = "http://wrong.invalid/api"\nwait_timeout = 5\n\n[env.prod]\napi_url = "${API}"\n`);
    const to = () => mkdtempSync(join(tmpdir(), 'openem-export-run-'));
    const fromProject = await runCli(['export', '--to', to(), '--env', 'prod', '--only', 'variables'], { cwd: project, env: {} });
    expect(fromProject.stderr).toBe('');
    expect(fromProject.code).toBe(EXIT.ok);
    expect(fromProject.requests.length).toBeGreaterThan(0);
    // --api-url given replaces the file's; a missing environment is an input error before any request.
    const given = await runCli(['export', '--to', to(), '--only', 'variables', '--api-url', API], { cwd: project, env: {} });
    expect(given.code).toBe(EXIT.ok);
    const missing = await runCli(['export', '--to', to(), '--env', 'staging'], { cwd: project, env: { PREFECT_API_URL: API } });
    expect(missing.code).toBe(EXIT.invalidInput);
    expect(missing.stderr).toContain('staging');
    expect(missing.requests).toEqual([]);
  });

  it('says it in text too: warnings on stderr, the error last', async () => {
    state.deployments = [fakeDeployment({ name: 'typed', work_pool_name: 'pool', job_variables: { env: { API_TOKEN: TYPED } } }, 'archive')];
    const dir = mkdtempSync(join(tmpdir(), 'openem-export-run-'));
    const result = await runCli(['export', '--to', dir], { env: { PREFECT_API_URL: API } });
    expect(result.code).toBe(EXIT.applyFailed);
    expect(result.stderr).toMatch(/^warning: deployment "archive\/typed": a credential is not written: work_pool\.job_variables\.env\.API_TOKEN /);
    expect(result.stderr).toMatch(/\nerror: 1 credential was left out of the files .*--allow-plain-credentials to write them\n$/);
    expect(result.stdout).toContain('Apply them, from that directory, with:');
  });
});
