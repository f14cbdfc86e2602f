// Reads an export back through the kinds' own loaders and compares it with the server through the
// kinds' diffs: what apply would change on the source server is what the files do not say.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatIssue, IssueList } from '../errors.js';
import { KINDS } from '../kinds/index.js';
import type { AnyKind } from '../reconcile/kind.js';
import { loadDesired } from '../run.js';
import { describeDiff } from './describe.js';
import { LIMITS_FILE } from './limits-file.js';
import type { ApplyArguments, ExportFile, ExportWarning } from './types.js';
import { noInputs } from '../config/inputs.js';

/** A scratch directory for reading exports back, removed by `close`. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'openem-export-'));
  private count = 0;

  /** A fresh directory below the scratch directory. */
  subdir(): string {
    const dir = join(this.dir, String(++this.count));
    mkdirSync(dir);
    return dir;
  }

  /** Writes `content` as `name` in a fresh directory; returns its path. */
  file(name: string, content: string): string {
    const path = join(this.subdir(), name);
    writeFileSync(path, content);
    return path;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}


/** A kind's objects on the source server, as its export part gives them to the diff. */
export interface ExportedKind {
  kind: AnyKind;
  current: Map<string, unknown>;
}

/**
 * Writes the files to a scratch directory, loads them as `apply` would with the arguments the
 * export names (with no environment, so no override applies), and diffs every object with the
 * server. A file that does not load is a bug in the writers and throws; an object that would
 * change is returned as a warning. A difference an export announces itself (the managed tag of
 * variables, a secret reference in place of a resolved value, a credential left out) is not
 * reported again: each part's `current` gives the server as the files would leave it.
 */
export function verifyExport(
  files: readonly ExportFile[],
  args: ApplyArguments,
  exported: readonly ExportedKind[],
  scratch: Scratch,
  scratchFiles: readonly ExportFile[] = [],
): ExportWarning[] {
  const dir = scratch.subdir();
  // The secret files the export asks for, with the server's values, exist only here, in a private
  // scratch directory that is removed at the end of the export.
  for (const file of [...files, ...scratchFiles]) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
  const inDir = (paths: readonly string[]) => paths.map((path) => join(dir, path));
  const issues = new IssueList();
  const desired = loadDesired(
    { ...noInputs(), variables: inDir(args.variables), limits: inDir(args.limits.filter((path) => path === LIMITS_FILE)), deployments: inDir(args.deployments) },
    {},
    issues,
  );
  if (issues.errors.length > 0) {
    const shown = issues.errors.map((issue) => `  ${formatIssue({ ...issue, file: issue.file.replace(`${dir}/`, '') })}`).join('\n');
    throw new Error(`the exported files do not load back (a bug in export, please report it):\n${shown}`);
  }
  const warnings: ExportWarning[] = [];
  for (const { kind, current } of exported) {
    const reconcile = kind.reconcile();
    for (const item of desired.get(kind)) {
      const key = kind.key(item);
      const diff = reconcile.diff(item, current.get(key));
      if (diff.action !== 'noop') {
        warnings.push({ subject: `${kind.label[0]} "${key}"`, message: `reads back with differences, which apply would write to this server: ${describeDiff(diff)}` });
      }
    }
  }
  return warnings;
}

/** Every kind that has an export part, in registry order. */
export const EXPORTED_KINDS: readonly AnyKind[] = KINDS.filter((kind) => kind.export !== undefined);
