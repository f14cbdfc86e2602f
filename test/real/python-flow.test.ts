// Keeps the TypeScript reading of flow files honest: Prefect itself imports every fixture flow and
// derives its name, description, version and parameter schema the way `prefect deploy` does, and
// analyzeEntrypoint must agree without running anything.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensurePrefect, venvBin } from '../../scripts/prefect-env.js';
import { analyzeEntrypoint } from '../../src/python/flow.js';
import { preparePythonReader } from '../../src/python/syntax.js';
import type { JsonValue } from '../../src/config/types.js';
import { IssueList } from '../../src/errors.js';

const flowsDir = fileURLToPath(new URL('../fixtures/flows/', import.meta.url));
const FLOW_FILES = [
  'archiver/flows/mock_flows.py',
  'archiver/flows/archive_datasets_flow.py',
  'archiver/flows/retrieve_datasets_flow.py',
  'typing_zoo.py',
  'aliases.py',
];

// The same calls as `prefect deploy` (prefect/cli/deploy/_core.py): load_flow_from_entrypoint, then
// parameter_schema(flow), sent as model_dump(exclude_unset=True). Plain functions are listed too, so
// the test can check that they are refused.
const DESCRIBE_FLOWS = `
import importlib.util, inspect, json, sys, warnings
from pathlib import Path
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema

warnings.simplefilter("ignore")
flows_dir = Path(sys.argv[1])
described = []
for relative in sys.argv[2:]:
    path = flows_dir / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attribute, value in vars(module).items():
        if isinstance(value, Flow) and value.fn.__name__ == attribute:
            flow = load_flow_from_entrypoint(f"{path}:{attribute}")
            described.append({
                "entrypoint": f"{relative}:{attribute}",
                "flowName": flow.name,
                "description": flow.description,
                "version": flow.version,
                "parameterSchema": parameter_schema(flow).model_dump(exclude_unset=True),
            })
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            described.append({"entrypoint": f"{relative}:{attribute}", "flowName": None})
print(json.dumps(described))
`;

interface PrefectFlow {
  entrypoint: string;
  flowName: string | null;
  description?: string | null;
  version?: string | null;
  parameterSchema?: { [key: string]: JsonValue };
}

function describeWithPrefect(): PrefectFlow[] {
  ensurePrefect();
  const home = mkdtempSync(join(tmpdir(), 'openem-config-prefect-home-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, PREFECT_HOME: home, PYTHONDONTWRITEBYTECODE: '1' };
    delete env.PREFECT_API_URL;
    const result = spawnSync(venvBin('python'), ['-c', DESCRIBE_FLOWS, flowsDir, ...FLOW_FILES], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`Prefect could not describe the fixture flows:\n${result.stderr}`);
    return JSON.parse(result.stdout) as PrefectFlow[];
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await preparePythonReader();
const described = describeWithPrefect();
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
    const info = analyzeEntrypoint(flowsDir, entrypoint, source, issues);
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
