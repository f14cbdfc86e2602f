// Writes the export into its directory: every file is checked before the first is written, so
// an export either refuses (a file exists and --force is not given) or writes them all.
import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { UsageError } from '../errors.js';
import { PROJECT_FILE } from '../config/project.js';
import { AUTOMATIONS_FILE } from '../kinds/automations/export.js';
import { DEPLOYMENTS_FILE } from '../kinds/deployments/export.js';
import { TEMPLATES_DIR } from '../kinds/work-pools/export.js';
import { LIMITS_FILE } from './limits-file.js';
import { SCHEMAS_DIR } from '../schemas/documents.js';
import { isSchemaFileName, VARS_FILE } from './schemas.js';
import { README_FILE } from './readme.js';
import { compareText, listNames, type ExportFile, type ExportWarning } from './types.js';

/** Writes `files` below `dir`; returns warnings about files an earlier export left there (with --force). */
export function writeExport(dir: string, files: readonly ExportFile[], options: { force: boolean }): ExportWarning[] {
  if (existsSync(dir) && !lstatSync(dir).isDirectory()) throw new UsageError(`--to ${dir} is not a directory; give a directory (it is created when missing)`);
  const existing = files.map((file) => file.path).filter((path) => existsSync(join(dir, path))).sort(compareText);
  if (existing.length > 0 && !options.force) {
    throw new UsageError(
      `${dir} already holds ${listNames(existing)}; export into an empty directory, or pass --force to overwrite ${existing.length === 1 ? 'it' : 'them'}`,
    );
  }
  const written = new Set(files.map((file) => file.path));
  const stale = exportLikeFiles(dir).filter((path) => !written.has(path));
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
  if (stale.length === 0) return [];
  return [
    {
      subject: dir,
      message: `also holds ${listNames(stale)}, which this export did not write (left from an earlier export?); delete ${stale.length === 1 ? 'it' : 'them'} so that nobody applies ${stale.length === 1 ? 'it' : 'them'} by mistake`,
    },
  ];
}

/** Files in `dir` named as an export names its files. */
function exportLikeFiles(dir: string): string[] {
  const list = (path: string) => {
    try {
      return readdirSync(path, { withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name);
    } catch {
      return [];
    }
  };
  const top = list(dir).filter((name) => VARS_FILE.test(name) || [LIMITS_FILE, DEPLOYMENTS_FILE, AUTOMATIONS_FILE, PROJECT_FILE, README_FILE].includes(name));
  const below = (sub: string, named: (name: string) => boolean) =>
    list(join(dir, sub))
      .filter(named)
      .map((name) => relative(dir, join(dir, sub, name)).split('\\').join('/'));
  const templates = below(TEMPLATES_DIR, (name) => name.endsWith('.json'));
  return [...top, ...templates, ...below(SCHEMAS_DIR, isSchemaFileName)].sort(compareText);
}
