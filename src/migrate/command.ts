// The `migrate` subcommand: prefect.yaml files rewritten from their legacy forms into the current
// ones (rewrite.ts), in place or to stdout, a line for each change, and the exit code. main.ts
// only registers it.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { MainIO } from '../cli-common.js';
import { readTextFile } from '../config/files.js';
import { oneLine } from '../config/names.js';
import { IssueList } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { MAX_DEPLOYMENTS_FILE_BYTES } from '../kinds/deployments/spec.js';
import { renderIssues, sortIssues } from '../report.js';
import { migrateText } from './rewrite.js';

interface MigrateCliOptions {
  check?: boolean;
  stdout?: boolean;
}

const HELP_AFTER = `
Rewrites what the deployments reader converts or ignores with a warning (the single \`schedule:\`,
\`schedule: null\`, \`catchup\` and \`max_active_runs: null\` in a schedule, \`is_paused\`, a top-level
\`version\`, \`work_pool.type\`, ...) into the form Prefect 3 reads, exactly as \`validate\` reads it.
Comments, anchors, aliases and the order of keys are kept; a form inside an anchor is rewritten
once, where the anchor is. A form that validate refuses is left as it is and reported, with what
to write instead.

Exit codes: 0 the files are in the current form (or were rewritten); 2 with --check, a file would
change; 3 a file cannot be read, does not parse, or has forms left to fix by hand.

Examples:
  openem-config migrate prefect.yaml
  openem-config migrate --check deploy/*.yaml
  openem-config migrate --stdout prefect.yaml > prefect.migrated.yaml
`;

/** Fills in `program.command('migrate')`; `done` receives the exit code. */
export function defineMigrateCommand(command: Command, io: MainIO, done: (code: number) => void): Command {
  return command
    .description('rewrite the legacy forms of prefect.yaml files (Prefect 2-era keys, the single schedule) into the current ones, in place')
    .argument('<file...>', 'prefect.yaml files to rewrite')
    .option('--check', 'change nothing; exit 2 when a file would change (for CI)')
    .option('--stdout', 'write the rewritten file to stdout instead of in place (one file); the changes go to stderr')
    .addHelpText('after', HELP_AFTER)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action((files: string[], options: MigrateCliOptions) => {
      done(executeMigrate(files, options, io));
    });
}

function executeMigrate(files: string[], options: MigrateCliOptions, io: MainIO): number {
  const usage = (message: string) => {
    io.stderr(`error: ${message}\n`);
    return EXIT.invalidInput;
  };
  if (options.check && options.stdout) return usage('--check and --stdout do not go together: --check writes nothing, --stdout writes the rewritten file');
  if (options.stdout && files.length > 1) return usage(`--stdout writes one file, and ${files.length} were given; run migrate once for each, or leave out --stdout to rewrite them in place`);

  const issues = new IssueList();
  // With --stdout, stdout holds the file: the report goes to stderr.
  const report = options.stdout ? io.stderr : io.stdout;
  let pending = 0;
  let bug = false;
  for (const file of new Set(files)) {
    const shown = oneLine(file);
    const text = readTextFile(file, { what: 'deployments file', maxBytes: MAX_DEPLOYMENTS_FILE_BYTES, rejectEmpty: true }, issues);
    const errorsBefore = issues.errors.length;
    const result = text === undefined ? undefined : migrateText(text, file, issues);
    if (!result) continue;
    const left = issues.errors.length - errorsBefore;
    if (!result.ok) {
      bug = true;
      io.stderr(`error: ${shown}: migrate would change what the file declares (${result.reason}); nothing was written. This is a bug: please report it\n`);
      continue;
    }
    const count = result.changes.length;
    for (const { line, change } of result.changes) report(`${shown}:${line}: ${change}\n`);
    if (options.stdout) {
      io.stdout(result.text);
    } else if (count > 0 && !options.check) {
      try {
        writeFileSync(file, result.text);
      } catch (error) {
        issues.error({ file }, `cannot write the rewritten file (${(error as NodeJS.ErrnoException).code ?? 'error'}); check that it is writable, or use --stdout`);
        continue;
      }
    }
    const byHand = left > 0 ? `; ${plural(left, 'form')} left to fix by hand` : '';
    if (count === 0) report(left > 0 ? `${shown}: nothing rewritten${byHand}\n` : `${shown}: no legacy form, nothing to rewrite\n`);
    else if (options.check) report(`${shown}: ${plural(count, 'change')} to make; --check wrote nothing${byHand}\n`);
    else if (!options.stdout) report(`${shown}: ${plural(count, 'change')} written${byHand}\n`);
    if (count > 0) pending++;
  }

  const sorted = sortIssues(issues.items);
  if (sorted.length > 0) io.stderr(renderIssues(sorted));
  const errors = sorted.filter((issue) => issue.severity !== 'warning').length;
  if (errors > 0) io.stderr(`${plural(errors, 'problem')} in the files; fix each as it says, then run migrate again.\n`);
  if (bug) return EXIT.internal;
  if (errors > 0) return EXIT.invalidInput;
  return options.check && pending > 0 ? EXIT.changesPending : EXIT.ok;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
