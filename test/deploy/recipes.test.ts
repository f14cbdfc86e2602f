// The deployment recipes in deploy/ checked without a container engine: they parse, name files that
// exist, wire secrets and start order as documented, and hand the CLI a command line its `validate`
// accepts once the container paths are mapped onto files here.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createLogger } from '../../src/log.js';
import { EXIT } from '../../src/exit-codes.js';
import { main } from '../../src/main.js';

const repo = resolve(import.meta.dirname, '..', '..');
const deploy = join(repo, 'deploy');
const read = (path: string) => readFileSync(path, 'utf8');
/** The Dockerfile's USER, which every recipe must run as. */
const IMAGE_USER = 1000;
const VALID = /^Inputs are valid: 13 variables, 6 secrets, 2 tag limits, 0 global limits, 0 blocks, 2 work pools, 4 deployments, 0 deployment triggers, 0 automations\.$/m;

const scratch = mkdtempSync(join(tmpdir(), 'openem-recipes-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;
const newDir = (name: string) => {
  const dir = join(scratch, `${scratchCount++}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

// ---------------------------------------------------------------------------------------------
// Helpers

type Json = Record<string, unknown>;
const obj = (value: unknown, what: string): Json => {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not a mapping`);
  return value as Json;
};
const list = (value: unknown, what: string): unknown[] => {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list`);
  return value;
};

/** Options of apply and plan that validate, needing no server, does not take; each takes a value. */
const SERVER_OPTIONS = new Set(['--api-url', '--wait-timeout', '--request-timeout', '--retries', '--concurrency']);

/**
 * Runs the recipe's command line in-process, the way bin/openem-config does: first `validate` on
 * its input options, then as given (apply) against a server that cannot be reached, which must get
 * past the inputs to the connection (exit 4, not 3) and so accepts the server options too.
 */
async function runCli(argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; applyCode: number; applyStderr: string }> {
  const once = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((stderr += chunk.toString()), done()) });
    const code = await main({
      argv: args,
      env,
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      logger: createLogger({ level: 'warn', pretty: false, destination: sink }),
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      },
    });
    return { code, stdout, stderr };
  };
  const inputs = argv.filter((arg, i) => !SERVER_OPTIONS.has(arg) && !SERVER_OPTIONS.has(argv[i - 1] ?? ''));
  const validated = await once(['validate', ...inputs]);
  const applied = await once([...argv, '--wait-timeout', '0', '--retries', '0']);
  return { ...validated, applyCode: applied.code, applyStderr: applied.stderr };
}

/** The outcome every recipe must reach: valid inputs, and an apply that only fails for want of a server. */
function expectAccepted(result: Awaited<ReturnType<typeof runCli>>): void {
  // The one warning a recipe may give: without the flow code mounted (--flows-dir), the
  // deployments' parameter schemas are left as the server has them.
  const unexpected = result.stderr.split('\n').filter((line) => line && !/^warning: .*no parameter_openapi_schema and no --flows-dir/.test(line));
  expect(unexpected).toEqual([]);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(VALID);
  expect(result.applyStderr).not.toMatch(/unknown option|invalid/i);
  expect(result.applyCode, result.applyStderr).toBe(EXIT.unreachable);
}

/** Container paths onto host paths: the longest mount target that is a prefix of the path wins. */
function pathMapper(mounts: Array<{ target: string; source: string }>): (value: string) => string {
  const sorted = [...mounts].sort((a, b) => b.target.length - a.target.length);
  return (value) => {
    for (const { target, source } of sorted) {
      if (value === target) return source;
      if (value.startsWith(`${target}/`)) return join(source, value.slice(target.length + 1));
    }
    return value;
  };
}

/** A `KEY=value` file as Compose reads it with --env-file: comments and blank lines skipped, no quoting used. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`not a KEY=value line: ${line}`);
    env[match[1]!] = match[2]!;
  }
  return env;
}

/** Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, dollar, name, op, arg, bare) => {
    if (dollar === '$') return '$';
    if (bare) return vars[bare] ?? '';
    const value = vars[name as string];
    const missing = op?.startsWith(':') ? !value : value === undefined;
    if (!op) return value ?? '';
    if (!missing) return value!;
    if (op.endsWith('?')) throw new Error(`required variable ${name} is missing: ${arg}`);
    return arg as string;
  });
}

/**
 * The subset of Helm's template language the chart uses; anything else fails the test rather than
 * passing unchecked. Actions: a pipeline, and `range $key, $value := PIPELINE` ... `end`, which, as
 * in Go templates, walks a map in key order and rebinds `.` to the element.
 */
function renderHelm(template: string, context: Json): string {
  type Token = { text: string } | { action: string };
  type Node = { text: string } | { action: string } | { range: { key: string; value: string; over: string }; body: Node[] };
  interface Scope {
    dot: unknown;
    vars: Record<string, unknown>;
  }

  const tokens: Token[] = [];
  let rest = template;
  for (;;) {
    const match = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/s.exec(rest);
    if (!match) {
      tokens.push({ text: rest });
      break;
    }
    let before = rest.slice(0, match.index);
    if (match[1]) before = before.replace(/\s+$/, '');
    tokens.push({ text: before }, { action: match[2]! });
    rest = rest.slice(match.index + match[0].length);
    if (match[3]) rest = rest.replace(/^\s+/, '');
  }

  let position = 0;
  const parseBlock = (inner: boolean): Node[] => {
    const nodes: Node[] = [];
    while (position < tokens.length) {
      const token = tokens[position++]!;
      if ('text' in token) {
        nodes.push(token);
        continue;
      }
      if (token.action === 'end') {
        if (!inner) throw new Error('{{ end }} without a block');
        return nodes;
      }
      const range = /^range\s+(\$\w+)\s*,\s*(\$\w+)\s*:=\s*(.+)$/s.exec(token.action);
      if (range) nodes.push({ range: { key: range[1]!, value: range[2]!, over: range[3]! }, body: parseBlock(true) });
      else if (/^(if|else|with|define|template|block|\/\*)/.test(token.action)) throw new Error(`the test's Helm renderer does not know {{ ${token.action} }}`);
      else nodes.push(token);
    }
    if (inner) throw new Error('a {{ range }} has no {{ end }}');
    return nodes;
  };
  const tree = parseBlock(false);

  const lookup = (path: string, scope: Scope): unknown => {
    const [head, ...fields] = path.split('.');
    let value: unknown;
    if (head === '') value = scope.dot;
    else {
      if (!(head! in scope.vars)) throw new Error(`undefined variable ${head}`);
      value = scope.vars[head!];
    }
    for (const field of fields.filter(Boolean)) value = (value as Json | undefined)?.[field];
    return value;
  };
  const argument = (token: string, scope: Scope): unknown => {
    if (token.startsWith('"')) return JSON.parse(token) as string;
    if (/^\d+$/.test(token)) return Number(token);
    if (token.startsWith('.') || token.startsWith('$')) return lookup(token, scope);
    throw new Error(`the test's Helm renderer does not know the argument ${token}`);
  };
  const functions: Record<string, (...args: unknown[]) => unknown> = {
    quote: (value) => JSON.stringify(String(value ?? '')),
    default: (fallback, value) => (value === undefined || value === null || value === '' ? fallback : value),
    required: (message, value) => {
      if (value === undefined || value === null || value === '') throw new Error(`helm: ${String(message)}`);
      return value;
    },
    nindent: (width, value) => `\n${String(value).replace(/\n$/, '').split('\n').map((line) => (line ? ' '.repeat(width as number) + line : line)).join('\n')}`,
    toYaml: (value) => stringify(value).replace(/\n$/, ''),
  };
  const evaluate = (expression: string, scope: Scope): unknown => {
    let piped: unknown;
    expression.split('|').forEach((stage, index) => {
      const tokens = stage.trim().match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
      const [head, ...rest] = tokens;
      if (!head) throw new Error(`empty stage in {{ ${expression} }}`);
      if (index === 0 && /^[.$]/.test(head) && rest.length === 0) {
        piped = lookup(head, scope);
        return;
      }
      const fn = functions[head];
      if (!fn) throw new Error(`the test's Helm renderer does not know the function ${head}`);
      const args = rest.map((token) => argument(token, scope));
      piped = index === 0 ? fn(...args) : fn(...args, piped);
    });
    return piped;
  };
  const render = (nodes: Node[], scope: Scope): string =>
    nodes
      .map((node) => {
        if ('text' in node) return node.text;
        if ('range' in node) {
          const over = evaluate(node.range.over, scope);
          if (over === undefined || over === null) return '';
          if (typeof over !== 'object') throw new Error(`{{ range }} over ${node.range.over}, which is not a map or list`);
          const entries: Array<[unknown, unknown]> = Array.isArray(over) ? over.map((value, index) => [index, value]) : Object.keys(over).sort().map((key) => [key, (over as Json)[key]]);
          return entries.map(([key, value]) => render(node.body, { dot: value, vars: { ...scope.vars, [node.range.key]: key, [node.range.value]: value } })).join('');
        }
        const value = evaluate(node.action, scope);
        if (value !== null && typeof value === 'object') throw new Error(`{{ ${node.action} }} renders a map or list; pipe it through toYaml`);
        return String(value ?? '');
      })
      .join('');
  return render(tree, { dot: context, vars: { $: context } });
}

// ---------------------------------------------------------------------------------------------
// Docker Compose

const composeText = read(join(deploy, 'compose.yaml'));
const envFiles = readdirSync(join(deploy, 'env')).filter((name) => name.endsWith('.env')).sort();

function loadCompose(envFile: string): { compose: Json; vars: Record<string, string> } {
  const vars = parseEnvFile(read(join(deploy, 'env', envFile)));
  return { compose: obj(parse(interpolate(composeText, vars), { merge: true }), 'compose.yaml'), vars };
}

describe('deploy/compose.yaml', () => {
  it('has an .env example for dev, qa and prod, with the same keys and no secret values', () => {
    expect(envFiles).toEqual(['dev.env', 'prod.env', 'qa.env']);
    const keys = envFiles.map((file) => Object.keys(parseEnvFile(read(join(deploy, 'env', file)))).sort());
    expect(keys[1]).toEqual(keys[0]);
    expect(keys[2]).toEqual(keys[0]);
    const credentials = keys[0]!.filter((key) => /PASSWORD|SECRET|TOKEN|AUTH_STRING|API_KEY/.test(key) && !/_(FILE|DIR)$/.test(key));
    expect(credentials, 'an env file names where secrets are, never holds one').toEqual([]);
  });

  it('fails loudly when no env file is given, instead of starting an unnamed project', () => {
    expect(() => interpolate(composeText, {})).toThrow(/ENVIRONMENT/);
  });

  describe.each(envFiles)('with env/%s', (envFile) => {
    const { compose, vars } = loadCompose(envFile);
    const services = obj(compose.services, 'services');
    const service = (name: string) => obj(services[name], `service ${name}`);
    const config = service('openem-config');

    it('gates the Prefect server on an API readiness probe and openem-config on a healthy server', () => {
      const healthcheck = obj(service('prefect-server').healthcheck, 'prefect-server healthcheck');
      const test = list(healthcheck.test, 'healthcheck.test').join(' ');
      expect(test).toContain('urllib');
      expect(test).toContain('http://localhost:4200/api/ready');
      expect(obj(config.depends_on, 'depends_on')['prefect-server']).toEqual({ condition: 'service_healthy' });
      expect(obj(service('prefect-server').depends_on, 'depends_on').postgres).toEqual({ condition: 'service_healthy' });
    });

    it('starts the workers only after openem-config completed successfully', () => {
      const waiting = Object.entries(services).filter(([, s]) => obj(obj(s, 'service').depends_on ?? {}, 'depends_on')['openem-config']);
      expect(waiting.map(([name]) => name).sort()).toEqual(['archival-worker', 'retrieval-worker']);
      for (const [, s] of waiting) expect(obj(obj(s, 'service').depends_on, 'depends_on')['openem-config']).toEqual({ condition: 'service_completed_successfully' });
    });

    it('runs openem-config once, read-only and unprivileged, built from the Dockerfile here', () => {
      expect(config.restart).toBe('no');
      expect(config.read_only).toBe(true);
      expect(config.cap_drop).toEqual(['ALL']);
      expect(config.user, 'the image user (1000) is the one the secret files are made readable for').toBeUndefined();
      const context = resolve(deploy, String(obj(config.build, 'build').context));
      expect(existsSync(join(context, 'Dockerfile'))).toBe(true);
    });

    it('mounts the vars and limits files read-only from files in the repository', () => {
      const volumes = list(config.volumes, 'volumes').map((v) => obj(v, 'volume'));
      expect(volumes.length).toBeGreaterThan(0);
      for (const volume of volumes) {
        expect(volume.type).toBe('bind');
        expect(volume.read_only).toBe(true);
        expect(existsSync(resolve(deploy, String(volume.source))), `${String(volume.source)} exists`).toBe(true);
      }
      expect(resolve(deploy, vars.PREFECT_VARS_FILE!)).toBe(join(repo, 'vars', `vars_${vars.ENVIRONMENT}.toml`));
    });

    it('gives every secret as a Compose secret file, and the -s NAME_FILE variables point at them', () => {
      const declared = obj(compose.secrets, 'secrets');
      for (const [name, s] of Object.entries(services)) {
        for (const secret of list(obj(s, name).secrets ?? [], `${name}.secrets`)) expect(declared, `secret ${String(secret)} of ${name}`).toHaveProperty(String(secret));
      }
      for (const secret of Object.values(declared)) expect(String(obj(secret, 'secret').file)).toMatch(new RegExp(`^${vars.SECRETS_DIR!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`));
      const attached = list(config.secrets, 'openem-config.secrets').map(String);
      const environment = obj(config.environment, 'environment');
      const command = list(config.command, 'command').map(String);
      const named = command.slice(command.indexOf('-s') + 1).filter((arg) => /^[A-Z0-9_]+_FILE$/.test(arg));
      expect(named).toHaveLength(6);
      for (const name of named) expect(environment[name]).toMatch(new RegExp(`^/run/secrets/(${attached.join('|')})$`));
      // No credential travels in the environment itself.
      for (const key of Object.keys(environment)) expect(key).not.toMatch(/PASSWORD$|SECRET$|TOKEN$|^PREFECT_API_KEY$|^PREFECT_API_AUTH_STRING$/);
    });

    it("passes a command line the CLI's validate accepts", async () => {
      const dir = newDir(`compose-${envFile}`);
      const mounts = list(config.volumes, 'volumes').map((v) => ({ target: String(obj(v, 'volume').target), source: resolve(deploy, String(obj(v, 'volume').source)) }));
      for (const secret of list(config.secrets, 'secrets').map(String)) writeFileSync(join(dir, secret), `${secret}-value\n`);
      mounts.push({ target: '/run/secrets', source: dir });
      const map = pathMapper(mounts);
      const env = Object.fromEntries(Object.entries(obj(config.environment, 'environment')).map(([k, v]) => [k, map(String(v))]));
      expectAccepted(await runCli(list(config.command, 'command').map((arg) => map(String(arg))), env));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const manifests = (text: string): Manifest[] => parseAllDocuments(text).map((doc) => doc.toJS() as Manifest).filter(Boolean);
const exampleSecrets = manifests(read(join(deploy, 'kubernetes', 'secret.example.yaml')));

/** What the container of a Job sees: its args and env with the container paths mapped onto the laid-out volumes. */
interface JobLayout {
  /** The args as the manifest gives them, with container paths. */
  containerArgs: string[];
  args: string[];
  env: Record<string, string>;
  map: (path: string) => string;
}

/**
 * The files a ConfigMap or Secret volume shows: every key at its own name or, with `items`, only
 * the keys listed, each at its path (which may have directories). A key missing from the data
 * fails the mount in a cluster; here it fails the test.
 */
function volumeFiles(data: Record<string, string>, items: unknown, what: string): Record<string, string> {
  if (items === undefined) return data;
  const files: Record<string, string> = {};
  for (const item of list(items, `${what} items`).map((i) => obj(i, 'item'))) {
    const key = String(item.key);
    const path = String(item.path);
    expect(Object.keys(data), `${what} has the key ${key} that an item names`).toContain(key);
    expect(!isAbsolute(path) && path.split('/').every((part) => part && part !== '..'), `item path ${path} is relative and has no ..`).toBe(true);
    expect(Object.keys(files), `two items at ${path}`).not.toContain(path);
    files[path] = data[key]!;
  }
  return files;
}

/**
 * Lays out the Job's volumes as the kubelet does (a ConfigMap or Secret volume is a directory of
 * symlinks to the first part of each path, into a `..data` directory) and maps the container's
 * args and env onto them.
 */
function layOutJob(job: Manifest, configMaps: Manifest[], secrets: Manifest[]): JobLayout {
  const pod = obj(obj(obj(job.spec, 'Job.spec').template, 'template').spec, 'pod spec');
  const [container] = list(pod.containers, 'containers').map((c) => obj(c, 'container'));
  const volumes = new Map(list(pod.volumes, 'volumes').map((v) => [String(obj(v, 'volume').name), obj(v, 'volume')]));
  const mounts: Array<{ target: string; source: string }> = [];
  for (const mount of list(container!.volumeMounts, 'volumeMounts').map((m) => obj(m, 'volumeMount'))) {
    const volume = volumes.get(String(mount.name));
    expect(volume, `volume ${String(mount.name)}`).toBeDefined();
    expect(mount.readOnly).toBe(true);
    expect(mount.subPath, 'a whole volume is mounted, not a subPath').toBeUndefined();
    let files: Record<string, string>;
    if (volume!.configMap) {
      const source = obj(volume!.configMap, 'configMap');
      const name = String(source.name);
      const configMap = configMaps.find((m) => m.kind === 'ConfigMap' && m.metadata.name === name);
      expect(configMap, `ConfigMap ${name}`).toBeDefined();
      files = volumeFiles(obj(configMap!.data, 'data') as Record<string, string>, source.items, `ConfigMap ${name}`);
    } else if (volume!.secret) {
      const source = obj(volume!.secret, 'secret');
      expect(source.defaultMode, 'secret files readable by the owner and the fsGroup only').toBe(0o440);
      const secret = secrets.find((s) => s.kind === 'Secret' && s.metadata.name === source.secretName);
      expect(secret, `Secret ${String(source.secretName)}`).toBeDefined();
      files = volumeFiles(obj(secret!.stringData, 'stringData') as Record<string, string>, source.items, `Secret ${String(source.secretName)}`);
    } else {
      throw new Error(`volume ${String(mount.name)}: the test lays out configMap and secret volumes only`);
    }
    const dir = newDir(String(mount.name));
    const timestamped = '..2026_01_01_00_00_00.000000001';
    for (const [path, value] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, timestamped, path)), { recursive: true });
      writeFileSync(join(dir, timestamped, path), value);
    }
    symlinkSync(timestamped, join(dir, '..data'));
    for (const top of new Set(Object.keys(files).map((path) => path.split('/')[0]!))) symlinkSync(join('..data', top), join(dir, top));
    mounts.push({ target: String(mount.mountPath), source: dir });
  }
  const map = pathMapper(mounts);
  const env: Record<string, string> = {};
  for (const entry of list(container!.env, 'env').map((e) => obj(e, 'env entry'))) env[String(entry.name)] = map(String(entry.value));
  for (const [name, value] of Object.entries(env)) {
    if (name.endsWith('_FILE')) expect(existsSync(value) && isAbsolute(value), `${name} names a mounted file`).toBe(true);
  }
  const containerArgs = list(container!.args, 'args').map(String);
  return { containerArgs, args: containerArgs.map(map), env, map };
}

/** Runs validate (and apply against no server) with the Job's args and env, on its volumes as the kubelet lays them out. */
async function validateJob(job: Manifest, configMaps: Manifest[], secrets: Manifest[]) {
  const { args, env } = layOutJob(job, configMaps, secrets);
  return runCli(args, env);
}

/** The options that name input files, under their long names, each with its path, in order (a later -v wins). */
const INPUT_OPTIONS: Record<string, string> = { '-v': '--variables', '--variables': '--variables', '-l': '--limits', '--limits': '--limits', '-d': '--deployments', '--deployments': '--deployments', '--flows-dir': '--flows-dir' };
const inputOptions = (argv: string[]): string[][] => argv.flatMap((arg, i) => (INPUT_OPTIONS[arg] ? [[INPUT_OPTIONS[arg], argv[i + 1] ?? '']] : []));

/** A file's text, or a directory as its entries (dot entries such as `..data` skipped, symlinks followed); undefined when absent. */
function fileTree(path: string): unknown {
  if (!existsSync(path)) return undefined;
  if (!statSync(path).isDirectory()) return read(path);
  return Object.fromEntries(
    readdirSync(path)
      .filter((name) => !name.startsWith('.'))
      .sort()
      .map((name) => [name, fileTree(join(path, name))]),
  );
}

/** The block name `-s NAME_FILE` and `--secrets-dir` give (S3_USER_FILE and s3_user -> s3-user). */
const blockName = (name: string) => name.replace(/_FILE$/, '').toLowerCase().replace(/_/g, '-');

/** The Compose recipe's openem-config with env/prod.env, the production files the Kubernetes recipes carry too. */
const composeProd = (() => {
  const { compose } = loadCompose('prod.env');
  const config = obj(obj(compose.services, 'services')['openem-config'], 'service openem-config');
  const command = list(config.command, 'command').map(String);
  return {
    command,
    mounts: list(config.volumes, 'volumes').map((v) => ({ target: String(obj(v, 'volume').target), source: resolve(deploy, String(obj(v, 'volume').source)) })),
    environment: obj(config.environment, 'environment'),
    secretVariables: command.slice(command.indexOf('-s') + 1).filter((arg) => /^[A-Z0-9_]+_FILE$/.test(arg)),
  };
})();

/**
 * A Job configures what the Compose recipe does: the same input options on the same container
 * paths, the same file contents there (every file and directory Compose mounts, job templates
 * included), the same secret blocks (from a directory instead of -s) and the same environment.
 */
function expectSameInputsAsCompose(layout: JobLayout): void {
  expect(inputOptions(layout.containerArgs)).toEqual(inputOptions(composeProd.command));
  for (const { target, source } of composeProd.mounts) expect(fileTree(layout.map(target)), `${target} in the Job's container`).toEqual(fileTree(source));
  expect(layout.args).toContain('--secrets-dir');
  const blocks = readdirSync(layout.args[layout.args.indexOf('--secrets-dir') + 1]!).filter((name) => !name.startsWith('.'));
  expect(blocks.map(blockName).sort()).toEqual(composeProd.secretVariables.map(blockName).sort());
  const composeEnv = Object.keys(composeProd.environment).filter((name) => !composeProd.secretVariables.includes(name));
  expect(composeEnv.filter((name) => !(name in layout.env)), 'Compose sets these and the Job does not').toEqual([]);
}

function expectHardenedJob(job: Manifest): void {
  expect(job.kind).toBe('Job');
  const pod = obj(obj(obj(job.spec, 'Job.spec').template, 'template').spec, 'pod spec');
  expect(pod.restartPolicy).toBe('Never');
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: IMAGE_USER, runAsGroup: IMAGE_USER, fsGroup: IMAGE_USER });
  const [container] = list(pod.containers, 'containers').map((c) => obj(c, 'container'));
  expect(container!.command, 'the image entrypoint is the CLI').toBeUndefined();
  expect(container!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
}

describe('deploy/kubernetes', () => {
  const [job, ...others] = manifests(read(join(deploy, 'kubernetes', 'job.yaml')));
  const configMapText = read(join(deploy, 'kubernetes', 'configmap.yaml'));
  const configMaps = manifests(configMapText);

  it('holds one hardened Job that runs as the image user', () => {
    expect(others).toEqual([]);
    expectHardenedJob(job!);
  });

  it('holds in its ConfigMap exactly the repository files its header generates it from', () => {
    // The header's `kubectl create configmap ... --from-file=[KEY=]PATH`: a directory gives one key per file.
    const header = configMapText.slice(0, configMapText.indexOf('\napiVersion:'));
    const sources = [...header.matchAll(/--from-file=(?:([-._a-zA-Z0-9]+)=)?(\S+)/g)];
    expect(sources.length).toBeGreaterThan(0);
    const expected: Record<string, string> = {};
    for (const [, key, path] of sources) {
      const source = resolve(repo, path!);
      expect(existsSync(source), `${path} exists`).toBe(true);
      const files = statSync(source).isDirectory() ? readdirSync(source).map((name) => join(source, name)) : [source];
      for (const file of files) expected[key ?? basename(file)] = read(file);
    }
    expect(configMaps).toHaveLength(1);
    expect(obj(configMaps[0]!.data, 'data')).toEqual(expected);
  });

  it('keeps the Prefect credential out of the directory whose files become secret blocks', () => {
    const blocks = exampleSecrets.find((s) => s.metadata.name === 'openem-config-blocks');
    expect(Object.keys(obj(blocks?.stringData, 'stringData')).sort()).toEqual(['github-password', 'github-user', 's3-password', 's3-user', 'scicat-password', 'scicat-user']);
    for (const secret of exampleSecrets) for (const value of Object.values(obj(secret.stringData, 'stringData'))) expect(String(value)).toMatch(/change-me/);
  });

  it('configures what the Compose recipe does with env/prod.env: the same files, options, blocks and environment', () => {
    expectSameInputsAsCompose(layOutJob(job!, configMaps, exampleSecrets));
  });

  it("passes a command line the CLI's validate accepts, with the volumes laid out as the kubelet does", async () => {
    expectAccepted(await validateJob(job!, configMaps, exampleSecrets));
  });
});

// ---------------------------------------------------------------------------------------------
// Helm

describe('deploy/helm/openem-config', () => {
  const chartDir = join(deploy, 'helm', 'openem-config');
  const chart = obj(parse(read(join(chartDir, 'Chart.yaml'))), 'Chart.yaml');
  const values = obj(parse(read(join(chartDir, 'values.yaml'))), 'values.yaml');
  // As the --set-file options of the install command in values.yaml give them, one
  // `config.jobTemplates.<file name>` per file of vars/job-templates.
  const templatesDir = join(repo, 'vars', 'job-templates');
  const setFiles = {
    vars: read(join(repo, 'vars', 'vars_prod.toml')),
    limits: read(join(repo, 'vars', 'concurrency-limits.toml')),
    pools: read(join(repo, 'vars', 'work-pools_prod.toml')),
    jobTemplates: Object.fromEntries(readdirSync(templatesDir).map((name) => [name, read(join(templatesDir, name))])),
    deployments: read(join(repo, 'vars', 'prefect.yaml')),
  };
  const context = (config: Json) => ({ Values: { ...values, config }, Release: { Name: 'archiver' }, Chart: { Name: chart.name, AppVersion: chart.appVersion } });
  const render = (config: Json) =>
    readdirSync(join(chartDir, 'templates'))
      .filter((name) => name.endsWith('.yaml'))
      .flatMap((name) => manifests(renderHelm(read(join(chartDir, 'templates', name)), context(config))));
  const renderedJob = (rendered: Manifest[]) => rendered.find((m) => m.kind === 'Job')!;

  it('renders a Job that Helm runs after every install and upgrade, and replaces on the next', () => {
    const job = renderedJob(render(setFiles));
    expectHardenedJob(job);
    expect(job.metadata.annotations).toMatchObject({
      'helm.sh/hook': 'post-install,post-upgrade',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(job.metadata.annotations?.['helm.sh/hook-weight']).toMatch(/^-?\d+$/);
    const [container] = list(obj(obj(obj(job.spec, 'spec').template, 'template').spec, 'pod').containers, 'containers').map((c) => obj(c, 'container'));
    expect(container!.image).toBe(`${String(obj(values.image, 'image').repository)}:${String(chart.appVersion)}`);
  });

  it('documents in values.yaml an install command that gives every input file', () => {
    const given = [...read(join(chartDir, 'values.yaml')).matchAll(/--set-file '?config\.(\w+)(?:\.[^=]*)?=([^\s']+)/g)];
    expect([...new Set(given.map(([, key]) => key))].sort()).toEqual(Object.keys(setFiles).sort());
    for (const [, , path] of given) expect(existsSync(join(repo, path!)), `${path} exists`).toBe(true);
  });

  it.each([
    ['vars', /--set-file config.vars=/],
    ['limits', /--set-file config.limits=/],
    ['pools', /--set-file config.pools=/],
    ['deployments', /--set-file config.deployments=/],
  ])('refuses to render without config.%s', (key, message) => {
    expect(() => render({ ...setFiles, [key]: '' })).toThrow(message);
  });

  it('puts the files given with --set-file in its ConfigMap, and each job template under job-templates/ next to the pools manifest', () => {
    const extra = { ...setFiles, jobTemplates: { ...setFiles.jobTemplates, 'other.json': '{"job_configuration": {}, "variables": {}}\n' } };
    const rendered = render(extra);
    const configMaps = rendered.filter((m) => m.kind === 'ConfigMap');
    expect(configMaps).toHaveLength(1);
    expect(obj(configMaps[0]!.data, 'data')).toEqual({
      'vars.toml': extra.vars,
      'concurrency-limits.toml': extra.limits,
      'work-pools.toml': extra.pools,
      'prefect.yaml': extra.deployments,
      ...extra.jobTemplates,
    });
    const layout = layOutJob(renderedJob(rendered), rendered, exampleSecrets);
    expect(fileTree(layout.map('/config/job-templates'))).toEqual(extra.jobTemplates);
  });

  it('configures what the Compose recipe does with env/prod.env: the same files, options, blocks and environment', () => {
    const rendered = render(setFiles);
    expectSameInputsAsCompose(layOutJob(renderedJob(rendered), rendered, exampleSecrets));
  });

  it("passes a command line the CLI's validate accepts, on the files given with --set-file", async () => {
    const rendered = render(setFiles);
    expectAccepted(await validateJob(renderedJob(rendered), rendered, exampleSecrets));
  });
});
