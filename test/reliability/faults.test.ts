// Faults between the tool and a REAL Prefect server, injected by a loopback proxy: a server that comes
// up late or never, bursts of 503, 502/504 from a gateway, connections reset after the server applied
// a write, answers slower than the request timeout, a 500 on one object. Each run ends converged, or
// failed with the exact per-object report and the documented exit code; a follow-up run then
// converges with no duplicate object and no half-written secret.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { SECRET_VALUES, exampleLimits, exampleVars } from '../shared/example-cases.js';
import { clearAutomations } from '../shared/server.js';
import { clearEverything, declaredWrites, editedPrefectYaml, exampleEnv, examplePools, expectFullExample, expectNoPartialSecrets, fullExample, poolsWithSecondQueue, readEverything } from './support.js';

const apiUrl = () => inject('prefectApiUrl');
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: apiUrl() });
});
afterAll(async () => proxy?.close());
beforeEach(async () => {
  proxy.reset();
  await clearEverything(apiUrl());
});

const run = (extraArgs: string[] = [], url = proxy.apiUrl): Promise<CliResult> =>
  runCli([...fullExample(), ...extraArgs], { env: { PREFECT_API_URL: url, ...exampleEnv() } });

const retries = (result: CliResult): Array<{ path: string; reason: string; retryAfterMs?: number }> =>
  result.logs
    .split('\n')
    .filter((line) => line.includes('"event":"http.retry"'))
    .map((line) => JSON.parse(line) as { path: string; reason: string; retryAfterMs?: number });

/** A run straight to the server after the faulty one: it converges, then a third run has nothing to write. */
async function followUp(expectedWrites: string[], argv = fullExample(), expected: Parameters<typeof expectFullExample>[1] = {}): Promise<void> {
  const second = await runCli(argv, { env: { PREFECT_API_URL: apiUrl(), ...exampleEnv() } });
  expect(second.stderr).toBe('');
  expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(EXIT.ok);
  expect(declaredWrites(second.writes).sort()).toEqual([...expectedWrites].sort());
  await expectFullExample(apiUrl(), expected);
  const third = await runCli([...argv, '--output', 'json'], { env: { PREFECT_API_URL: apiUrl(), ...exampleEnv() } });
  expect(third.code, `${third.stdout}\n${third.stderr}`).toBe(EXIT.ok);
  expect(third.writes).toEqual([]);
}

describe('a server that is not there yet', () => {
  it('waits for a server that comes up 20 s after the tool started, then converges', async () => {
    const port = await freePort();
    const late = await startFaultProxy({ target: apiUrl(), port, listen: false });
    try {
      const pending = run(['--wait-timeout', '60'], late.apiUrl);
      await new Promise((done) => setTimeout(done, 20_000));
      expect(late.requests).toEqual([]);
      await late.listen();
      const result = await pending;
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
      expect(result.logs).toMatch(/"event":"wait".*ECONNREFUSED/);
      expect(result.stdout).toContain('deployments: 4 created, 0 updated, 0 unchanged, 0 failed');
      await expectFullExample(apiUrl());
    } finally {
      await late.close();
    }
  }, 90_000);

  it('gives up after --wait-timeout with exit 4 naming the URL when nothing ever listens', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/api`;
    const result = await runCli([...fullExample(), '--wait-timeout', '2', '--output', 'json'], { env: { PREFECT_API_URL: url, ...exampleEnv() } });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.unreachable);
    // It waited: probed again (the schedule of the probes is tested on a fake clock in test/prefect).
    expect(result.requests.length).toBeGreaterThanOrEqual(2);
    expect(result.stderr).toContain(`error: the Prefect API at ${url} was not ready within 2 s (GET /health: ECONNREFUSED`);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, exitCode: EXIT.unreachable, error: { reason: 'unreachable' } });
    expect(result.requests.every((r) => r.path === '/health')).toBe(true);
  });

  it('gives up on a server that accepts connections but never answers, within --wait-timeout', async () => {
    proxy.inject({ path: '/health', times: 100, fault: { kind: 'delay', ms: 60_000 } });
    // Held 60 s a probe: the message says the probe was given the 2 s of the wait, not more.
    const result = await run(['--wait-timeout', '2']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.unreachable);
    expect(result.stderr).toContain(`the Prefect API at ${proxy.apiUrl} was not ready within 2 s (GET /health: no response within 2 s)`);
    expect(result.writes).toEqual([]);
  });

  it('reports a server whose database is not ready (503 on /ready) with exit 4', async () => {
    proxy.inject({ path: '/ready', times: 100, fault: { kind: 'status', status: 503, body: { message: 'Database is not available' } } });
    const result = await run(['--wait-timeout', '2']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.unreachable);
    expect(result.stderr).toContain('(GET /ready: HTTP 503 {"message":"Database is not available"})');
    expect(result.writes).toEqual([]);
    expect(await readEverything(apiUrl())).toMatchObject({ variables: [], secrets: {}, pools: {}, deploymentRows: [] });
  });
});

describe('transient errors', () => {
  it('rides out bursts of 503 with Retry-After (honoured) and without (backoff)', async () => {
    proxy.inject(
      { method: 'POST', path: '/variables/', times: 2, fault: { kind: 'status', status: 503, headers: { 'retry-after': '1' }, body: { exception_message: 'Service Unavailable' } } },
      { method: 'POST', path: '/block_documents/', times: 3, fault: { kind: 'status', status: 503, body: { exception_message: 'Service Unavailable' } } },
      { method: 'POST', path: '/deployments/', times: 3, fault: { kind: 'status', status: 503 } },
    );
    const result = await run();
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
    const seen = retries(result);
    expect(seen.filter((r) => r.path === '/variables/')).toEqual([
      expect.objectContaining({ reason: 'HTTP 503', retryAfterMs: 1000 }),
      expect.objectContaining({ reason: 'HTTP 503', retryAfterMs: 1000 }),
    ]);
    expect(seen.filter((r) => r.path === '/block_documents/' && r.retryAfterMs === undefined)).toHaveLength(3);
    expect(result.stdout).toContain('variables: 13 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('secrets: 6 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('deployments: 4 created, 0 updated, 0 unchanged, 0 failed');
    await expectFullExample(apiUrl());
    await followUp([]);
  });

  it('rides out 502 and 504 from a gateway on reads, writes and the readiness check, and a connection closed unanswered', async () => {
    proxy.inject(
      { method: 'GET', path: '/admin/version', fault: { kind: 'status', status: 502, body: '<html>Bad Gateway</html>' } },
      { method: 'POST', path: '/variables/filter', fault: { kind: 'status', status: 504 } },
      { method: 'POST', path: '/work_pools/', fault: { kind: 'status', status: 502 } },
      { method: 'POST', path: '/concurrency_limits/', times: 2, fault: { kind: 'status', status: 504 } },
      { method: 'POST', path: '/flows/', fault: { kind: 'status', status: 502 } },
      { method: 'POST', path: '/block_documents/filter', fault: { kind: 'reset-before-forward' } },
    );
    const result = await run();
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
    const seen = retries(result);
    expect(seen.filter((r) => r.path === '/block_documents/filter').map((r) => r.reason)).toEqual(['ECONNRESET (socket hang up)']);
    expect(seen.filter((r) => r.path !== '/block_documents/filter').map((r) => `${r.path} ${r.reason}`).sort()).toEqual([
      '/admin/version HTTP 502',
      '/concurrency_limits/ HTTP 504',
      '/concurrency_limits/ HTTP 504',
      '/flows/ HTTP 502',
      '/variables/filter HTTP 504',
      '/work_pools/ HTTP 502',
    ]);
    await expectFullExample(apiUrl());
    await followUp([]);
  });

  it('fails only the object whose 503s outlast --retries, with the exact report, and the next run writes just it', async () => {
    // Prefect's own 503 (a JSON body): the server answers, so the run goes on (a proxy's 503 page would stop it, see stop.test.ts).
    proxy.inject({ method: 'POST', path: '/variables/', body: /"name":"s3_region"/, times: 10, fault: { kind: 'status', status: 503, body: { exception_message: 'Service Unavailable' } } });
    const result = await run(['--retries', '2']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.applyFailed);
    expect(result.stdout).toContain(`! variable s3_region: POST ${proxy.apiUrl}/variables/ failed after 3 attempts: HTTP 503`);
    expect(result.stdout).toContain('variables: 12 created, 0 updated, 0 unchanged, 1 failed');
    expect(result.stdout).toContain('secrets: 6 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('tag-limits: 2 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('work-pools: 2 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('deployments: 4 created, 0 updated, 0 unchanged, 0 failed');
    expect((await readEverything(apiUrl())).variables).not.toContain('s3_region');
    await followUp(['POST /variables/']);
  });
});

describe('connections reset after the server applied a write', () => {
  // The first create of every kind: the server has the object, the tool never heard back.
  const CREATES = ['/variables/', '/block_documents/', '/concurrency_limits/', '/work_pools/', /^\/work_pools\/[^/]+\/queues$/, '/flows/', '/deployments/'];
  const withQueue = { archivalQueues: ['default', 'urgent'] };

  it('retries a create whose answer was lost before its first byte: 409 becomes re-read + update, no duplicates', async () => {
    const argv = fullExample(undefined, poolsWithSecondQueue());
    proxy.inject(...CREATES.map((path) => ({ method: 'POST', path, fault: { kind: 'reset-after-apply' as const } })));
    const result = await runCli(argv, { env: { PREFECT_API_URL: proxy.apiUrl, ...exampleEnv() } });
    expect(result.stderr).toBe('');
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
    const reset = proxy.requests.filter((r) => r.fault === 'reset-after-apply');
    expect(reset.map((r) => `${r.path} ${r.upstreamStatus}`).sort()).toEqual([
      '/block_documents/ 201',
      '/concurrency_limits/ 201',
      '/deployments/ 201',
      '/flows/ 201',
      '/variables/ 201',
      '/work_pools/ 201',
      '/work_pools/archival-docker-workpool/queues 201',
    ]);
    // The retried creates that are not upserts met their own objects, and read them instead of failing.
    expect(result.requests.filter((r) => r.status === 409).map((r) => r.path).sort()).toEqual([
      '/block_documents/',
      '/variables/',
      '/work_pools/',
      '/work_pools/archival-docker-workpool/queues',
    ]);
    // Its own objects, met again by its retries: created by this run, not found.
    expect(result.stdout).not.toContain('created meanwhile');
    expect(result.stdout).toContain('variables: 13 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('secrets: 6 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('work-pools: 2 created, 0 updated, 0 unchanged, 0 failed');
    await expectFullExample(apiUrl(), withQueue);
    await followUp([], argv, withQueue);
  });

  it('retries a create whose answer was cut in the middle of its body', async () => {
    const argv = fullExample(undefined, poolsWithSecondQueue());
    proxy.inject(...CREATES.map((path) => ({ method: 'POST', path, fault: { kind: 'reset-mid-body' as const } })));
    const result = await runCli(argv, { env: { PREFECT_API_URL: proxy.apiUrl, ...exampleEnv() } });
    expect(result.stderr).toBe('');
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
    expect(proxy.requests.filter((r) => r.fault === 'reset-mid-body')).toHaveLength(CREATES.length);
    expect(new Set(retries(result).map((r) => r.reason))).toEqual(new Set(['ECONNRESET (the connection closed in the middle of the answer)']));
    await expectFullExample(apiUrl(), withQueue);
    await followUp([], argv, withQueue);
  });

  it('retries updates whose answers were lost: PATCHes, a rotated secret, schedules added and removed', async () => {
    // The flow requires dataset_id, so each schedule gives it: a schedule whose runs would fail is refused.
    const withSchedule = (slug: string, cron: string) =>
      editedPrefectYaml((text) => text.replace('    flow_name: create_test_dataset\n', `    flow_name: create_test_dataset\n    schedules:\n      - cron: "${cron}"\n        slug: ${slug}\n        parameters: { dataset_id: ${slug}-set }\n`));
    const nightly = withSchedule('nightly', '0 3 * * *');
    const hourly = withSchedule('hourly', '0 * * * *');
    const first = await runCli(fullExample(nightly), { env: { PREFECT_API_URL: apiUrl(), ...exampleEnv() } });
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(EXIT.ok);

    proxy.inject(
      { method: 'PATCH', path: /^\/variables\/name\//, fault: { kind: 'reset-after-apply' } },
      { method: 'PATCH', path: /^\/block_documents\//, fault: { kind: 'reset-after-apply' } },
      { method: 'POST', path: /^\/deployments\/[0-9a-f-]+\/schedules$/, fault: { kind: 'reset-after-apply' } },
      { method: 'DELETE', path: /^\/deployments\/[0-9a-f-]+\/schedules\//, fault: { kind: 'reset-after-apply' } },
    );
    const rotated = { ...SECRET_VALUES, GITHUB_PASSWORD_FILE: 'rotated token value' };
    const result = await runCli(fullExample(hourly), {
      env: { PREFECT_API_URL: proxy.apiUrl, ...exampleEnv(rotated), SCICAT_ENDPOINT: 'https://other.example.org' },
    });
    expect(result.stderr).toBe('');
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
    expect(proxy.requests.filter((r) => r.fault === 'reset-after-apply').map((r) => `${r.method} ${r.upstreamStatus}`).sort()).toEqual([
      'DELETE 204',
      'PATCH 204',
      'PATCH 204',
      'POST 201',
    ]);
    const state = await readEverything(apiUrl());
    expect(state.secrets['github-password']).toBe('rotated token value');
    expect(state.deployments['create_test_dataset/dataset_creation']).toEqual(['hourly']);
    const again = await runCli(fullExample(hourly), {
      env: { PREFECT_API_URL: apiUrl(), ...exampleEnv(rotated), SCICAT_ENDPOINT: 'https://other.example.org' },
    });
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });
});

describe('deletions whose answers were lost (--prune)', () => {
  it('counts a retried delete that meets 404 as deleted', async () => {
    const first = await run([], apiUrl());
    expect(first.code, first.stdout).toBe(EXIT.ok);
    // The inputs no longer declare one variable and one secret: --prune deletes them.
    const vars = join(mkdtempSync(join(tmpdir(), 'openem-reliability-')), 'vars.toml');
    writeFileSync(vars, readFileSync(exampleVars, 'utf8').replace('S3_URL_EXPIRATION_DAYS = 7\n', ''));
    const secrets = Object.keys(SECRET_VALUES).filter((name) => name !== 'SCICAT_PASSWORD_FILE');
    const argv = ['-v', vars, '-s', ...secrets, '-l', exampleLimits, '-l', examplePools, '--prune'];
    proxy.inject(
      { method: 'DELETE', path: '/variables/name/s3_url_expiration_days', fault: { kind: 'reset-after-apply' } },
      { method: 'DELETE', path: /^\/block_documents\/[0-9a-f-]+$/, fault: { kind: 'reset-after-apply' } },
    );
    const result = await runCli(argv, { env: { PREFECT_API_URL: proxy.apiUrl, ...exampleEnv() } });
    expect(result.code, result.stdout).toBe(EXIT.ok);
    expect(proxy.requests.filter((r) => r.fault === 'reset-after-apply').map((r) => `${r.method} ${r.upstreamStatus}`)).toEqual(['DELETE 204', 'DELETE 204']);
    expect(result.stdout).toContain('variables: 0 created, 0 updated, 1 deleted, 12 unchanged, 0 failed');
    expect(result.stdout).toContain('secrets: 0 created, 0 updated, 1 deleted, 5 unchanged, 0 failed');
    const state = await readEverything(apiUrl());
    expect(state.variables).not.toContain('s3_url_expiration_days');
    expect(Object.keys(state.secrets).sort()).toEqual(['github-password', 'github-user', 's3-password', 's3-user', 'scicat-user']);
    const again = await runCli(argv, { env: { PREFECT_API_URL: apiUrl(), ...exampleEnv() } });
    expect(again.code).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });
});

describe('slow answers', () => {
  it('times out an answer slower than --request-timeout and retries it; a write applied meanwhile is not duplicated', async () => {
    proxy.inject(
      { method: 'POST', path: '/variables/filter', fault: { kind: 'delay', ms: 2_500 } },
      { method: 'POST', path: '/block_documents/', fault: { kind: 'delay', ms: 2_500 } },
      { method: 'POST', path: '/deployments/', fault: { kind: 'delay', ms: 2_500 } },
    );
    const result = await run(['--request-timeout', '1']);
    expect(result.stderr).toBe('');
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
    expect(retries(result).map((r) => `${r.path} ${r.reason}`).sort()).toEqual([
      '/block_documents/ no response within 1 s',
      '/deployments/ no response within 1 s',
      '/variables/filter no response within 1 s',
    ]);
    // The delayed create reached the server; its retry met the object and updated nothing.
    expect(result.requests.filter((r) => r.path === '/block_documents/').map((r) => r.status)).toEqual(expect.arrayContaining([409]));
    await expectFullExample(apiUrl());
    await followUp([]);
  });
});

describe('a server error on one object', () => {
  it('reports the 500 on that object, applies the others, and the next run creates just it', async () => {
    proxy.inject({
      method: 'POST',
      path: '/block_documents/',
      body: /"name":"github-password"/,
      fault: { kind: 'status', status: 500, body: { exception_message: 'Internal Server Error' } },
    });
    const result = await run();
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.applyFailed);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('!'))).toEqual(['! secret github-password: POST /block_documents/ answered 500: Internal Server Error']);
    expect(lines.slice(-5)).toEqual([
      'variables: 13 created, 0 updated, 0 unchanged, 0 failed',
      'secrets: 5 created, 0 updated, 0 unchanged, 1 failed',
      'tag-limits: 2 created, 0 updated, 0 unchanged, 0 failed',
      'work-pools: 2 created, 0 updated, 0 unchanged, 0 failed',
      'deployments: 4 created, 0 updated, 0 unchanged, 0 failed',
    ]);
    const state = await readEverything(apiUrl());
    expect(Object.keys(state.secrets).sort()).toEqual(['github-user', 's3-password', 's3-user', 'scicat-password', 'scicat-user']);
    expectNoPartialSecrets(state);
    await followUp(['POST /block_documents/']);
  });
});

describe('an automation create whose answer was lost', () => {
  // Prefect does not make automation names unique: a retried create makes a second one, which every
  // later run would refuse as a name held twice. The run removes the twin its own retry made.
  it('leaves one automation of the name, reports it created, and the next run writes nothing', async () => {
    await clearAutomations(apiUrl());
    const dir = mkdtempSync(join(tmpdir(), 'openem-faults-automation-'));
    const file = join(dir, 'automations.yaml');
    writeFileSync(
      file,
      [
        'automations:',
        '  - name: lost answer',
        '    trigger: {expect: [openem.test.lost], posture: Reactive}',
        '    actions: [{type: do-nothing}]',
        '  - name: kept answer',
        '    trigger: {expect: [openem.test.kept], posture: Reactive}',
        '    actions: [{type: do-nothing}]',
      ].join('\n'),
    );
    proxy.inject({ method: 'POST', path: '/automations/', body: /lost answer/, fault: { kind: 'reset-after-apply' } });
    try {
      const result = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: proxy.apiUrl } });
      expect(result.stderr).toBe('');
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
      expect(proxy.requests.filter((r) => r.fault === 'reset-after-apply').map((r) => r.upstreamStatus)).toEqual([201]);
      expect(result.stdout).toContain('automations: 2 created, 0 updated, 0 unchanged, 0 failed');
      const onServer = await postJsonList(apiUrl(), '/automations/filter', { limit: 200 });
      expect(onServer.map((a) => a.name).sort()).toEqual(['kept answer', 'lost answer']);
      const again = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(EXIT.ok);
      expect(again.writes).toEqual([]);
    } finally {
      await clearAutomations(apiUrl());
    }
  });
});

describe('automations that name each other, when the update completing the first fails', () => {
  it('reports the one being written as failed with what is left, and the next run adds the actions with one update', async () => {
    await clearAutomations(apiUrl());
    const dir = mkdtempSync(join(tmpdir(), 'openem-faults-cycle-'));
    const file = join(dir, 'automations.yaml');
    const automation = (name: string, type: string, target: string) => [`  - name: ${name}`, `    trigger: {expect: [openem.test.${name}]}`, `    actions: [{type: ${type}, automation: ${target}}]`];
    writeFileSync(file, ['automations:', ...automation('ping', 'pause-automation', 'pong'), ...automation('pong', 'resume-automation', 'ping'), ''].join('\n'));
    proxy.inject({ method: 'PUT', path: /^\/automations\//, fault: { kind: 'status', status: 500, body: { exception_message: 'Internal Server Error' } } });
    try {
      const result = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: proxy.apiUrl } });
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.applyFailed);
      const onServer = await postJsonList(apiUrl(), '/automations/filter', { limit: 200 });
      const pong = onServer.find((a) => a.name === 'pong')!;
      expect(result.stdout).toContain(`! automation ping: written, but adding the actions that name it to "pong" (PUT /automations/${pong.id} answered 500`);
      expect(onServer.map((a) => a.name).sort()).toEqual(['ping', 'pong']);
      const again = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(EXIT.ok);
      expect(again.writes.map((w) => `${w.method} ${w.path}`)).toEqual([`PUT /automations/${pong.id}`]);
      const last = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(last.writes).toEqual([]);
    } finally {
      await clearAutomations(apiUrl());
    }
  });
});

async function postJsonList(url: string, path: string, body: unknown): Promise<Array<{ id: string; name: string }>> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as Array<{ id: string; name: string }>;
}
