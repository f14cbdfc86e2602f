// npm run demo: the main job on an embedded default. Starts a local Prefect server from the
// project's cached virtualenv, applies the example configuration in vars/ (the old command line,
// plus the work pools and the deployments), then plans again to show that nothing is left to do. `npm run demo -- --keep` leaves the
// server running so you can look at it (Ctrl-C stops it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPrefectServer } from './prefect-env.js';

const repo = resolve(import.meta.dirname, '..');
const keep = process.argv.includes('--keep');
const environment = process.argv.find((arg) => /^(dev|qa|prod)$/.test(arg)) ?? 'dev';

console.log('Starting a local Prefect server (installs the pinned Prefect on first use)...');
const server = await startPrefectServer();
console.log(`Prefect ${server.version} is ready at ${server.apiUrl}\n`);

const secrets = mkdtempSync(join(tmpdir(), 'openem-demo-secrets-'));
const names = ['S3_USER', 'S3_PASSWORD', 'GITHUB_USER', 'GITHUB_PASSWORD', 'SCICAT_USER', 'SCICAT_PASSWORD'];
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PREFECT_API_URL: server.apiUrl,
  S3_ENDPOINT: 'http://minio:9000',
  S3_EXTERNAL_ENDPOINT: 'https://s3.example.org',
  // What prefect.yaml takes from the environment, as a Compose file would pass it.
  PREFECT_RUNTIME_IMAGE: 'registry.example.org/archiver-runtime:latest',
  PREFECT_NETWORK: `${environment}_internal`,
  PREFECT_ARCHIVER_HOST_SCRATCH: '/data/scratch',
  ARCHIVER_SCRATCH_FOLDER: '/scratch',
};
for (const name of names) {
  const path = join(secrets, name.toLowerCase());
  // Written like `echo value > file`: the trailing newline is not part of the secret.
  writeFileSync(path, `demo-${name.toLowerCase().replace(/_/g, '-')}\n`, { mode: 0o600 });
  env[`${name}_FILE`] = path;
}
const args = [
  '-v', join(repo, 'vars', `vars_${environment}.toml`),
  '-s', ...names.map((name) => `${name}_FILE`),
  '-l', join(repo, 'vars', 'concurrency-limits.toml'),
  '-l', join(repo, 'vars', `work-pools_${environment}.toml`),
  '-d', join(repo, 'vars', 'prefect.yaml'),
  // Stand-ins for the archiver's flow code, with its flow names and signatures: the parameter
  // schemas are derived from them without running Python.
  '--flows-dir', join(repo, 'test', 'fixtures', 'flows'),
];
const cli = join(repo, 'bin', 'openem-config');
let status = 0;
for (const [title, argv] of [
  ['openem-config (apply)', args],
  ['openem-config plan (again: nothing should be left to do)', ['plan', '--detailed-exitcode', ...args]],
] as const) {
  console.log(`$ ${title}`);
  const result = spawnSync(process.execPath, [cli, ...argv], { env, stdio: 'inherit' });
  console.log(`exit code ${result.status}\n`);
  status ||= result.status ?? 1;
}
rmSync(secrets, { recursive: true, force: true });

if (keep) {
  console.log(`The server keeps running at ${server.apiUrl}; press Ctrl-C to stop it.`);
  process.on('SIGINT', () => void server.stop().then(() => process.exit(status)));
} else {
  await server.stop();
  process.exitCode = status;
}
