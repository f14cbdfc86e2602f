// What every kind's loader is given: the input options of the command line, the environment, and
// the limits manifests (-l) already parsed and split by the kind that claims each top-level key.
import type { z } from 'zod';
import type { IssueList, Source } from '../errors.js';
import { dottedKey, readTomlFile, type TomlTable } from './toml.js';

/** The inputs of a run, as the command line (or a test) gives them. */
export interface InputOptions {
  variables: string[];
  secrets: string[];
  secretsDirs: string[];
  secretPairs: string[];
  limits: string[];
  deployments: string[];
  flowsDir?: string | undefined;
  fromEnv: string[];
  stringValues: boolean;
  keepTrailingNewline: boolean;
  /** --strict: legacy forms that would be converted and keys that would be ignored are errors. */
  strict?: boolean | undefined;
  /** Values of build and push step outputs, `step-id.field=value`. */
  stepOutputs?: string[] | undefined;
  /** The Prefect release flows' parameter schemas are derived for (src/python/versions.ts). */
  prefectVersion?: string | undefined;
}

/** No input at all: what a caller that gives only some files (export's check, tests) starts from. */
export function noInputs(): InputOptions {
  return { variables: [], secrets: [], secretsDirs: [], secretPairs: [], limits: [], deployments: [], fromEnv: [], stringValues: false, keepTrailingNewline: false };
}

/** The top-level keys of a limits manifest one kind reads. */
export interface ManifestClaim {
  claims(key: string): boolean;
  /** What the kind's keys look like, for the message on an unknown key: "[work_pools]". */
  describe: string;
  /**
   * The shape of the claimed keys, for the editors' JSON Schema of a limits manifest
   * (src/schemas/documents.ts): exact keys in `properties`, key patterns (regular expressions) in
   * `patternProperties`.
   */
  schema: { properties?: Record<string, z.ZodType>; patternProperties?: Record<string, z.ZodType> };
}

/** The keys of one manifest file that one kind claims. */
export interface ManifestPart {
  file: string;
  /** The claimed top-level keys with their TOML values (integers are bigint). */
  entries: TomlTable;
  /** The line of a key, by its whole path from the top of the file. */
  lineOf(path: readonly string[]): number | undefined;
  /** Where a key is, by its whole path: file, line and dotted key. */
  at(...path: string[]): Source;
}


const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Reads every manifest and hands each top-level key to the kind that claims it; a key no kind
 * claims is an error that lists what a manifest may hold.
 */
export function readManifests(files: readonly string[], claims: ReadonlyArray<{ name: string; manifest?: ManifestClaim | undefined }>, issues: IssueList): Map<string, ManifestPart[]> {
  const parts = new Map<string, ManifestPart[]>();
  const owners = claims.filter((kind): kind is { name: string; manifest: ManifestClaim } => kind.manifest !== undefined);
  const allowed = owners.map((kind) => kind.manifest.describe);
  const holds = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')}, or ${allowed.at(-1)}` : (allowed[0] ?? 'nothing');
  for (const file of files) {
    const doc = readTomlFile(file, { what: 'limits file', maxBytes: MAX_MANIFEST_BYTES }, issues);
    if (!doc) continue;
    const lineOf = (path: readonly string[]) => doc.layout.lineOf(path);
    const at = (...path: string[]): Source => ({ file, line: lineOf(path), key: dottedKey(path) });
    const byKind = new Map<string, TomlTable>();
    for (const [key, value] of Object.entries(doc.data)) {
      const owner = owners.find((kind) => kind.manifest.claims(key));
      if (!owner) {
        issues.error(at(key), `unknown key \`${dottedKey([key])}\`; a limits file holds ${holds}`);
        continue;
      }
      const entries = byKind.get(owner.name) ?? {};
      entries[key] = value;
      byKind.set(owner.name, entries);
    }
    for (const [name, entries] of byKind) parts.set(name, [...(parts.get(name) ?? []), { file, entries, lineOf, at }]);
  }
  return parts;
}
