// What the user reads on stdout: one line per change and a summary per kind, or one JSON document.
// Secret values never reach this module: their changes carry only `secret: true`.
import { formatIssue, type ConfigIssue } from './errors.js';
import type { PlannedKind } from './reconcile/driver.js';
import type { FieldChange, ItemResult, KindSummary, PlanItem } from './reconcile/types.js';

const SYMBOL: Record<PlanItem['action'], string> = { create: '+', update: '~', delete: '-', noop: '=' };

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Path-level changes shown per changed field of an object; the rest are counted. */
export const MAX_PATHS_SHOWN = 10;

/** One changed value inside a field, at its path; a side absent there (a key added or removed) is left out. */
export interface PathChange extends FieldChange {
  /** The field this path is inside, when the change was expanded from a whole-document change. */
  within?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNested = (value: unknown): boolean => isRecord(value) || (Array.isArray(value) && value.some((item) => typeof item === 'object' && item !== null));

function pathOf(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
  }
  return false;
}

function collectPaths(path: string, from: unknown, to: unknown, within: string, out: PathChange[], present: { from: boolean; to: boolean }): void {
  if (present.from && present.to && sameJson(from, to)) return;
  if (present.from && present.to && isRecord(from) && isRecord(to)) {
    for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
      collectPaths(pathOf(path, key), from[key], to[key], within, out, { from: Object.hasOwn(from, key), to: Object.hasOwn(to, key) });
    }
    return;
  }
  if (present.from && present.to && Array.isArray(from) && Array.isArray(to) && (isNested(from) || isNested(to))) {
    for (let index = 0; index < Math.max(from.length, to.length); index++) {
      collectPaths(pathOf(path, index), from[index], to[index], within, out, { from: index < from.length, to: index < to.length });
    }
    return;
  }
  const change: PathChange = { field: path, within };
  if (present.from) change.from = from;
  if (present.to) change.to = to;
  out.push(change);
}

/**
 * A change of a whole document (a base job template, job variables, parameters, a parameter
 * schema, pull steps, a block field) as the changes at the paths inside it that differ:
 * `base_job_template.variables.properties.image_pull_policy.default: "IfNotPresent" -> "Always"`.
 * A secret change stays one change without values; a change of plain values, or one whose
 * differences the kind has hidden (both sides `(hidden)`), stays as it is.
 */
export function expandChange(change: FieldChange): PathChange[] {
  if (change.secret || !('from' in change) || !('to' in change) || !isNested(change.from) || !isNested(change.to)) return [change];
  if (isRecord(change.from) !== isRecord(change.to)) return [change];
  const out: PathChange[] = [];
  collectPaths(change.field, change.from, change.to, change.field, out, { from: true, to: true });
  return out.length > 0 ? out : [change];
}

/** Every change of an item at path level, as the plan and the JSON report give them. */
export function expandChanges(changes: readonly FieldChange[], action: PlanItem['action']): PathChange[] {
  return action === 'update' ? changes.flatMap(expandChange) : [...changes];
}

function describeChange(change: PathChange, action: PlanItem['action']): string {
  if (change.secret) return action === 'create' ? `${change.field} (hidden)` : `${change.field} changed (hidden)`;
  if (action === 'create') return `${change.field} = ${show(change.to)}`;
  if (change.within !== undefined) {
    const side = (present: boolean, value: unknown) => (present ? show(value) : '(none)');
    return `${change.field}: ${side('from' in change, change.from)} -> ${side('to' in change, change.to)}`;
  }
  return `${change.field}: ${show(change.from)} -> ${show(change.to)}`;
}

/** The changes as text, at most MAX_PATHS_SHOWN paths of each expanded field, the rest counted. */
function describeChanges(changes: readonly FieldChange[], action: PlanItem['action']): string[] {
  return changes.flatMap((change) => {
    const paths = action === 'update' ? expandChange(change) : [change];
    const lines = paths.slice(0, MAX_PATHS_SHOWN).map((path) => describeChange(path, action));
    const rest = paths.length - MAX_PATHS_SHOWN;
    if (rest > 0) lines.push(`${rest} more change${rest === 1 ? '' : 's'} in ${change.field}`);
    return lines;
  });
}

export function planLine(item: PlanItem): string {
  const details = describeChanges(item.changes, item.action).join(', ');
  return `${SYMBOL[item.action]} ${item.kind} ${item.key}${details ? `: ${details}` : ''}`;
}

export function renderPlan(planned: PlannedKind[]): string {
  const lines: string[] = [];
  // Deletions first: they are what a reader must not miss.
  for (const kind of [...planned].reverse()) {
    for (const item of kind.items) if (item.action === 'delete') lines.push(planLine(item));
  }
  for (const kind of planned) {
    if (kind.error) lines.push(`! ${kind.name}s could not be read: ${kind.error}`);
    for (const item of kind.items) {
      if (item.action === 'delete') continue;
      if (item.problem) lines.push(`! ${item.kind} ${item.key}: ${item.problem}`);
      else if (item.action !== 'noop') lines.push(planLine(item));
    }
  }
  const items = planned.flatMap((kind) => kind.items);
  const count = (action: PlanItem['action']): number => items.filter((item) => item.action === action).length;
  const blocked = items.some((item) => item.problem) || planned.some((kind) => kind.error);
  if (count('create') + count('update') + count('delete') === 0 && !blocked) lines.push('No changes: the server matches the inputs.');
  const deletes = count('delete') > 0 ? `, ${count('delete')} to delete` : '';
  lines.push(`Plan: ${count('create')} to create, ${count('update')} to update${deletes}, ${count('noop')} unchanged.`);
  return `${lines.join('\n')}\n`;
}

export function renderResults(results: ItemResult[], summary: Map<string, KindSummary>, planned: PlannedKind[]): string {
  const lines: string[] = [];
  for (const kind of planned) if (kind.error) lines.push(`! ${kind.name}s could not be read: ${kind.error}`);
  for (const result of results) {
    // A create that found the object made meanwhile by another run: said so, whether it had to change it or not.
    if (result.note) lines.push(`${result.outcome === 'updated' ? SYMBOL.update : SYMBOL.noop} ${result.kind} ${result.key}: ${result.note}`);
    if (result.outcome === 'unchanged' || result.note) continue;
    if (result.outcome === 'failed') lines.push(`! ${result.kind} ${result.key}: ${result.error ?? 'failed'}`);
    else lines.push(planLine(result));
  }
  for (const [kind, counts] of summary) {
    const deleted = counts.deleted > 0 ? `, ${counts.deleted} deleted` : '';
    const notDone = results.filter((result) => result.kind === kind && result.notDone).length;
    const ofWhich = notDone > 0 ? ` (${notDone} not done)` : '';
    lines.push(`${kind}s: ${counts.created} created, ${counts.updated} updated${deleted}, ${counts.unchanged} unchanged, ${counts.failed} failed${ofWhich}`);
  }
  if (summary.size === 0 && !planned.some((kind) => kind.error)) lines.push('Nothing declared.');
  return `${lines.join('\n')}\n`;
}

/**
 * Issues in reading order: by file (in the order the files first come up, which follows the
 * command line), then by line and column, then by key (`deployments[2]` after `deployments[0]` at
 * one alias); an issue about a whole file (no line) first in its file.
 * The loaders find them in passes (shape, templates, references), not in file order. An issue
 * found again at the same place with the same words is listed once.
 */
/** At one place (a YAML alias shared by several deployments), `deployments[2]` after `deployments[0]`. */
const byKey = (a: string | undefined, b: string | undefined): number => (a === undefined || b === undefined ? 0 : a.localeCompare(b, 'en', { numeric: true }));

export function sortIssues<T extends ConfigIssue>(issues: readonly T[]): T[] {
  const fileOrder = new Map<string, number>();
  for (const issue of issues) if (!fileOrder.has(issue.file)) fileOrder.set(issue.file, fileOrder.size);
  const position = (issue: ConfigIssue): number[] => [fileOrder.get(issue.file) ?? 0, issue.line ?? 0, issue.column ?? 0];
  // The same issue found once per user of one place (top-level pull steps, for every deployment) is said once.
  const seen = new Set<string>();
  const once = issues.filter((issue) => {
    const id = JSON.stringify([issue.severity, issue.file, issue.line, issue.column, issue.key, issue.message]);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return once
    .map((issue, index) => ({ issue, index, at: position(issue) }))
    .sort((a, b) => a.at[0]! - b.at[0]! || a.at[1]! - b.at[1]! || a.at[2]! - b.at[2]! || byKey(a.issue.key, b.issue.key) || a.index - b.index)
    .map(({ issue }) => issue);
}

export function renderIssues(issues: ConfigIssue[]): string {
  return issues.map((issue) => `${issue.severity === 'warning' ? 'warning' : 'error'}: ${formatIssue(issue)}`).join('\n') + '\n';
}

/** What a run that stopped before its end did: writes applied, objects failed, objects not started. */
export function stopCounts(results: ItemResult[]): { applied: number; failed: number; notDone: number } {
  const applied = results.filter((result) => ['created', 'updated', 'deleted'].includes(result.outcome)).length;
  const notDone = results.filter((result) => result.notDone).length;
  const failed = results.filter((result) => result.outcome === 'failed').length - notDone;
  return { applied, failed, notDone };
}

/** The last line of the report of a run that stopped before its end. */
export function renderStopped(results: ItemResult[]): string {
  const { applied, failed, notDone } = stopCounts(results);
  return `Stopped before the end: ${applied} applied, ${failed} failed, ${notDone} not done.\n`;
}
