// `export`: read a server, build the files that declare its state, read them back to prove they
// say what the server holds, and write them. Nothing here prints or exits: the outcome is data.
import { resolve } from 'node:path';
import { loadConnection } from '../config/connection.js';
import { IssueList } from '../errors.js';
import type { Logger } from '../log.js';
import { connect } from '../prefect/client.js';
import { DEPLOYMENTS_FILE, exportDeployments } from '../kinds/deployments/export.js';
import { writeExport } from './files.js';
import { createMatcher } from './glob.js';
import { exportLimits, LIMITS_FILE } from '../kinds/work-pools/export.js';
import { readServer } from './read.js';
import { README_FILE, renderReadme, secretPath } from './readme.js';
import { exportSecrets } from '../kinds/secrets/export.js';
import { listNames, type ApplyArguments, type ExportCounts, type ExportFile, type ExportWarning, type Section } from './types.js';
import { envName, exportVariables } from '../kinds/variables/export.js';
import { deploymentChecker, Scratch, verifyExport } from './verify.js';

export interface ExportOptions {
  /** The directory the files go to; created when missing. */
  to: string;
  force: boolean;
  only: readonly Section[];
  /** Globs on object names; none selects everything. */
  match: readonly string[];
  apiUrl?: string | undefined;
  waitTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryMinDelayMs?: number | undefined;
}

export interface ExportContext {
  env: Record<string, string | undefined>;
  logger: Logger;
  fetch?: (request: Request) => Promise<Response>;
}

export interface ExportOutcome {
  dir: string;
  server: { url: string; version: string };
  files: Array<Pick<ExportFile, 'path' | 'summary'>>;
  counts: ExportCounts;
  args: ApplyArguments;
  warnings: ExportWarning[];
  requests: { reads: number; writes: number };
}

export async function runExport(options: ExportOptions, context: ExportContext): Promise<ExportOutcome> {
  const { logger, env } = context;
  const issues = new IssueList();
  const connection = loadConnection(env, options.apiUrl, issues);
  issues.throwIfAny();
  if (!connection) throw new Error('no connection and no issue: a bug in loadConnection');
  const { api, version } = await connect(connection, options, logger, context.fetch);

  const only = new Set(options.only);
  const matches = createMatcher(options.match);
  const snapshot = await readServer(api, only, matches);
  logger.info(
    { event: 'export.read', variables: snapshot.variables.length, globalLimits: snapshot.globalLimits.length, pools: snapshot.pools.length, deployments: snapshot.deployments.length, blocks: snapshot.blocks.length },
    'server state read',
  );

  const scratch = new Scratch();
  try {
    const variables = only.has('variables') ? exportVariables(snapshot.variables, { matches, env }) : { files: [], warnings: [], count: 0 };
    const secrets = exportSecrets(snapshot.blocks, matches);
    const limits = exportLimits({
      globalLimits: only.has('limits') ? snapshot.globalLimits : undefined,
      pools: only.has('pools') ? snapshot.pools : undefined,
      matches,
    });
    const deployments = exportDeployments(snapshot.deployments, { matches, check: deploymentChecker(scratch), withoutFlow: snapshot.deploymentsWithoutFlow });

    const args: ApplyArguments = {
      variables: variables.files.map((file) => file.path),
      secretEnvNames: secrets.secrets.flatMap((secret) => (secret.envName ? [secret.envName] : [])),
      secretPairs: secrets.secrets.filter((secret) => !secret.envName).map((secret) => `${secret.name}=${secretPath(secret.name)}`),
      limits: limits.files.some((file) => file.path === LIMITS_FILE) ? [LIMITS_FILE] : [],
      deployments: deployments.files.length > 0 ? [DEPLOYMENTS_FILE] : [],
    };
    const warnings = [...variables.warnings, ...secrets.warnings, ...limits.warnings, ...deployments.warnings];
    const keys = new Set(snapshot.variables.map((variable) => envName(variable.name)));
    const clashes = args.secretEnvNames.filter((name) => keys.has(name));
    if (clashes.length > 0) {
      warnings.push({
        subject: 'secrets',
        message: `${listNames(clashes)} ${clashes.length === 1 ? 'names' : 'name'} both a secret file (-s) and a variable's key: set for the secret, it would also replace the variable's value; give that secret with --secret NAME=PATH instead`,
      });
    }

    const files: ExportFile[] = [...variables.files, ...limits.files, ...deployments.files];
    warnings.push(...verifyExport(files, snapshot, scratch));
    files.push({ path: README_FILE, content: renderReadme({ files, secrets: secrets.secrets, args }), summary: 'how to apply these files, and the secrets to provide' });

    const dir = resolve(options.to);
    warnings.push(...writeExport(dir, files, { force: options.force }));
    const counts: ExportCounts = {
      variables: variables.count,
      secrets: secrets.secrets.length,
      tagLimits: limits.tagLimits,
      globalLimits: limits.globalLimits,
      workPools: limits.workPools,
      deployments: deployments.count,
    };
    logger.info({ event: 'export.written', dir, files: files.length, ...counts }, `${files.length} files written to ${dir}`);
    return {
      dir,
      server: { url: connection.apiUrl, version },
      files: files.map(({ path, summary }) => ({ path, summary })),
      counts,
      args,
      warnings,
      requests: { reads: api.http.reads, writes: api.http.writes },
    };
  } finally {
    scratch.close();
  }
}
