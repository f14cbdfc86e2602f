// The text report: issue order, plan lines.
import { describe, expect, it } from 'vitest';
import { MAX_PATHS_SHOWN, expandChange, expandChanges, planLine, sortIssues } from '../src/report.js';

describe('sortIssues', () => {
  it('orders by file as the files first come up, then line and column; a whole-file issue first; ties keep their order', () => {
    const issues = [
      { file: 'b.yaml', line: 9, message: 'b9' },
      { file: 'a.toml', line: 3, column: 5, message: 'a3:5' },
      { file: 'b.yaml', line: 2, message: 'b2' },
      { file: 'a.toml', line: 3, column: 1, message: 'a3:1' },
      { file: 'b.yaml', message: 'b' },
      { file: 'b.yaml', line: 2, message: 'b2 again' },
    ];
    expect(sortIssues(issues).map((issue) => issue.message)).toEqual(['b', 'b2', 'b2 again', 'b9', 'a3:1', 'a3:5']);
    const shared = ['deployments[10].x', 'deployments[2].x', 'deployments[0].x'].map((key) => ({ file: 'p.yaml', line: 13, column: 24, key, message: key }));
    expect(sortIssues(shared).map((issue) => issue.key)).toEqual(['deployments[0].x', 'deployments[2].x', 'deployments[10].x']);
  });

  it('lists an issue found again at the same place with the same words once, and keeps one that differs in any of them', () => {
    const pull = { file: 'p.yaml', line: 4, column: 21, key: 'pull[0].token', message: 'secret "t" is not declared here', severity: 'warning' as const };
    const issues = [pull, { ...pull }, { ...pull, severity: 'error' as const }, { ...pull, column: 22 }, { ...pull, message: 'other' }, { ...pull }];
    expect(sortIssues(issues)).toEqual([pull, { ...pull, severity: 'error' }, { ...pull, message: 'other' }, { ...pull, column: 22 }]);
  });
});

describe('changes inside documents', () => {
  const template = (pull: string, extra: Record<string, unknown> = {}) => ({
    job_configuration: { image: '{{ image }}' },
    variables: { properties: { image_pull_policy: { type: 'string', default: pull }, ...extra } },
  });

  it('shows a changed default of a job template at its path', () => {
    const change = { field: 'base_job_template', from: template('IfNotPresent'), to: template('Always') };
    expect(expandChange(change)).toEqual([{ field: 'base_job_template.variables.properties.image_pull_policy.default', from: 'IfNotPresent', to: 'Always', within: 'base_job_template' }]);
    expect(planLine({ kind: 'work-pool', key: 'p', action: 'update', changes: [change] })).toBe(
      '~ work-pool p: base_job_template.variables.properties.image_pull_policy.default: "IfNotPresent" -> "Always"',
    );
  });

  it('shows keys added and removed, list items by index, and keys that are not names quoted', () => {
    const change = {
      field: 'pull_steps',
      from: [{ 'prefect.deployments.steps.git_clone': { repository: 'a', branch: 'main' } }],
      to: [{ 'prefect.deployments.steps.git_clone': { repository: 'b' } }, { 'prefect.deployments.steps.set_working_directory': { directory: '/x' } }],
    };
    expect(planLine({ kind: 'deployment', key: 'f/d', action: 'update', changes: [change] })).toBe(
      '~ deployment f/d: pull_steps[0]["prefect.deployments.steps.git_clone"].repository: "a" -> "b", ' +
        'pull_steps[0]["prefect.deployments.steps.git_clone"].branch: "main" -> (none), ' +
        'pull_steps[1]: (none) -> {"prefect.deployments.steps.set_working_directory":{"directory":"/x"}}',
    );
  });

  it('shows at most ten paths of a field and counts the rest', () => {
    const from = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`k${i}`, i]));
    const to = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`k${i}`, i + 1]));
    const line = planLine({ kind: 'deployment', key: 'f/d', action: 'update', changes: [{ field: 'parameters', from, to }, { field: 'paused', from: false, to: true }] });
    expect(line.split(', ')).toHaveLength(MAX_PATHS_SHOWN + 2);
    expect(line).toContain('parameters.k9: 9 -> 10, 3 more changes in parameters, paused: false -> true');
    expect(expandChanges([{ field: 'parameters', from, to }], 'update')).toHaveLength(13);
  });

  it('never expands a secret change, and keeps values the kind hid', () => {
    const secret = { field: 'value', secret: true as const };
    expect(expandChange(secret)).toEqual([secret]);
    expect(planLine({ kind: 'block', key: 'x/y', action: 'update', changes: [secret] })).toBe('~ block x/y: value changed (hidden)');
    const hidden = { field: 'job_variables', from: { env: { PASSWORD: '(hidden)' }, image: 'a' }, to: { env: { PASSWORD: '(hidden)' }, image: 'b' } };
    expect(planLine({ kind: 'deployment', key: 'f/d', action: 'update', changes: [hidden] })).toBe('~ deployment f/d: job_variables.image: "a" -> "b"');
    // Only the hidden value differs: the change stays whole, so that it is not lost.
    const onlyHidden = { field: 'job_variables', from: { env: { PASSWORD: '(hidden)' } }, to: { env: { PASSWORD: '(hidden)' } } };
    expect(expandChange(onlyHidden)).toEqual([onlyHidden]);
  });

  it('leaves plain values, lists of plain values and creates as they are', () => {
    expect(expandChange({ field: 'tags', from: ['a'], to: ['a', 'b'] })).toEqual([{ field: 'tags', from: ['a'], to: ['a', 'b'] }]);
    expect(expandChange({ field: 'limit', from: 1, to: 2 })).toEqual([{ field: 'limit', from: 1, to: 2 }]);
    expect(expandChanges([{ field: 'value', to: { a: 1 } }], 'create')).toEqual([{ field: 'value', to: { a: 1 } }]);
  });
});
