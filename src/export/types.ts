// The shapes an export passes between reading the server, building the files and writing them.

/** What `--only` selects: the sections of the kinds' export parts. */
export type Section = string;

/** Something on the server the files cannot say, or can say only with a difference the operator should know. */
export interface ExportWarning {
  /** The object, e.g. `variable "retries"`, `deployment "flow/name"`, or a kind for a list. */
  subject: string;
  message: string;
  /**
   * Credentials this warning is about, by key path (never by value): left out of the files, which
   * makes the export exit 1, or written as they are with --allow-plain-credentials.
   */
  credentials?: { paths: string[]; written: boolean } | undefined;
}

/**
 * What an export does with a value that looks like a credential and matches no secret block. The
 * export context carries it beside the fields every kind reads (see `credentialPolicy`).
 */
export interface CredentialPolicy {
  /** `--allow-plain-credentials`: write such values as they are (still with a warning). */
  allowPlainCredentials: boolean;
}

/** The policy an export part was given; a context without one (a test, another caller) withholds. */
export function credentialPolicy(context: object): CredentialPolicy {
  return { allowPlainCredentials: 'allowPlainCredentials' in context && context.allowPlainCredentials === true };
}

export interface ExportFile {
  /** Relative to the export directory, with `/`. */
  path: string;
  content: string;
  /** What the file holds, for the report: `12 variables`. */
  summary: string;
}

/** How the files are applied: the arguments of the openem-config command line, in order. */
export interface ApplyArguments {
  variables: string[];
  /** `-s NAME_FILE` per secret block. */
  secretEnvNames: string[];
  /** `--secret name=PATH` for a block whose name no `NAME_FILE` gives. */
  secretPairs: string[];
  limits: string[];
  deployments: string[];
}

/** How many objects of each kind were exported, by the kind's countKey. */
export type ExportCounts = Record<string, number>;

/** A secret block the export names: its value is never written. */
export interface SecretEntry {
  /** The block name. */
  name: string;
  /** `S3_USER_FILE` for `s3-user`: `-s S3_USER_FILE` reads the file whose path it holds. */
  envName?: string | undefined;
}

/** Lists names in a warning without letting a large server flood the terminal. */
export function listNames(names: readonly string[], max = 20): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
