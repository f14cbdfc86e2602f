// The command line: parse arguments and environment, run, print the report, and map the outcome
// to an exit code. This is the only place that exits the process.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { addConnectionOptions, collect, connectionSettings, failureOf, loggerFor, nonNegative, type ConnectionCliOptions, type MainIO } from './cli-common.js';
import { PROJECT_FILE, projectOrThrow, type Project } from './config/project.js';
import { closest } from './config/suggest.js';
import { ConfigError, InterruptedError, UsageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { KINDS } from './kinds/index.js';
import { defineExportCommand } from './export/command.js';
import { defineInitCommand } from './init.js';
import { defineMigrateCommand } from './migrate/command.js';
import { defineSchemasCommand } from './schemas/command.js';
import type { Logger } from './log.js';
import type { Interrupt } from './prefect/http.js';
import { expandChanges, renderIssues, renderPlan, renderResults, renderStopped, sortIssues, stopCounts } from './report.js';
import { newSalt, readSavedPlan, writeSavedPlan, type PlannedOptions } from './reconcile/saved-plan.js';
import { parseSelection } from './reconcile/select.js';
import { run, type Command as RunCommand, type RunContext, type RunOptions, type RunOutcome, type Stopped } from './run.js';

export type { MainIO } from './cli-common.js';


function packageJson(): { version: string; openemConfig: { prefectVersion: string } } {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; openemConfig: { prefectVersion: string } };
}

/** A Prefect release as --prefect-version takes it. */
function prefectRelease(value: string): string {
  if (!/^3\.\d+\.\d+([a-z.+-][\w.+-]*)?$/.test(value)) {
    throw new InvalidArgumentError(`--prefect-version takes a Prefect 3 release such as 3.9.1, found "${value}"`);
  }
  return value;
}

interface CliOptions extends Partial<ConnectionCliOptions> {
  config?: string;
  env?: string;
  project?: boolean;
  variables: string[];
  secrets: string[];
  secretsDir: string[];
  secret: string[];
  limits: string[];
  deployments: string[];
  flowsDir?: string;
  prefectVersion?: string;
  fromEnv: string[];
  stringValues?: boolean;
  keepTrailingNewline?: boolean;
  strict?: boolean;
  stepOutput: string[];
  concurrency?: number;
  output: 'text' | 'json';
  logLevel?: string;
  detailedExitcode?: boolean;
  prune?: boolean;
  only: string[];
  out?: string;
}

/** The options `apply FILE` takes from the saved plan: given with it, they are refused. */
const PLANNED_OPTIONS: ReadonlyArray<[keyof CliOptions, string]> = [
  ['config', '--config'],
  ['env', '--env'],
  ['project', '--no-project'],
  ['variables', '--variables'],
  ['secrets', '--secrets'],
  ['secretsDir', '--secrets-dir'],
  ['secret', '--secret'],
  ['limits', '--limits'],
  ['deployments', '--deployments'],
  ['flowsDir', '--flows-dir'],
  ['prefectVersion', '--prefect-version'],
  ['fromEnv', '--from-env'],
  ['stringValues', '--string-values'],
  ['keepTrailingNewline', '--keep-trailing-newline'],
  ['strict', '--strict'],
  ['stepOutput', '--step-output'],
  ['prune', '--prune'],
  ['only', '--only'],
];

function addInputOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', `the project file (default: ${PROJECT_FILE} in the current directory, when there is one)`)
    .option('--env <name>', 'the environment of the project file to use ([env.<name>])')
    .option('--no-project', `ignore ${PROJECT_FILE} in the current directory`)
    .option('-v, --variables <file>', 'vars TOML file; repeat for several (later files win)', collect, [])
    .option('-s, --secrets <NAME_FILE...>', 'environment variables holding secret file paths (S3_USER_FILE -> block "s3-user")', collect, [])
    .option('--secrets-dir <dir>', 'every file in this directory becomes a secret named after the file', collect, [])
    .option('--secret <name=path>', 'one secret block from a file', collect, [])
    .option('-l, --limits <file>', 'limits manifest TOML (tag limits, global limits, work pools); repeatable', collect, [])
    .option('-d, --deployments <file>', 'prefect.yaml with deployments; repeatable', collect, [])
    .option('--flows-dir <dir>', 'where the flow files of the entrypoints are: flow names and parameter schemas are read from them')
    .option('--prefect-version <version>', 'derive parameter schemas as this Prefect release does (default: the server\'s release; validate: the pinned one)', prefectRelease)
    .option('--from-env <NAME>', 'declare a variable whose value comes only from the environment variable NAME', collect, [])
    .option('--string-values', 'write every variable value as a string, as the old tool did')
    .option('--keep-trailing-newline', 'keep the final newline of secret files')
    .option('--strict', 'refuse legacy prefect.yaml forms instead of converting them, and keys Prefect ignores instead of ignoring them')
    .option('--step-output <id.field=value>', 'the value of a build or push step output {{ id.field }} in prefect.yaml (the steps are not run); repeatable', collect, [])
    .option('--output <format>', 'report format: text or json', 'text')
    .option('--log-level <level>', 'debug, info, warn, error (also Prefect names; default from PREFECT_LOGGING_LEVEL, else warn)');
}

function addServerOptions(command: Command): Command {
  return addConnectionOptions(command)
    .option('--concurrency <n>', 'writes in flight at once', nonNegative('--concurrency'), 1)
    .option('--prune', 'delete objects openem-config created earlier that the inputs no longer declare (only of the kinds given)')
    .option('--only <KIND[:NAME]>', `plan or apply only these kinds or objects (NAME may be a glob), comma-separated: ${KINDS.map((kind) => kind.name).join(',')}; repeatable`, collect, []);
}

/** Per parsed options: whether the command line gave an option (not its default). */
const givenOnCommandLine = new WeakMap<CliOptions, (key: string) => boolean>();

/**
 * The command line over the project file: repeatable options after the file's lists (later files
 * win), single-value options given on the command line instead of the file's values.
 */
function withProject(cli: CliOptions, project: Project | undefined, given: (key: string) => boolean): CliOptions {
  if (!project) return cli;
  const p = project.settings;
  const pairs = (table: Record<string, string> | undefined) => Object.entries(table ?? {}).map(([key, value]) => `${key}=${value}`);
  const one = <K extends keyof CliOptions>(key: K, value: CliOptions[K] | undefined): CliOptions[K] | undefined => (given(key) || value === undefined ? cli[key] : value);
  return {
    ...cli,
    variables: [...(p.variables ?? []), ...cli.variables],
    secrets: [...(p.secrets ?? []), ...cli.secrets],
    secretsDir: [...(p.secrets_dir ?? []), ...cli.secretsDir],
    secret: [...pairs(p.secret), ...cli.secret],
    limits: [...(p.limits ?? []), ...cli.limits],
    deployments: [...(p.deployments ?? []), ...cli.deployments],
    fromEnv: [...(p.from_env ?? []), ...cli.fromEnv],
    stepOutput: [...pairs(p.step_outputs), ...cli.stepOutput],
    flowsDir: one('flowsDir', p.flows_dir),
    prefectVersion: one('prefectVersion', p.prefect_version),
    stringValues: one('stringValues', p.string_values),
    keepTrailingNewline: one('keepTrailingNewline', p.keep_trailing_newline),
    strict: one('strict', p.strict),
    apiUrl: one('apiUrl', p.api_url),
    waitTimeout: one('waitTimeout', p.wait_timeout),
    requestTimeout: one('requestTimeout', p.request_timeout),
    retries: one('retries', p.retries),
    concurrency: one('concurrency', p.concurrency),
  };
}

function buildProgram(io: MainIO, execute: (command: RunCommand, options: CliOptions, planFile: string | undefined) => Promise<void>): Command {
  const program = new Command('openem-config')
    .description('Bring a Prefect 3 server to the state declared in files: variables, secret blocks, tag and global concurrency limits, work pools and deployments.')
    .version(packageJson().version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  const commands: Array<[RunCommand, string]> = [
    ['apply', 'read, validate, then change the server to match the inputs (default)'],
    ['plan', 'show what apply would change; sends no write'],
    ['validate', 'check the inputs offline; no server needed'],
  ];
  for (const [name, description] of commands) {
    const sub = program.command(name, { isDefault: name === 'apply' }).description(description);
    addInputOptions(sub);
    if (name !== 'validate') addServerOptions(sub);
    if (name === 'plan') {
      sub.option('--detailed-exitcode', 'exit 2 when changes are pending, 0 when none');
      sub.option('--out <file>', 'save the plan to FILE (no secret values) for `apply FILE`, which applies exactly it or refuses when it is stale');
    }
    if (name === 'apply') sub.argument('[plan-file]', 'a plan saved by `plan --out`: apply exactly it, with its inputs and options');
    // No command takes an argument. A word that is not an option is a mistyped or misplaced
    // command (`openem-config aplly`, `openem-config -v vars.toml plan`): apply is the default, so
    // commander alone would say "too many arguments for 'apply'" without naming the command meant.
    sub.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).allowExcessArguments();
    sub.action(async (...received: unknown[]) => {
      const self = received.at(-1) as Command;
      const options = self.opts<CliOptions>();
      // Which options the command line gave: those replace the project file's values.
      givenOnCommandLine.set(options, (key) => self.getOptionValueSource(key) === 'cli');
      const given = io.argv[0] === name;
      // `apply FILE` names the command: a word after a defaulted apply is a mistyped command.
      const planFile = name === 'apply' && given ? self.args[0] : undefined;
      const [word] = planFile === undefined ? self.args : self.args.slice(1);
      if (word !== undefined) {
        const takes = name === 'apply' ? `takes one argument, a plan saved by plan --out, and got '${word}' after it` : `takes no arguments, and got '${word}'`;
        program.error(given ? `error: ${name} ${takes}: one command per run, and a file is the value of an option (-v FILE, -l FILE, -d FILE)` : strayArgumentMessage(word, program), {
          code: given ? 'commander.excessArguments' : 'commander.unknownCommand',
        });
      }
      await execute(name, options, planFile);
    });
  }
  return program;
}

/** What to say about an argument that is no option's value: the command it likely stands for. */
function strayArgumentMessage(word: string, program: Command): string {
  const names = [...program.commands.map((command) => command.name()), 'help'];
  if (names.includes(word)) return `error: the command '${word}' comes first, before every option: openem-config ${word} [options]`;
  const meant = closest(word, names);
  if (meant) return `error: unknown command '${word}'\n(Did you mean ${meant}?)`;
  return `error: unexpected argument '${word}': the commands are ${names.join(', ')}, and a file is given as the value of an option (-v FILE, -l FILE, -d FILE)`;
}

/** Runs the CLI and returns the exit code; bin/openem-config passes it to process.exit. */
export async function main(io: MainIO): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, async (command, options, planFile) => {
    exitCode = await execute(command, options, io, planFile);
  });
  // `export` reads a server and writes files; src/export/ owns its options, report and exit code.
  defineExportCommand(program.command('export'), io, (code) => {
    exitCode = code;
  });
  defineInitCommand(program.command('init'), io, (code) => {
    exitCode = code;
  });
  // `migrate` rewrites prefect.yaml files, offline; src/migrate/ owns its options, report and exit code.
  defineMigrateCommand(program.command('migrate'), io, (code) => {
    exitCode = code;
  });
  // `schemas` lists, prints or writes the JSON Schemas of the input files, offline.
  defineSchemasCommand(program.command('schemas'), io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(io.argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok;
      return EXIT.invalidInput;
    }
    throw error;
  }
  return exitCode;
}

async function execute(command: RunCommand, cliOptions: CliOptions, io: MainIO, planFile?: string): Promise<number> {
  const json = cliOptions.output === 'json';
  const fail = (code: number, message: string, extra: Record<string, unknown> = {}): number => {
    if (json) io.stdout(`${JSON.stringify({ command, ok: false, exitCode: code, error: { message, ...extra } }, null, 2)}\n`);
    io.stderr(`error: ${message}\n`);
    return code;
  };
  if (cliOptions.output !== 'text' && cliOptions.output !== 'json') return fail(EXIT.invalidInput, `--output must be text or json, not "${cliOptions.output}"`);
  const logger = loggerFor(cliOptions.logLevel, io);
  if (typeof logger === 'string') return fail(EXIT.invalidInput, logger);

  const cwd = process.cwd();
  let runOptions: RunOptions;
  try {
    runOptions = planFile === undefined ? optionsFromCommandLine(command, cliOptions, io, logger) : optionsFromSavedPlan(planFile, cliOptions);
  } catch (error) {
    if (error instanceof ConfigError) return invalidInput(command, error, json, io);
    if (error instanceof UsageError) return fail(EXIT.invalidInput, error.message);
    throw error;
  }
  const out = command === 'plan' ? cliOptions.out : undefined;
  if (out !== undefined) runOptions.digestSalt = newSalt();

  let outcome: RunOutcome;
  // validate sends no request: nothing to wait for, and a signal ends it as it ends any program.
  const signals = command === 'validate' ? { dispose() {} } : listenForSignals(io, runOptions.requestTimeoutMs, logger);
  try {
    outcome = await run(runOptions, { env: io.env, logger, fetch: io.fetch, interrupt: signals.interrupt });
  } catch (error) {
    if (error instanceof ConfigError) return invalidInput(command, error, json, io);
    const failure = failureOf(error);
    return fail(failure.code, failure.message, failure.extra);
  } finally {
    signals.dispose();
  }

  const readFailed = outcome.planned?.some((kind) => kind.error || kind.items.some((item) => item.problem)) ?? false;
  const applyFailed = outcome.results?.some((result) => result.outcome === 'failed') ?? false;
  const pending = outcome.planned?.some((kind) => kind.items.some((item) => item.action !== 'noop')) ?? false;
  let code: number = EXIT.ok;
  if (outcome.stopped) code = stopCode(outcome.stopped);
  else if (readFailed || applyFailed || outcome.ownershipError) code = EXIT.applyFailed;
  else if (command === 'plan' && cliOptions.detailedExitcode && pending) code = EXIT.changesPending;

  // A plan is saved only when it is whole: every kind read, nothing stopped it.
  let savedTo: string | undefined;
  if (out !== undefined && outcome.server && outcome.inputs && outcome.planned && !outcome.stopped && !readFailed) {
    try {
      writeSavedPlan(out, { createdBy: `openem-config ${packageJson().version}`, cwd, server: outcome.server, options: plannedOptions(runOptions), inputs: outcome.inputs, kinds: outcome.planned });
      savedTo = out;
    } catch (error) {
      return fail(EXIT.invalidInput, `cannot write the plan to ${out}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  } else if (out !== undefined && code === EXIT.ok) {
    code = EXIT.applyFailed;
  }

  const warnings = sortIssues(outcome.warnings);
  if (!json && warnings.length > 0) io.stderr(renderIssues(warnings));
  if (json) {
    io.stdout(`${JSON.stringify({ ...toJson({ ...outcome, warnings }, code), ...(savedTo === undefined ? {} : { planFile: savedTo }) }, null, 2)}\n`);
  } else if (command === 'validate') {
    const counts = KINDS.map((kind) => {
      const count = outcome.desired[kind.countKey] ?? 0;
      return `${count} ${kind.label[count === 1 ? 0 : 1]}`;
    });
    io.stdout(`Inputs are valid: ${counts.join(', ')}.\n`);
    if (outcome.schemasFor) io.stdout(`${schemasNote(outcome.schemasFor)}\n`);
  } else if (command === 'plan') {
    io.stdout(renderPlan(outcome.planned ?? []));
    if (savedTo !== undefined) io.stdout(`Plan saved to ${savedTo}; apply exactly it with: openem-config apply ${savedTo}\n`);
    else if (out !== undefined) io.stderr(`error: the plan was not saved to ${out}: it is not whole (see above)\n`);
  } else {
    io.stdout(renderResults(outcome.results ?? [], outcome.summary ?? new Map(), outcome.planned ?? []));
    if (outcome.stopped && outcome.results) io.stdout(renderStopped(outcome.results));
  }
  if (outcome.stopped) io.stderr(`error: ${outcome.stopped.message}\n`);
  return code;
}

/** The run the command line (over the project file) asks for. */
function optionsFromCommandLine(command: RunCommand, cliOptions: CliOptions, io: MainIO, logger: Logger): RunOptions {
  const project = projectOrThrow({ config: cliOptions.config, env: cliOptions.env, noProject: cliOptions.project === false, cwd: io.cwd ?? process.cwd() });
  if (project) logger.info({ event: 'project', file: project.file, env: project.env }, `project file ${project.file}${project.env ? `, environment ${project.env}` : ''}`);
  const options = withProject(cliOptions, project, givenOnCommandLine.get(cliOptions) ?? (() => true));
  return {
    command,
    selection: parseSelection(options.only ?? [], KINDS),
    variables: options.variables,
    secrets: options.secrets,
    secretsDirs: options.secretsDir,
    secretPairs: options.secret,
    limits: options.limits,
    deployments: options.deployments,
    flowsDir: options.flowsDir,
    prefectVersion: options.prefectVersion,
    pinnedPrefectVersion: packageJson().openemConfig.prefectVersion,
    fromEnv: options.fromEnv,
    stringValues: options.stringValues ?? false,
    keepTrailingNewline: options.keepTrailingNewline ?? false,
    strict: options.strict ?? false,
    stepOutputs: options.stepOutput,
    // validate has no connection options; the defaults are never used there.
    ...connectionSettings({ waitTimeout: 120, requestTimeout: 90, retries: 6, ...options }),
    concurrency: options.concurrency ?? 1,
    prune: options.prune ?? false,
    only: options.only ?? [],
  };
}

/**
 * `apply FILE`: the inputs and what the run does come from the saved plan, the server too unless
 * --api-url names it (the plan is refused for another). Only how to talk to the server (timeouts,
 * retries, concurrency) and the report's form come from the command line.
 */
function optionsFromSavedPlan(planFile: string, cliOptions: CliOptions): RunOptions {
  const given = givenOnCommandLine.get(cliOptions) ?? (() => false);
  const refused = PLANNED_OPTIONS.filter(([key]) => given(key)).map(([, flag]) => flag);
  if (refused.length > 0) {
    throw new UsageError(`apply ${planFile} takes its inputs and options from the saved plan: leave out ${refused.join(', ')} (or run plan --out again with them)`);
  }
  const saved = readSavedPlan(planFile);
  const planned = saved.options;
  return {
    command: 'apply',
    savedPlan: saved,
    selection: parseSelection(planned.only, KINDS),
    ...planned,
    pinnedPrefectVersion: packageJson().openemConfig.prefectVersion,
    ...connectionSettings({ waitTimeout: 120, requestTimeout: 90, retries: 6, ...cliOptions, apiUrl: cliOptions.apiUrl ?? saved.server.url }),
    concurrency: cliOptions.concurrency ?? 1,
    cwd: process.cwd(),
  };
}

/** What a saved plan records of a run's options: what `apply FILE` runs again. */
function plannedOptions(options: RunOptions): PlannedOptions {
  return {
    variables: options.variables,
    secrets: options.secrets,
    secretsDirs: options.secretsDirs,
    secretPairs: options.secretPairs,
    limits: options.limits,
    deployments: options.deployments,
    flowsDir: options.flowsDir,
    prefectVersion: options.prefectVersion,
    fromEnv: options.fromEnv,
    stringValues: options.stringValues,
    keepTrailingNewline: options.keepTrailingNewline,
    strict: options.strict ?? false,
    stepOutputs: options.stepOutputs ?? [],
    prune: options.prune,
    only: options.only ?? [],
  };
}

/** Which Prefect release the parameter schemas read from flow files were derived for, and why that one. */
function schemasNote({ version, source }: NonNullable<RunOutcome['schemasFor']>): string {
  const why = source === 'option' ? "given with --prefect-version or the project file's prefect_version" : source === 'server' ? "the server's release" : 'the pinned release, as no server is asked offline; --prefect-version derives them for another';
  return `Parameter schemas read from flow files are derived as Prefect ${version} derives them (${why}).`;
}

/** Input errors: every issue with its place, and exit 3; nothing was sent. */
function invalidInput(command: RunCommand, error: ConfigError, json: boolean, io: MainIO): number {
  const issues = sortIssues(error.issues);
  if (json) io.stdout(`${JSON.stringify({ command, ok: false, exitCode: EXIT.invalidInput, error: { message: 'invalid input', issues } }, null, 2)}\n`);
  io.stderr(renderIssues(issues));
  io.stderr(`${issues.length} problem${issues.length === 1 ? '' : 's'} in the inputs; nothing was sent to the server.\n`);
  return EXIT.invalidInput;
}

function stopCode(stopped: Stopped): number {
  if (stopped.reason === 'unauthorized') return EXIT.unauthorized;
  if (stopped.reason === 'unreachable') return EXIT.unreachable;
  return stopped.signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
}

/**
 * How long requests in flight may go on after SIGTERM or SIGINT before they are cut, and how much
 * longer the ownership record of what the run applied may take after that: together less than the
 * 10 s `docker stop` waits before SIGKILL, so the report is always printed.
 */
const GRACE_MS = 5000;
const RECORD_GRACE_MS = 3000;

/**
 * SIGTERM and SIGINT during a run: the first stops the run (no object is started after it) and
 * gives the requests in flight up to the grace period, then the ownership record its own short
 * one; the second, or the end of each period, cuts them. The report is printed either way.
 */
function listenForSignals(io: MainIO, requestTimeoutMs: number, logger: Logger): { interrupt?: Interrupt; dispose(): void } {
  if (!io.onSignal) return { dispose() {} };
  const bounded = (ms: number) => (requestTimeoutMs > 0 ? Math.min(ms, requestTimeoutMs) : ms);
  const graceMs = bounded(GRACE_MS);
  const recordMs = bounded(RECORD_GRACE_MS);
  const requested = new AbortController();
  const cut = new AbortController();
  const end = new AbortController();
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  const unsubscribe = io.onSignal((signal) => {
    if (requested.signal.aborted) {
      logger.warn({ event: 'signal', signal }, `${signal} again: cutting the requests in flight`);
      cut.abort(requested.signal.reason);
      end.abort(requested.signal.reason);
      return;
    }
    const reason = new InterruptedError(signal);
    requested.abort(reason);
    timers.push(
      setTimeout(() => cut.abort(reason), graceMs),
      setTimeout(() => end.abort(reason), graceMs + recordMs),
    );
    logger.warn(
      { event: 'signal', signal, graceMs, recordMs },
      `${signal}: stopping; no object is started any more, requests in flight get up to ${graceMs / 1000} s, then recording what this run applied ` +
        `up to ${recordMs / 1000} s (send ${signal} again to cut them now)`,
    );
  });
  return {
    interrupt: { requested: requested.signal, cut: cut.signal, end: end.signal },
    dispose() {
      for (const timer of timers) clearTimeout(timer);
      unsubscribe();
    },
  };
}

function toJson(outcome: RunOutcome, exitCode: number): Record<string, unknown> {
  return {
    command: outcome.command,
    ok: exitCode === EXIT.ok || exitCode === EXIT.changesPending,
    exitCode,
    server: outcome.server,
    schemasFor: outcome.schemasFor,
    desired: outcome.desired,
    warnings: outcome.warnings,
    errors: outcome.planned?.filter((kind) => kind.error).map((kind) => ({ kind: kind.name, error: kind.error })),
    // Changes inside documents at the paths that differ, as the text plan shows them (all of them here).
    items: (outcome.results ?? outcome.planned?.flatMap((kind) => kind.items))?.map((item) => ({ ...item, changes: expandChanges(item.changes, item.action) })),
    summary: outcome.summary ? Object.fromEntries(outcome.summary) : undefined,
    requests: outcome.requests,
    error: outcome.stopped
      ? { message: outcome.stopped.message, reason: outcome.stopped.reason, ...(outcome.stopped.signal && { signal: outcome.stopped.signal }) }
      : undefined,
    stopped: outcome.stopped && outcome.results ? stopCounts(outcome.results) : undefined,
  };
}
