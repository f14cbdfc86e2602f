// A real Prefect server for the tests, the demo, the benchmarks and the API generator.
// Prefect is installed from PyPI into a virtualenv kept in a per-user cache directory,
// outside the clone, so that repeated runs and CI on the same machine reuse it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');

export interface PrefectPin {
  version: string;
  /** Dependencies are resolved as PyPI had them before this instant, so an old Prefect gets the libraries it was released with. */
  depsBefore: string | undefined;
}

/**
 * The pinned Prefect release; OPENEM_PREFECT_VERSION (with OPENEM_PREFECT_DEPS_BEFORE) selects
 * another, and `latest` the newest 3.x release on PyPI.
 */
export function prefectPin(env: NodeJS.ProcessEnv = process.env): PrefectPin {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    openemConfig: { prefectVersion: string; prefectDepsBefore?: string };
  };
  const override = env.OPENEM_PREFECT_VERSION;
  if (override === 'latest') return { version: latestPrefect3(), depsBefore: undefined };
  if (override && override !== pkg.openemConfig.prefectVersion) {
    return { version: override, depsBefore: env.OPENEM_PREFECT_DEPS_BEFORE || undefined };
  }
  return { version: pkg.openemConfig.prefectVersion, depsBefore: pkg.openemConfig.prefectDepsBefore };
}

let latestCache: string | undefined;
/** The newest final 3.x release PyPI lists, asked once per process. */
export function latestPrefect3(): string {
  if (latestCache) return latestCache;
  const result = spawnSync(findPython(), ['-m', 'pip', 'index', 'versions', 'prefect'], { encoding: 'utf8', env: pipEnv() });
  const listed = /Available versions: (.*)/.exec(result.stdout)?.[1];
  if (result.status !== 0 || !listed) throw new Error(`could not list Prefect releases on PyPI:\n${result.stderr.slice(-2000)}`);
  const newest = listed
    .split(',')
    .map((v) => v.trim())
    .find((v) => /^3\.\d+\.\d+$/.test(v));
  if (!newest) throw new Error(`no 3.x release among: ${listed.slice(0, 200)}`);
  latestCache = newest;
  return newest;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.OPENEM_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'openem-config');
  mkdirSync(base, { recursive: true });
  return base;
}

export function venvDir(pin: PrefectPin = prefectPin()): string {
  return join(cacheDir(), `prefect-${pin.version}`);
}

export function venvBin(name: string, pin: PrefectPin = prefectPin()): string {
  return join(venvDir(pin), 'bin', name);
}

/**
 * pip's environment: the machine's pip configuration may add local wheel directories (find-links)
 * whose files carry no upload time and so slip past --uploaded-prior-to; read only the index.
 */
function pipEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PIP_')) env[name] = value;
  env.PIP_CONFIG_FILE = '/dev/null';
  env.PIP_DISABLE_PIP_VERSION_CHECK = '1';
  if (process.env.PIP_INDEX_URL) env.PIP_INDEX_URL = process.env.PIP_INDEX_URL;
  const cert = process.env.PIP_CERT ?? (existsSync('/etc/ssl/certs/ca-certificates.crt') ? '/etc/ssl/certs/ca-certificates.crt' : undefined);
  if (cert) env.PIP_CERT = cert;
  return env;
}

function run(cmd: string, args: string[], what: string): void {
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: pipEnv() });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .filter((line) => line.trim() && !line.includes('is ignored: it is neither a file nor a directory'))
      .slice(-20)
      .join('\n');
    throw new Error(`${what} failed (exit ${result.status}):\n${tail}`);
  }
}

function findPython(): string {
  for (const candidate of [process.env.OPENEM_PYTHON, 'python3', 'python'].filter(Boolean) as string[]) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; assert sys.version_info >= (3, 10)'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  throw new Error(
    'No Python >= 3.10 with the venv module was found (tried $OPENEM_PYTHON, python3, python). ' +
      'Install it (Debian: apt-get install python3 python3-venv) to run the real-server tests.',
  );
}

/**
 * Makes sure the pinned Prefect is installed in its cached virtualenv and returns the venv path.
 * A marker file is written only after a successful install and import, so a broken half-install is redone.
 */
export function ensurePrefect(pin: PrefectPin = prefectPin(), log: (line: string) => void = () => {}): string {
  const dir = venvDir(pin);
  const marker = join(dir, '.openem-ready');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === markerText(pin)) return dir;

  const lockPath = `${dir}.lock`;
  const lock = acquireLock(lockPath);
  try {
    if (existsSync(marker) && readFileSync(marker, 'utf8') === markerText(pin)) return dir;
    log(`installing Prefect ${pin.version} into ${dir} (once per machine)`);
    rmSync(dir, { recursive: true, force: true });
    run(findPython(), ['-m', 'venv', dir], 'creating the virtualenv');
    const pip = join(dir, 'bin', 'pip');
    // pip learned --uploaded-prior-to in 25.x; the machine's pip may be older.
    run(pip, ['install', '--quiet', '--disable-pip-version-check', 'pip>=26'], 'upgrading pip');
    const args = ['install', '--quiet', '--disable-pip-version-check', `prefect==${pin.version}`];
    if (pin.depsBefore) args.push('--uploaded-prior-to', pin.depsBefore);
    run(pip, args, `pip install prefect==${pin.version}`);
    run(join(dir, 'bin', 'python'), ['-c', 'import prefect.server.api.server'], 'importing the Prefect server');
    writeFileSync(marker, markerText(pin));
    return dir;
  } finally {
    releaseLock(lock, lockPath);
  }
}

function markerText(pin: PrefectPin): string {
  return `prefect==${pin.version} deps<${pin.depsBefore ?? 'latest'}\n`;
}

function acquireLock(path: string): number {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      return openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${path}; remove it if no install is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
}

function releaseLock(fd: number, path: string): void {
  closeSync(fd);
  rmSync(path, { force: true });
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export interface PrefectServer {
  /** PREFECT_API_URL of this server: http://127.0.0.1:<port>/api */
  apiUrl: string;
  port: number;
  home: string;
  version: string;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra server settings, e.g. PREFECT_SERVER_API_AUTH_STRING. */
  env?: Record<string, string>;
  pin?: PrefectPin;
  readyTimeoutMs?: number;
  /** Starts the scheduler and the other loop services (off by default: the tests do not need them). */
  services?: boolean;
}

/** Starts `prefect server start` on SQLite and a free loopback port, and waits until /api/ready answers. */
export async function startPrefectServer(options: StartOptions = {}): Promise<PrefectServer> {
  const pin = options.pin ?? prefectPin();
  const venv = ensurePrefect(pin);
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), 'openem-prefect-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    PREFECT_HOME: home,
    PREFECT_API_DATABASE_CONNECTION_URL: `sqlite+aiosqlite:///${join(home, 'prefect.db')}`,
    PREFECT_SERVER_ANALYTICS_ENABLED: 'false',
    PREFECT_SERVER_UI_ENABLED: 'false',
    PREFECT_UI_ENABLED: 'false',
    PREFECT_SERVER_LOGGING_LEVEL: 'WARNING',
    PREFECT_LOGGING_LEVEL: 'WARNING',
    ...options.env,
  };
  const args = ['server', 'start', '--host', '127.0.0.1', '--port', String(port), '--no-ui', '--analytics-off'];
  if (!options.services) args.push('--no-services');
  const child: ChildProcess = spawn(join(venv, 'bin', 'prefect'), args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const exitedPromise = new Promise<void>((done) => child.on('exit', () => ((exited = true), done())));

  const apiUrl = `http://127.0.0.1:${port}/api`;
  const stop = async (): Promise<void> => {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 10_000);
      await exitedPromise;
      clearTimeout(timer);
    }
    rmSync(home, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prefect server exited before it was ready:\n${output.slice(-4000)}`);
    }
    try {
      const response = await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prefect server on ${apiUrl} was not ready in time:\n${output.slice(-4000)}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  return { apiUrl, port, home, version: pin.version, output: () => output, stop };
}
