// What Prefect itself derives for flow files: the test virtualenv's Prefect imports each file and
// describes its flows the way `prefect deploy` does (prefect/cli/deploy/_core.py:
// load_flow_from_entrypoint, then parameter_schema(flow), sent as model_dump(exclude_unset=True)).
// Plain functions are listed too, so that a test can check that they are refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrefect, venvBin, type PrefectPin } from '../../scripts/prefect-env.js';
import type { JsonValue } from '../../src/config/types.js';

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

export interface PrefectFlow {
  entrypoint: string;
  flowName: string | null;
  description?: string | null;
  version?: string | null;
  parameterSchema?: { [key: string]: JsonValue };
}

/** Every flow and plain function of `files` (relative to `flowsDir`), as the pinned or given Prefect describes them. */
export function describeWithPrefect(flowsDir: string, files: readonly string[], pin?: PrefectPin): PrefectFlow[] {
  ensurePrefect(pin);
  const home = mkdtempSync(join(tmpdir(), 'openem-config-prefect-home-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, PREFECT_HOME: home, PYTHONDONTWRITEBYTECODE: '1' };
    delete env.PREFECT_API_URL;
    const result = spawnSync(venvBin('python', pin), ['-c', DESCRIBE_FLOWS, flowsDir, ...files], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`Prefect could not describe the flows:\n${result.stderr}`);
    return JSON.parse(result.stdout) as PrefectFlow[];
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
