import { defineConfig } from 'vitest/config';

/** Suites that need the one server a real-server project's global setup starts. */
const SHARED_SERVER_SUITES = ['test/real/example.test.ts', 'test/real/global-limits.test.ts', 'test/real/blocks.test.ts', 'test/real/invalid-input.test.ts', 'test/real/work-pools.test.ts', 'test/real/deployments.test.ts', 'test/real/automations.test.ts'];

const realServer = {
  globalSetup: ['test/real/global-setup.ts'],
  // One Prefect server at a time per project; SQLite serialises writes, and the machine has two cores.
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 300_000,
};

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/count-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/real/**', 'test/reliability/**'],
          testTimeout: 20_000,
        },
      },
      {
        // The pinned Prefect on SQLite: every real-server suite.
        test: { name: 'real', include: ['test/real/**/*.test.ts', 'test/reliability/**/*.test.ts'], ...realServer, sequence: { groupOrder: 1 } },
      },
      {
        // The pinned Prefect on PostgreSQL, as the ScopeM deployment runs it.
        test: { name: 'real-postgres', include: SHARED_SERVER_SUITES, ...realServer, sequence: { groupOrder: 2 } },
      },
      {
        // The newest 3.x release on PyPI, so an API change shows up before users meet it.
        // The prefect.yaml parity suite too: prefect deploy changes between releases.
        test: { name: 'real-latest', include: [...SHARED_SERVER_SUITES, 'test/real/prefect-yaml-parity.test.ts'], ...realServer, sequence: { groupOrder: 3 } },
      },
    ],
  },
});
