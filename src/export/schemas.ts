// The JSON Schemas of an export: each file apply reads starts with the line that points an editor
// at its schema, and the schemas it names are written into .schemas/ beside the files.
import { PROJECT_FILE } from '../config/project.js';
import { AUTOMATIONS_FILE } from '../kinds/automations/export.js';
import { DEPLOYMENTS_FILE } from '../kinds/deployments/export.js';
import { DOCUMENTS, schemaFile, schemaText, SCHEMAS_DIR, withDirective } from '../schemas/documents.js';
import { LIMITS_FILE } from './limits-file.js';
import type { ExportFile } from './types.js';

/** The vars files an export writes: `vars.toml`, `vars-<tags>.toml`. */
export const VARS_FILE = /^vars(-.*)?\.toml$/;

/** The schema of an exported file, by its path; undefined for files no loader reads (README, templates). */
export function schemaOf(path: string): string | undefined {
  if (path === PROJECT_FILE) return 'project';
  if (VARS_FILE.test(path)) return 'vars';
  if (path === LIMITS_FILE) return 'limits';
  if (path === DEPLOYMENTS_FILE || path === AUTOMATIONS_FILE) return 'prefect-yaml';
  return undefined;
}

/** `file` starting with the line naming its schema, when it has one. */
export function withSchemaLine(file: ExportFile): ExportFile {
  const schema = schemaOf(file.path);
  return schema ? { ...file, content: withDirective(schema, file.content) } : file;
}

/** The schema files the lines of `files` name, in the registry's order. */
export function schemaFiles(files: readonly ExportFile[]): ExportFile[] {
  const named = new Set(files.map((file) => schemaOf(file.path)));
  return DOCUMENTS.filter((document) => named.has(document.name)).map((document) => ({
    path: `${SCHEMAS_DIR}/${schemaFile(document)}`,
    content: schemaText(document),
    summary: `JSON Schema of ${document.describes}, for editors`,
  }));
}

/** Files in the schema directory named as an export names them, for the check of stale files. */
export function isSchemaFileName(name: string): boolean {
  return DOCUMENTS.some((document) => schemaFile(document) === name);
}
