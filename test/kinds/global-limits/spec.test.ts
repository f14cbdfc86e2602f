// [global_limits.<name>] in limits manifests: what loads, and every problem at file, line and key.
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../../src/errors.js';
import { globalLimits } from '../../../src/kinds/global-limits/kind.js';
import { globalLimitNameProblem } from '../../../src/kinds/global-limits/spec.js';
import { loadDesired } from '../../../src/run.js';
import { useTempDir } from '../../config/temp.js';
import { noInputs } from '../../../src/config/inputs.js';

const temp = useTempDir();

function load(...texts: string[]) {
  const files = texts.map((text, index) => temp.write(`limits-${index}-${Math.random().toString(36).slice(2)}.toml`, text));
  const issues = new IssueList();
  const desired = loadDesired({ ...noInputs(), limits: files }, {}, issues);
  return { files, limits: desired.get(globalLimits), declared: desired.declared(globalLimits), issues: issues.items };
}

describe('global limits in the limits manifest', () => {
  it('reads limit, active (default true) and slot_decay_per_second, sorted by name', () => {
    const { files, limits, declared, issues } = load('[global_limits.zeta]\nlimit = 0\n\n[global_limits."api calls"]\nlimit = 10\nactive = false\nslot_decay_per_second = 1\n');
    expect(issues).toEqual([]);
    expect(declared).toBe(true);
    expect(limits).toEqual([
      { name: 'api calls', limit: 10, active: false, slotDecayPerSecond: 1, source: { file: files[0], line: 4, key: 'global_limits.api calls' } },
      { name: 'zeta', limit: 0, active: true, source: { file: files[0], line: 1, key: 'global_limits.zeta' } },
    ]);
  });

  it('declares the kind with an empty table, for --prune, and not without one', () => {
    expect(load('[global_limits]\n').declared).toBe(true);
    expect(load('[tag_limits]\ngpu = 1\n').declared).toBe(false);
  });

  it('reports a limit declared in two files at the later place', () => {
    const { files, issues } = load('[global_limits.db]\nlimit = 1\n', '[global_limits.db]\nlimit = 2\n');
    expect(issues).toEqual([
      { file: files[1], line: 1, key: 'global_limits.db', severity: 'error', message: `global limit "db" is already declared at ${files[0]}:1; declare each limit once` },
    ]);
  });

  it('reports a missing limit, a wrong type for each key, and a table that is not one', () => {
    const { issues } = load('global_limits = 3\n');
    expect(issues.map((i) => [i.line, i.key, i.message])).toEqual([[1, 'global_limits', 'must be tables of limits, e.g. [global_limits.database] limit = 5']]);
    const many = load('[global_limits.a]\nactive = "yes"\nslot_decay_per_second = -1\n\n[global_limits.b]\nlimit = "5"\n');
    expect(many.issues.map((i) => [i.line, i.key, i.message])).toEqual([
      [1, 'global_limits.a', 'add `limit = n`, the number of slots (an integer of 0 or more)'],
      [2, 'global_limits.a.active', 'must be true or false, found a string'],
      [3, 'global_limits.a.slot_decay_per_second', 'must be a number of 0 or more (slots freed per second, for a rate limit), found -1'],
      [6, 'global_limits.b.limit', 'must be an integer of 0 or more, found a string'],
    ]);
  });
});

describe('globalLimitNameProblem', () => {
  it('takes names Prefect can address, and refuses the rest with the reason', () => {
    expect(globalLimitNameProblem('db:primary')).toBeUndefined();
    expect(globalLimitNameProblem('')).toMatch(/is empty/);
    expect(globalLimitNameProblem('  ')).toMatch(/only spaces/);
    expect(globalLimitNameProblem('x'.repeat(256))).toMatch(/more than 255/);
    expect(globalLimitNameProblem('a/b')).toMatch(/holds `\/`/);
    expect(globalLimitNameProblem('a\tb')).toMatch(/control character U\+0009/);
    expect(globalLimitNameProblem('tag:gpu')).toMatch(/\[tag_limits\]/);
    expect(globalLimitNameProblem('deployment:1234')).toMatch(/concurrency_limit in prefect\.yaml/);
  });
});

describe('a deployment sharing a global limit, offline', () => {
  it('is a warning when the inputs do not declare the limit, and nothing when they do', async () => {
    const { checkReferencesOffline } = await import('../../../src/reconcile/references.js');
    const yaml = temp.write(
      `p-${Math.random().toString(36).slice(2)}/prefect.yaml`,
      'deployments:\n  - name: d\n    flow_name: f\n    entrypoint: flows/f.py:f\n    global_concurrency_limit: shared\n',
    );
    const issues = new IssueList();
    const undeclared = loadDesired({ ...noInputs(), deployments: [yaml] }, {}, issues);
    expect(checkReferencesOffline(undeclared)).toEqual([
      { file: yaml, line: 5, column: 31, key: 'deployments[0].global_concurrency_limit', severity: 'warning', message: 'global concurrency limit "shared" is not declared here; it must exist on the server' },
    ]);
    const limits = temp.write(`l-${Math.random().toString(36).slice(2)}.toml`, '[global_limits.shared]\nlimit = 2\n');
    const declared = loadDesired({ ...noInputs(), deployments: [yaml], limits: [limits] }, {}, new IssueList());
    expect(checkReferencesOffline(declared)).toEqual([]);
  });
});
