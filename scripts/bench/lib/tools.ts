// The tools under test, each run as its own process and measured the same way:
//   openem-config  node bin/openem-config ... --output json (its report counts its requests)
//   prefect-sdk    the Prefect SDK script (variables, secrets, tag limits, pools) + `prefect deploy --all`
//   prefect-cli    one Prefect CLI command per object (secrets through the SDK: the CLI cannot
//                  create a secret block without a prompt) + `prefect deploy --all`
//   floor          the bare fetch loop (floor.ts, compiled to JavaScript)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { venvBin } from '../../prefect-env.js';
import type { Changeset } from './changeset.js';
import { repo } from './example.js';
import { measure, measureSequence, tail, type Measured, type RunSpec } from './process.js';

export interface ToolResult extends Measured {
  /** Requests as the tool itself counted them (openem-config's report, the floor's counter). */
  self?: { reads: number; writes: number };
  /** openem-config: HTTP retries logged (503 "database is locked" and the like). */
  retries?: number;
  /** openem-config: objects that failed. */
  failed?: number;
}

/** The environment every tool starts from: no Prefect settings, proxies or telemetry of the machine. */
export function baseEnv(extra: Record<string, string>, apiUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('PREFECT_') || /^(https?|all|no)_proxy$/i.test(name) || name.startsWith('OPENEM_')) continue;
    env[name] = value;
  }
  return {
    ...env,
    ...extra,
    PREFECT_API_URL: apiUrl,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    // Prefect's client-side telemetry would send events off the machine; nothing leaves 127.0.0.1.
    DO_NOT_TRACK: '1',
  };
}

export interface OpenemOptions {
  args: string[];
  env: Record<string, string>;
  apiUrl: string;
  concurrency?: number;
  /** Another entry point than bin/openem-config (the bundled build of the start-up measurement). */
  entry?: string;
  nodeFlags?: string[];
  extraEnv?: Record<string, string>;
  command?: 'apply' | 'plan';
  /** Exit 1 with a report (some objects failed) is a result, not an error: the --concurrency sweep counts them. */
  allowFailedObjects?: boolean;
}

interface OpenemReport {
  exitCode: number;
  requests?: { reads: number; writes: number };
  summary?: Record<string, { failed?: number }>;
}

export async function runOpenem(options: OpenemOptions): Promise<ToolResult> {
  const args = [
    ...(options.nodeFlags ?? []),
    options.entry ?? join(repo, 'bin', 'openem-config'),
    ...(options.command === 'plan' ? ['plan'] : []),
    ...options.args,
    '--output', 'json',
    ...(options.concurrency !== undefined ? ['--concurrency', String(options.concurrency)] : []),
  ];
  const result = await measure({ command: process.execPath, args, env: { ...baseEnv(options.env, options.apiUrl), ...options.extraEnv } });
  let report: OpenemReport;
  try {
    report = JSON.parse(result.stdout) as OpenemReport;
  } catch {
    throw new Error(`openem-config printed no JSON report (exit ${result.exitCode}):\n${tail(result.stderr)}`);
  }
  const failed = Object.values(report.summary ?? {}).reduce((sum, kind) => sum + (kind.failed ?? 0), 0);
  const failedObjects = options.allowFailedObjects && result.exitCode === 1 && report.requests !== undefined;
  if ((result.exitCode !== 0 && !failedObjects) || !report.requests) {
    throw new Error(`openem-config exited ${result.exitCode} (${failed} failed):\n${tail(result.stdout, 40)}\n${tail(result.stderr)}`);
  }
  const retries = result.stderr.split('\n').filter((line) => line.includes('"http.retry"')).length;
  return { ...result, self: report.requests, retries, failed };
}

export interface PrefectOptions {
  changesetPath: string;
  changeset: Changeset;
  prefectYaml: string;
  deployCwd: string;
  env: Record<string, string>;
  apiUrl: string;
  workDir: string;
}

function prefectEnv(options: PrefectOptions): NodeJS.ProcessEnv {
  return {
    ...baseEnv(options.env, options.apiUrl),
    PREFECT_HOME: join(options.workDir, 'prefect-home'),
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

function deployStep(options: PrefectOptions, env: NodeJS.ProcessEnv): RunSpec {
  return { command: venvBin('prefect'), args: ['--no-prompt', 'deploy', '--all', '--prefect-file', options.prefectYaml], env, cwd: options.deployCwd };
}

export async function runPrefectSdk(options: PrefectOptions): Promise<ToolResult> {
  const env = prefectEnv(options);
  const script = join(repo, 'scripts', 'bench', 'prefect_sdk_apply.py');
  return measureSequence([{ command: venvBin('python'), args: [script, options.changesetPath], env }, deployStep(options, env)], 'Prefect SDK + prefect deploy');
}

const SAVE_SECRET = [
  'import json, sys',
  'from prefect.blocks.system import Secret',
  'secret = json.load(open(sys.argv[1]))["secrets"][int(sys.argv[2])]',
  'Secret(value=secret["value"]).save(secret["name"], overwrite=True)',
].join('\n');

/** The shell-script way: one Prefect CLI process per object. */
export function prefectCliSteps(options: PrefectOptions): RunSpec[] {
  const env = prefectEnv(options);
  const prefect = venvBin('prefect');
  const steps: RunSpec[] = [];
  for (const variable of options.changeset.variables) {
    steps.push({ command: prefect, args: ['variable', 'set', variable.name, JSON.stringify(variable.value), ...variable.tags.flatMap((tag) => ['--tag', tag]), '--overwrite'], env });
  }
  options.changeset.secrets.forEach((_, index) => {
    steps.push({ command: venvBin('python'), args: ['-c', SAVE_SECRET, options.changesetPath, String(index)], env });
  });
  for (const limit of options.changeset.tagLimits) {
    steps.push({ command: prefect, args: ['concurrency-limit', 'create', limit.tag, String(limit.limit)], env });
  }
  for (const pool of options.changeset.workPools) {
    const template = join(options.workDir, `template-${pool.name}.json`);
    writeFileSync(template, JSON.stringify(pool.base_job_template ?? {}));
    steps.push({ command: prefect, args: ['work-pool', 'create', pool.name, '--type', pool.type, '--base-job-template', template, '--overwrite'], env });
    if (typeof pool.concurrency_limit === 'number') {
      steps.push({ command: prefect, args: ['work-pool', 'set-concurrency-limit', pool.name, String(pool.concurrency_limit)], env });
    }
  }
  steps.push(deployStep(options, env));
  return steps;
}

export async function runPrefectCli(options: PrefectOptions): Promise<ToolResult & { processes: number }> {
  const steps = prefectCliSteps(options);
  return { ...(await measureSequence(steps, 'Prefect CLI')), processes: steps.length };
}

export async function runFloor(floorScript: string, changesetPath: string, apiUrl: string, mode: 'cold' | 'noop'): Promise<ToolResult & { requestMs: number }> {
  const result = await measure({ command: process.execPath, args: [floorScript, changesetPath, apiUrl, mode], env: baseEnv({}, apiUrl) });
  if (result.exitCode !== 0) throw new Error(`the floor (${mode}) exited ${result.exitCode}:\n${tail(result.stderr)}`);
  const counted = JSON.parse(result.stdout) as { reads: number; writes: number; requestMs: number };
  return { ...result, self: { reads: counted.reads, writes: counted.writes }, requestMs: counted.requestMs };
}
