// Runs that cannot end normally, against a REAL Prefect server behind the fault proxy: the server
// gone in the middle of an apply of 300 variables (it stops forwarding: connections reset, or
// nothing listens any more), and SIGTERM or SIGINT sent to the built binary in the middle of an
// apply. Each run ends at once (counted in requests, not timed), says what it applied, what failed
// and what it did not do, and exits with the documented code; a follow-up run converges.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli, type JsonFailureReport } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { clearEverything, readEverything, spawnCli, until } from './support.js';

const apiUrl = () => inject('prefectApiUrl');
const COUNT = 300;
let proxy: FaultProxy;
let vars = '';

beforeAll(async () => {
  proxy = await startFaultProxy({ target: apiUrl() });
  vars = join(mkdtempSync(join(tmpdir(), 'openem-stop-')), 'vars.toml');
  const lines = Array.from({ length: COUNT }, (_, index) => `STOP_TEST_${String(index).padStart(3, '0')} = ${index}`);
  writeFileSync(vars, `[many]\n${lines.join('\n')}\n`);
});
afterAll(async () => proxy?.close());
beforeEach(async () => {
  proxy.reset();
  await clearEverything(apiUrl());
});

type StoppedReport = JsonFailureReport & { stopped: { applied: number; failed: number; notDone: number }; error: { signal?: string } };

const variablePosts = (p: FaultProxy) => p.requests.filter((r) => r.method === 'POST' && r.path === '/variables/');

/** A run straight to the server: it creates what the stopped run did not (all `missing` of them), and converges. */
async function followUp(): Promise<void> {
  const missing = COUNT - (await readEverything(apiUrl())).variables.length;
  const again = await runCli(['-v', vars], { env: { PREFECT_API_URL: apiUrl() } });
  expect(again.code, again.stdout).toBe(EXIT.ok);
  expect(again.stdout).toContain(`variables: ${missing} created, 0 updated, ${COUNT - missing} unchanged, 0 failed`);
  expect((await readEverything(apiUrl())).variables).toHaveLength(COUNT);
}

describe('a server gone in the middle of an apply of 300 variables', () => {
  it('stops after one request\'s retry budget when connections are reset: exit 4, applied / failed / not done listed', async () => {
    // After the 100th create, the proxy stops forwarding: every connection is reset unanswered.
    const pending = runCli(['--output', 'json', '--retries', '2', '-v', vars], { env: { PREFECT_API_URL: proxy.apiUrl } });
    await until(() => variablePosts(proxy).length >= 100, 60_000, '100 creates');
    proxy.inject({ times: 1_000_000, fault: { kind: 'reset-before-forward' } });
    const result = await pending;
    expect(result.code, result.stdout).toBe(EXIT.unreachable);

    // The run ended at once: after the fault, the three attempts of one create and nothing else.
    const reset = proxy.requests.filter((r) => r.fault === 'reset-before-forward');
    expect(reset).toHaveLength(3);
    expect(new Set(reset.map((r) => `${r.method} ${r.path} ${r.body}`)).size).toBe(1);
    const applied = variablePosts(proxy).filter((r) => r.upstreamStatus === 201).length;
    expect(applied).toBeGreaterThanOrEqual(100);

    const report = JSON.parse(result.stdout) as StoppedReport;
    expect(report).toMatchObject({ ok: false, exitCode: EXIT.unreachable, error: { reason: 'unreachable' } });
    expect(report.error.message).toMatch(/^the server stopped answering mid-run: POST http:\/\/127\.0\.0\.1:\d+\/api\/variables\/ failed after 3 attempts: ECONNRESET/);
    expect(report.stopped).toEqual({ applied, failed: 1, notDone: COUNT - applied - 1 });
    expect(report.summary.variable).toEqual({ created: applied, updated: 0, deleted: 0, unchanged: 0, failed: COUNT - applied });
    expect(report.items.filter((item) => item.error === 'not done: the run stopped when the server stopped answering')).toHaveLength(COUNT - applied - 1);
    expect(result.stderr).toBe(`error: ${report.error.message}\n`);
    expect((await readEverything(apiUrl())).variables).toHaveLength(applied);

    await followUp();
  });

  it('stops the same way when nothing listens any more (the server killed), in text', async () => {
    const dying = await startFaultProxy({ target: apiUrl() });
    try {
      const pending = runCli(['--retries', '2', '-v', vars], { env: { PREFECT_API_URL: dying.apiUrl } });
      // One create at a time: once the 51st is sent, the answers of the first 50 have reached the
      // tool (the create in flight when the proxy closes may lose its answer).
      await until(() => variablePosts(dying).length >= 51, 60_000, '51 creates');
      await dying.close();
      const result = await pending;
      expect(result.code, result.stdout).toBe(EXIT.unreachable);
      // Three attempts of the create in flight when the server went, all refused; nothing after them.
      const tail = result.requests.slice(result.requests.findLastIndex((r) => r.status !== 'error') + 1);
      expect(tail.map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill('POST /variables/'));
      const lines = result.stdout.trim().split('\n');
      const applied = lines.filter((line) => line.startsWith('+ variable ')).length;
      expect(applied).toBeGreaterThanOrEqual(50);
      expect(lines.filter((line) => line.includes('failed after 3 attempts: ECONNREFUSED'))).toHaveLength(1);
      expect(lines.filter((line) => line.endsWith(': not done: the run stopped when the server stopped answering'))).toHaveLength(COUNT - applied - 1);
      expect(lines.at(-2)).toBe(`variables: ${applied} created, 0 updated, 0 unchanged, ${COUNT - applied} failed (${COUNT - applied - 1} not done)`);
      expect(lines.at(-1)).toBe(`Stopped before the end: ${applied} applied, 1 failed, ${COUNT - applied - 1} not done.`);
      expect(result.stderr).toMatch(/^error: the server stopped answering mid-run: POST .* ECONNREFUSED.*Run it again once the server is back\.\n$/);
      await followUp();
    } finally {
      await dying.close();
    }
  });
});

describe('a server gone behind a proxy or load balancer in the middle of an apply of 300 variables', () => {
  const PROXY_ANSWERED = '(answered by a proxy or load balancer, not by Prefect: the server behind it is not answering)';

  it('stops after one request\'s retry budget when the proxy answers 502 for the server it lost: exit 4, applied / failed / not done listed', async () => {
    // openem-config -> front (the load balancer) -> back (the server's socket) -> the real server:
    // closing back is the server killed, and front answers 502 as nginx does.
    const back = await startFaultProxy({ target: apiUrl() });
    const front = await startFaultProxy({ target: back.apiUrl });
    try {
      const pending = runCli(['--output', 'json', '--retries', '2', '-v', vars], { env: { PREFECT_API_URL: front.apiUrl } });
      await until(() => variablePosts(front).length >= 51, 60_000, '51 creates');
      await back.close();
      const result = await pending;
      expect(result.code, result.stdout).toBe(EXIT.unreachable);

      // After the server went: the three attempts of one create, each answered 502 by the proxy, and nothing else.
      const tail = result.requests.slice(result.requests.findIndex((r) => r.status === 502));
      expect(tail.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(Array(3).fill('POST /variables/ 502'));
      const report = JSON.parse(result.stdout) as StoppedReport;
      const { applied } = report.stopped;
      expect(applied).toBeGreaterThanOrEqual(50);
      // Far fewer than 300 objects x 3 attempts: every create applied, and the three of the one that failed.
      expect(result.requests.filter((r) => r.path === '/variables/')).toHaveLength(applied + 3);
      expect(report).toMatchObject({ ok: false, exitCode: EXIT.unreachable, error: { reason: 'unreachable' } });
      expect(report.error.message).toMatch(/^the server stopped answering mid-run: POST http:\/\/127\.0\.0\.1:\d+\/api\/variables\/ failed after 3 attempts: HTTP 502 /);
      expect(report.error.message).toContain(PROXY_ANSWERED);
      expect(report.stopped).toEqual({ applied, failed: 1, notDone: COUNT - applied - 1 });
      expect(report.items.filter((item) => item.error === 'not done: the run stopped when the server stopped answering')).toHaveLength(COUNT - applied - 1);
      // The create in flight when the server went may have been applied without its answer: the next run finds it.
      await followUp();
    } finally {
      await front.close();
      await back.close();
    }
  });

  it.each([
    ['a 503 page', { kind: 'status', status: 503, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>' }, 'HTTP 503'],
    ['a 504 without a body', { kind: 'status', status: 504, headers: { 'content-type': 'text/plain' }, body: '' }, 'HTTP 504'],
  ] as const)('stops the same way when the load balancer answers %s for the server it lost, in text', async (_name, fault, status) => {
    const pending = runCli(['--retries', '2', '-v', vars], { env: { PREFECT_API_URL: proxy.apiUrl } });
    await until(() => variablePosts(proxy).length >= 100, 60_000, '100 creates');
    proxy.inject({ times: 1_000_000, fault });
    const result = await pending;
    expect(result.code, result.stdout).toBe(EXIT.unreachable);
    const faulted = proxy.requests.filter((r) => r.fault === 'status');
    expect(faulted.map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill('POST /variables/'));
    const lines = result.stdout.trim().split('\n');
    const applied = lines.filter((line) => line.startsWith('+ variable ')).length;
    expect(applied).toBeGreaterThanOrEqual(100);
    expect(lines.filter((line) => line.endsWith(`failed after 3 attempts: ${status} ${PROXY_ANSWERED}`))).toHaveLength(1);
    expect(lines.at(-1)).toBe(`Stopped before the end: ${applied} applied, 1 failed, ${COUNT - applied - 1} not done.`);
    expect(result.stderr).toContain(`error: the server stopped answering mid-run: POST ${proxy.apiUrl}/variables/ failed after 3 attempts: ${status} ${PROXY_ANSWERED}.`);
    await followUp();
  });
});

describe('a signal while waiting for the server (the built binary)', () => {
  it('ends the wait at once, before any write: exit 143, and the JSON document says why', async () => {
    const port = await freePort();
    // A wait of an hour: the test ends (within its timeout) only if the signal ends the wait.
    const result = await spawnCli(['--output', 'json', '--wait-timeout', '3600', '-v', vars], {
      env: { PREFECT_API_URL: `http://127.0.0.1:${port}/api` },
      whileRunning: async (pid) => {
        await new Promise((done) => setTimeout(done, 1_500));
        process.kill(pid, 'SIGTERM');
      },
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.terminated);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, exitCode: EXIT.terminated, error: { message: 'stopped by SIGTERM before any write', reason: 'interrupted', signal: 'SIGTERM' } });
    expect(result.stderr).toContain('error: stopped by SIGTERM before any write\n');
  });
});

describe('a signal in the middle of an apply (the built binary)', () => {
  /** Each create held 1 s by the proxy; the signal comes while the third one is in flight. */
  async function signalled(signal: 'SIGTERM' | 'SIGINT', args: string[], times = 2) {
    proxy.inject({ method: 'POST', path: '/variables/', times: 1_000_000, fault: { kind: 'delay', ms: 1_000 } });
    let sent = -1;
    const result = await spawnCli([...args, '-v', vars], {
      env: { PREFECT_API_URL: proxy.apiUrl },
      whileRunning: async (pid) => {
        await until(() => variablePosts(proxy).length >= 3, 60_000, 'the third create');
        sent = variablePosts(proxy).length;
        for (let i = 0; i < times; i += 1) {
          if (i > 0) await new Promise((done) => setTimeout(done, 200));
          process.kill(pid, signal);
        }
      },
    });
    return { result, sent };
  }

  it('SIGTERM: the create in flight finishes, no other is started, the summary is printed, exit 143', async () => {
    const { result, sent } = await signalled('SIGTERM', [], 1);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.terminated);
    expect(sent).toBe(3);
    // Not one create after the signal; the one in flight was answered and counts as done.
    expect(variablePosts(proxy)).toHaveLength(3);
    expect(variablePosts(proxy).every((r) => r.clientStatus === 201)).toBe(true);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => line.endsWith(': not done: the run was stopped by SIGTERM'))).toHaveLength(COUNT - 3);
    expect(lines.at(-2)).toBe(`variables: 3 created, 0 updated, 0 unchanged, ${COUNT - 3} failed (${COUNT - 3} not done)`);
    expect(lines.at(-1)).toBe(`Stopped before the end: 3 applied, 0 failed, ${COUNT - 3} not done.`);
    expect(result.stderr).toContain('"event":"signal"');
    expect(result.stderr).toContain('error: stopped by SIGTERM. No object was started after it; every object not done is listed. Run it again to finish.\n');
    expect((await readEverything(apiUrl())).variables).toHaveLength(3);
    await followUp();
  });

  it('SIGINT with --output json: the JSON document, exit 130', async () => {
    const { result } = await signalled('SIGINT', ['--output', 'json'], 1);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.interrupted);
    const report = JSON.parse(result.stdout) as StoppedReport;
    expect(report).toMatchObject({ ok: false, exitCode: EXIT.interrupted, error: { reason: 'interrupted', signal: 'SIGINT' } });
    expect(report.stopped).toEqual({ applied: 3, failed: 0, notDone: COUNT - 3 });
    expect(variablePosts(proxy)).toHaveLength(3);
  });

  it('a second signal cuts the request in flight at once: that object is reported as not finished', async () => {
    // Held for an hour: the test ends (within its timeout) only if the second signal cuts it.
    proxy.inject({ method: 'POST', path: '/variables/', skip: 2, times: 1, fault: { kind: 'delay', ms: 3_600_000 } });
    const { result } = await signalled('SIGTERM', [], 2);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.terminated);
    expect(variablePosts(proxy)).toHaveLength(3);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => /^! variable stop_test_\d+: interrupted by SIGTERM before this object was finished/.test(line))).toHaveLength(1);
    expect(lines.at(-1)).toBe(`Stopped before the end: 2 applied, 1 failed, ${COUNT - 3} not done.`);
  });
});

describe('a signal in the middle of an apply records what the run created (the built binary)', () => {
  // Tag limits are owned through openem-config's ownership record (variables through their tag).
  const TAGS = 30;
  const tags = Array.from({ length: TAGS }, (_, index) => `stop-tag-${String(index).padStart(3, '0')}`);
  let limits = '';
  let noLimits = '';
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'openem-stop-limits-'));
    limits = join(dir, 'limits.toml');
    writeFileSync(limits, `[tag_limits]\n${tags.map((tag) => `"${tag}" = 1`).join('\n')}\n`);
    noLimits = join(dir, 'none.toml');
    writeFileSync(noLimits, '[tag_limits]\n');
  });

  const limitPosts = () => proxy.requests.filter((r) => r.method === 'POST' && r.path === '/concurrency_limits/');

  /** The tag limits the ownership record on the server says openem-config owns. */
  async function ownedTagLimits(): Promise<string[]> {
    const response = await fetch(`${apiUrl()}/block_types/slug/openem-config-state/block_documents/name/ownership`);
    if (response.status === 404) return [];
    const document = (await response.json()) as { data: { owned: Record<string, string[]> } };
    return document.data.owned['tag-limit'] ?? [];
  }

  /** SIGTERM once the third create of a tag limit is sent. */
  async function terminatedAtThirdCreate() {
    return spawnCli(['-l', limits], {
      env: { PREFECT_API_URL: proxy.apiUrl },
      whileRunning: async (pid) => {
        await until(() => limitPosts().length >= 3, 60_000, 'the third create');
        process.kill(pid, 'SIGTERM');
      },
    });
  }

  it('SIGTERM: the objects created before it are recorded as owned, so that a later --prune removes them', async () => {
    proxy.inject({ method: 'POST', path: '/concurrency_limits/', times: 1_000_000, fault: { kind: 'delay', ms: 1_000 } });
    const result = await terminatedAtThirdCreate();
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.terminated);
    expect(limitPosts()).toHaveLength(3);
    expect(result.stdout.trim().split('\n').at(-1)).toBe(`Stopped before the end: 3 applied, 0 failed, ${TAGS - 3} not done.`);
    expect(await ownedTagLimits()).toEqual(tags.slice(0, 3));

    const prune = await runCli(['--prune', '-l', noLimits], { env: { PREFECT_API_URL: apiUrl() } });
    expect(prune.code, prune.stdout).toBe(EXIT.ok);
    expect(prune.stdout).toContain('tag-limits: 0 created, 0 updated, 3 deleted, 0 unchanged, 0 failed');
    for (const tag of tags.slice(0, 3)) expect(prune.stdout).toContain(`- tag-limit ${tag}`);
    expect((await readEverything(apiUrl())).tagLimits).toEqual({});
    expect(await ownedTagLimits()).toEqual([]);
  });

  it('records them also when the create in flight outlasts the grace period: that one is cut, the record is written after it', async () => {
    // The third create is applied by the server, its answer held for an hour: the test ends (within
    // its timeout) only if the grace period cuts it, and the record still gets its own time.
    proxy.inject({ method: 'POST', path: '/concurrency_limits/', skip: 2, times: 1, fault: { kind: 'delay', ms: 3_600_000 } });
    const result = await terminatedAtThirdCreate();
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.terminated);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith(`! tag-limit ${tags[2]}: interrupted by SIGTERM before this object was finished`))).toHaveLength(1);
    expect(lines.at(-1)).toBe(`Stopped before the end: 2 applied, 1 failed, ${TAGS - 3} not done.`);
    expect(result.stderr).not.toContain('could not record what openem-config owns');
    // The one cut in the middle is not recorded: this run does not know that it created it.
    expect(await ownedTagLimits()).toEqual(tags.slice(0, 2));
  });
});

