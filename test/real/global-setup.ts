// Starts one real Prefect server (the pinned release, SQLite, a free loopback port) for the real-server
// suite, installing Prefect into the cached virtualenv first when needed. Never skipped: without
// Python or PyPI the suite fails, it does not pass quietly.
import type { TestProject } from 'vitest/node';
import { startPrefectServer } from '../../scripts/prefect-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    prefectApiUrl: string;
    prefectVersion: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPrefectServer();
  project.provide('prefectApiUrl', server.apiUrl);
  project.provide('prefectVersion', server.version);
  return async () => {
    await server.stop();
  };
}
