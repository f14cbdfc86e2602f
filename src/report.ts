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

function describeChange(change: FieldChange, action: PlanItem['action']): string {
  if (change.secret) return action === 'create' ? `${change.field} (hidden)` : `${change.field} changed (hidden)`;
  if (action === 'create') return `${change.field} = ${show(change.to)}`;
  return `${change.field}: ${show(change.from)} -> ${show(change.to)}`;
}

export function planLine(item: PlanItem): string {
  const details = item.changes.map((change) => describeChange(change, item.action)).join(', ');
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
 * command line), then by line and column; an issue about a whole file (no line) first in its file.
 * The loaders find them in passes (shape, templates, references), not in file order.
 */
export function sortIssues<T extends ConfigIssue>(issues: readonly T[]): T[] {
  const fileOrder = new Map<string, number>();
  for (const issue of issues) if (!fileOrder.has(issue.file)) fileOrder.set(issue.file, fileOrder.size);
  const position = (issue: ConfigIssue): number[] => [fileOrder.get(issue.file) ?? 0, issue.line ?? 0, issue.column ?? 0];
  return issues
    .map((issue, index) => ({ issue, index, at: position(issue) }))
    .sort((a, b) => a.at[0]! - b.at[0]! || a.at[1]! - b.at[1]! || a.at[2]! - b.at[2]! || a.index - b.index)
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
