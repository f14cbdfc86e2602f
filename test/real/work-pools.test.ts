// Work pools with templates, limits and queues, against a real Prefect server.
import { readFileSync, writeFileSync, mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { clearPoolsAndDeployments, getJson, postJson } from '../shared/server.js';

const repo = resolve(import.meta.dirname, '..', '..');
const pools = join(repo, 'vars', 'work-pools_dev.toml');
const template = JSON.parse(readFileSync(join(repo, 'vars', 'job-templates', 'docker.json'), 'utf8')) as unknown;
const apiUrl = () => inject('prefectApiUrl');
const run = (argv: string[]) => runCli(argv, { env: { PREFECT_API_URL: apiUrl() } });

interface Pool {
  name: string;
  type: string;
  description: string | null;
  concurrency_limit: number | null;
  base_job_template: unknown;
  is_paused: boolean;
}

/** A copy of the example pools manifest that a test may edit. */
function editablePools(edit: (text: string) => string = (text) => text): string {
  const dir = mkdtempSync(join(tmpdir(), 'openem-pools-'));
  cpSync(join(repo, 'vars', 'job-templates'), join(dir, 'job-templates'), { recursive: true });
  const path = join(dir, 'pools.toml');
  writeFileSync(path, edit(readFileSync(pools, 'utf8')));
  return path;
}

describe('work pools', () => {
  beforeEach(async () => {
    await clearPoolsAndDeployments(apiUrl());
  });

  it('creates the pools with template, limit and queues, and a second run sends no write', async () => {
    const first = await run(['-l', pools]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);
    const archival = await getJson<Pool>(apiUrl(), '/work_pools/archival-docker-workpool');
    expect(archival).toMatchObject({
      type: 'docker',
      concurrency_limit: 2,
      description: 'Archival flow runs, in Docker containers of the runtime image',
      is_paused: false,
    });
    expect(archival.base_job_template).toEqual(template);
    const queue = await getJson<{ priority: number }>(apiUrl(), '/work_pools/archival-docker-workpool/queues/default');
    expect(queue.priority).toBe(1);
    expect((await getJson<Pool>(apiUrl(), '/work_pools/retrieval-docker-workpool')).concurrency_limit).toBe(2);

    const second = await run(['-l', pools]);
    expect(second.code).toBe(EXIT.ok);
    expect(second.writes).toEqual([]);
    expect(second.stdout).toContain('work-pools: 0 created, 0 updated, 2 unchanged, 0 failed');
  });

  it('reads the queues of all declared pools in one request, telling same-named queues of other pools apart', async () => {
    // Another pool whose `default` queue differs from the declared one (priority 1).
    await postJson(apiUrl(), '/work_pools/', { name: 'bystander-pool', type: 'docker' });
    await fetch(`${apiUrl()}/work_pools/bystander-pool/queues/default`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ priority: 7 }),
    });
    expect((await run(['-l', pools])).code).toBe(EXIT.ok);
    const noop = await run(['plan', '-l', pools]);
    expect(noop.code).toBe(EXIT.ok);
    expect(noop.stdout).toContain('No changes');
    expect(noop.requests.filter((r) => r.path.includes('queue')).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /work_queues/filter']);
    // A hand edit of a declared pool's queue is still seen as drift of that pool only.
    await fetch(`${apiUrl()}/work_pools/archival-docker-workpool/queues/default`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ priority: 9 }),
    });
    const drifted = await run(['plan', '-l', pools]);
    expect(drifted.code).toBe(EXIT.ok);
    expect(drifted.stdout).toMatch(/work-pool archival-docker-workpool[\s\S]*queues\.default\.priority: 9 -> 1/);
    expect(drifted.stdout).toContain('Plan: 0 to create, 1 to update, 1 unchanged.');
  });

  it('changes a pool limit with one PATCH and leaves undeclared fields alone', async () => {
    expect((await run(['-l', pools])).code).toBe(EXIT.ok);
    // Without base_job_template and description, the file no longer manages them: they must stay.
    const edited = editablePools((text) =>
      text
        .replace('concurrency_limit = 2\n\n[work_pools.archival-docker-workpool.queues', 'concurrency_limit = 5\n\n[work_pools.archival-docker-workpool.queues')
        .replace(/base_job_template = .*\n/g, '')
        .replace(/description = .*\n/g, ''),
    );
    const result = await run(['-l', edited]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.writes.map((w) => `${w.method} ${w.path} ${w.body}`)).toEqual([
      'PATCH /work_pools/archival-docker-workpool {"concurrency_limit":5}',
    ]);
    const archival = await getJson<Pool>(apiUrl(), '/work_pools/archival-docker-workpool');
    expect(archival.concurrency_limit).toBe(5);
    expect(archival.base_job_template).toEqual(template);
    expect(archival.description).toBe('Archival flow runs, in Docker containers of the runtime image');
  });

  it('clears a limit declared as false', async () => {
    expect((await run(['-l', pools])).code).toBe(EXIT.ok);
    const edited = editablePools((text) => text.replace(/concurrency_limit = 2\n\[work_pools.retrieval|concurrency_limit = 2\n$/, 'concurrency_limit = false\n'));
    const result = await run(['-l', edited]);
    expect(result.code).toBe(EXIT.ok);
    expect((await getJson<Pool>(apiUrl(), '/work_pools/retrieval-docker-workpool')).concurrency_limit).toBeNull();
  });

  it('refuses to change the type of an existing pool, says how to fix it, and writes nothing for it', async () => {
    await postJson(apiUrl(), '/work_pools/', { name: 'retrieval-docker-workpool', type: 'process' });
    const plan = await run(['plan', '-l', pools]);
    expect(plan.code).toBe(EXIT.applyFailed);
    expect(plan.stdout).toContain('! work-pool retrieval-docker-workpool: the pool\'s type is "process" on the server');
    expect(plan.stdout).toContain('prefect work-pool delete retrieval-docker-workpool');
    const apply = await run(['-l', pools]);
    expect(apply.code).toBe(EXIT.applyFailed);
    expect(apply.writes.every((w) => !w.path.includes('retrieval'))).toBe(true);
    // The other pool is still created.
    expect((await getJson<Pool>(apiUrl(), '/work_pools/archival-docker-workpool')).type).toBe('docker');
    expect((await getJson<Pool>(apiUrl(), '/work_pools/retrieval-docker-workpool')).type).toBe('process');
  });

  it('rejects a template with a placeholder its variables do not declare, before any request', async () => {
    const edited = editablePools();
    const templatePath = join(edited, '..', 'job-templates', 'docker.json');
    const broken = JSON.parse(readFileSync(templatePath, 'utf8')) as { job_configuration: Record<string, string> };
    broken.job_configuration.shm_size = '{{ shm_size }}';
    writeFileSync(templatePath, JSON.stringify(broken, null, 2));
    const result = await run(['-l', edited]);
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.requests).toEqual([]);
    expect(result.stderr).toContain(templatePath);
    expect(result.stderr).toContain('{{ shm_size }}');
    // The same template is refused by the server too: our check mirrors Prefect's.
    const response = await fetch(`${apiUrl()}/work_pools/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'probe-pool', type: 'docker', base_job_template: broken }),
    });
    expect(response.status).toBe(422);
  });
});
