// Global concurrency limits on a real server: the shared cases, then deployments that share a
// limit by name (which only a real server can show: the fake has no deployments).
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { clearLimits, defineGlobalLimitCases, manifest, readLimits } from '../shared/global-limit-cases.js';
import { clearPoolsAndDeployments, getJson } from '../shared/server.js';

const apiUrl = () => inject('prefectApiUrl');
const env = () => ({ PREFECT_API_URL: apiUrl() });

defineGlobalLimitCases({ apiUrl });

const LIMITS = `
[global_limits.database]
limit = 3

[work_pools.gcl-pool]
type = "process"
`;

function prefectYaml(deployments: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'openem-gcl-yaml-'));
  const path = join(dir, 'prefect.yaml');
  writeFileSync(path, `deployments:\n${deployments}`);
  return path;
}

const entry = (name: string, extra: string) =>
  `  - name: ${name}\n    flow_name: gcl-flow\n    entrypoint: flows/x.py:gcl_flow\n    work_pool:\n      name: gcl-pool\n${extra}`;

interface DeploymentRead {
  id: string;
  global_concurrency_limit: { id: string; name: string; limit: number } | null;
}

const readDeployment = (name: string) => getJson<DeploymentRead>(apiUrl(), `/deployments/name/gcl-flow/${name}`);

describe('deployments sharing a global limit', () => {
  beforeEach(async () => {
    await clearPoolsAndDeployments(apiUrl());
    await clearLimits(apiUrl());
  });

  it('links by name, reads back with the shared limit, and a second run sends no write', async () => {
    const limits = manifest(LIMITS);
    const yaml = prefectYaml(entry('a', '    global_concurrency_limit: database\n') + entry('b', '    global_concurrency_limit: database\n'));
    const first = await runCli(['apply', '-l', limits, '-d', yaml], { env: env() });
    expect(first.stderr).toContain('no parameter_openapi_schema');
    expect(first.code).toBe(EXIT.ok);
    const database = (await readLimits(apiUrl())).database!;
    for (const name of ['a', 'b']) expect((await readDeployment(name)).global_concurrency_limit).toMatchObject({ id: database.id, name: 'database', limit: 3 });
    const again = await runCli(['apply', '-l', limits, '-d', yaml], { env: env() });
    expect(again.code).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });

  it('refuses an unknown shared limit, and a limit with concurrency_limit beside it, before any write', async () => {
    const limits = manifest(LIMITS);
    const unknown = prefectYaml(entry('a', '    global_concurrency_limit: nowhere\n'));
    const result = await runCli(['apply', '-l', limits, '-d', unknown], { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr).toMatch(/prefect\.yaml:\d+.*global concurrency limit "nowhere" is neither declared/);
    const both = prefectYaml(entry('a', '    global_concurrency_limit: database\n    concurrency_limit: 2\n'));
    const invalid = await runCli(['validate', '-l', limits, '-d', both], { env: env() });
    expect(invalid.code).toBe(EXIT.invalidInput);
    expect(invalid.stderr).toMatch(/prefect\.yaml:\d+(:\d+)? › deployments\[0\]\.global_concurrency_limit: a deployment has either its own `concurrency_limit`/);
  });

  it('never changes the shared limit when a deployment takes its own limit, and keeps it when the deployment is pruned', async () => {
    const limits = manifest(LIMITS);
    const shared = prefectYaml(entry('a', '    global_concurrency_limit: database\n') + entry('b', '    global_concurrency_limit: database\n'));
    expect((await runCli(['apply', '-l', limits, '-d', shared], { env: env() })).code).toBe(EXIT.ok);

    // a takes a limit of its own: the shared limit keeps its value and b keeps it.
    const own = prefectYaml(entry('a', '    concurrency_limit: 7\n') + entry('b', '    global_concurrency_limit: database\n'));
    const apply = await runCli(['apply', '-l', limits, '-d', own], { env: env() });
    expect(apply.code).toBe(EXIT.ok);
    const a = await readDeployment('a');
    expect(a.global_concurrency_limit).toMatchObject({ name: `deployment:${a.id}`, limit: 7 });
    expect((await readLimits(apiUrl())).database).toMatchObject({ limit: 3 });
    expect((await readDeployment('b')).global_concurrency_limit).toMatchObject({ name: 'database' });
    expect((await runCli(['apply', '-l', limits, '-d', own], { env: env() })).writes).toEqual([]);

    // b is dropped from the file and pruned: Prefect would delete its linked limit with it.
    const onlyA = prefectYaml(entry('a', '    concurrency_limit: 7\n'));
    const prune = await runCli(['apply', '--prune', '-l', limits, '-d', onlyA], { env: env() });
    expect(prune.code).toBe(EXIT.ok);
    // Unlinked first, then deleted; the other write is openem-config's ownership record.
    expect(prune.writes.filter((w) => w.path.startsWith('/deployments/')).map((w) => `${w.method} ${w.body}`)).toEqual([
      'PATCH {"global_concurrency_limit_id":null}',
      'DELETE ',
    ]);
    expect((await readLimits(apiUrl())).database).toMatchObject({ limit: 3 });
  });

  it('refuses to prune a global limit that a declared deployment shares', async () => {
    const limits = manifest(LIMITS);
    const yaml = prefectYaml(entry('a', '    global_concurrency_limit: database\n'));
    expect((await runCli(['apply', '-l', limits, '-d', yaml], { env: env() })).code).toBe(EXIT.ok);
    const withoutLimit = manifest(LIMITS.replace(/\[global_limits\.database\][^[]*/, '[global_limits]\n'));
    const result = await runCli(['apply', '--prune', '-l', withoutLimit, '-d', yaml], { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr).toContain('shares global concurrency limit "database", which --prune would delete');
  });
});

