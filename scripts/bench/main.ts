// npm run bench: openem-config side by side with the Prefect tooling and a bare-loop floor, on real
// local Prefect servers (the pinned release, SQLite, 127.0.0.1 only), then at scale, then the
// --concurrency sweep and start-up. Writes the tables into BENCHMARKS.md (between the
// bench:results markers) and the raw numbers to a JSON file. Never part of `npm test`.
//
//   npm run bench                      the full run (about 16 minutes on 2 cores)
//   npm run bench -- --quick           one run each, small sizes: a smoke test of the harness
//   npm run bench -- --runs 3          repetitions of the example cases (default 5)
//   npm run bench -- --only example,startup    some sections (example, cli, scale, concurrency,
//                                      concurrency-postgres, startup); prints the tables, BENCHMARKS.md untouched
//   npm run bench -- --no-write        leave BENCHMARKS.md alone
//   npm run bench -- --keep            keep the work directory (generated configurations, results)
//   npm run bench -- --cli PATH        measure another build of openem-config (e.g. a patched copy's bin/openem-config)
//   npm run bench -- --node-options "--max-semi-space-size=2"   NODE_OPTIONS for the openem-config runs
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensurePrefect, prefectPin, venvBin } from '../prefect-env.js';
import { loadDesired, toChangeset, writeChangeset, type Changeset } from './lib/changeset.js';
import { exampleInputs, repo, type Inputs } from './lib/example.js';
import { generate, type GeneratedInputs } from './lib/generate.js';
import { measure, rssSource, type Measured } from './lib/process.js';
import { startCountingProxy, type CountingProxy } from './lib/proxy.js';
import { renderMarkdown, updateBenchmarksFile } from './lib/report.js';
import type { ConcurrencyCase, Counted, ExampleCase, Results, Sample, ScaleCase, StartupVariant, ToolName } from './lib/results.js';
import { ServerPool, type BenchServer } from './lib/servers.js';
import { runFloor, runOpenem, runPrefectCli, runPrefectSdk, type OpenemOptions, type PrefectOptions, type ToolResult } from './lib/tools.js';
import { preparePythonReader } from '../../src/python/syntax.js';

const SECTIONS = ['example', 'cli', 'scale', 'concurrency', 'concurrency-postgres', 'startup'] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  quick: boolean;
  runs: number;
  only: Set<Section>;
  write: boolean;
  keep: boolean;
  /** The openem-config entry point to measure; bin/openem-config of this clone by default. */
  cli?: string;
  /** NODE_OPTIONS for the openem-config processes. */
  nodeOptions?: string;
  /** --only: a partial run prints its tables and leaves BENCHMARKS.md alone, unless --write. */
  partial?: boolean;
  forceWrite?: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, runs: 5, only: new Set(SECTIONS), write: true, keep: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--no-write') options.write = false;
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--cli') options.cli = resolve(argv[++i] ?? '');
    else if (arg === '--node-options') options.nodeOptions = argv[++i] ?? '';
    else if (arg === '--runs') options.runs = Math.max(1, Math.min(20, Number(argv[++i])));
    else if (arg === '--write') options.forceWrite = true;
    else if (arg === '--only') {
      const names = (argv[++i] ?? '').split(',');
      for (const name of names) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: unknown section "${name}" (${SECTIONS.join(', ')})`);
      options.only = new Set(names as Section[]);
      options.partial = true;
    } else if (arg !== '--') throw new Error(`unknown option ${arg}`);
  }
  if (options.quick) options.runs = 1;
  if (!Number.isFinite(options.runs)) throw new Error('--runs takes a number');
  return options;
}

const t0 = performance.now();
function log(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}

function sample(result: ToolResult & { requestMs?: number }): Sample {
  const s: Sample = { wallMs: result.wallMs, maxRssKb: result.maxRssKb };
  if (result.self) {
    s.reads = result.self.reads;
    s.writes = result.self.writes;
  }
  if (result.retries !== undefined) s.retries = result.retries;
  if (result.failed !== undefined) s.failed = result.failed;
  if (result.stepsMs) s.stepsMs = result.stepsMs;
  if (result.requestMs !== undefined) s.requestMs = result.requestMs;
  return s;
}

function counted(proxy: CountingProxy, result: Measured): Counted {
  const counts = proxy.take();
  const c: Counted = { reads: counts.reads, writes: counts.writes, routes: counts.routes, wallMs: result.wallMs };
  if (counts.firstAt !== undefined) c.firstRequestMs = counts.firstAt - result.startedAt;
  return c;
}

function machineFacts(prefectVersion: string): Record<string, string> {
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const python = spawnSync(venvBin('python'), ['--version'], { encoding: 'utf8' });
  const sqlite = spawnSync(venvBin('python'), ['-c', 'import sqlite3; print(sqlite3.sqlite_version)'], { encoding: 'utf8' });
  return {
    nproc: execFileSync('nproc', { encoding: 'utf8' }).trim(),
    cpu: cpuModel,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    prefect: prefectVersion,
    python: (python.stdout || python.stderr).trim(),
    sqlite: sqlite.stdout.trim(),
  };
}

class Bench {
  readonly work: string;
  readonly servers: ServerPool;
  readonly floorScript: string;

  constructor(readonly options: Options) {
    this.work = mkdtempSync(join(tmpdir(), 'openem-bench-'));
    this.servers = new ServerPool(this.work);
    this.floorScript = join(this.work, 'floor.mjs');
  }

  /** openem-config, or the build given with --cli. */
  openem(options: OpenemOptions): Promise<ToolResult> {
    const chosen = this.options.cli && !options.entry ? { ...options, entry: this.options.cli } : options;
    if (this.options.nodeOptions === undefined) return runOpenem(chosen);
    return runOpenem({ ...chosen, extraEnv: { ...chosen.extraEnv, NODE_OPTIONS: this.options.nodeOptions } });
  }

  async prepare(): Promise<void> {
    // The Prefect tools run from the cached virtualenv before any server starts (machine facts,
    // version): install it first, as the tests' global setup does through startPrefectServer.
    ensurePrefect(prefectPin(), log);
    // changeset() reads the example's flow files as validate does, with the grammar compiled once.
    await preparePythonReader();
    // The floor runs as plain JavaScript: no TypeScript loader in its start-up.
    const esbuild = await import('esbuild');
    esbuild.buildSync({ entryPoints: [join(repo, 'scripts', 'bench', 'floor.ts')], outfile: this.floorScript, format: 'esm', platform: 'node', target: 'node22', logLevel: 'error' });
  }

  changeset(name: string, files: Inputs['files'] | GeneratedInputs['files'], env: Record<string, string>): { path: string; changeset: Changeset } {
    const changeset = toChangeset(loadDesired(files, { ...process.env, ...env }));
    const path = join(this.work, `changeset-${name}.json`);
    writeChangeset(path, changeset);
    return { path, changeset };
  }

  async withServer<T>(work: (server: BenchServer) => Promise<T>): Promise<T> {
    const server = await this.servers.fresh();
    try {
      return await work(server);
    } finally {
      await server.stop();
    }
  }

  // --- 1. The example, side by side ----------------------------------------------------------

  async example(results: Results): Promise<void> {
    const inputs = exampleInputs(this.work);
    const { path, changeset } = this.changeset('example', inputs.files, inputs.env);
    const prefect = (apiUrl: string): PrefectOptions => ({
      changesetPath: path,
      changeset,
      prefectYaml: inputs.prefectYaml,
      deployCwd: inputs.deployCwd,
      env: inputs.env,
      apiUrl,
      workDir: this.work,
    });
    const tools: Record<ToolName, (apiUrl: string, mode: 'cold' | 'noop') => Promise<ToolResult>> = {
      'openem-config': (apiUrl) => this.openem({ args: inputs.args, env: inputs.env, apiUrl }),
      'prefect-sdk': (apiUrl) => runPrefectSdk(prefect(apiUrl)),
      floor: (apiUrl, mode) => runFloor(this.floorScript, path, apiUrl, mode),
    };
    const cases = new Map<string, ExampleCase>();
    const entry = (tool: ToolName, mode: 'cold' | 'noop'): ExampleCase => {
      const key = `${tool}/${mode}`;
      if (!cases.has(key)) cases.set(key, { tool, mode, samples: [] });
      return cases.get(key)!;
    };
    const runs = this.options.runs;
    // Round 0 goes through the counting proxy and is not timed: it counts the requests and warms
    // the caches (page cache, Python bytecode). Rounds 1..runs are timed, directly against the server.
    for (let round = 0; round <= runs; round += 1) {
      for (const tool of Object.keys(tools) as ToolName[]) {
        await this.withServer(async (server) => {
          if (round === 0) {
            const proxy = await startCountingProxy(server.apiUrl);
            try {
              for (const mode of ['cold', 'noop'] as const) {
                const result = await tools[tool](proxy.apiUrl, mode);
                entry(tool, mode).counted = counted(proxy, result);
              }
            } finally {
              await proxy.stop();
            }
            log(`example ${tool}: counted (round 0)`);
            return;
          }
          entry(tool, 'cold').samples.push(sample(await tools[tool](server.apiUrl, 'cold')));
          if (round === runs) {
            // The no-op runs: the same job again on the state this tool just converged, after one
            // untimed run (the steady state of a job that runs at every deployment).
            await tools[tool](server.apiUrl, 'noop');
            for (let i = 0; i < runs; i += 1) entry(tool, 'noop').samples.push(sample(await tools[tool](server.apiUrl, 'noop')));
          }
          log(`example ${tool}: round ${round}/${runs}`);
        });
      }
    }
    results.example = {
      objects: {
        variables: changeset.variables.length,
        secrets: changeset.secrets.length,
        tagLimits: changeset.tagLimits.length,
        workPools: changeset.workPools.length,
        deployments: changeset.deployments.length,
      },
      cases: [...cases.values()],
    };
    if (this.options.only.has('cli') && !this.options.quick) {
      // One Prefect CLI process per object: slow enough that one counted run of each mode says it.
      await this.withServer(async (server) => {
        const proxy = await startCountingProxy(server.apiUrl);
        try {
          const cold = await runPrefectCli(prefect(proxy.apiUrl));
          const coldCounted = { ...counted(proxy, cold), maxRssKb: cold.maxRssKb };
          log('example prefect-cli: cold');
          const noop = await runPrefectCli(prefect(proxy.apiUrl));
          const noopCounted = { ...counted(proxy, noop), maxRssKb: noop.maxRssKb };
          log('example prefect-cli: no-op');
          results.example!.cli = { processes: cold.processes, cold: coldCounted, noop: noopCounted };
        } finally {
          await proxy.stop();
        }
      });
    }
  }

  // --- 2. Scale -----------------------------------------------------------------------------

  async scale(results: Results): Promise<void> {
    const quick = this.options.quick;
    const series: Array<{ series: ScaleCase['series']; size: number }> = quick
      ? [
          { series: 'mixed', size: 10 },
          { series: 'mixed', size: 100 },
          { series: 'variables', size: 100 },
        ]
      : [
          ...[10, 100, 1000, 5000].map((size) => ({ series: 'variables' as const, size })),
          ...[10, 100, 1000, 5000].map((size) => ({ series: 'mixed' as const, size })),
        ];
    results.scale = [];
    for (const { series: kind, size } of series) {
      const dir = join(this.work, `scale-${kind}-${size}`);
      const generated = generate(size, dir);
      const shape = kind === 'variables' ? { ...generated.shape, secrets: 0, tagLimits: 0, globalLimits: 0, blocks: 0, workPools: 0, deployments: 0, flows: 0, automations: 0, deploymentTriggers: 0 } : generated.shape;
      const args = kind === 'variables' ? ['-v', generated.files.variables[0]!] : generated.args;
      const files = kind === 'variables' ? { ...generated.files, secretsDirs: [], limits: [], deployments: [] } : generated.files;
      const { path } = this.changeset(`${kind}-${size}`, files, {});
      const coldRuns = quick ? 1 : size >= 5000 ? 1 : size >= 1000 ? (kind === 'mixed' ? 2 : 3) : 3;
      const noopRuns = quick ? 1 : size >= 5000 ? 3 : 5;
      // Tag limits, global limits and the deployments' own limits are rows of one v2 list, read once.
      const ownLimits = Math.ceil(shape.deployments / 10);
      const limitRows = shape.tagLimits + shape.globalLimits + (shape.deployments > 0 ? ownLimits : 0);
      // Automations and triggers: the server's whole list once, then the names their actions point at
      // by id (deployments, their flows, pools), in batches of 200.
      const automationRows = shape.automations + shape.deploymentTriggers;
      const names = automationRows > 0 ? [generated.referenced.deployments, generated.referenced.flows, generated.referenced.workPools] : [];
      const perKind = [shape.variables, shape.secrets, limitRows, shape.blocks, shape.workPools, shape.flows, shape.deployments, automationRows, ...names];
      const entry: ScaleCase = {
        series: kind,
        size,
        shape,
        cold: [],
        noop: [],
        floorNoop: [],
        expectedNoopReads: 3 + perKind.reduce((sum, n) => sum + Math.ceil(n / 200), 0),
      };
      for (let round = 1; round <= coldRuns; round += 1) {
        await this.withServer(async (server) => {
          entry.cold.push(sample(await this.openem({ args, env: {}, apiUrl: server.apiUrl })));
          log(`scale ${kind} ${size}: cold ${round}/${coldRuns} ${(entry.cold.at(-1)!.wallMs / 1000).toFixed(1)} s`);
          if (round !== coldRuns) return;
          await this.openem({ args, env: {}, apiUrl: server.apiUrl });
          await runFloor(this.floorScript, path, server.apiUrl, 'noop');
          for (let i = 0; i < noopRuns; i += 1) entry.noop.push(sample(await this.openem({ args, env: {}, apiUrl: server.apiUrl })));
          for (let i = 0; i < noopRuns; i += 1) entry.floorNoop.push(sample(await runFloor(this.floorScript, path, server.apiUrl, 'noop')));
          const proxy = await startCountingProxy(server.apiUrl);
          try {
            const result = await this.openem({ args, env: {}, apiUrl: proxy.apiUrl });
            entry.noopRoutes = counted(proxy, result).routes;
          } finally {
            await proxy.stop();
          }
          log(`scale ${kind} ${size}: no-op x${noopRuns}`);
        });
      }
      results.scale.push(entry);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // --- 3. --concurrency on cold apply ---------------------------------------------------------

  async concurrency(results: Results, database: 'sqlite' | 'postgres'): Promise<void> {
    const size = this.options.quick ? 100 : 1000;
    const generated = generate(size, join(this.work, `concurrency-${database}-${size}`));
    const levels = this.options.quick ? [1, 4] : [1, 2, 4, 8];
    const rounds = this.options.quick ? 1 : database === 'sqlite' ? 3 : 2;
    const cases = new Map<number, ConcurrencyCase>(levels.map((level) => [level, { level, size, database, samples: [] }]));
    // Levels interleaved in each round, so that a drift of the machine hits them all alike.
    for (let round = 1; round <= rounds; round += 1) {
      for (const level of levels) {
        const server = database === 'sqlite' ? await this.servers.fresh() : await this.servers.freshPostgres();
        try {
          const result = await this.openem({ args: generated.args, env: {}, apiUrl: server.apiUrl, concurrency: level, allowFailedObjects: true });
          cases.get(level)!.samples.push(sample(result));
          log(`concurrency (${database}) ${level}: round ${round}/${rounds} ${(result.wallMs / 1000).toFixed(1)} s, ${result.retries} retries, ${result.failed} failed`);
        } finally {
          await server.stop();
        }
      }
    }
    results.concurrency = [...(results.concurrency ?? []), ...cases.values()];
  }

  // --- 4. Start-up ----------------------------------------------------------------------------

  /** The tsc output run directly, without the bundle: what the program cost to start before bundling. */
  unbundled(): { entry: string } {
    const dir = join(this.work, 'unbundled');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    const entry = join(dir, 'bin', 'openem-config.mjs');
    writeFileSync(
      entry,
      [
        `import module from 'node:module';`,
        'module.enableCompileCache?.();',
        `const { main } = await import(${JSON.stringify(join(repo, 'dist', 'main.js'))});`,
        'const code = await main({ argv: process.argv.slice(2), env: process.env, stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), stderrIsTTY: Boolean(process.stderr.isTTY) });',
        'process.exitCode = code;',
      ].join('\n'),
    );
    return { entry };
  }

  async startup(results: Results): Promise<void> {
    const runs = this.options.quick ? 2 : 10;
    const nodeBaseline: Sample[] = [];
    for (let i = 0; i < runs; i += 1) {
      const result = await measure({ command: process.execPath, args: ['-e', ''], env: process.env });
      nodeBaseline.push({ wallMs: result.wallMs, maxRssKb: result.maxRssKb });
    }
    const unbundled = this.unbundled();
    const variants: Array<{ name: string; entry?: string; extraEnv?: Record<string, string> }> = [
      { name: 'bin/openem-config (the bundle, as shipped)' },
      { name: 'tsc output dist/main.js, unbundled (not shipped)', entry: unbundled.entry },
      { name: 'the bundle without the compile cache', extraEnv: { NODE_DISABLE_COMPILE_CACHE: '1' } },
    ];
    const inputs = exampleInputs(this.work);
    const measured: StartupVariant[] = [];
    await this.withServer(async (server) => {
      await this.openem({ args: inputs.args, env: inputs.env, apiUrl: server.apiUrl });
      const proxy = await startCountingProxy(server.apiUrl);
      try {
        for (const variant of variants) {
          const result: StartupVariant = { name: variant.name, version: [], firstRequestMs: [], noopWallMs: [] };
          const entry = variant.entry ?? this.options.cli ?? join(repo, 'bin', 'openem-config');
          const env = { ...process.env, ...(this.options.nodeOptions !== undefined ? { NODE_OPTIONS: this.options.nodeOptions } : {}), ...variant.extraEnv };
          // One unmeasured run first: fills the compile cache, warms the page cache.
          await measure({ command: process.execPath, args: [entry, '--version'], env });
          for (let i = 0; i < runs; i += 1) {
            const version = await measure({ command: process.execPath, args: [entry, '--version'], env });
            if (version.exitCode !== 0) throw new Error(`${variant.name}: --version exited ${version.exitCode}: ${version.stderr}`);
            result.version.push({ wallMs: version.wallMs, maxRssKb: version.maxRssKb });
          }
          proxy.take();
          for (let i = 0; i < Math.ceil(runs / 2); i += 1) {
            const run = await this.openem({ args: inputs.args, env: inputs.env, apiUrl: proxy.apiUrl, ...(variant.entry ? { entry: variant.entry } : {}), ...(variant.extraEnv ? { extraEnv: variant.extraEnv } : {}) });
            const c = counted(proxy, run);
            result.firstRequestMs.push(c.firstRequestMs ?? Number.NaN);
            result.noopWallMs.push(run.wallMs);
          }
          measured.push(result);
          log(`startup: ${variant.name}`);
        }
      } finally {
        await proxy.stop();
      }
    });
    results.startup = { nodeBaseline, variants: measured, bundleBytes: statSync(join(repo, 'dist', 'openem-config.mjs')).size };
  }
}

async function prefectVersion(): Promise<string> {
  const result = spawnSync(venvBin('python'), ['-c', 'import prefect; print(prefect.__version__)'], { encoding: 'utf8' });
  if (result.error) throw new Error(`${venvBin('python')}: ${result.error.message}`);
  return result.stdout.trim() || 'unknown';
}

const options = parseOptions(process.argv.slice(2));
const bench = new Bench(options);
const results: Results = {
  startedAt: new Date().toISOString(),
  durationS: 0,
  command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  options: { runs: options.runs, quick: options.quick, ...(options.cli ? { cli: options.cli } : {}), ...(options.nodeOptions !== undefined ? { nodeOptions: options.nodeOptions } : {}) },
  machine: {},
  rssSource: rssSource(),
  serverStarts: { count: 0, meanMs: 0 },
};
// The machine may be shared: the 1-minute load average, sampled through the run, says how busy it was.
const loads: number[] = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the servers`);
    void bench.servers.stopAll().finally(() => process.exit(130));
  });
}
const loadTimer = setInterval(() => loads.push(loadavg()[0]!), 5000);
try {
  log(`work directory ${bench.work}`);
  await bench.prepare();
  results.machine = machineFacts(await prefectVersion());
  if (options.only.has('example') || options.only.has('cli')) await bench.example(results);
  if (options.only.has('scale')) await bench.scale(results);
  if (options.only.has('concurrency')) await bench.concurrency(results, 'sqlite');
  if (options.only.has('concurrency-postgres')) await bench.concurrency(results, 'postgres');
  if (options.only.has('startup')) await bench.startup(results);
} finally {
  await bench.servers.stopAll();
  clearInterval(loadTimer);
  if (loads.length) results.load = { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads), samples: loads.length };
  results.durationS = Math.round((performance.now() - t0) / 1000);
  results.serverStarts = { count: bench.servers.started, meanMs: bench.servers.started ? bench.servers.totalStartMs / bench.servers.started : 0 };
  const json = join(bench.work, 'results.json');
  writeFileSync(json, `${JSON.stringify(results, null, 1)}\n`);
  const keepJson = join(tmpdir(), `openem-bench-results-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  copyFileSync(json, keepJson);
  log(`raw results: ${keepJson}`);
  if (!options.keep) rmSync(bench.work, { recursive: true, force: true });
}
const markdown = renderMarkdown(results);
if (options.write && ((!options.quick && !options.partial) || options.forceWrite)) {
  updateBenchmarksFile(join(repo, 'BENCHMARKS.md'), markdown);
  log('BENCHMARKS.md updated');
} else {
  process.stdout.write(markdown);
}
log(`done in ${results.durationS} s`);
