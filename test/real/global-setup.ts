// Starts one real Prefect server for a real-server project, installing Prefect into the cached
// virtualenv first when needed. The project's name picks the variant:
//   real           the pinned release on SQLite
//   real-postgres  the pinned release on PostgreSQL (as the ScopeM deployment runs it)
//   real-latest    the newest 3.x release on PyPI, on SQLite
// Never skipped: without Python, PyPI or PostgreSQL the suite fails, it does not pass quietly.
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresServer } from '../../scripts/postgres-env.js';
import { prefectPin, startPrefectServer } from '../../scripts/prefect-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    prefectApiUrl: string;
    prefectVersion: string;
    prefectDatabase: 'sqlite' | 'postgres';
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const variant = project.name;
  const pin = variant === 'real-latest' ? prefectPin({ OPENEM_PREFECT_VERSION: 'latest' }) : prefectPin();
  let postgres: PostgresServer | undefined;
  const env: Record<string, string> = {};
  if (variant === 'real-postgres') {
    postgres = await startPostgres();
    env.PREFECT_API_DATABASE_CONNECTION_URL = postgres.prefectUrl;
  }
  const server = await startPrefectServer({ pin, env }).catch(async (error: unknown) => {
    await postgres?.stop();
    throw error;
  });
  project.provide('prefectApiUrl', server.apiUrl);
  project.provide('prefectVersion', server.version);
  project.provide('prefectDatabase', postgres ? 'postgres' : 'sqlite');
  return async () => {
    await server.stop();
    await postgres?.stop();
  };
}
