// The example configuration, applied exactly as scripts/demo.ts applies it: vars/vars_dev.toml,
// six secret files named by *_FILE variables, the tag limits and the dev work pools (-l twice),
// vars/prefect.yaml (-d) and the stand-in flow code (--flows-dir test/fixtures/flows).
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repo = resolve(import.meta.dirname, '..', '..', '..');

export interface Inputs {
  /** openem-config's arguments for these inputs (no command, no server options). */
  args: string[];
  /** Environment the inputs need (secret file paths, what prefect.yaml takes from the environment). */
  env: Record<string, string>;
  /** prefect.yaml for `prefect deploy --all`, and the directory to run it from (entrypoints resolve there). */
  prefectYaml: string;
  deployCwd: string;
  files: { variables: string[]; secrets: string[]; secretsDirs: string[]; limits: string[]; deployments: string[]; flowsDir?: string };
}

const SECRET_NAMES = ['S3_USER', 'S3_PASSWORD', 'GITHUB_USER', 'GITHUB_PASSWORD', 'SCICAT_USER', 'SCICAT_PASSWORD'];

export function exampleInputs(workDir: string): Inputs {
  const secrets = join(workDir, 'example-secrets');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {
    S3_ENDPOINT: 'http://minio:9000',
    S3_EXTERNAL_ENDPOINT: 'https://s3.example.org',
    PREFECT_RUNTIME_IMAGE: 'registry.example.org/archiver-runtime:latest',
    PREFECT_NETWORK: 'dev_internal',
    PREFECT_ARCHIVER_HOST_SCRATCH: '/data/scratch',
    ARCHIVER_SCRATCH_FOLDER: '/scratch',
  };
  for (const name of SECRET_NAMES) {
    const path = join(secrets, name.toLowerCase());
    writeFileSync(path, `demo-${name.toLowerCase().replace(/_/g, '-')}\n`, { mode: 0o600 });
    env[`${name}_FILE`] = path;
  }
  // `prefect deploy` runs from a copy of the flow code, so nothing it writes lands in the clone.
  const deployCwd = join(workDir, 'example-flows');
  cpSync(join(repo, 'test', 'fixtures', 'flows'), deployCwd, { recursive: true });
  const files = {
    variables: [join(repo, 'vars', 'vars_dev.toml')],
    secrets: SECRET_NAMES.map((name) => `${name}_FILE`),
    secretsDirs: [],
    limits: [join(repo, 'vars', 'concurrency-limits.toml'), join(repo, 'vars', 'work-pools_dev.toml')],
    deployments: [join(repo, 'vars', 'prefect.yaml')],
    flowsDir: join(repo, 'test', 'fixtures', 'flows'),
  };
  const args = [
    '-v', files.variables[0]!,
    '-s', ...files.secrets,
    '-l', files.limits[0]!,
    '-l', files.limits[1]!,
    '-d', files.deployments[0]!,
    '--flows-dir', files.flowsDir,
  ];
  return { args, env, prefectYaml: files.deployments[0]!, deployCwd, files };
}
