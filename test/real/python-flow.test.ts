// Keeps the TypeScript reading of flow files honest: Prefect itself imports every fixture flow and
// derives its name, description, version and parameter schema the way `prefect deploy` does, and
// analyzeEntrypoint must agree without running anything.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeEntrypoint } from '../../src/python/flow.js';
import { preparePythonReader } from '../../src/python/syntax.js';
import { IssueList } from '../../src/errors.js';
import { describeWithPrefect } from './prefect-flows.js';
import { prefectPin } from '../../scripts/prefect-env.js';

const flowsDir = fileURLToPath(new URL('../fixtures/flows/', import.meta.url));
const FLOW_FILES = [
  'archiver/flows/mock_flows.py',
  'archiver/flows/archive_datasets_flow.py',
  'archiver/flows/retrieve_datasets_flow.py',
  'typing_zoo.py',
  'aliases.py',
];

await preparePythonReader();
const described = describeWithPrefect(flowsDir, FLOW_FILES);
const flows = described.filter((flow) => flow.flowName !== null);
const plainFunctions = described.filter((flow) => flow.flowName === null);
const source = { file: 'prefect.yaml', line: 1, key: 'deployments.0.entrypoint' };

describe('analyzeEntrypoint agrees with Prefect 3.7.2', () => {
  it('sees the fixture flows at all', () => {
    expect(flows.length).toBeGreaterThan(20);
    expect(plainFunctions.length).toBeGreaterThan(2);
  });

  it.each(flows.map((flow) => [flow.entrypoint, flow] as const))('%s', (entrypoint, prefect) => {
    const issues = new IssueList();
    const info = analyzeEntrypoint(flowsDir, entrypoint, source, issues, { prefectVersion: prefectPin().version });
    expect(issues.items).toEqual([]);
    expect(info?.flowName).toBe(prefect.flowName);
    expect(info?.parameterSchema).toEqual(prefect.parameterSchema);
    // Key order too: the server stores the schema as sent, and the UI lists parameters in it.
    expect(JSON.stringify(info?.parameterSchema)).toBe(JSON.stringify(prefect.parameterSchema));
    expect(info?.description).toBe(prefect.description ?? undefined);
    expect(info?.version).toBe(prefect.version);
  });

  it.each(plainFunctions.map((flow) => [flow.entrypoint] as const))('refuses the plain function %s', (entrypoint) => {
    const issues = new IssueList();
    expect(analyzeEntrypoint(flowsDir, entrypoint, source, issues)).toBeUndefined();
    expect(issues.errors.map((issue) => issue.message)).toEqual([expect.stringContaining('is not decorated with @flow')]);
  });
});
