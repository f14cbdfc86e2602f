// Load and validate every input, then (for plan and apply) reconcile the kinds of the registry in
// order. Nothing here exits the process or prints: the outcome goes back to main.ts as data.
import { loadConnection, type Connection } from './config/connection.js';
import { readManifests, type InputOptions } from './config/inputs.js';
import { ConfigError, ConnectionError, InterruptedError, IssueList, StalePlanError, UsageError, type ConfigIssue } from './errors.js';
import { KINDS } from './kinds/index.js';
import type { Logger } from './log.js';
import { connect } from './prefect/client.js';
import type { Interrupt } from './prefect/http.js';
import { readOwnership, sameRecord, writeOwnership, type OwnershipRecord } from './prefect/ownership.js';
import { applyPlan, planKinds, summarize, type KindInput, type PlannedKind } from './reconcile/driver.js';
import { DesiredSet, type AnyKind } from './reconcile/kind.js';
import { checkInputConflicts, checkReferences, checkReferencesOffline } from './reconcile/references.js';
import { inputsDigest, planDifferences, planItems, sameDigest, type SavedPlan } from './reconcile/saved-plan.js';
import type { Selection } from './reconcile/select.js';
import type { ItemResult, KindSummary } from './reconcile/types.js';
import { checkServerVersion } from './reconcile/versions.js';
import { preparePythonReader } from './python/syntax.js';
import { sameSchemaRules } from './python/versions.js';

export type Command = 'apply' | 'plan' | 'validate';

const KIND_BY_NAME = new Map(KINDS.map((kind) => [kind.name, kind]));

export interface RunOptions extends InputOptions {
  command: Command;
  apiUrl?: string | undefined;
  waitTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryMinDelayMs?: number;
  concurrency: number;
  /** Delete owned objects of the given input kinds that the inputs no longer declare. */
  prune: boolean;
  /** `plan --out`: the salt of the digest of the inputs the saved plan holds. */
  digestSalt?: string | undefined;
  /** `apply FILE`: the saved plan, applied only when the inputs and the server's plan are the same again. */
  savedPlan?: SavedPlan | undefined;
  /** `--only` as given, for a saved plan. */
  only?: string[] | undefined;
  /** `--only`: the kinds and objects plan and apply touch; every input is still read and checked. */
  selection?: Selection | undefined;
  /** Where the run is started (apply FILE says where the plan was made when it differs). */
  cwd?: string | undefined;
  /** The release package.json pins (openemConfig.prefectVersion): flows' schemas are derived for it offline. */
  pinnedPrefectVersion?: string | undefined;
}

export interface RunContext {
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Replaces the network for tests that observe or fake requests. */
  fetch?: (request: Request) => Promise<Response>;
  /** SIGTERM or SIGINT: no object is started after it, requests in flight get a grace period. */
  interrupt?: Interrupt | undefined;
}

/** Why a run stopped before its end; main.ts exits 5, 4, 143 or 130 with `message`. */
export interface Stopped {
  reason: 'unauthorized' | 'unreachable' | 'interrupted';
  signal?: InterruptedError['signal'];
  message: string;
}

export interface RunOutcome {
  command: Command;
  warnings: ConfigIssue[];
  /** How many objects of each kind the inputs declare, by the kind's countKey, in registry order. */
  desired: Record<string, number>;
  server?: { url: string; version: string };
  /** With --flows-dir: the Prefect release the flows' parameter schemas were derived for, and where it came from. */
  schemasFor?: { version: string; source: 'option' | 'pinned' | 'server' };
  planned?: PlannedKind[];
  results?: ItemResult[];
  summary?: Map<string, KindSummary>;
  requests?: { reads: number; writes: number };
  /** `plan --out`: the digest of the inputs, for the saved plan. */
  inputs?: { salt: string; digest: string };
  /** Set when the ownership record could not be written (the objects themselves were applied). */
  ownershipError?: string;
  /**
   * Set when the run stopped before its end: the server refused the credentials or stopped
   * answering mid-run, or a signal came. The objects it did not reach are reported as not done.
   */
  stopped?: Stopped;
}

/** Every kind's desired objects from the input files; problems go to `issues`. */
export function loadDesired(options: InputOptions, env: Record<string, string | undefined>, issues: IssueList): DesiredSet {
  const manifests = readManifests(options.limits, KINDS, issues);
  const desired = new DesiredSet();
  for (const kind of KINDS) desired.set(kind, kind.load({ options, env, manifest: manifests.get(kind.name) ?? [], loaded: desired }, issues));
  return desired;
}

/** Reads and validates every input file; throws ConfigError with all problems at once. */
export interface LoadedInputs {
  desired: DesiredSet;
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
  const desired = loadDesired(options, env, issues);
  // Declarations that cannot both hold, on all the inputs (not only what --only selects).
  issues.items.push(...checkInputConflicts(desired));
  // Offline, what the inputs do not declare cannot be looked up: say what apply will need.
  if (options.command === 'validate') for (const issue of checkReferencesOffline(desired)) issues.items.push(issue);
  const connection = options.command === 'validate' ? undefined : loadConnection(env, options.apiUrl, issues);
  issues.throwIfAny();
  return { desired, connection, warnings: issues.warnings };
}

/**
 * What this tool owns after a run: every object it applied from its inputs (created, updated or
 * found as declared, or written before a later step of its apply failed), minus what it deleted.
 * Variables are marked by their tag instead.
 */
function updatedOwnership(before: OwnershipRecord, results: ItemResult[]): OwnershipRecord {
  const record: OwnershipRecord = Object.fromEntries(Object.entries(before).map(([kind, keys]) => [kind, [...keys]]));
  for (const result of results) {
    if (result.kind === 'variable') continue;
    const keys = new Set(record[result.kind] ?? []);
    if (result.outcome === 'deleted') keys.delete(result.key);
    else if (result.outcome !== 'failed' || result.written) {
      keys.add(result.key);
      // The object now belongs to this kind: no other kind's key for it may prune it later.
      for (const alias of KIND_BY_NAME.get(result.kind)?.aliases?.(result.key) ?? []) record[alias.kind] = (record[alias.kind] ?? []).filter((key) => key !== alias.key);
    }
    record[result.kind] = [...keys];
  }
  return record;
}

/** The owned keys --prune may delete for a kind: not those whose object another kind declares now. */
function prunableKeys(kind: AnyKind, owned: readonly string[], desired: DesiredSet): string[] {
  return owned.filter((key) =>
    (kind.aliases?.(key) ?? []).every((alias) => {
      const other = KIND_BY_NAME.get(alias.kind);
      return !other || !desired.has(other, alias.key);
    }),
  );
}

/** The selected objects of the inputs; a NAME that selects no declared object is a usage error (a typo would apply nothing). */
function select(desired: DesiredSet, selection: Selection, deleting: boolean): DesiredSet {
  for (const [kindName, patterns] of deleting ? [] : selection.named) {
    const kind = KIND_BY_NAME.get(kindName)!;
    const keys = desired.get(kind).map((item) => kind.key(item));
    if (keys.some((key) => selection.includes(kind, key))) continue;
    throw new UsageError(`--only ${kindName}:${patterns.join(',')} selects none of the ${keys.length} ${kind.label[1]} the inputs declare${keys.length > 0 ? ` (${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''})` : ''}`);
  }
  return desired.filter(KINDS, (kind, key) => selection.includes(kind, key), (kind) => selection.hasKind(kind));
}

/** What the report says about a run that stopped before its end, by the reason it stopped. */
function stopReport(reason: unknown, logger: Logger): Stopped {
  const cause = reason instanceof Error ? reason.message : String(reason);
  const listed = 'The run stopped there; every object not done is listed.';
  let stopped: Stopped;
  if (reason instanceof InterruptedError) {
    stopped = { reason: 'interrupted', signal: reason.signal, message: `${cause}. No object was started after it; every object not done is listed. Run it again to finish.` };
  } else if (reason instanceof ConnectionError && reason.reason === 'unauthorized') {
    stopped = { reason: 'unauthorized', message: `${cause}. ${listed} Run it again once the server accepts the credentials.` };
  } else {
    stopped = { reason: 'unreachable', message: `the server stopped answering mid-run: ${cause}. ${listed} Run it again once the server is back.` };
  }
  logger.error({ event: 'run.stopped', reason: stopped.reason, error: cause }, `the run stopped: ${cause}`);
  return stopped;
}

export async function run(options: RunOptions, context: RunContext): Promise<RunOutcome> {
  const { logger } = context;
  // The Python grammar is compiled only for a run that reads flow files.
  if (options.flowsDir !== undefined) await preparePythonReader();
  // Flows' schemas are derived for the release given, else for the pinned one until the server says its own.
  const assumed = options.prefectVersion ?? options.pinnedPrefectVersion;
  const loaded = loadInputs({ ...options, prefectVersion: assumed }, context.env);
  let { desired } = loaded;
  // A selector that selects nothing is refused before the first request (with --prune, once the
  // objects to delete are known too).
  if (options.selection && options.command !== 'validate') select(desired, options.selection, options.prune);
  const { connection, warnings } = loaded;
  // Warnings reach the user in the report (stderr, or the JSON document); the log keeps the event.
  for (const warning of warnings) logger.debug({ event: 'input.warning', file: warning.file, line: warning.line, key: warning.key }, warning.message);
  const outcome: RunOutcome = {
    command: options.command,
    warnings,
    desired: Object.fromEntries(KINDS.map((kind) => [kind.countKey, desired.get(kind).length])),
  };
  if (options.flowsDir !== undefined && assumed !== undefined) outcome.schemasFor = { version: assumed, source: options.prefectVersion === undefined ? 'pinned' : 'option' };
  logger.info({ event: 'inputs.valid', ...outcome.desired }, 'inputs are valid');
  if (options.command === 'validate' || !connection) return outcome;

  const { savedPlan } = options;
  if (savedPlan && savedPlan.server.url !== connection.apiUrl) {
    throw new StalePlanError(`the plan was made for the server ${savedPlan.server.url}, not ${connection.apiUrl}; run plan --out against this one`);
  }
  const { api, version } = await connect(connection, { ...options, interrupt: context.interrupt }, logger, context.fetch);
  if (outcome.schemasFor && options.prefectVersion === undefined) {
    // The server's release decides; the inputs were checked for the pinned one before the first
    // request, and are read again (and checked again) only when that release derives differently.
    if (!sameSchemaRules(version, outcome.schemasFor.version)) {
      const again = loadInputs({ ...options, prefectVersion: version }, context.env);
      desired = again.desired;
      outcome.warnings = again.warnings;
      logger.info({ event: 'schemas.rederived', version }, `parameter schemas derived again for the server's Prefect ${version}`);
    }
    outcome.schemasFor = { version, source: 'server' };
  }
  if (options.digestSalt !== undefined) outcome.inputs = { salt: options.digestSalt, digest: inputsDigest(desired, KINDS, options.digestSalt, options.cwd ?? process.cwd()) };
  if (savedPlan) {
    if (savedPlan.server.version !== version) throw new StalePlanError(`the server is Prefect ${version} now, and was ${savedPlan.server.version} when the plan was made; run plan --out again`);
    if (!sameDigest(inputsDigest(desired, KINDS, savedPlan.inputs.salt, savedPlan.cwd), savedPlan.inputs.digest)) {
      throw new StalePlanError(
        `the inputs changed since the plan was made (a file, a secret, or the environment${savedPlan.cwd === (options.cwd ?? savedPlan.cwd) ? '' : `; it was made in ${savedPlan.cwd}`}); run plan --out again and review it`,
      );
    }
  }
  // With --only, the rest of the inputs is checked but not applied: references to it must be met by the server.
  const { selection } = options;
  const chosen = selection ? select(desired, selection, true) : desired;
  if (selection) outcome.desired = Object.fromEntries(KINDS.map((kind) => [kind.countKey, chosen.get(kind).length]));
  // Before anything else is read: a server too old for a declared kind or feature is told so.
  checkServerVersion(version, KINDS.filter((kind) => chosen.get(kind).length > 0 || (options.prune && chosen.declared(kind))), chosen);
  outcome.server = { url: connection.apiUrl, version };

  // Prune only the kinds whose inputs were given: `-v vars.toml --prune` must not delete pools, and
  // a limits manifest without [work_pools] must not delete them either.
  // Kinds that match objects by the record (automations) need it to plan as apply will.
  const planned = selection ? KINDS.filter((kind) => selection.hasKind(kind)) : KINDS;
  const recordNeeded = options.command === 'apply' || options.prune || planned.some((kind) => kind.needsOwnership && desired.declared(kind));
  const ownership = recordNeeded ? await readOwnership(api) : { record: {} };
  const inputs: KindInput[] = [];
  for (const kind of planned) {
    const owned = ownership.record[kind.name] ?? [];
    const prunable = (options.prune || kind.prunesUndeclared) && desired.declared(kind);
    // A kind is planned whole, so that its diff is the one a full run makes; --only keeps its selected items.
    inputs.push({ kind: kind.reconcile(desired), desired: desired.get(kind), owned, ...(prunable ? { prune: prunableKeys(kind, owned, desired) } : {}) });
  }
  const { stopped } = api.http;
  const plan = await planKinds(api, inputs, logger);
  if (selection) {
    for (const kind of plan.kinds) kind.items = kind.items.filter((item) => selection.includes(kind, item.key));
    for (const [kindName, patterns] of selection.named) {
      if (!plan.kinds.some((kind) => kind.name === kindName && kind.items.length > 0)) throw new UsageError(`--only ${kindName}:${patterns.join(',')} selects nothing the inputs declare or --prune would delete`);
    }
  }
  outcome.planned = plan.kinds;
  // What the inputs refer to is known only after reading the server: still before any write.
  const referenceIssues = (await checkReferences(api, chosen, plan)).map((issue) =>
    selection && issue.severity !== 'warning' ? { ...issue, message: `${issue.message} (--only ${selection.text} leaves out what it does not select: the server must have it)` } : issue,
  );
  for (const kind of planned) {
    if (kind.checkAgainstServer && chosen.get(kind).length > 0) {
      referenceIssues.push(...(await kind.checkAgainstServer(api, chosen.get(kind), plan.work.get(kind.name)?.current ?? new Map())));
    }
  }
  for (const warning of referenceIssues.filter((i) => i.severity === 'warning')) {
    logger.debug({ event: 'input.warning', file: warning.file, line: warning.line, key: warning.key }, warning.message);
    outcome.warnings.push(warning);
  }
  const referenceErrors = referenceIssues.filter((i) => i.severity !== 'warning');
  // After a stop the references were not all read: what looks missing may well exist.
  if (referenceErrors.length > 0 && !stopped.aborted) throw new ConfigError(referenceErrors);
  if (savedPlan) {
    const differing = planDifferences(savedPlan.kinds, planItems(plan.kinds));
    if (differing.length > 0) {
      const listed = `${differing.slice(0, 10).join(', ')}${differing.length > 10 ? `, and ${differing.length - 10} more` : ''}`;
      throw new StalePlanError(`the server changed since the plan was made: the change planned for ${differing.length === 1 ? 'this object differs' : `these ${differing.length} objects differ`} now: ${listed}; run plan --out again and review it`);
    }
  }
  const pending = outcome.planned.flatMap((kind) => kind.items).filter((item) => item.action !== 'noop').length;
  logger.info({ event: 'plan', pending }, `${pending} change${pending === 1 ? '' : 's'} to make`);

  if (options.command === 'apply') {
    let lastProgress = Date.now();
    outcome.results = await applyPlan(api, plan, {
      concurrency: options.concurrency,
      logger,
      stop: stopped,
      onProgress: (done, total) => {
        if (Date.now() - lastProgress < 5000 && done !== total) return;
        lastProgress = Date.now();
        logger.info({ event: 'progress', done, total }, `${done}/${total} changes applied`);
      },
    });
    outcome.summary = summarize(outcome.results);
    const record = updatedOwnership(ownership.record, outcome.results);
    // A run stopped by a signal still records what it applied, within a bound of its own (see
    // Interrupt): else a later --prune could not remove what it created. A run stopped at refused
    // credentials or a server gone sends nothing more; the next run records what this one applied.
    const interrupted = stopped.aborted && !api.http.halted;
    if (!sameRecord(record, ownership.record) && (!stopped.aborted || interrupted)) {
      if (interrupted) api.http.finishing();
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
  if (stopped.aborted) outcome.stopped = stopReport(stopped.reason, logger);
  outcome.requests = { reads: api.http.reads, writes: api.http.writes };
  return outcome;
}
