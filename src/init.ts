// `openem-config init [DIR]`: a commented starter project file and example inputs that validate
// as they are, to be edited into a configuration repository. Nothing is overwritten without --force.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { MainIO } from './cli-common.js';
import { PROJECT_FILE } from './config/project.js';
import { EXIT } from './exit-codes.js';
import { DOCUMENTS, schemaFile, schemaText, SCHEMAS_DIR, withDirective } from './schemas/documents.js';

/** The example inputs; `schema` names the JSON Schema an editor checks the file with. */
const INPUTS: ReadonlyArray<{ path: string; content: string; schema?: string }> = [
  {
    path: PROJECT_FILE,
    schema: 'project',
    content: `# openem-config project file. Run \`openem-config plan\` (or apply) in this directory, or
# give it with -c PATH. Paths are relative to this file; options given on the command line add to
# these lists (-v, -l, -d, -s, ...) or replace these values (--api-url, --concurrency, ...).

variables = ["vars.toml"]
limits = ["limits.toml"]
deployments = ["prefect.yaml"]

# Secret blocks, one per file: name = path of the file holding the value (never commit the file).
# secret = { registry-password = "/run/secrets/registry-password" }
# Or environment variables holding those paths, as the old prefect-config took them (-s):
# secrets = ["REGISTRY_PASSWORD_FILE"]

# Where the flow files are: flow names and parameter schemas are read from them (never run).
flows_dir = "."

# The server: PREFECT_API_URL in the environment, or
# api_url = "http://prefect-server:4200/api"

# Per environment, chosen with --env: lists add to the ones above, values replace them.
[env.dev]
variables = ["vars_dev.toml"]

[env.prod]
variables = ["vars_prod.toml"]
# api_url = "http://prefect-prod:4200/api"
`,
  },
  {
    path: 'vars.toml',
    schema: 'vars',
    content: `# Prefect variables, one per key (the name is the key in lower case). Tables group keys;
# [openem-config] is read as options (from_env, tags). Values keep their TOML types (strings, numbers, booleans,
# arrays, tables). An environment variable named like a key overrides it when applied.

SCRATCH_FOLDER = "/tmp/scratch"
BATCH_SIZE = 20
`,
  },
  { path: 'vars_dev.toml', schema: 'vars', content: '# Variables of the dev environment (openem-config plan --env dev).\nLOG_LEVEL = "DEBUG"\n' },
  { path: 'vars_prod.toml', schema: 'vars', content: '# Variables of the prod environment (openem-config plan --env prod).\nLOG_LEVEL = "INFO"\n' },
  {
    path: 'limits.toml',
    schema: 'limits',
    content: `# Limits manifest: tag limits, global limits, blocks and work pools.

[tag_limits]
# Task runs tagged "database" run at most 4 at a time.
database = 4

[global_limits.external-api]
limit = 2

[work_pools.local]
type = "process"
concurrency_limit = 4

[work_pools.local.queues.urgent]
priority = 1
`,
  },
  {
    path: 'prefect.yaml',
    schema: 'prefect-yaml',
    content: `# Deployments (and automations). The flow code is never imported: its name and parameter schema
# are read from the entrypoint in flows_dir (see the project file), or given with flow_name.
deployments:
  - name: nightly
    entrypoint: flows/example.py:example_flow
    parameters:
      batch_size: 50
    schedules:
      - cron: "0 3 * * *"
        timezone: UTC
        slug: nightly
    work_pool:
      name: local
      work_queue_name: urgent
    triggers:
      - name: on-request
        expect: [example.run.requested]

automations:
  - name: pause local pool on repeated failures
    trigger:
      expect: [prefect.flow-run.Failed]
      match: { prefect.resource.id: prefect.flow-run.* }
      threshold: 3
      within: 600
    actions:
      - type: pause-work-pool
        work_pool: local
`,
  },
  {
    path: 'flows/example.py',
    content: `from prefect import flow


@flow(name="example-flow")
def example_flow(batch_size: int = 20, dry_run: bool = False) -> None:
    \"\"\"Processes one batch.

    Args:
        batch_size: how many items one run takes
        dry_run: report what would be done, change nothing
    \"\"\"
    print(f"processing {batch_size} items (dry run: {dry_run})")
`,
  },
];

/**
 * What init writes: the inputs, each starting with the line that points an editor at its schema,
 * and the schemas in .schemas/ beside them.
 */
const STARTER: ReadonlyArray<{ path: string; content: string }> = [
  ...INPUTS.map(({ path, content, schema }) => ({ path, content: schema ? withDirective(schema, content) : content })),
  ...DOCUMENTS.map((document) => ({ path: `${SCHEMAS_DIR}/${schemaFile(document)}`, content: schemaText(document) })),
];

/** Fills in `program.command('init')`; `done` receives the exit code. */
export function defineInitCommand(command: Command, io: MainIO, done: (code: number) => void): Command {
  return command
    .description(`write a starter ${PROJECT_FILE} and example inputs into DIR (default: the current directory)`)
    .argument('[dir]', 'the directory to write into (created when missing)')
    .option('--force', 'overwrite files that are already there')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action((dir: string | undefined, options: { force?: boolean }) => {
      done(init(resolve(io.cwd ?? process.cwd(), dir ?? '.'), options.force ?? false, io));
    });
}

function init(dir: string, force: boolean, io: MainIO): number {
  const existing = STARTER.filter((file) => existsSync(join(dir, file.path))).map((file) => file.path);
  if (existing.length > 0 && !force) {
    io.stderr(`error: ${dir} already holds ${existing.join(', ')}; choose another directory, or pass --force to overwrite ${existing.length === 1 ? 'it' : 'them'}\n`);
    return EXIT.invalidInput;
  }
  for (const file of STARTER) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.content);
  }
  io.stdout(
    [
      `Wrote ${INPUTS.map((file) => file.path).join(', ')} to ${dir}, and in ${SCHEMAS_DIR}/ the JSON Schemas editors check them with.`,
      'Next, in that directory:',
      '  openem-config validate --env dev     check the files offline',
      '  openem-config plan --env dev         what apply would change (PREFECT_API_URL or api_url)',
      '  openem-config apply --env dev',
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}
