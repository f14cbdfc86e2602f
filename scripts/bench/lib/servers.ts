// Fresh Prefect servers for cold runs. A server started on an empty SQLite file spends about half
// its start-up on migrations; the harness migrates one database once, stops that server, folds
// the write-ahead log into the file, and starts every later server on a copy of that file: the
// same empty state as a brand-new server, in about half the time.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startPostgres } from '../../postgres-env.js';
import { startPrefectServer, venvBin, type PrefectServer } from '../../prefect-env.js';

const CHECKPOINT = 'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute("PRAGMA wal_checkpoint(TRUNCATE)")\nc.execute("PRAGMA journal_mode=DELETE")\nc.close()';

export interface BenchServer extends PrefectServer {
  startMs: number;
}

export class ServerPool {
  private pristine: string | undefined;
  private readonly dir: string;
  started = 0;
  totalStartMs = 0;
  /** Servers not stopped yet, so that an interrupted run stops them too. */
  private readonly live = new Set<BenchServer>();

  constructor(workDir: string) {
    this.dir = join(workDir, 'databases');
    mkdirSync(this.dir, { recursive: true });
  }

  private async migrate(): Promise<string> {
    const path = join(this.dir, 'pristine.db');
    const server = await startPrefectServer({ env: { PREFECT_API_DATABASE_CONNECTION_URL: `sqlite+aiosqlite:///${path}` } });
    await server.stop();
    // Fold the write-ahead log into the file, so that one file is the whole empty state.
    const checkpoint = spawnSync(venvBin('python'), ['-c', CHECKPOINT, path], { encoding: 'utf8' });
    if (checkpoint.status !== 0) throw new Error(`checkpointing ${path} failed: ${checkpoint.stderr}`);
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(`${path}${suffix}`)) throw new Error(`the migrated database still has a ${suffix} file after a checkpoint`);
    }
    return path;
  }

  /** A server on a new PostgreSQL cluster (scripts/postgres-env.ts: loopback, trust, fsync off). */
  async freshPostgres(): Promise<BenchServer> {
    const postgres = await startPostgres();
    const started = performance.now();
    let server: PrefectServer;
    try {
      server = await startPrefectServer({ env: { PREFECT_API_DATABASE_CONNECTION_URL: postgres.prefectUrl } });
    } catch (error) {
      await postgres.stop();
      throw error;
    }
    const startMs = performance.now() - started;
    return this.track({
      ...server,
      startMs,
      stop: async () => {
        await server.stop();
        await postgres.stop();
      },
    });
  }

  /** A server with no objects: every cold run gets its own. */
  async fresh(): Promise<BenchServer> {
    this.pristine ??= await this.migrate();
    const dbDir = mkdtempSync(join(this.dir, 'run-'));
    const db = join(dbDir, 'prefect.db');
    copyFileSync(this.pristine, db);
    const started = performance.now();
    const server = await startPrefectServer({ env: { PREFECT_API_DATABASE_CONNECTION_URL: `sqlite+aiosqlite:///${db}` } });
    const startMs = performance.now() - started;
    this.started += 1;
    this.totalStartMs += startMs;
    return this.track({
      ...server,
      startMs,
      stop: async () => {
        await server.stop();
        rmSync(dbDir, { recursive: true, force: true });
      },
    });
  }

  private track(server: BenchServer): BenchServer {
    const stop = server.stop;
    const tracked: BenchServer = {
      ...server,
      stop: async () => {
        this.live.delete(tracked);
        await stop();
      },
    };
    this.live.add(tracked);
    return tracked;
  }

  /** Stops every server still running (Ctrl-C, or a failed run). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((server) => server.stop()));
  }
}
