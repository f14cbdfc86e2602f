// A Prefect 2-era prefect.yaml with the single `schedule:` on a real Prefect server: `prefect deploy`
// (the pinned release, from the test virtualenv) and `openem-config apply` store the same schedules,
// and a second apply sends no write. Schedules as Prefect 2.16+ saved them: prefect deploy refuses
// them, openem-config ignores the two Prefect 2 keys with a warning. `sla: []` (no SLA): prefect deploy
// stops on it against a self-hosted server, openem-config applies it.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { ensurePrefect, venvBin } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { clearPoolsAndDeployments, clearServer, getJson, postJson } from '../shared/server.js';

const apiUrl = () => inject('prefectApiUrl');

const FLOWS = `from prefect import flow


@flow(name="nightly-report")
def nightly_report():
    pass


@flow(name="hourly-sync")
def hourly_sync(limit: int = 10):
    pass
`;

const PREFECT_YAML = `name: legacy-project
prefect-version: 2.14.3
pull:
- prefect.deployments.steps.set_working_directory:
    directory: /opt/legacy
deployments:
- name: nightly
  flow_name: nightly-report
  entrypoint: flows/report.py:nightly_report
  schedule:
    cron: 0 3 * * 1-5
    timezone: Europe/Zurich
    day_or: true
  work_pool:
    name: legacy-pool
- name: hourly
  flow_name: hourly-sync
  entrypoint: flows/report.py:hourly_sync
  parameters: {limit: 5}
  schedule:
    interval: 3600
    anchor_date: '2024-01-01T00:30:00+00:00'
    timezone: UTC
  work_pool:
    name: legacy-pool
`;

interface StoredSchedule {
  schedule: Record<string, unknown>;
  active: boolean;
  parameters: Record<string, unknown>;
  slug: string | null;
}

interface Project {
  dir: string;
  file: string;
  /** `prefect --no-prompt deploy --all` in the project, with the test virtualenv's Prefect and a home of its own. */
  deploy(): SpawnSyncReturns<string>;
}

/** A project directory with the flow file and `yaml` as its prefect.yaml, given to `use` and removed after it. */
async function withProject(yaml: string, use: (project: Project) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openem-legacy-'));
  mkdirSync(join(dir, 'flows'));
  writeFileSync(join(dir, 'flows', 'report.py'), FLOWS);
  const file = join(dir, 'prefect.yaml');
  writeFileSync(file, yaml);
  const home = mkdtempSync(join(tmpdir(), 'openem-legacy-home-'));
  const deploy = () => {
    ensurePrefect();
    const env: NodeJS.ProcessEnv = { ...process.env, PREFECT_HOME: home, PREFECT_API_URL: apiUrl(), PYTHONDONTWRITEBYTECODE: '1' };
    return spawnSync(venvBin('prefect'), ['--no-prompt', 'deploy', '--all'], { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
  };
  try {
    await use({ dir, file, deploy });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

/** The example prefect.yaml with `lines` added to the first deployment, after its work pool. */
const withFirstDeployment = (lines: string) => PREFECT_YAML.replace('  work_pool:\n    name: legacy-pool\n- name: hourly', `  work_pool:\n    name: legacy-pool\n${lines}- name: hourly`);

async function schedulesOf(flow: string, name: string): Promise<StoredSchedule[]> {
  const deployment = await getJson<{ schedules: StoredSchedule[] }>(apiUrl(), `/deployments/name/${flow}/${name}`);
  return deployment.schedules;
}

/** What a schedule does: its timing, whether it is active, its parameters (not its id or slug). */
const behaviour = ({ schedule, active, parameters }: StoredSchedule) => ({ schedule, active, parameters });

describe('the single legacy schedule on a real server', () => {
  beforeEach(async () => {
    await clearPoolsAndDeployments(apiUrl());
    await clearServer(apiUrl());
    await postJson(apiUrl(), '/work_pools/', { name: 'legacy-pool', type: 'process' });
  });

  it('is stored as prefect deploy stores it, and a second apply sends no write', async () => {
    await withProject(PREFECT_YAML, async ({ file, deploy }) => {
      const deployed = deploy();
      expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
      const byPrefect = {
        nightly: (await schedulesOf('nightly-report', 'nightly')).map(behaviour),
        hourly: (await schedulesOf('hourly-sync', 'hourly')).map(behaviour),
      };
      expect(byPrefect.nightly).toHaveLength(1);
      expect(byPrefect.hourly).toHaveLength(1);

      await clearPoolsAndDeployments(apiUrl());
      await postJson(apiUrl(), '/work_pools/', { name: 'legacy-pool', type: 'process' });
      const applied = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(applied.code, applied.stderr).toBe(EXIT.ok);
      expect(applied.stderr).toContain('the single `schedule` is converted to a one-item `schedules` list');
      const nightly = await schedulesOf('nightly-report', 'nightly');
      const hourly = await schedulesOf('hourly-sync', 'hourly');
      expect(nightly.map(behaviour)).toEqual(byPrefect.nightly);
      expect(hourly.map(behaviour)).toEqual(byPrefect.hourly);
      // The one difference: openem-config names the schedule, so that later runs can match it.
      expect([...nightly, ...hourly].map((s) => s.slug)).toEqual(['openem-1', 'openem-1']);

      const again = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(again.code, again.stderr).toBe(EXIT.ok);
      expect(again.writes).toEqual([]);

      const strict = await runCli(['apply', '--strict', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(strict.code).toBe(EXIT.invalidInput);
      expect(strict.requests).toEqual([]);
    });
  }, 240_000);

  it('with catchup and max_active_runs in a schedule, prefect deploy deploys nothing; openem-config ignores the two keys with a warning', async () => {
    await withProject(PREFECT_YAML.replace('    day_or: true\n', '    day_or: true\n    max_active_runs: null\n    catchup: false\n'), async ({ file, deploy }) => {
      const deployed = deploy();
      expect(deployed.status).not.toBe(0);
      expect(`${deployed.stdout}${deployed.stderr}`).toContain('Skipping deployment configuration due to validation errors');
      expect(await postJson<unknown[]>(apiUrl(), '/deployments/filter', {})).toEqual([]);

      const applied = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(applied.code, applied.stderr).toBe(EXIT.ok);
      expect(applied.stderr).toContain('`catchup` (Prefect 2) is ignored');
      expect(applied.stderr).toContain('`max_active_runs: null` (Prefect 2) is ignored');
      expect((await schedulesOf('nightly-report', 'nightly')).map(behaviour)).toEqual([
        { schedule: { cron: '0 3 * * 1-5', timezone: 'Europe/Zurich', day_or: true }, active: true, parameters: {} },
      ]);
    });
  }, 240_000);

  it('with `sla: []`, prefect deploy writes that deployment and stops before the next, as SLAs are Prefect Cloud\'s; openem-config applies both, and refuses an SLA before any write', async () => {
    await withProject(withFirstDeployment('  sla: []\n'), async ({ dir, file, deploy }) => {
      const deployed = deploy();
      expect(deployed.status).not.toBe(0);
      expect(`${deployed.stdout}${deployed.stderr}`).toContain('SLA configuration is currently only supported on Prefect Cloud');
      expect((await postJson<Array<{ name: string }>>(apiUrl(), '/deployments/filter', {})).map((d) => d.name)).toEqual(['nightly']);
      for (const { id } of await postJson<Array<{ id: string }>>(apiUrl(), '/deployments/filter', {})) await fetch(`${apiUrl()}/deployments/${id}`, { method: 'DELETE' });

      const withSla = join(dir, 'with-sla.yaml');
      writeFileSync(withSla, withFirstDeployment('  sla:\n  - {name: late, duration: 60}\n'));
      const refused = await runCli(['apply', '-d', withSla], { env: { PREFECT_API_URL: apiUrl() } });
      expect(refused.code).toBe(EXIT.invalidInput);
      expect(refused.stderr).toContain('`sla` declares SLAs, which only Prefect Cloud keeps');
      expect(refused.writes).toEqual([]);

      const applied = await runCli(['apply', '-d', file], { env: { PREFECT_API_URL: apiUrl() } });
      expect(applied.code, applied.stderr).toBe(EXIT.ok);
      expect(applied.stderr).not.toContain('sla');
      expect((await postJson<Array<{ name: string }>>(apiUrl(), '/deployments/filter', {})).map((d) => d.name).sort()).toEqual(['hourly', 'nightly']);
    });
  }, 240_000);
});
