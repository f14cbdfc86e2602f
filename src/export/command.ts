// The `export` subcommand: its options, the report, and the exit code. main.ts only registers it.
import type { Command } from 'commander';
import { join } from 'node:path';
import { addConnectionOptions, collect, connectionSettings, failureOf, loggerFor, type ConnectionCliOptions, type MainIO } from '../cli-common.js';
import { PROJECT_FILE, projectOrThrow } from '../config/project.js';
import { ConfigError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { renderIssues } from '../report.js';
import { commandLine } from './readme.js';
import { runExport, type ExportOutcome } from './run.js';
import type { ExportWarning, Section } from './types.js';
import { UNEXPORTED_KINDS } from './unexported.js';
import { EXPORTED_KINDS } from './verify.js';

/** What `--only` selects: the sections of the kinds' export parts, in registry order. */
export const SECTIONS: readonly Section[] = [...new Set(EXPORTED_KINDS.map((kind) => kind.export!.section))];

interface ExportCliOptions extends ConnectionCliOptions {
  config?: string;
  env?: string;
  project?: boolean;
  to: string;
  force?: boolean;
  only: string[];
  match: string[];
  output: string;
  logLevel?: string;
  allowPlainCredentials?: boolean;
}

/** Fills in `program.command('export')`; `done` receives the exit code. */
export function defineExportCommand(command: Command, io: MainIO, done: (code: number) => void): Command {
  return addConnectionOptions(command)
    .description('read a Prefect server and write the files that declare its state: vars TOML, limits manifest, prefect.yaml')
    .requiredOption('--to <dir>', 'directory to write the files into (created when missing)')
    .option('--force', 'overwrite files an earlier export wrote there')
    .option('--only <kinds>', `export only these, comma-separated: ${SECTIONS.join(',')} (repeatable)`, collect, [])
    .option('--match <glob>', 'export only objects whose name matches (* ? [..]); repeatable', collect, [])
    .option('--allow-plain-credentials', 'write credentials that match no secret block as they are (with a warning), instead of leaving them out and exiting 1')
    .option('--output <format>', 'report format: text or json', 'text')
    .option('--log-level <level>', 'debug, info, warn, error (also Prefect names; default from PREFECT_LOGGING_LEVEL, else warn)')
    .option('-c, --config <file>', `the project file whose server settings to use (default: ${PROJECT_FILE} in the current directory, when there is one)`)
    .option('--env <name>', 'the environment of the project file to use ([env.<name>])')
    .option('--no-project', `ignore ${PROJECT_FILE} in the current directory`)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (options: ExportCliOptions, self: Command) => {
      done(await executeExport(options, io, (key) => self.getOptionValueSource(key) === 'cli'));
    });
}

/** `--only variables,pools --only deployments` as sections; unknown names are an error. */
export function parseOnly(values: readonly string[]): Section[] {
  if (values.length === 0) return [...SECTIONS];
  const names = values.flatMap((value) => value.split(',')).map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !SECTIONS.includes(name));
  if (unknown.length > 0) throw new UsageError(`--only takes ${SECTIONS.join(', ')}; not ${unknown.map((name) => `"${name}"`).join(', ')}`);
  return SECTIONS.filter((section) => names.includes(section));
}

/**
 * The server settings of the project file (api_url, timeouts, retries), for those the command line
 * does not give: `export --env prod` reads the server `apply --env prod` writes to. Its inputs are
 * not read; export writes files, it does not take them.
 */
function withProjectServer(options: ExportCliOptions, io: MainIO, given: (key: string) => boolean): ExportCliOptions {
  const project = projectOrThrow({ config: options.config, env: options.env, noProject: options.project === false, cwd: io.cwd ?? process.cwd() });
  if (!project) return options;
  const p = project.settings;
  const one = <K extends keyof ExportCliOptions>(key: K, value: ExportCliOptions[K] | undefined): ExportCliOptions[K] => (given(key) || value === undefined ? options[key] : value);
  return {
    ...options,
    apiUrl: one('apiUrl', p.api_url),
    waitTimeout: one('waitTimeout', p.wait_timeout),
    requestTimeout: one('requestTimeout', p.request_timeout),
    retries: one('retries', p.retries),
  };
}

async function executeExport(options: ExportCliOptions, io: MainIO, given: (key: string) => boolean = () => true): Promise<number> {
  const json = options.output === 'json';
  const fail = (code: number, message: string, extra: Record<string, unknown> = {}): number => {
    if (json) io.stdout(`${JSON.stringify({ command: 'export', ok: false, exitCode: code, error: { message, ...extra } }, null, 2)}\n`);
    io.stderr(`error: ${message}\n`);
    return code;
  };
  if (options.output !== 'text' && options.output !== 'json') return fail(EXIT.invalidInput, `--output must be text or json, not "${options.output}"`);
  const logger = loggerFor(options.logLevel, io);
  if (typeof logger === 'string') return fail(EXIT.invalidInput, logger);

  let outcome: ExportOutcome;
  try {
    const server = withProjectServer(options, io, given);
    outcome = await runExport(
      {
        to: options.to,
        force: options.force ?? false,
        only: parseOnly(options.only),
        match: options.match,
        allowPlainCredentials: options.allowPlainCredentials ?? false,
        ...connectionSettings(server),
      },
      { env: io.env, logger, fetch: io.fetch },
    );
  } catch (error) {
    if (error instanceof ConfigError) {
      if (json) io.stdout(`${JSON.stringify({ command: 'export', ok: false, exitCode: EXIT.invalidInput, error: { message: 'invalid input', issues: error.issues } }, null, 2)}\n`);
      io.stderr(renderIssues(error.issues));
      return EXIT.invalidInput;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return fail(EXIT.applyFailed, `cannot write the export: ${(error as Error).message}`);
    const failure = failureOf(error);
    return fail(failure.code, failure.message, failure.extra);
  }

  // The files are written without the credentials; the run still fails, so that no pipeline takes
  // an export with holes for a complete one.
  const code = outcome.credentialsLeftOut.length > 0 ? EXIT.applyFailed : EXIT.ok;
  if (json) {
    io.stdout(`${JSON.stringify({ command: 'export', ok: code === EXIT.ok, exitCode: code, ...outcome }, null, 2)}\n`);
  } else {
    if (outcome.warnings.length > 0) io.stderr(renderWarnings(outcome.warnings));
    io.stdout(renderExport(outcome));
  }
  if (code !== EXIT.ok) {
    const count = outcome.credentialsLeftOut.reduce((sum, c) => sum + c.paths.length, 0);
    io.stderr(
      `error: ${count} credential${count === 1 ? ' was' : 's were'} left out of the files (named in the warnings and the README); ` +
        'keep each in a secret block and refer to it, then export again, or pass --allow-plain-credentials to write them\n',
    );
  }
  return code;
}

export function renderWarnings(warnings: readonly ExportWarning[]): string {
  return warnings.map((warning) => `warning: ${warning.subject}: ${warning.message}\n`).join('');
}

export function renderExport(outcome: ExportOutcome): string {
  const width = Math.max(...outcome.files.map((file) => file.path.length));
  const lines = [`Exported Prefect ${outcome.server.version} at ${outcome.server.url} to ${outcome.dir}:`];
  for (const file of outcome.files) lines.push(`  ${file.path.padEnd(width)}  ${file.summary}`);
  const counted = EXPORTED_KINDS.map((kind) => {
    const count = outcome.counts[kind.countKey] ?? 0;
    const note = kind.export?.countNote ? ` (${kind.export.countNote})` : '';
    return `${count} ${kind.label[count === 1 ? 0 : 1]}${note}`;
  });
  lines.push(`${counted.join(', ')}.`);
  if (outcome.warnings.length > 0) {
    lines.push(`${outcome.warnings.length} warning${outcome.warnings.length === 1 ? '' : 's'} (on stderr): ${warningTopics(outcome.warnings, outcome.dir)}.`);
  }
  lines.push(
    'Apply them, from that directory, with:',
    ...commandLine('apply', outcome.args).split('\n').map((line) => `  ${line}`),
    `or, with the project file it holds, \`openem-config apply\` in that directory (or -c ${join(outcome.dir, PROJECT_FILE)}).`,
  );
  return `${lines.join('\n')}\n`;
}

/** Singular and plural of every kind a warning's subject may name. */
const NOUNS: ReadonlyArray<readonly [string, string]> = [
  ...EXPORTED_KINDS.map((kind) => kind.label),
  ...UNEXPORTED_KINDS.map((kind): [string, string] => [kind.label, kind.label.endsWith('h') ? `${kind.label}es` : `${kind.label}s`]),
];

/**
 * The kind a warning's subject names: `deployment "flow/name"`, `block secret/x`, or a kind as a
 * whole (`variables`); the export directory itself for files left there.
 */
function subjectNoun(subject: string, dir: string): readonly [string, string] {
  if (subject === dir) return ['the export directory', 'the export directory'];
  const noun = NOUNS.find(([one, many]) => subject === one || subject === many || subject.startsWith(`${one} `));
  return noun ?? [subject, subject];
}

/**
 * What the warnings are about, for the summary line: `2 automations not exported, credentials of
 * 1 deployment, 1 about variables`. The warnings themselves, on stderr, say what and why.
 */
export function warningTopics(warnings: readonly ExportWarning[], dir: string): string {
  const topics = new Map<string, { count: number; noun: readonly [string, string]; phrase: (noun: string, count: number) => string }>();
  for (const warning of warnings) {
    const noun = subjectNoun(warning.subject, dir);
    const [topic, phrase]: [string, (noun: string, count: number) => string] = warning.credentials
      ? ['credentials', (n, c) => `credentials of ${c} ${n}`]
      : warning.message.startsWith('not exported')
        ? ['not exported', (n, c) => `${c} ${n} not exported`]
        : warning.message.startsWith('reads back with differences')
          ? ['differences', (n, c) => `${c} ${n} reading back with differences`]
          : ['other', (_n, c) => `${c} about ${noun[1]}`];
    const key = `${topic}\u0000${noun[0]}`;
    const entry = topics.get(key) ?? { count: 0, noun, phrase };
    entry.count += 1;
    topics.set(key, entry);
  }
  return [...topics.values()].map(({ count, noun, phrase }) => phrase(count === 1 ? noun[0] : noun[1], count)).join(', ');
}
