// Short descriptions of a diff and of an input issue, for export warnings.
import type { ConfigIssue } from '../errors.js';
import type { Diff, FieldChange } from '../reconcile/types.js';

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeChange(change: FieldChange): string {
  return 'from' in change ? `${change.field}: ${show(change.from)} -> ${show(change.to)}` : `${change.field} = ${show(change.to)}`;
}

export function describeDiff(diff: Diff): string {
  if (diff.problem) return diff.problem;
  return diff.changes.map((change) => describeChange(change)).join(', ');
}

/** `work_pool.job_variables.image: message`, without the file and the `deployments[0].` of a scratch file. */
export function describeIssue(issue: ConfigIssue): string {
  const key = issue.key?.replace(/^deployments\[\d+\]\.?/, '');
  return key ? `${key}: ${issue.message}` : issue.message;
}
