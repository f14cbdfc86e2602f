// The vars files: TOML whose keys become Prefect variables, typed, overridable from the environment.
import { z } from 'zod';
import type { IssueList, Source } from '../../errors.js';
import { dottedKey, isTable, KIND_NAMES, readTomlFile, toJsonValue, tomlKind, type TomlDocument, type TomlKind, type TomlValue } from '../../config/toml.js';
import { isObject, parseJsonText } from '../../config/json.js';
import { MAX_NAME_LENGTH, nameProblem, oneLine, showName } from '../../config/names.js';
import { COMMAND_LINE, type DesiredVariable, type JsonValue } from '../../config/types.js';

export interface VariablesOptions {
  env: Record<string, string | undefined>;
  /** --string-values: every value written as a string, like the old tool. */
  stringValues: boolean;
  /** --from-env NAME: variables that exist only in the environment. */
  fromEnv: string[];
}

/** Every variable this tool writes carries it, so that it never touches variables it did not create. */
export const MANAGED_TAG = 'openem-config';

/** The one top-level table that configures the file instead of grouping variables. */
export const CONFIG_TABLE = 'openem-config';
const nonEmptyTexts = z.array(z.string().min(1));
/** The keys of `[openem-config]` and what each holds; the editors' schema of a vars file is made from it too. */
export const varsSettingsSchema = z.strictObject({
  from_env: nonEmptyTexts.describe('variables whose value only comes from the environment variable of that name (a missing one is an error), e.g. ["S3_ENDPOINT"]').optional(),
  tags: nonEmptyTexts.describe('extra tags for every variable of this file, e.g. ["archiver"]').optional(),
});
const CONFIG_FIELDS: Record<string, z.ZodType> = varsSettingsSchema.shape;
const CONFIG_KEYS = Object.keys(CONFIG_FIELDS);
const MAX_VALUE_BYTES = 5000;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const MAX_SHOWN_ENV_VALUE = 100;

const EXPECTED_FROM_ENV: Record<TomlKind, string> = {
  string: 'any text',
  date: 'any text',
  integer: 'an integer such as 42',
  float: 'a finite number such as 0.5',
  boolean: 'true or false (or 1 or 0)',
  array: 'a JSON array such as ["a", "b"]',
  table: 'a JSON object such as {"key": "value"}',
};

interface FileVariable {
  name: string;
  /** The environment variable that overrides the value: the key as written, upper-cased. */
  envName: string;
  value: JsonValue;
  kind: TomlKind;
  tags: string[];
  source: Source;
}

interface EnvOnlyVariable {
  envName: string;
  tags: string[];
  source: Source;
}

export function loadVariables(files: string[], options: VariablesOptions, issues: IssueList): DesiredVariable[] {
  // Later files override earlier ones by variable name; the command line comes after every file.
  const fromFiles = new Map<string, FileVariable>();
  const envOnly = new Map<string, EnvOnlyVariable>();
  for (const file of files) {
    const doc = readTomlFile(file, { what: 'vars file', maxBytes: MAX_FILE_BYTES }, issues);
    if (!doc) continue;
    const config = readConfigTable(file, doc, issues);
    for (const variable of readFileVariables(file, doc, config.tags, issues)) fromFiles.set(variable.name, variable);
    for (const variable of config.fromEnv) envOnly.set(variable.envName.toLowerCase(), variable);
  }
  for (const envName of options.fromEnv) {
    const source = { file: COMMAND_LINE, key: `--from-env ${envName}` };
    if (checkName(envName, source, issues)) envOnly.set(envName.toLowerCase(), { envName, tags: [MANAGED_TAG], source });
  }

  const variables: DesiredVariable[] = [];
  const finish = (name: string, value: JsonValue, tags: string[], source: Source) => {
    const written = options.stringValues && typeof value !== 'string' ? (typeof value === 'object' ? JSON.stringify(value) : String(value)) : value;
    const bytes = Buffer.byteLength(JSON.stringify(written));
    if (bytes > MAX_VALUE_BYTES) {
      issues.error(source, `the value is ${bytes} bytes as JSON, more than the ${MAX_VALUE_BYTES} Prefect allows; shorten it or split it into several variables`);
      return;
    }
    variables.push({ name, value: written, tags: [...new Set(tags)].sort(), source });
  };
  for (const variable of fromFiles.values()) {
    const value = overridden(variable, options.env, issues);
    if (value !== undefined) finish(variable.name, value, variable.tags, variable.source);
  }
  for (const [name, variable] of envOnly) {
    // A key in a file wins: it already takes its value from the same environment variable when set.
    if (fromFiles.has(name)) continue;
    const value = envValue(options.env, variable.envName);
    if (value === undefined) {
      issues.error(variable.source, `environment variable ${variable.envName} is not set or empty; set it to the value of variable \`${name}\``);
    } else {
      finish(name, value, variable.tags, variable.source);
    }
  }
  return variables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `[openem-config]`: `from_env` names environment-only variables, `tags` adds tags to every variable of the file. */
function readConfigTable(file: string, { data, layout }: TomlDocument, issues: IssueList): { tags: string[]; fromEnv: EnvOnlyVariable[] } {
  const tags = [MANAGED_TAG];
  const fromEnv: EnvOnlyVariable[] = [];
  const table = data[CONFIG_TABLE];
  if (table === undefined) return { tags, fromEnv };
  const at = (...path: string[]): Source => ({ file, line: layout.lineOf([CONFIG_TABLE, ...path]), key: dottedKey([CONFIG_TABLE, ...path]) });
  if (!isTable(table)) {
    issues.error(at(), `[${CONFIG_TABLE}] must be a table with the keys ${CONFIG_KEYS.join(', ')}`);
    return { tags, fromEnv };
  }
  for (const [key, value] of Object.entries(table)) {
    const source = at(key);
    if (!CONFIG_KEYS.includes(key)) {
      issues.error(source, `unknown key \`${dottedKey([key])}\` in [${CONFIG_TABLE}]; the allowed keys are ${CONFIG_KEYS.join(', ')}`);
      continue;
    }
    const list = CONFIG_FIELDS[key]!.safeParse(value).success ? (value as string[]) : undefined;
    if (!list) {
      const example = key === 'tags' ? 'archiver' : 'S3_ENDPOINT';
      issues.error(source, `${key} must be a list of non-empty strings, e.g. ${key} = ["${example}"]`);
    } else if (key === 'tags') {
      tags.push(...list);
    } else {
      for (const envName of list) if (checkName(envName, source, issues)) fromEnv.push({ envName, tags, source });
    }
  }
  return { tags, fromEnv };
}

/** Top-level keys and the keys of `[group]` tables, each a variable named by its key in lower case. */
function readFileVariables(file: string, { data, layout }: TomlDocument, tags: string[], issues: IssueList): FileVariable[] {
  for (const header of layout.headers) {
    if (header.path[0] === CONFIG_TABLE) continue; // readConfigTable reports what does not belong there
    const source = { file, line: header.line, key: dottedKey(header.path) };
    const last = dottedKey([header.path.at(-1) ?? '']);
    if (header.isArray) {
      issues.error(source, `arrays of tables ([[${source.key}]]) are not supported; write \`${last} = [{ ... }]\` for an array value`);
    } else if (header.path.length > 1) {
      issues.error(source, `nested tables are not supported; write an inline table \`${last} = { ... }\` for an object value`);
    }
  }
  const found = new Map<string, FileVariable>();
  const seen = new Map<string, Source>();
  const add = (path: string[], key: string, value: TomlValue) => {
    const source = { file, line: layout.lineOf(path), key: dottedKey(path) };
    if (!checkName(key, source, issues)) return;
    const name = key.toLowerCase();
    const earlier = seen.get(name);
    if (earlier) {
      issues.error(
        source,
        `\`${source.key}\` (line ${source.line}) and \`${earlier.key}\` (line ${earlier.line}) both define variable \`${name}\`; keep one of them`,
      );
      return;
    }
    seen.set(name, source);
    const json = toJsonValue(value);
    if ('problem' in json) issues.error(source, json.problem);
    else found.set(name, { name, envName: key.toUpperCase(), value: json.value, kind: tomlKind(value), tags, source });
  };
  for (const [top, value] of Object.entries(data)) {
    if (top === CONFIG_TABLE) continue;
    // A key that no header opened is a variable, even when its value is a table (`a = {...}` or `a.b = 1`).
    if (!layout.hasHeader([top])) add([top], top, value);
    // Not a table: `[[top]]`, reported with the headers above; so are the keys opened by `[top.sub]`.
    else if (isTable(value)) for (const [key, inner] of Object.entries(value)) if (!layout.hasHeader([top, key])) add([top, key], key, inner);
  }
  return [...found.values()];
}

function checkName(written: string, source: Source, issues: IssueList): boolean {
  const problem = nameProblem('variable', written.toLowerCase());
  if (problem === undefined) return true;
  issues.error(source, `${showName(written)} cannot name a variable: in lower case it ${problem} (at most ${MAX_NAME_LENGTH} characters)`);
  return false;
}

/** The value after the environment variable named like the key, if set, replaced it (converted to the file's type). */
function overridden(variable: FileVariable, env: Record<string, string | undefined>, issues: IssueList): JsonValue | undefined {
  const text = envValue(env, variable.envName);
  if (text === undefined) return variable.value;
  const converted = fromEnvironment(text, variable.kind);
  if ('value' in converted) return converted.value;
  // A JSON value is never shown: it may be anything, a secret exported under the wrong name included.
  const json = variable.kind === 'array' || variable.kind === 'table';
  const shown = !json && text.length < MAX_SHOWN_ENV_VALUE ? ` = ${oneLine(JSON.stringify(text))}` : '';
  const why = converted.problem ? `; its value is not valid JSON at line ${converted.line}, column ${converted.column}: ${converted.problem}` : '';
  issues.error(
    variable.source,
    `environment variable ${variable.envName}${shown} cannot override this key: the file gives ${KIND_NAMES[variable.kind]}, so ${variable.envName} must be ${EXPECTED_FROM_ENV[variable.kind]}${why}; fix or unset ${variable.envName}`,
  );
  return undefined;
}

/** An empty value counts as unset: compose writes `NAME: ${NAME}` as "" when NAME is missing, which must not blank a variable. */
function envValue(env: Record<string, string | undefined>, name: string): string | undefined {
  return env[name] || undefined;
}

type Conversion = { value: JsonValue } | { problem?: string; line?: number; column?: number };

function fromEnvironment(text: string, kind: TomlKind): Conversion {
  const fits = (value: JsonValue | undefined): Conversion => (value === undefined ? {} : { value });
  switch (kind) {
    case 'string':
    case 'date':
      return { value: text };
    case 'integer': {
      const number = Number(text);
      return fits(/^[+-]?\d+$/.test(text) && Number.isSafeInteger(number) ? number : undefined);
    }
    case 'float': {
      const number = Number(text);
      return fits(text.trim() !== '' && Number.isFinite(number) ? number : undefined);
    }
    case 'boolean': {
      const word = text.toLowerCase();
      return fits(word === 'true' || word === '1' ? true : word === 'false' || word === '0' ? false : undefined);
    }
    case 'array':
    case 'table': {
      const parsed = parseJsonText(text);
      if ('problem' in parsed) return parsed;
      const isArray = Array.isArray(parsed.value);
      const ok = kind === 'array' ? isArray : isObject(parsed.value);
      return fits(ok ? parsed.value : undefined);
    }
  }
}
