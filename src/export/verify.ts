// Reads an export back through the project's own loaders and compares it with the server through
// the kinds' diffs: what apply would change on the source server is what the files do not say.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MANAGED_TAG } from '../kinds/variables/spec.js';
import { formatIssue, IssueList, type ConfigIssue } from '../errors.js';
import { createDeploymentsKind } from '../kinds/deployments/reconcile.js';
import { tagLimitsKind } from '../kinds/tag-limits/reconcile.js';
import { variablesKind } from '../kinds/variables/reconcile.js';
import { workPoolsKind } from '../kinds/work-pools/reconcile.js';
import type { Diff, FieldChange } from '../reconcile/types.js';
import { loadDesired } from '../run.js';
import { deployments as deploymentsDefinition } from '../kinds/deployments/kind.js';
import { globalLimits as globalLimitsDefinition } from '../kinds/global-limits/kind.js';
import { globalLimitsKind } from '../kinds/global-limits/reconcile.js';
import { tagLimits as tagLimitsDefinition } from '../kinds/tag-limits/kind.js';
import { variables as variablesDefinition } from '../kinds/variables/kind.js';
import { workPools as workPoolsDefinition } from '../kinds/work-pools/kind.js';
import { DEPLOYMENTS_FILE, renderDeploymentsFile, type EntryCheck } from '../kinds/deployments/export.js';
import { LIMITS_FILE } from '../kinds/work-pools/export.js';
import type { ServerSnapshot } from './read.js';
import type { ExportFile, ExportWarning } from './types.js';

/** No input but the files an export wrote, and no environment: no override applies. */
const NO_INPUTS = { variables: [], secrets: [], secretsDirs: [], secretPairs: [], limits: [], deployments: [], fromEnv: [], stringValues: false, keepTrailingNewline: false };

/** A scratch directory for reading exports back, removed by `close`. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'openem-export-'));
  private count = 0;

  /** A fresh directory below the scratch directory. */
  subdir(): string {
    const dir = join(this.dir, String(++this.count));
    mkdirSync(dir);
    return dir;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Loads one deployment entry as a prefect.yaml of its own and diffs it with the server's deployment. */
export function deploymentChecker(scratch: Scratch): EntryCheck {
  return (entry, server) => {
    const file = join(scratch.subdir(), DEPLOYMENTS_FILE);
    writeFileSync(file, renderDeploymentsFile([entry]));
    const issues = new IssueList();
    const [desired] = loadDesired({ ...NO_INPUTS, deployments: [file] }, {}, issues).get(deploymentsDefinition);
    if (issues.errors.length > 0 || !desired) {
      return `prefect.yaml cannot hold it as it is: ${issues.errors.map((issue) => describeIssue(issue)).join('; ') || 'the loader refused it'}`;
    }
    const diff = createDeploymentsKind().diff(desired, { deployment: server.deployment });
    return diff.action === 'noop' ? undefined : `applying the written entry would change it: ${describeChanges(diff)}`;
  };
}

/** `work_pool.job_variables.image: message`, without the file and the `deployments[0].` of the scratch file. */
function describeIssue(issue: ConfigIssue): string {
  const key = issue.key?.replace(/^deployments\[\d+\]\.?/, '');
  return key ? `${key}: ${issue.message}` : issue.message;
}

function describeChanges(diff: Diff): string {
  if (diff.problem) return diff.problem;
  return diff.changes.map((change) => describeChange(change)).join(', ');
}

function describeChange(change: FieldChange): string {
  const show = (value: unknown) => {
    const text = JSON.stringify(value) ?? 'null';
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  };
  return 'from' in change ? `${change.field}: ${show(change.from)} -> ${show(change.to)}` : `${change.field} = ${show(change.to)}`;
}

/**
 * Writes the files to a scratch directory, loads them as `apply` would (with no environment, so no
 * override applies), and diffs every object with the server. A file that does not load is a bug
 * in the writers and throws; an object that would change is returned as a warning.
 */
export function verifyExport(files: readonly ExportFile[], snapshot: ServerSnapshot, scratch: Scratch): ExportWarning[] {
  const dir = scratch.subdir();
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
  const paths = (test: (path: string) => boolean) => files.map((f) => f.path).filter(test).map((path) => join(dir, path));
  const issues = new IssueList();
  const desiredSet = loadDesired(
    {
      ...NO_INPUTS,
      variables: paths((p) => /^vars.*\.toml$/.test(p)),
      limits: paths((p) => p === LIMITS_FILE),
      deployments: paths((p) => p === DEPLOYMENTS_FILE),
    },
    {},
    issues,
  );
  const variables = desiredSet.get(variablesDefinition);
  const limits = { tagLimits: desiredSet.get(tagLimitsDefinition) };
  const pools = desiredSet.get(workPoolsDefinition);
  const deployments = desiredSet.get(deploymentsDefinition);
  if (issues.errors.length > 0) {
    const shown = issues.errors.map((issue) => `  ${formatIssue({ ...issue, file: issue.file.replace(`${dir}/`, '') })}`).join('\n');
    throw new Error(`the exported files do not load back (a bug in export, please report it):\n${shown}`);
  }

  const warnings: ExportWarning[] = [];
  const differs = (subject: string, diff: Diff) => {
    if (diff.action !== 'noop') warnings.push({ subject, message: `reads back with differences, which apply would write to this server: ${describeChanges(diff)}` });
  };
  const serverVariables = new Map(snapshot.variables.map((v) => [v.name, v]));
  for (const desired of variables) {
    const current = serverVariables.get(desired.name);
    // Adding the managed tag (and dropping an empty one) is the one change an export announces itself.
    const tags = [...new Set([...(current?.tags ?? []).filter((tag) => tag !== ''), MANAGED_TAG])];
    differs(`variable "${desired.name}"`, variablesKind.diff(desired, current && { ...current, tags }));
  }
  const tagLimits = new Map(snapshot.globalLimits.filter((l) => l.name.startsWith('tag:')).map((l) => [l.name.slice(4), { tag: l.name.slice(4), limit: l.limit }]));
  for (const desired of limits.tagLimits) differs(`tag limit "${desired.tag}"`, tagLimitsKind.diff(desired, tagLimits.get(desired.tag)));
  const serverGlobalLimits = new Map(snapshot.globalLimits.map((l) => [l.name, l]));
  for (const desired of desiredSet.get(globalLimitsDefinition)) {
    differs(`global limit "${desired.name}"`, globalLimitsKind.diff(desired, serverGlobalLimits.get(desired.name)));
  }
  const serverPools = new Map(snapshot.pools.map((p) => [p.pool.name, p]));
  for (const desired of pools) {
    const current = serverPools.get(desired.name);
    differs(`work pool "${desired.name}"`, workPoolsKind.diff(desired, current && { pool: current.pool, queues: new Map(current.queues.map((q) => [q.name, q])) }));
  }
  const serverDeployments = new Map(snapshot.deployments.map((d) => [`${d.flowName}/${d.deployment.name}`, d.deployment]));
  const deploymentsKind = createDeploymentsKind();
  for (const desired of deployments) {
    const key = `${desired.flowName}/${desired.name}`;
    const current = serverDeployments.get(key);
    differs(`deployment "${key}"`, deploymentsKind.diff(desired, current && { deployment: current }));
  }
  return warnings;
}
