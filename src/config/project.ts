// The project file: the inputs and options of a configuration repository declared once
// (`openem-config.toml` in the current directory, or -c FILE), with per-environment sections
// (`[env.prod]`, chosen with --env). Paths are relative to the file. The command line adds to it:
// repeatable options come after the file's lists, single-value options replace the file's value.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { IssueList, type Source } from '../errors.js';
import { closest } from './suggest.js';
import { dottedKey, readTomlFile, type TomlValue } from './toml.js';
import { oneLine } from './names.js';

export const PROJECT_FILE = 'openem-config.toml';

const MAX_PROJECT_BYTES = 256 * 1024;

const paths = (what: string) => z.array(z.string({ error: `must be a list of ${what}` }), { error: `must be a list of ${what}, e.g. ["a", "b"]` });
const mapping = (what: string) => z.record(z.string(), z.string({ error: `must be text: ${what}` }), { error: `must be a table of ${what}` });
const flag = z.boolean({ error: 'must be true or false' });
const seconds = z.number({ error: 'must be a number of seconds' }).min(0, 'must be 0 or more');

/** What a project file (and each of its environments) may set; every key has a command-line option. */
const SETTINGS = {
  variables: paths('vars TOML files').describe('vars TOML files (-v), relative to this file; later files win').optional(),
  secrets: paths('environment variable names').describe('environment variables holding secret file paths (-s), e.g. ["S3_USER_FILE"]').optional(),
  secrets_dir: paths('directories').describe('directories whose every file is a secret (--secrets-dir)').optional(),
  secret: mapping('block name = path of the file').describe('one secret block per entry, name = path of its file (--secret)').optional(),
  limits: paths('limits manifests').describe('limits manifests (-l): tag and global limits, blocks, work pools').optional(),
  deployments: paths('prefect.yaml files').describe('prefect.yaml files (-d): deployments and automations').optional(),
  flows_dir: z.string({ error: 'must be a path' }).describe('where the flow files of the entrypoints are (--flows-dir)').optional(),
  prefect_version: z
    .string({ error: 'must be a Prefect 3 release such as "3.9.1"' })
    .regex(/^3\.\d+\.\d+([a-z.+-][\w.+-]*)?$/, 'must be a Prefect 3 release such as "3.9.1"')
    .describe('derive parameter schemas as this Prefect release does (--prefect-version)')
    .optional(),
  from_env: paths('environment variable names').describe('variables whose value comes only from the environment (--from-env)').optional(),
  step_outputs: mapping('the value of a build or push step output').describe('values of {{ step-id.field }} in prefect.yaml, "step-id.field" = "value" (--step-output)').optional(),
  string_values: flag.describe('write every variable value as a string (--string-values)').optional(),
  keep_trailing_newline: flag.describe('keep the final newline of secret files (--keep-trailing-newline)').optional(),
  strict: flag.describe('refuse legacy prefect.yaml forms (--strict)').optional(),
  api_url: z.string({ error: 'must be a URL' }).describe('the Prefect API URL (--api-url); PREFECT_API_URL otherwise').optional(),
  wait_timeout: seconds.describe('seconds to wait for the server to be ready (--wait-timeout)').optional(),
  request_timeout: seconds.describe('timeout of one request in seconds (--request-timeout)').optional(),
  retries: z.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must be 0 or more').describe('retries of a transient failure (--retries)').optional(),
  concurrency: z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be 1 or more').describe('writes in flight at once (--concurrency)').optional(),
};

const settingsSchema = z.strictObject(SETTINGS);
export const projectSchema = z.strictObject({
  ...SETTINGS,
  env: z.record(z.string(), settingsSchema, { error: 'must be tables of environments, e.g. [env.prod]' }).describe('per-environment settings, chosen with --env NAME: lists add to the ones above, values replace them').optional(),
});

export type ProjectSettings = z.infer<typeof settingsSchema>;

/** The settings a run takes from a project file, paths made absolute. */
export interface Project {
  file: string;
  env?: string | undefined;
  settings: ProjectSettings;
}

/** TOML integers are bigint here; the schema wants numbers. */
function plain(value: TomlValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
  return value;
}

const LIST_PATHS = ['variables', 'secrets_dir', 'limits', 'deployments'] as const;

function withPaths(settings: ProjectSettings, base: string): ProjectSettings {
  const out: ProjectSettings = { ...settings };
  const at = (path: string) => (isAbsolute(path) ? path : join(base, path));
  for (const key of LIST_PATHS) if (out[key]) out[key] = out[key].map(at);
  if (out.flows_dir !== undefined) out.flows_dir = at(out.flows_dir);
  if (out.secret) out.secret = Object.fromEntries(Object.entries(out.secret).map(([name, path]) => [name, at(path)]));
  return out;
}

/** The environment's settings over the file's own: lists and tables add to them, values replace them. */
function overlay(base: ProjectSettings, env: ProjectSettings): ProjectSettings {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(env)) {
    const earlier = out[key];
    if (Array.isArray(value) && Array.isArray(earlier)) out[key] = [...earlier, ...value];
    else if (value !== null && typeof value === 'object' && !Array.isArray(value) && earlier !== null && typeof earlier === 'object') out[key] = { ...earlier, ...value };
    else out[key] = value;
  }
  return out as ProjectSettings;
}

/**
 * The project file of a run: `-c FILE`, else `openem-config.toml` in `cwd` when there is one
 * (unless `noProject`). Undefined when there is none; issues (file, line, key) when it is wrong.
 */
export function loadProject(options: { config?: string | undefined; env?: string | undefined; noProject?: boolean | undefined; cwd: string }, issues: IssueList): Project | undefined {
  const found = options.config !== undefined ? resolve(options.cwd, options.config) : options.noProject ? undefined : join(options.cwd, PROJECT_FILE);
  if (found === undefined || (options.config === undefined && !existsSync(found))) {
    if (options.env !== undefined) {
      issues.error({ file: found ?? join(options.cwd, PROJECT_FILE) }, `--env ${oneLine(options.env)} needs a project file: there is no ${PROJECT_FILE} here; give one with -c FILE`);
    }
    return undefined;
  }
  const doc = readTomlFile(found, { what: 'project file', maxBytes: MAX_PROJECT_BYTES }, issues);
  if (!doc) return undefined;
  const at = (path: readonly PropertyKey[]): Source => {
    const keys = path.filter((part): part is string => typeof part === 'string');
    return { file: found, line: doc.layout.lineOf(keys) ?? doc.layout.lineOf(keys.slice(0, -1)), key: dottedKey(keys) };
  };
  const parsed = projectSchema.safeParse(plain(doc.data));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const allowed = issue.path.length === 0 ? [...Object.keys(SETTINGS), 'env'] : Object.keys(SETTINGS);
        for (const key of issue.keys) {
          const suggestion = closest(key, allowed);
          issues.error(at([...issue.path, key]), `unknown key \`${oneLine(key)}\`;${suggestion ? ` did you mean \`${suggestion}\`?` : ''} a project file holds ${allowed.join(', ')}`);
        }
      } else {
        issues.error(at(issue.path), issue.message);
      }
    }
    return undefined;
  }
  const { env: environments, ...base } = parsed.data;
  let settings: ProjectSettings = base;
  if (options.env !== undefined) {
    const chosen = environments?.[options.env];
    if (!chosen) {
      const names = Object.keys(environments ?? {});
      const suggestion = closest(options.env, names);
      issues.error(
        { file: found },
        `--env ${oneLine(options.env)}: the project file has no [env.${oneLine(options.env)}];${suggestion ? ` did you mean ${suggestion}?` : ''} ${names.length > 0 ? `its environments are ${names.join(', ')}` : 'it declares no environment'}`,
      );
      return undefined;
    }
    settings = overlay(base, chosen);
  }
  return { file: found, env: options.env, settings: withPaths(settings, dirname(found)) };
}

/** Loads the project file or throws its issues; a convenience for the commands. */
export function projectOrThrow(options: Parameters<typeof loadProject>[0]): Project | undefined {
  const issues = new IssueList();
  const project = loadProject(options, issues);
  issues.throwIfAny();
  return project;
}
