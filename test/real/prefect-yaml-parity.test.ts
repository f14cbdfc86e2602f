// Parity with `prefect deploy`, measured: every project of test/fixtures/prefect-yaml-corpus (written
// for this test in the styles real prefect.yaml files use) is deployed on one fresh real server by
// `prefect --no-prompt deploy --all`, from the test virtualenv of this project's Prefect release, and
// on another by `openem-config apply`; then both servers are read and the deployments must be the
// same, field by field. Where prefect deploy stores something else by design, the difference is
// listed in KNOWN_DIFFERENCES with its reason and asserted: no field is left out of the comparison.
//
// No Docker daemon, registry or git checkout exists here: the corpus's build and push steps call
// the stand-ins of _steps/parity_steps.py (put on PYTHONPATH), which return the outputs the real
// steps would; openem-config is given the same values with --step-output.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensurePrefect, prefectPin, startPrefectServer, venvBin, type PrefectPin, type PrefectServer } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { clearPoolsAndDeployments, clearServer, postJson } from '../shared/server.js';

const corpus = fileURLToPath(new URL('../fixtures/prefect-yaml-corpus/', import.meta.url));
const stepsDir = join(corpus, '_steps');
const PROJECTS = readdirSync(corpus, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
  .map((entry) => entry.name)
  .sort();

/** A job template that takes the job variables the corpus uses, given to every pool on both servers. */
const JOB_TEMPLATE = {
  job_configuration: { image: '{{ image }}', env: '{{ env }}', command: '{{ command }}', working_dir: '{{ working_dir }}', image_pull_policy: '{{ image_pull_policy }}', mem_limit: '{{ mem_limit }}' },
  variables: {
    type: 'object',
    properties: {
      image: { type: 'string', title: 'Image' },
      env: { type: 'object', title: 'Environment Variables', additionalProperties: { type: 'string' } },
      command: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null },
      working_dir: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null },
      image_pull_policy: { enum: ['IfNotPresent', 'Always', 'Never'], type: 'string' },
      mem_limit: { type: 'string' },
    },
  },
};

interface Project {
  /** Work pools created the same way on both servers before either tool runs: name -> type. */
  pools: Record<string, string>;
  /** Queues created with them (openem-config refuses a queue nowhere declared, which Prefect would create silently). */
  queues?: Record<string, string[]>;
  /** The environment both tools run in (`{{ $NAME }}`). */
  env?: Record<string, string>;
  /** What the stand-in steps return, given to openem-config as --step-output. */
  stepOutputs?: string[];
  /** openem-config refuses the project, with this documented message; prefect deploy deploys it. */
  refused?: string;
  /**
   * prefect deploy fails, saying `message` (on the listed releases only, when given), after
   * deploying all but the `missing` deployments (none when not given); openem-config applies them.
   */
  prefectFails?: { message: string; versions?: string[]; missing?: string[] };
}

const PROJECT: Record<string, Project> = {
  'anchors-defaults': { pools: { 'etl-pool': 'docker' }, queues: { 'etl-pool': ['heavy'] } },
  'commit-tag': {
    pools: { 'k8s-pool': 'kubernetes' },
    stepOutputs: ['get-commit-hash.stdout=4f2a9c1', 'get-release.stdout=v2.3.0', 'build-image.image=ghcr.io/example-org/api-sync:4f2a9c1'],
  },
  'concurrency-tiers': {
    pools: { 'exports-pool': 'process' },
    // `{limit: 4}` without collision_strategy: prefect deploy sends the strategy None, which its own model refuses.
    prefectFails: { message: "Input should be 'ENQUEUE' or 'CANCEL_NEW'", missing: ['export-table/export-default-strategy'] },
  },
  'docker-recipe': { pools: { 'docker-pool': 'docker' }, stepOutputs: ['build_image.image=registry.example/scoring:1.4'] },
  'git-recipe': { pools: { 'ingest-pool': 'process' }, queues: { 'ingest-pool': ['backfill'] } },
  'legacy-p2-reports': { pools: { 'reports-pool': 'process' } },
  'local-recipe': { pools: { 'local-pool': 'process' }, env: { HOUSEKEEPING_HOME: '/srv/housekeeping', RELEASE: '5.1.0', TEAM: 'platform' } },
  'many-deployments': { pools: { 'platform-pool': 'process' }, queues: { 'platform-pool': ['fast'] } },
  'module-entrypoints': { pools: { 'warehouse-pool': 'process' } },
  'no-pull': { pools: { 'quickstart-pool': 'process' } },
  'pool-type-p2': {
    pools: { 'billing-pool': 'process' },
    refused: "`work_pool.type` is `kubernetes`, but the work pool `billing-pool` on the server is of type `process`",
  },
  'pull-mapping': { pools: { 'alerts-pool': 'process' } },
  // 3.7.2 refuses a top-level `pull:` mapping (its action validator iterates the mapping's keys); 3.9.1 wraps it in a list.
  'pull-mapping-top': { pools: { 'cleanup-pool': 'process' }, prefectFails: { message: 'Each action step must be a mapping', versions: ['3.7.2'] } },
  's3-storage': { pools: { 'ml-pool': 'process' }, stepOutputs: ['push_code.bucket=ml-flows', 'push_code.folder=training'] },
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface StoredDeployment {
  name: string;
  flow_id: string;
  entrypoint: string | null;
  version: string | null;
  description: string | null;
  tags: string[];
  parameters: Record<string, Json>;
  parameter_openapi_schema: Json;
  enforce_parameter_schema: boolean;
  job_variables: Record<string, Json> | null;
  work_pool_name: string | null;
  work_queue_name: string | null;
  paused: boolean;
  pull_steps: Json[] | null;
  concurrency_options: Json;
  global_concurrency_limit: { limit: number } | null;
  schedules: Array<{ schedule: Record<string, Json>; active: boolean; parameters: Record<string, Json>; slug: string | null }>;
}

/**
 * An interval schedule written without `anchor_date` gets the moment the server stored it, which
 * differs between the two servers by the time between the runs: such an anchor is compared as
 * "now", to the minute's tolerance of the run.
 */
function withoutServerAnchor(schedule: Record<string, Json>): Record<string, Json> {
  const anchor = schedule.anchor_date;
  if (typeof anchor !== 'string' || Math.abs(Date.parse(anchor) - Date.now()) > 10 * 60_000) return schedule;
  return { ...schedule, anchor_date: '(when stored)' };
}

/** Every field the comparison reads, as each server stores it; schedules in a stable order. */
async function deploymentsOf(apiUrl: string): Promise<Map<string, Record<string, Json>>> {
  const flows = await postJson<Array<{ id: string; name: string }>>(apiUrl, '/flows/filter', { limit: 200 });
  const flowName = new Map(flows.map((flow) => [flow.id, flow.name]));
  const deployments = await postJson<StoredDeployment[]>(apiUrl, '/deployments/filter', { limit: 200 });
  const result = new Map<string, Record<string, Json>>();
  for (const d of deployments) {
    const flow = flowName.get(d.flow_id) ?? '?';
    const schedules = d.schedules
      .map(({ schedule, active, parameters }) => ({ schedule: withoutServerAnchor(schedule), active, parameters }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    result.set(`${flow}/${d.name}`, {
      name: d.name,
      flow_name: flow,
      entrypoint: d.entrypoint,
      version: d.version,
      description: d.description,
      tags: [...d.tags].sort(),
      parameters: d.parameters,
      parameter_openapi_schema: d.parameter_openapi_schema,
      enforce_parameter_schema: d.enforce_parameter_schema,
      job_variables: d.job_variables ?? {},
      work_pool_name: d.work_pool_name,
      work_queue_name: d.work_queue_name,
      paused: d.paused,
      pull_steps: d.pull_steps,
      concurrency_limit: d.global_concurrency_limit?.limit ?? null,
      concurrency_options: d.concurrency_options,
      schedules,
      schedule_slugs: d.schedules.map((s) => s.slug).sort() as Json,
    });
  }
  return result;
}

interface Difference {
  deployment: string;
  field: string;
  prefect: Json;
  openem: Json;
}

/**
 * What prefect deploy stores otherwise, by design (the README's "What prefect deploy stores
 * otherwise" lists them). Each returns true when a difference is that one.
 */
const KNOWN_DIFFERENCES: Array<{ why: string; matches(difference: Difference, context: { dir: string; env: Record<string, string> }): boolean }> = [
  {
    why: 'description: where neither the file nor the flow gives one, prefect deploy 3.7.2 stores the text "None"; openem-config stores none',
    matches: ({ field, prefect, openem }) => field === 'description' && prefect === 'None' && openem === null,
  },
  {
    why: 'pull steps: prefect deploy fills in `{{ $NAME }}` from its own environment when it deploys; openem-config stores the placeholder (with a warning), which the worker fills in from its environment when a run starts',
    matches: ({ field, prefect, openem }, { env }) =>
      field === 'pull_steps' &&
      JSON.stringify(openem).includes('{{ $') &&
      JSON.stringify(openem).replace(/\{\{ \$(\w+) \}\}/g, (whole, name: string) => env[name] ?? whole) === JSON.stringify(prefect),
  },
  {
    why: 'schedule slugs: prefect deploy stores none for a schedule without `slug:`; openem-config names it openem-<n> to match it on the next run',
    matches: ({ field, prefect, openem }) =>
      field === 'schedule_slugs' &&
      Array.isArray(prefect) &&
      Array.isArray(openem) &&
      prefect.length === openem.length &&
      openem.every((slug, i) => slug === prefect[i] || (prefect.includes(null) && typeof slug === 'string' && slug.startsWith('openem-'))),
  },
  {
    why: 'no pull steps in the file: prefect deploy adds a set_working_directory step to the directory it ran in (or /opt/prefect when the deployment names an image); openem-config stores none',
    matches: ({ field, prefect, openem }, { dir }) =>
      field === 'pull_steps' &&
      (openem === null || (Array.isArray(openem) && openem.length === 0)) &&
      [dir, '/opt/prefect'].some((directory) => JSON.stringify(prefect) === JSON.stringify([{ 'prefect.deployments.steps.set_working_directory': { directory } }])),
  },
];

function differences(prefect: Map<string, Record<string, Json>>, openem: Map<string, Record<string, Json>>): Difference[] {
  const found: Difference[] = [];
  for (const key of new Set([...prefect.keys(), ...openem.keys()])) {
    const a = prefect.get(key);
    const b = openem.get(key);
    if (!a || !b) {
      found.push({ deployment: key, field: '(deployment)', prefect: a ? 'present' : 'missing', openem: b ? 'present' : 'missing' });
      continue;
    }
    for (const field of Object.keys(a)) {
      if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) found.push({ deployment: key, field, prefect: a[field] ?? null, openem: b[field] ?? null });
    }
  }
  return found;
}

/** The pin the project's global setup runs: the pinned release, or the newest 3.x for real-latest. */
function projectPin(): PrefectPin {
  const version = inject('prefectVersion');
  const pinned = prefectPin();
  return version === pinned.version ? pinned : prefectPin({ OPENEM_PREFECT_VERSION: version });
}

describe(`prefect.yaml corpus: prefect deploy and openem-config apply store the same deployments (Prefect ${inject('prefectVersion')})`, () => {
  const pin = projectPin();
  let forPrefect: PrefectServer;
  let forOpenem: PrefectServer;
  const tally = { projects: 0, deployments: 0, identical: 0, knownDifferences: 0, refusedByPrefect: 0, byReason: {} as Record<string, number> };

  beforeAll(async () => {
    ensurePrefect(pin);
    [forPrefect, forOpenem] = await Promise.all([startPrefectServer({ pin }), startPrefectServer({ pin })]);
  });
  afterAll(async () => {
    await Promise.all([forPrefect?.stop(), forOpenem?.stop()]);
    console.log(`prefect.yaml parity on Prefect ${pin.version}: ${JSON.stringify(tally)}`);
  });

  it('holds about ten projects, each described here', () => {
    expect(PROJECTS.length).toBeGreaterThanOrEqual(10);
    expect(Object.keys(PROJECT).sort()).toEqual(PROJECTS);
  });

  it.each(PROJECTS)('%s', async (name) => {
    const project = PROJECT[name]!;
    const dir = mkdtempSync(join(tmpdir(), `openem-parity-${name}-`));
    const home = mkdtempSync(join(tmpdir(), 'openem-parity-home-'));
    try {
      cpSync(join(corpus, name), dir, { recursive: true });
      for (const server of [forPrefect, forOpenem]) {
        await clearPoolsAndDeployments(server.apiUrl);
        await clearServer(server.apiUrl);
        for (const [pool, type] of Object.entries(project.pools)) await postJson(server.apiUrl, '/work_pools/', { name: pool, type, base_job_template: JOB_TEMPLATE });
        for (const [pool, queues] of Object.entries(project.queues ?? {})) {
          for (const queue of queues) await postJson(server.apiUrl, `/work_pools/${pool}/queues`, { name: queue });
        }
      }
      const file = join(dir, 'prefect.yaml');
      const stepOutputs = (project.stepOutputs ?? []).flatMap((pair) => ['--step-output', pair]);

      // validate accepts the project, or refuses it for the documented reason.
      const validated = await runCli(['validate', '--no-project', '-d', file, '--flows-dir', dir, '--prefect-version', pin.version, ...stepOutputs], {
        env: { ...project.env },
      });
      expect(validated.code, validated.stderr).toBe(EXIT.ok);

      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...project.env,
        PREFECT_HOME: home,
        PREFECT_API_URL: forPrefect.apiUrl,
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONPATH: stepsDir,
      };
      const deployed = spawnSync(venvBin('prefect', pin), ['--no-prompt', 'deploy', '--all'], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
      const fails = project.prefectFails && (project.prefectFails.versions?.includes(pin.version) ?? true) ? project.prefectFails : undefined;
      if (fails) {
        expect(deployed.status).not.toBe(0);
        expect(`${deployed.stdout}${deployed.stderr}`).toContain(fails.message);
      } else {
        expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
      }

      const applied = await runCli(['apply', '--no-project', '-d', file, '--flows-dir', dir, ...stepOutputs], {
        env: { ...project.env, PREFECT_API_URL: forOpenem.apiUrl },
      });
      if (project.refused !== undefined) {
        expect(applied.code).toBe(EXIT.invalidInput);
        expect(applied.stderr).toContain(project.refused);
        expect(applied.writes).toEqual([]);
        return;
      }
      expect(applied.code, applied.stderr).toBe(EXIT.ok);
      // A second apply finds nothing to change.
      const again = await runCli(['apply', '--no-project', '-d', file, '--flows-dir', dir, ...stepOutputs], { env: { ...project.env, PREFECT_API_URL: forOpenem.apiUrl } });
      expect(again.code, again.stderr).toBe(EXIT.ok);
      expect(again.writes).toEqual([]);

      const byPrefect = await deploymentsOf(forPrefect.apiUrl);
      const byOpenem = await deploymentsOf(forOpenem.apiUrl);
      if (fails && !fails.missing) {
        // prefect deploy refused the whole file (the top-level pull mapping, on 3.7.2); openem-config
        // stores the mapping as the one step of the list, as the newer releases do (compared there).
        expect(byPrefect.size).toBe(0);
        expect(byOpenem.size).toBeGreaterThan(0);
        for (const stored of byOpenem.values()) expect(stored.pull_steps).toHaveLength(1);
        tally.refusedByPrefect++;
        return;
      }
      expect(byPrefect.size).toBeGreaterThan(0);
      const missing = fails?.missing ?? [];
      expect([...byOpenem.keys()].filter((key) => missing.includes(key))).toEqual(missing);
      for (const key of missing) byOpenem.delete(key);
      expect([...byOpenem.keys()].sort()).toEqual([...byPrefect.keys()].sort());
      const found = differences(byPrefect, byOpenem);
      const unexplained = found.filter((difference) => !KNOWN_DIFFERENCES.some((known) => known.matches(difference, { dir, env: project.env ?? {} })));
      expect(unexplained).toEqual([]);

      tally.projects++;
      tally.deployments += byPrefect.size;
      const differing = new Set(found.map((difference) => difference.deployment));
      tally.identical += byPrefect.size - differing.size;
      tally.knownDifferences += found.length;
      for (const difference of found) {
        const known = KNOWN_DIFFERENCES.find((candidate) => candidate.matches(difference, { dir, env: project.env ?? {} }));
        const label = known?.why.split(':')[0] ?? '?';
        tally.byReason[label] = (tally.byReason[label] ?? 0) + 1;
      }

    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  }, 600_000);

  // Run after the projects: each difference the README lists was met, so none is a guess.
  it('met each known difference in the corpus', () => {
    expect(Object.keys(tally.byReason).sort()).toEqual(KNOWN_DIFFERENCES.map((known) => known.why.split(':')[0]).sort());
  });
});
