// What the reliability suites share: the full example (variables, secrets, tag limits, work pools,
// deployments), a read of everything it declares on the server, and the built binary as a child process.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { expect } from 'vitest';
import { DEPLOY_ENV, EXAMPLE_ENV, OLD_COMMAND_LINE, SECRET_VALUES, writeSecretFiles } from '../shared/example-cases.js';
import { clearPoolsAndDeployments, clearServer, postJson } from '../shared/server.js';

export const repo = resolve(import.meta.dirname, '..', '..');
export const examplePools = join(repo, 'vars', 'work-pools_dev.toml');
export const examplePrefectYaml = join(repo, 'vars', 'prefect.yaml');
export const flowsDir = join(repo, 'test', 'fixtures', 'flows');

/** The demo's command line: the old one plus the work pools and the deployments. */
export function fullExample(prefectYaml = examplePrefectYaml, pools = examplePools): string[] {
  return [...OLD_COMMAND_LINE, '-l', pools, '-d', prefectYaml, '--flows-dir', flowsDir];
}

/** The example pools manifest (with its template) plus a second queue `urgent` in the archival pool. */
export function poolsWithSecondQueue(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openem-reliability-'));
  mkdirSync(join(dir, 'job-templates'));
  copyFileSync(join(repo, 'vars', 'job-templates', 'docker.json'), join(dir, 'job-templates', 'docker.json'));
  const text = readFileSync(examplePools, 'utf8');
  writeFileSync(join(dir, 'work-pools.toml'), `${text}\n[work_pools.archival-docker-workpool.queues.urgent]\npriority = 2\nconcurrency_limit = 1\n`);
  return join(dir, 'work-pools.toml');
}

/** A copy of the example prefect.yaml, edited. */
export function editedPrefectYaml(edit: (text: string) => string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'openem-reliability-')), 'prefect.yaml');
  writeFileSync(path, edit(readFileSync(examplePrefectYaml, 'utf8')));
  return path;
}

/** Environment of a run of the full example, without the API URL. */
export function exampleEnv(secrets: Record<string, string> = SECRET_VALUES): Record<string, string> {
  return { ...writeSecretFiles(secrets), ...EXAMPLE_ENV, ...DEPLOY_ENV };
}

export const DEPLOYMENTS = [
  'archive_datasetlist/datasets_archival',
  'create_test_dataset/dataset_creation',
  'end_to_end_test_flow/end_to_end_test',
  'retrieve_datasetlist/datasets_retrieval',
];
export const FLOWS = ['archive_datasetlist', 'create_test_dataset', 'end_to_end_test_flow', 'retrieve_datasetlist'];

export interface Everything {
  variables: string[];
  secrets: Record<string, unknown>;
  /** How many secret block documents there are: more than the names would be a duplicate. */
  secretDocuments: number;
  tagLimits: Record<string, number>;
  /** Every v2 global concurrency limit name (tag limits are `tag:<tag>` rows). */
  globalLimits: string[];
  pools: Record<string, { type: string; concurrencyLimit: number | null; queues: string[] }>;
  flows: string[];
  /** flow/deployment -> schedule slugs, sorted */
  deployments: Record<string, string[]>;
  /** Every deployment row, by flow/name: more than one entry under a key is a duplicate. */
  deploymentRows: string[];
}

/** Request headers for the server: fixed, or made per request (a fresh CSRF token each time). */
export type ServerHeaders = Record<string, string> | (() => Promise<Record<string, string>>);

async function all<T>(apiUrl: string, path: string, body: Record<string, unknown>, headers: ServerHeaders): Promise<T[]> {
  const rows: T[] = [];
  for (let offset = 0; offset < 10_000; offset += 200) {
    const page = await postJson<T[]>(apiUrl, path, { ...body, limit: 200, offset }, typeof headers === 'function' ? await headers() : headers);
    rows.push(...page);
    if (page.length < 200) break;
  }
  return rows;
}

/** Headers for a server with basic auth and CSRF protection: a fresh token for every request. */
export function csrfHeaders(apiUrl: string, auth: Record<string, string> = {}): () => Promise<Record<string, string>> {
  const client = `openem-test-reader-${process.pid}`;
  return async () => {
    const response = await fetch(`${apiUrl}/csrf-token?client=${client}`, { headers: auth });
    if (!response.ok) throw new Error(`GET /csrf-token: ${response.status} ${await response.text()}`);
    const { token } = (await response.json()) as { token: string };
    return { ...auth, 'Prefect-Csrf-Token': token, 'Prefect-Csrf-Client': client };
  };
}

/**
 * The writes of a run as `METHOD /path`, without those of the tool's own ownership record (a block
 * document of its block type `openem-config-state`, written when the set of owned objects changes).
 */
export function declaredWrites(writes: ReadonlyArray<{ method: string; path: string; body: string }>): string[] {
  return writes
    .filter((w) => !w.body.includes('"owned"') && !/^\/block_(types|schemas)\/$/.test(w.path))
    .map((w) => `${w.method} ${w.path}`);
}

/** Everything the full example declares, as the server holds it, read without the code under test. */
export async function readEverything(apiUrl: string, headers: ServerHeaders = {}): Promise<Everything> {
  const variables = await all<{ name: string }>(apiUrl, '/variables/filter', {}, headers);
  const documents = await all<{ name: string; data: { value?: unknown } }>(
    apiUrl,
    '/block_documents/filter',
    { block_types: { slug: { any_: ['secret'] } }, include_secrets: true },
    headers,
  );
  const tagLimits = await all<{ tag: string; concurrency_limit: number }>(apiUrl, '/concurrency_limits/filter', {}, headers);
  const globalLimits = await all<{ name: string }>(apiUrl, '/v2/concurrency_limits/filter', {}, headers);
  const pools = await all<{ name: string; type: string; concurrency_limit: number | null }>(apiUrl, '/work_pools/filter', {}, headers);
  const poolState: Everything['pools'] = {};
  for (const pool of pools) {
    const queues = await all<{ name: string }>(apiUrl, `/work_pools/${encodeURIComponent(pool.name)}/queues/filter`, {}, headers);
    poolState[pool.name] = { type: pool.type, concurrencyLimit: pool.concurrency_limit, queues: queues.map((q) => q.name).sort() };
  }
  const flows = await all<{ id: string; name: string }>(apiUrl, '/flows/filter', {}, headers);
  const flowName = new Map(flows.map((f) => [f.id, f.name]));
  const deployments = await all<{ name: string; flow_id: string; schedules: Array<{ slug: string | null }> }>(apiUrl, '/deployments/filter', {}, headers);
  return {
    variables: variables.map((v) => v.name).sort(),
    secrets: Object.fromEntries(documents.map((d) => [d.name, d.data.value])),
    secretDocuments: documents.length,
    tagLimits: Object.fromEntries(tagLimits.map((l) => [l.tag, l.concurrency_limit])),
    globalLimits: globalLimits.map((l) => l.name).sort(),
    pools: poolState,
    flows: flows.map((f) => f.name).sort(),
    deployments: Object.fromEntries(
      deployments.map((d) => [`${flowName.get(d.flow_id)}/${d.name}`, d.schedules.map((s) => s.slug ?? '(none)').sort()]),
    ),
    deploymentRows: deployments.map((d) => `${flowName.get(d.flow_id)}/${d.name}`).sort(),
  };
}

export const EXPECTED_VARIABLES = [
  'archiver_num_workers',
  'archiver_scratch_folder',
  'archiver_target_size_gb',
  's3_archival_bucket',
  's3_endpoint',
  's3_external_endpoint',
  's3_landingzone_bucket',
  's3_region',
  's3_url_expiration_days',
  'scicat_api_prefix',
  'scicat_datasets_api_prefix',
  'scicat_endpoint',
  'scicat_jobs_api_prefix',
];

/** The six secret blocks, by name, with these values. */
export function expectedSecrets(values: Record<string, string> = SECRET_VALUES): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([env, value]) => [env.replace(/_FILE$/, '').toLowerCase().replaceAll('_', '-'), value]));
}

/**
 * The server holds exactly the full example, each object once, every secret whole.
 * `schedules` gives the expected schedule slugs per deployment when a test adds some.
 */
export async function expectFullExample(
  apiUrl: string,
  options: { headers?: ServerHeaders; secrets?: Record<string, string>; schedules?: Record<string, string[]>; archivalQueues?: string[] } = {},
): Promise<Everything> {
  const state = await readEverything(apiUrl, options.headers);
  expect(state.variables).toEqual(EXPECTED_VARIABLES);
  expect(state.secrets).toEqual(expectedSecrets(options.secrets));
  expect(state.secretDocuments).toBe(6);
  expect(state.tagLimits).toEqual({ 'read-from-lts-share': 4, 'write-to-lts-share': 4 });
  expect(state.globalLimits.filter((name) => name.startsWith('tag:'))).toEqual(['tag:read-from-lts-share', 'tag:write-to-lts-share']);
  expect(state.pools).toEqual({
    'archival-docker-workpool': { type: 'docker', concurrencyLimit: 2, queues: options.archivalQueues ?? ['default'] },
    'retrieval-docker-workpool': { type: 'docker', concurrencyLimit: 2, queues: ['default'] },
  });
  expect(state.flows).toEqual(FLOWS);
  expect(state.deploymentRows).toEqual(DEPLOYMENTS);
  const schedules = Object.fromEntries(DEPLOYMENTS.map((key) => [key, options.schedules?.[key] ?? []]));
  expect(state.deployments).toEqual(schedules);
  return state;
}

/** Secrets are either absent or whole: a failed run never leaves a secret half written. */
export function expectNoPartialSecrets(state: Pick<Everything, 'secrets'>, values: Record<string, string> = SECRET_VALUES): void {
  const expected = expectedSecrets(values);
  for (const [name, value] of Object.entries(state.secrets)) {
    if (name in expected) expect(value, `secret ${name}`).toBe(expected[name]);
  }
}

export async function clearEverything(apiUrl: string, headers: Record<string, string> = {}): Promise<void> {
  await clearPoolsAndDeployments(apiUrl);
  await clearServer(apiUrl, headers);
}

// ---- the built binary --------------------------------------------------------------------------

const buildRoot = join(repo, 'node_modules', '.cache', 'openem-config-reliability');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * bin/openem-config over a build of the current src/, exactly what `npm run build` produces (tsc, then
 * the bundle), kept in node_modules/.cache (keyed by a hash of the sources) so that a test never
 * rewrites dist/ under someone else's feet. Node resolves pino-pretty from the repository's node_modules.
 */
let built: Promise<string> | undefined;
export function builtCli(): Promise<string> {
  built ??= buildCli();
  return built;
}

async function buildCli(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [...sourceFiles(join(repo, 'src')), join(repo, 'package.json'), join(repo, 'tsconfig.json'), join(repo, 'tsconfig.build.json'), join(repo, 'bin', 'openem-config'), join(repo, 'scripts', 'bundle.mjs')].sort()) {
    hash.update(relative(repo, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  const dir = join(buildRoot, hash.digest('hex').slice(0, 16));
  const bin = join(dir, 'bin', 'openem-config');
  if (existsSync(join(dir, '.built'))) return bin;
  if (existsSync(buildRoot)) for (const old of readdirSync(buildRoot)) rmSync(join(buildRoot, old), { recursive: true, force: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  execFileSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const { bundle } = (await import(join(repo, 'scripts', 'bundle.mjs'))) as { bundle(entry: string, outfile: string): Promise<void> };
  await bundle(join(dir, 'dist', 'main.js'), join(dir, 'dist', 'openem-config.mjs'));
  copyFileSync(join(repo, 'bin', 'openem-config'), bin);
  copyFileSync(join(repo, 'package.json'), join(dir, 'package.json'));
  writeFileSync(join(dir, '.built'), new Date().toISOString());
  return bin;
}

export interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** Called once the process has started, with its pid (e.g. to read /proc/<pid>). */
  whileRunning?: (pid: number) => Promise<void>;
  timeoutMs?: number;
}

/** Runs the built binary with exactly `env` (plus PATH and LANG), as a container would. */
export async function spawnCli(args: string[], options: SpawnOptions): Promise<Spawned> {
  const started = Date.now();
  const child = spawn(process.execPath, [await builtCli(), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    if (options.whileRunning && child.pid) {
      try {
        await options.whileRunning(child.pid);
      } catch (error) {
        child.kill('SIGKILL');
        await exited;
        throw error;
      }
    }
    const code = await exited;
    return { code, stdout, stderr, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` is true, at most `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}
