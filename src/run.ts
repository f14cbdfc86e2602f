// Load and validate every input, then (for plan and apply) reconcile the kinds in dependency order.
// Nothing here exits the process or prints: the outcome goes back to main.ts as data.
import { loadConnection, type Connection } from './config/connection.js';
import { loadLimits } from './config/manifest.js';
import { loadSecrets } from './kinds/secrets/spec.js';
import type { DesiredState } from './config/types.js';
import { loadVariables } from './kinds/variables/spec.js';
import { ConfigError, IssueList, UsageError, type ConfigIssue } from './errors.js';
import { createSecretsKind } from './kinds/secrets/reconcile.js';
import { tagLimitsKind } from './kinds/tag-limits/reconcile.js';
import { variablesKind } from './kinds/variables/reconcile.js';
import { workPoolsKind } from './kinds/work-pools/reconcile.js';
import { loadWorkPools } from './kinds/work-pools/spec.js';
import { loadDeployments } from './config/deployments.js';
import { createDeploymentsKind } from './kinds/deployments/reconcile.js';
import type { Logger } from './log.js';
import { connect } from './prefect/client.js';
import { readOwnership, sameRecord, writeOwnership, type OwnershipRecord } from './prefect/ownership.js';
import { applyPlan, planKinds, summarize, type KindInput, type PlannedKind } from './reconcile/driver.js';
import type { ItemResult, KindSummary } from './reconcile/types.js';

export type Command = 'apply' | 'plan' | 'validate';

export interface RunOptions {
  command: Command;
  variables: string[];
  secrets: string[];
  secretsDirs: string[];
  secretPairs: string[];
  limits: string[];
  deployments: string[];
  flowsDir?: string | undefined;
  fromEnv: string[];
  stringValues: boolean;
  keepTrailingNewline: boolean;
  apiUrl?: string | undefined;
  waitTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryMinDelayMs?: number;
  concurrency: number;
  /** Delete owned objects of the given input kinds that the inputs no longer declare. */
  prune: boolean;
}

export interface RunContext {
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Replaces the network for tests that observe or fake requests. */
  fetch?: (request: Request) => Promise<Response>;
}

export interface RunOutcome {
  command: Command;
  warnings: ConfigIssue[];
  desired: { variables: number; secrets: number; tagLimits: number; workPools: number; deployments: number };
  server?: { url: string; version: string };
  planned?: PlannedKind[];
  results?: ItemResult[];
  summary?: Map<string, KindSummary>;
  requests?: { reads: number; writes: number };
  /** Set when the ownership record could not be written (the objects themselves were applied). */
  ownershipError?: string;
  /**
   * Set when the server refused the credentials mid-run: the run stopped at that answer, and the
   * kinds and objects it did not reach are reported as not done. main.ts exits 5 with this message.
   */
  refused?: string;
}

/** Reads and validates every input file; throws ConfigError with all problems at once. */
export interface LoadedInputs {
  state: DesiredState;
  /** Which parts the limits manifests hold at all (even empty), for the scope of --prune. */
  declared: { tagLimits: boolean; workPools: boolean };
  connection?: Connection | undefined;
  warnings: ConfigIssue[];
}

export function loadInputs(options: RunOptions, env: Record<string, string | undefined>): LoadedInputs {
  const inputCount =
    options.variables.length +
    options.secrets.length +
    options.secretsDirs.length +
    options.secretPairs.length +
    options.limits.length +
    options.deployments.length +
    options.fromEnv.length;
  if (inputCount === 0) {
    throw new UsageError('nothing to do: give at least one input (-v VARS.toml, -s NAME_FILE..., --secrets-dir, --secret, -l LIMITS.toml, -d prefect.yaml). See --help.');
  }
  const issues = new IssueList();
  const variables = loadVariables(options.variables, { env, stringValues: options.stringValues, fromEnv: options.fromEnv }, issues);
  const secrets = loadSecrets(
    {
      env,
      fileEnvNames: options.secrets,
      dirs: options.secretsDirs,
      pairs: options.secretPairs,
      keepTrailingNewline: options.keepTrailingNewline,
    },
    issues,
  );
  const { tagLimits, declaresTagLimits, workPools: poolSections } = loadLimits(options.limits, issues);
  const workPools = loadWorkPools(poolSections, issues);
  const deployments = loadDeployments(options.deployments, { env, flowsDir: options.flowsDir }, issues);
  checkDeclaredReferences(deployments, { variables, secrets, workPools }, issues, options.command === 'validate');
  const connection = options.command === 'validate' ? undefined : loadConnection(env, options.apiUrl, issues);
  issues.throwIfAny();
  const declared = { tagLimits: declaresTagLimits, workPools: poolSections.length > 0 };
  return { state: { variables, secrets, tagLimits, workPools, deployments }, declared, connection, warnings: issues.warnings };
}

/**
 * What this tool owns after a run: every object it applied from its inputs (created, updated or
 * found as declared), minus what it deleted. Variables are marked by their tag instead.
 */
function updatedOwnership(before: OwnershipRecord, results: ItemResult[]): OwnershipRecord {
  const record: OwnershipRecord = Object.fromEntries(Object.entries(before).map(([kind, keys]) => [kind, [...keys]]));
  for (const result of results) {
    if (result.kind === 'variable') continue;
    const keys = new Set(record[result.kind] ?? []);
    if (result.outcome === 'deleted') keys.delete(result.key);
    else if (result.outcome !== 'failed') keys.add(result.key);
    record[result.kind] = [...keys];
  }
  return record;
}

/**
 * Cross-checks that need no server. What the inputs do not declare may still exist on the
 * server; that is checked while planning.
 */
function checkDeclaredReferences(
  deployments: DesiredState['deployments'],
  declared: Pick<DesiredState, 'variables' | 'secrets' | 'workPools'>,
  issues: IssueList,
  offline: boolean,
): void {
  const undeclaredSchema = deployments.filter((d) => d.parameterSchema === undefined);
  for (const deployment of undeclaredSchema) {
    issues.warn(
      deployment.source,
      `no parameter_openapi_schema and no --flows-dir: the server's schema is kept (a new deployment gets an empty one, not enforced); add flow files with --flows-dir to derive it`,
    );
  }
  if (!offline) return;
  // Offline, what the inputs do not declare cannot be looked up: say what apply will need.
  const pools = new Set(declared.workPools.map((p) => p.name));
  const secrets = new Set(declared.secrets.map((s) => s.name));
  const variables = new Set(declared.variables.map((v) => v.name));
  for (const deployment of deployments) {
    if (deployment.workPoolName && !pools.has(deployment.workPoolName)) {
      issues.warn(deployment.source, `work pool "${deployment.workPoolName}" is not declared here; it must exist on the server`);
    }
    for (const ref of deployment.references) {
      const known = ref.kind === 'secret' ? secrets.has(ref.name) : ref.kind === 'variable' ? variables.has(ref.name) : true;
      if (!known) issues.warn(ref.source, `${ref.kind} "${ref.name}" is not declared here; it must exist on the server`);
    }
  }
}

export async function run(options: RunOptions, context: RunContext): Promise<RunOutcome> {
  const { logger } = context;
  const { state, declared, connection, warnings } = loadInputs(options, context.env);
  // Warnings reach the user in the report (stderr, or the JSON document); the log keeps the event.
  for (const warning of warnings) logger.debug({ event: 'input.warning', file: warning.file, line: warning.line, key: warning.key }, warning.message);
  const outcome: RunOutcome = {
    command: options.command,
    warnings,
    desired: {
      variables: state.variables.length,
      secrets: state.secrets.length,
      tagLimits: state.tagLimits.length,
      workPools: state.workPools.length,
      deployments: state.deployments.length,
    },
  };
  logger.info({ event: 'inputs.valid', ...outcome.desired }, 'inputs are valid');
  if (options.command === 'validate' || !connection) return outcome;

  const { api, version } = await connect(connection, options, logger, context.fetch);
  outcome.server = { url: connection.apiUrl, version };

  // Dependency order: secrets and variables before what may refer to them, pools before deployments.
  const deploymentsKind = createDeploymentsKind({ pools: state.workPools, secrets: state.secrets, variables: state.variables });
  const ownership = options.command === 'apply' || options.prune ? await readOwnership(api) : { record: {} };
  // Prune only the kinds whose inputs were given: `-v vars.toml --prune` must not delete pools, and
  // a limits manifest without [work_pools] must not delete them either.
  const given = {
    variable: options.variables.length + options.fromEnv.length > 0,
    secret: options.secrets.length + options.secretsDirs.length + options.secretPairs.length > 0,
    'tag-limit': declared.tagLimits,
    'work-pool': declared.workPools,
    deployment: options.deployments.length > 0,
  };
  const input = (kind: KindInput['kind'], desired: unknown[]): KindInput => {
    const prunable = options.prune && given[kind.name as keyof typeof given];
    return { kind, desired, ...(prunable ? { prune: ownership.record[kind.name] ?? [] } : {}) };
  };
  const kinds: KindInput[] = [
    input(variablesKind as KindInput['kind'], state.variables),
    input(createSecretsKind() as KindInput['kind'], state.secrets),
    input(tagLimitsKind as KindInput['kind'], state.tagLimits),
    input(workPoolsKind as KindInput['kind'], state.workPools),
    input(deploymentsKind as KindInput['kind'], state.deployments),
  ];
  const { refused } = api.http;
  outcome.planned = await planKinds(api, kinds, logger);
  // What the deployments refer to is only known after reading the server: still before any write.
  const referenceIssues = deploymentsKind.issues();
  for (const warning of referenceIssues.filter((i) => i.severity === 'warning')) {
    logger.debug({ event: 'input.warning', file: warning.file, line: warning.line, key: warning.key }, warning.message);
    outcome.warnings.push(warning);
  }
  const referenceErrors = referenceIssues.filter((i) => i.severity !== 'warning');
  // A pool --prune would delete must not be one a declared deployment runs on.
  const doomedPools = new Set(
    outcome.planned.flatMap((kind) => kind.items).filter((item) => item.kind === 'work-pool' && item.action === 'delete').map((item) => item.key),
  );
  for (const deployment of state.deployments) {
    if (deployment.workPoolName && doomedPools.has(deployment.workPoolName)) {
      referenceErrors.push({
        ...deployment.source,
        message: `runs on work pool "${deployment.workPoolName}", which --prune would delete (no limits manifest declares it any more); declare the pool or move the deployment`,
      });
    }
  }
  // After a refusal the references were not all read: what looks missing may well exist.
  if (referenceErrors.length > 0 && !refused.aborted) throw new ConfigError(referenceErrors);
  const pending = outcome.planned.flatMap((kind) => kind.items).filter((item) => item.action !== 'noop').length;
  logger.info({ event: 'plan', pending }, `${pending} change${pending === 1 ? '' : 's'} to make`);

  if (options.command === 'apply') {
    let lastProgress = Date.now();
    outcome.results = await applyPlan(api, outcome.planned, {
      concurrency: options.concurrency,
      logger,
      refused,
      onProgress: (done, total) => {
        if (Date.now() - lastProgress < 5000 && done !== total) return;
        lastProgress = Date.now();
        logger.info({ event: 'progress', done, total }, `${done}/${total} changes applied`);
      },
    });
    outcome.summary = summarize(outcome.results);
    const record = updatedOwnership(ownership.record, outcome.results);
    // With refused credentials the record cannot be written; the next run records what this one applied.
    if (!sameRecord(record, ownership.record) && !refused.aborted) {
      try {
        await writeOwnership(api, ownership, record);
      } catch (error) {
        outcome.ownershipError = error instanceof Error ? error.message : String(error);
        logger.error({ event: 'ownership.failed', error: outcome.ownershipError }, `could not record what openem-config owns: ${outcome.ownershipError}`);
      }
    }
    for (const [kind, c] of outcome.summary) {
      logger.info({ event: 'summary', kind, ...c }, `${kind}s: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.failed} failed`);
    }
  }
  if (refused.aborted) {
    const reason = refused.reason instanceof Error ? refused.reason.message : String(refused.reason);
    outcome.refused = `${reason}. The run stopped there; every object not done is listed. Run it again once the server accepts the credentials.`;
    logger.error({ event: 'run.stopped', reason }, 'the server refused the credentials mid-run; the run stopped');
  }
  outcome.requests = { reads: api.http.reads, writes: api.http.writes };
  return outcome;
}
