// Two instances applying the same full configuration (variables, secrets, tag limits, work pools,
// deployments) to one real server at the same moment, as two init containers started together do:
// both succeed, nothing is duplicated, and a third run has nothing left to write.
//
// On PostgreSQL (how the archiver's Prefect runs) the races are quick. On SQLite, Prefect often holds
// two concurrent writes for its busy timeout (60 s) before they go through (seen here: a create of a
// variable and a create of a block document, both answered after 60.2 s); the tool's default request
// timeout (90 s) outlasts that, so the runs converge, a minute later. One SQLite race shows it.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../scripts/postgres-env.js';
import { startPrefectServer, type PrefectServer } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { SECRET_VALUES } from '../shared/example-cases.js';
import { clearEverything, exampleEnv, expectFullExample, fullExample, spawnCli } from './support.js';

async function expectNothingLeft(apiUrl: string, env: Record<string, string> = exampleEnv()): Promise<void> {
  const third = await runCli(fullExample(), { env: { PREFECT_API_URL: apiUrl, ...env } });
  expect(third.code, third.stdout).toBe(EXIT.ok);
  expect(third.writes).toEqual([]);
}

/** stderr of the binary: nothing but the log's warnings about retried requests (503 from a busy database). */
function onlyRetryWarnings(stderr: string): void {
  for (const line of stderr.split('\n').filter(Boolean)) expect(JSON.parse(line), line).toMatchObject({ level: 40, event: 'http.retry' });
}

describe('two instances at once, on PostgreSQL', () => {
  let postgres: PostgresServer;
  let server: PrefectServer;
  beforeAll(async () => {
    postgres = await startPostgres();
    server = await startPrefectServer({ env: { PREFECT_API_DATABASE_CONNECTION_URL: postgres.prefectUrl } });
  });
  afterAll(async () => {
    await server?.stop();
    await postgres?.stop();
  });

  it('in one process (interleaved requests): both converge, conflicts become updates', async () => {
    await clearEverything(server.apiUrl);
    const env = { PREFECT_API_URL: server.apiUrl, ...exampleEnv() };
    const json = [...fullExample(), '--output', 'json'];
    const [one, two] = await Promise.all([runCli(json, { env }), runCli(json, { env })]);
    expect([one.code, two.code], `${one.stdout}\n${two.stdout}`).toEqual([EXIT.ok, EXIT.ok]);
    expect(one.stderr + two.stderr).toBe('');
    // Both planned every object as new: what one created, the other met as a conflict (409) or an upsert.
    expect([...one.requests, ...two.requests].filter((r) => r.status === 409).length).toBeGreaterThan(0);
    // Each object is reported as created by exactly one of the two; the other says it found it.
    type Item = { kind: string; key: string; action: string; outcome: string; note?: string };
    const items = [one, two].map((result) => (JSON.parse(result.stdout) as { items: Item[] }).items);
    const creators = new Map<string, number>();
    for (const item of items.flat()) {
      const id = `${item.kind} ${item.key}`;
      creators.set(id, (creators.get(id) ?? 0) + (item.outcome === 'created' ? 1 : 0));
      if (item.action === 'create' && item.outcome !== 'created') expect(item.note, id).toMatch(/^created meanwhile by someone else/);
    }
    // A deployment is an upsert that Prefect answers 201 when the row it returns is newer than the
    // request: one created by the other run an instant after this one started still counts.
    expect([...creators].filter(([id, count]) => (id.startsWith('deployment ') ? count < 1 || count > 2 : count !== 1))).toEqual([]);
    expect(items.flat().filter((item) => item.note).length).toBeGreaterThan(0);
    await expectFullExample(server.apiUrl);
    await expectNothingLeft(server.apiUrl);
  });

  it('as two processes of the built binary started together, with parallel writes', async () => {
    await clearEverything(server.apiUrl);
    const env = { PREFECT_API_URL: server.apiUrl, ...exampleEnv() };
    const args = [...fullExample(), '--concurrency', '4'];
    const [one, two] = await Promise.all([spawnCli(args, { env }), spawnCli(args, { env })]);
    expect([one.code, two.code], `${one.stdout}\n${one.stderr}\n${two.stdout}\n${two.stderr}`).toEqual([EXIT.ok, EXIT.ok]);
    onlyRetryWarnings(one.stderr + two.stderr);
    await expectFullExample(server.apiUrl);
    await expectNothingLeft(server.apiUrl);
  });

  it('two processes changing the same objects at once both end on the declared state', async () => {
    const rotated = { ...SECRET_VALUES, GITHUB_PASSWORD_FILE: 'rotated by two at once' };
    const env = { ...exampleEnv(rotated), SCICAT_ENDPOINT: 'https://other.example.org', PREFECT_RUNTIME_IMAGE: 'registry.example.org/archiver-runtime:3.0' };
    const [one, two] = await Promise.all([
      spawnCli(fullExample(), { env: { PREFECT_API_URL: server.apiUrl, ...env } }),
      spawnCli(fullExample(), { env: { PREFECT_API_URL: server.apiUrl, ...env } }),
    ]);
    expect([one.code, two.code], `${one.stdout}\n${two.stdout}`).toEqual([EXIT.ok, EXIT.ok]);
    await expectFullExample(server.apiUrl, { secrets: rotated });
    await expectNothingLeft(server.apiUrl, env);
  });
});

describe('two instances at once, on SQLite', () => {
  const apiUrl = () => inject('prefectApiUrl');

  it(
    'converge too, after Prefect lets go of its database lock (up to 60 s)',
    async () => {
      await clearEverything(apiUrl());
      const env = { PREFECT_API_URL: apiUrl(), ...exampleEnv() };
      const options = { env, timeoutMs: 150_000 };
      const [one, two] = await Promise.all([spawnCli(fullExample(), options), spawnCli(fullExample(), options)]);
      expect([one.code, two.code], `${one.stdout}\n${one.stderr}\n${two.stdout}\n${two.stderr}`).toEqual([EXIT.ok, EXIT.ok]);
      onlyRetryWarnings(one.stderr + two.stderr);
      await expectFullExample(apiUrl());
      await expectNothingLeft(apiUrl());
    },
    180_000,
  );
});
