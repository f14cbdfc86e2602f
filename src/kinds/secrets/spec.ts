// Secret files become Prefect `secret` blocks. A secret's content never reaches a message.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { IssueList } from '../../errors.js';
import { describeFsError, readTextFile } from '../../config/files.js';
import { nameError, nameProblem, oneLine, showName } from '../../config/names.js';
import { COMMAND_LINE, type DesiredSecret } from '../../config/types.js';

export interface SecretsOptions {
  env: Record<string, string | undefined>;
  /** -s NAME_FILE ...: names of environment variables holding a file path. */
  fileEnvNames: string[];
  /** --secrets-dir DIR: every regular file in it is a secret, named from its file name. */
  dirs: string[];
  /** --secret name=PATH */
  pairs: string[];
  keepTrailingNewline: boolean;
}

const FILE_SUFFIX = '_FILE';
const MAX_SECRET_BYTES = 1024 * 1024;

/** Where one secret comes from, before its file is read. */
interface Candidate {
  name: string;
  path: string;
  /** The argument that named it, e.g. `-s S3_USER_FILE`. */
  key: string;
}

/** `IDP_CLIENT_SECRET_FILE` -> `idp-client-secret`: the `_FILE` suffix removed, lower case, `_` -> `-`. */
export function secretNameFromEnv(envName: string): string {
  const stem = envName.endsWith(FILE_SUFFIX) ? envName.slice(0, -FILE_SUFFIX.length) : envName;
  return stem.toLowerCase().replaceAll('_', '-');
}

export function loadSecrets(options: SecretsOptions, issues: IssueList): DesiredSecret[] {
  const candidates = [
    ...options.fileEnvNames.flatMap((envName) => fromEnvName(envName, options.env, issues)),
    ...options.dirs.flatMap((dir) => fromDir(dir, issues)),
    ...options.pairs.flatMap((pair) => fromPair(pair, issues)),
  ];
  const chosen = new Map<string, Candidate>();
  for (const candidate of candidates) {
    const earlier = chosen.get(candidate.name);
    if (earlier) {
      issues.error(
        { file: candidate.path, key: candidate.key },
        `secret \`${candidate.name}\` is also given by ${earlier.key} (${earlier.path}); give each secret one source`,
      );
    } else {
      chosen.set(candidate.name, candidate);
    }
  }
  const secrets: DesiredSecret[] = [];
  for (const { name, path, key } of chosen.values()) {
    const value = readSecret(path, key, options.keepTrailingNewline, issues);
    if (value !== undefined) secrets.push({ name, value, source: { file: path, key } });
  }
  return secrets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function fromEnvName(envName: string, env: Record<string, string | undefined>, issues: IssueList): Candidate[] {
  // Arguments are shown escaped, so that every issue stays one line.
  const key = `-s ${oneLine(envName)}`;
  const at = { file: COMMAND_LINE, key };
  if (!envName.endsWith(FILE_SUFFIX)) {
    issues.error(at, `${envName} must end with ${FILE_SUFFIX}: it names the environment variable holding the path of the secret file, e.g. -s S3_PASSWORD_FILE`);
    return [];
  }
  const name = secretNameFromEnv(envName);
  const problem = nameProblem('secret block', name);
  if (problem) {
    issues.error(at, `${envName} gives the block name ${showName(name)}, which ${problem} (rename the environment variable)`);
    return [];
  }
  const path = env[envName];
  if (!path) {
    issues.error(at, `${envName} is not set; set ${envName} to the path of the file holding the secret`);
    return [];
  }
  return [{ name, path, key }];
}

function fromDir(dir: string, issues: IssueList): Candidate[] {
  const key = `--secrets-dir ${oneLine(dir)}`;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    issues.error({ file: dir, key }, describeFsError(error, 'secrets directory'));
    return [];
  }
  // Dotfiles include Kubernetes' `..data` and `..2024_...` entries, which sit beside the symlinks it mounts.
  return entries
    .filter((entry) => !entry.startsWith('.'))
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (isNotRegularFile(path)) return [];
      const name = entry.toLowerCase().replaceAll('_', '-');
      const problem = nameProblem('secret block', name);
      if (problem) {
        issues.error({ file: oneLine(path), key }, `the file name gives the block name ${showName(name)}, which ${problem} (rename the file)`);
        return [];
      }
      return [{ name, path, key }];
    });
}

/** statSync follows symlinks, as Kubernetes mounts secrets; paths it cannot follow are left to readTextFile to report. */
function isNotRegularFile(path: string): boolean {
  try {
    return !statSync(path).isFile();
  } catch {
    return false;
  }
}

function fromPair(pair: string, issues: IssueList): Candidate[] {
  const equals = pair.indexOf('=');
  if (equals < 1 || equals === pair.length - 1) {
    issues.error({ file: COMMAND_LINE, key: `--secret ${pair}` }, 'write --secret NAME=PATH, e.g. --secret s3-password=/run/secrets/s3_password');
    return [];
  }
  const name = pair.slice(0, equals);
  const path = pair.slice(equals + 1);
  const key = `--secret ${oneLine(name)}`;
  const problem = nameError('secret block', name);
  if (problem) {
    issues.error({ file: COMMAND_LINE, key }, problem);
    return [];
  }
  return [{ name, path, key }];
}

function readSecret(path: string, key: string, keepTrailingNewline: boolean, issues: IssueList): string | undefined {
  const text = readTextFile(path, { maxBytes: MAX_SECRET_BYTES, what: 'secret file', key, rejectEmpty: true }, issues);
  if (text === undefined || keepTrailingNewline) return text;
  // `echo secret > file` adds one newline; any other whitespace may be part of the secret.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') {
    issues.error({ file: path, key }, 'secret file holds only a newline; write the secret into it');
    return undefined;
  }
  return value;
}
