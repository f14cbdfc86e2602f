// A throw-away PostgreSQL server on loopback for the real-server suite, as the ScopeM deployment
// runs Prefect: Debian's postgresql package, installed when missing (as root), a fresh cluster in
// a temporary directory, trust authentication, a free port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './prefect-env.js';

export interface PostgresServer {
  /** For PREFECT_API_DATABASE_CONNECTION_URL. */
  prefectUrl: string;
  port: number;
  stop(): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

function ensureInstalled(): string {
  const found = binDir();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('PostgreSQL is not installed and this is not root: install it (Debian: apt-get install postgresql) to run the PostgreSQL suite');
  }
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'postgresql']]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed:\n${result.stderr.slice(-2000)}`);
  }
  const installed = binDir();
  if (!installed) throw new Error('apt-get installed postgresql, but no initdb was found under /usr/lib/postgresql');
  return installed;
}

/** initdb and postgres refuse to run as root: run them as the `postgres` user then. */
function asDbUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['runuser', ['-u', 'postgres', '--', command, ...args]];
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'openem-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const [initCmd, initArgs] = asDbUser(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stderr}`);

  const port = await freePort();
  const [cmd, args] = asDbUser(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200',
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const exitedPromise = new Promise<void>((done) => child.on('exit', () => ((exited = true), done())));
  const stop = async (): Promise<void> => {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, 'SIGINT');
      } catch {
        /* gone */
      }
      await exitedPromise;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    if (ready.status === 0) break;
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`PostgreSQL did not start:\n${output.slice(-3000)}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  const create = spawnSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'prefect'], { encoding: 'utf8' });
  if (create.status !== 0) {
    await stop();
    throw new Error(`createdb failed:\n${create.stderr}`);
  }
  return { prefectUrl: `postgresql+asyncpg://postgres@127.0.0.1:${port}/prefect`, port, stop };
}
