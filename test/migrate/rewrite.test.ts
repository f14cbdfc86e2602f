// migrate's rewrite on a corpus of Prefect 2-era prefect.yaml files (test/fixtures/migrate, each
// with its expected output in expected/): the text it writes, the change it reports for each
// line, comments and key order kept, nothing left to do on a second run, and the deployments the
// reader reads from the rewritten file the same as from the original, with no legacy warning.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { preparePythonReader } from '../../src/python/syntax.js';
import { parseYaml } from '../../src/config/yaml.js';
import { isObject } from '../../src/config/json.js';
import type { JsonValue } from '../../src/config/types.js';
import { IssueList } from '../../src/errors.js';
import { loadDeployments, type DeploymentsOptions } from '../../src/kinds/deployments/spec.js';
import { migrateText } from '../../src/migrate/rewrite.js';
import { useTempDir } from '../config/temp.js';

// Deployments with --flows-dir read flow files: the grammar is compiled once, as run() does.
beforeAll(preparePythonReader);

const temp = useTempDir();
const corpus = (name: string) => fileURLToPath(new URL(`../fixtures/migrate/${name}`, import.meta.url));
const flowsDir = fileURLToPath(new URL('../fixtures/flows', import.meta.url));

interface Case {
  name: string;
  /** Line and what changed, in line order. */
  changes: Array<[number, string]>;
  /** Left as they are: line and a part of the message. */
  left?: Array<[number, string]>;
  options?: Partial<DeploymentsOptions>;
}

const CASES: Case[] = [
  {
    name: 'git-project.yaml',
    changes: [
      [7, 'top-level version removed'],
      [37, 'schedule -> schedules (one entry)'],
      [41, 'is_schedule_active removed'],
      [54, 'schedule -> schedules (one entry)'],
      [58, 'is_paused removed'],
      [68, 'schedule: null removed (no schedule)'],
    ],
  },
  {
    name: 'docker-anchors.yaml',
    changes: [
      [21, 'work_pool.type removed (Prefect 3 ignores it; declare the pool and its type with -l); written once, used by 3 deployments'],
      [32, 'catchup removed (Prefect 3 has no such setting); written once, used by 2 deployments'],
      [33, 'max_active_runs: null removed (Prefect 3 has no such setting); written once, used by 2 deployments'],
      [36, 'schedule: null removed (no schedule)'],
      [44, 'schedule -> schedules (one entry)'],
      [50, 'schedule -> schedules (one entry)'],
    ],
    options: { stepOutputs: ['build-image.image=registry.example.org/imaging/worker:4f2a9c1', 'get-commit-hash.stdout=4f2a9c1'] },
  },
  {
    name: 'saved-schedules.yaml',
    changes: [
      [5, 'flow_name: null removed'],
      [7, 'version_type removed'],
      [13, 'max_active_runs: null removed'],
      [14, 'catchup removed'],
      [18, 'max_active_runs: null removed'],
      [19, 'catchup removed'],
      [21, 'concurrency_limit with limit: null -> concurrency_limit: null (no limit)'],
      [23, 'work_queue_name removed'],
      [24, 'work_pool_name removed'],
      [31, 'schedule -> schedules (one entry)'],
    ],
    options: { flowsDir },
  },
  {
    name: 'flow-style.yaml',
    changes: [
      [6, 'schedule -> schedules (one entry)'],
      [7, 'work_pool.type removed'],
      [8, 'is_paused removed'],
      [13, 'schedule: {} removed (no schedule)'],
    ],
  },
  {
    name: 'partly-refused.yaml',
    changes: [
      [7, 'schedule -> schedules (one entry)'],
      [12, 'work_pool.type removed'],
    ],
    left: [
      [6, '`is_paused` is not read by Prefect 3'],
      [9, '`catchup: true` (Prefect 2) is not read by Prefect 3'],
      [16, 'a deployment-level `work_queue_name` is not read by Prefect 3'],
    ],
  },
  { name: 'current.yaml', changes: [], options: { env: { IMAGE: 'registry.example.org/app:1' }, stepOutputs: ['build-image.tag=1'] } },
];

function migrate(text: string, file: string) {
  const issues = new IssueList();
  const result = migrateText(text, file, issues);
  if (!result?.ok) throw new Error(`migrate failed: ${JSON.stringify(result)} ${JSON.stringify(issues.items)}`);
  return { ...result, issues: issues.items };
}

/** `# comment` texts of a file, by line (the corpus has no ` #` inside a value). */
function comments(text: string): Map<number, string> {
  const found = new Map<number, string>();
  text.split('\n').forEach((line, index) => {
    const at = line.search(/(^|\s)#/);
    if (at >= 0) found.set(index + 1, line.slice(at).trim());
  });
  return found;
}

/**
 * The deployments as the reader gives them, without the places they are written at (which a rewrite
 * moves), nor `workPoolType`: the ignored `work_pool.type` that migrate removes is only checked
 * against the pool, never sent.
 */
function withoutPlaces(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPlaces);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !/^source$|Sources?$|^workPoolType$/.test(key))
      .map(([key, child]) => [key, withoutPlaces(child)]),
  );
}

function read(file: string, options: Partial<DeploymentsOptions> = {}) {
  const issues = new IssueList();
  const deployments = loadDeployments([file], { env: {}, ...options }, issues);
  // Build and push steps are about what openem-config runs, not about the file's form.
  const warnings = issues.warnings.map((issue) => issue.message).filter((message) => !message.includes('steps are not run'));
  return { deployments: withoutPlaces(deployments), warnings, errors: issues.errors.map((issue) => issue.message) };
}

describe('migrate on the corpus', () => {
  for (const testCase of CASES) {
    const file = corpus(testCase.name);
    const source = readFileSync(file, 'utf8');
    const expected = testCase.changes.length === 0 ? source : readFileSync(corpus(`expected/${testCase.name}`), 'utf8');

    describe(testCase.name, () => {
      it('writes the expected text and says what changed, line by line', () => {
        const { text, changes, issues } = migrate(source, file);
        expect(text).toBe(expected);
        expect(changes.map(({ line, change }) => [line, change])).toEqual(testCase.changes.map(([line, change]) => [line, expect.stringContaining(change)]));
        expect(issues.map((issue) => [issue.line, issue.severity, issue.message])).toEqual(
          (testCase.left ?? []).map(([line, message]) => [line, 'error', expect.stringContaining(`left as it is: ${message}`)]),
        );
      });

      it('keeps every comment but those of the lines it removes', () => {
        const removed = new Set(testCase.changes.filter(([, change]) => change.includes('removed')).map(([line]) => line));
        const kept = [...comments(expected).values()];
        for (const [line, comment] of comments(source)) if (!removed.has(line)) expect(kept, `line ${line}`).toContain(comment);
      });

      it('keeps the order of the keys of every deployment', () => {
        const keysOf = (text: string) => {
          const root = parseYaml(text, file, new IssueList())?.value;
          const list = isObject(root) && Array.isArray(root.deployments) ? root.deployments : [];
          return list.map((entry: JsonValue) => (isObject(entry) ? Object.keys(entry) : []));
        };
        const after = keysOf(expected);
        keysOf(source).forEach((keys, index) => {
          const renamed = keys.map((key) => (key === 'schedule' ? 'schedules' : key));
          expect(after[index]).toEqual(renamed.filter((key) => after[index]?.includes(key)));
        });
      });

      it('has nothing left to change in its own output', () => {
        const again = migrate(expected, file);
        expect(again.changes).toEqual([]);
        expect(again.text).toBe(expected);
        expect(again.issues).toHaveLength(testCase.left?.length ?? 0);
      });

      it('gives validate the same deployments, without a legacy warning', () => {
        const original = read(file, testCase.options);
        const migrated = read(temp.write(testCase.name, expected), testCase.options);
        expect(migrated.warnings).toEqual([]);
        if (testCase.left) {
          // Refused before and after: the same errors, and nothing more.
          expect(original.errors).toEqual(migrated.errors);
          expect(migrated.errors).toHaveLength(testCase.left.length);
          return;
        }
        expect(original.errors).toEqual([]);
        expect(migrated.errors).toEqual([]);
        if (testCase.changes.length > 0) expect(original.warnings.length).toBeGreaterThan(0);
        expect(migrated.deployments).toEqual(original.deployments);
        expect((migrated.deployments as unknown[]).length).toBeGreaterThan(0);
      });
    });
  }
});

describe('migrate on the legacy files of the reader tests', () => {
  const legacy = (name: string) => fileURLToPath(new URL(`../fixtures/deployments/legacy/${name}`, import.meta.url));
  const files: Array<[string, Partial<DeploymentsOptions>]> = [
    ['prefect2-project.yaml', {}],
    ['prefect2-saved-schedules.yaml', { flowsDir }],
    ['prefect2-refused.yaml', {}],
    ['step-outputs.yaml', { stepOutputs: ['build-image.image=registry.example.org/app:1', 'get-commit-hash.stdout=1'] }],
  ];
  for (const [name, options] of files) {
    it(`${name}: the reader finds the same deployments and errors, no legacy warning, and a second run changes nothing`, () => {
      const file = legacy(name);
      const { text, issues } = migrate(readFileSync(file, 'utf8'), file);
      const original = read(file, options);
      const migrated = read(temp.write(`legacy/${name}`, text), options);
      expect(migrated.warnings).toEqual([]);
      expect(migrated.deployments).toEqual(original.deployments);
      expect(migrated.errors).toEqual(original.errors);
      expect(issues).toHaveLength(original.errors.length);
      expect(migrate(text, file).changes).toEqual([]);
    });
  }
});

describe('migrate on small files', () => {
  const run = (text: string) => {
    const issues = new IssueList();
    const result = migrateText(text, 'prefect.yaml', issues);
    return { result, issues: issues.items };
  };

  it('keeps Windows line ends', () => {
    const { result } = run('deployments:\r\n  - name: a\r\n    schedule: null\r\n    flow_name: a\r\n');
    expect(result).toEqual({ ok: true, text: 'deployments:\r\n  - name: a\r\n    flow_name: a\r\n', changes: [{ line: 3, change: 'schedule: null removed (no schedule)' }] });
  });

  it('leaves {{ step.output }} and {{ $ENV }} references as they are written', () => {
    const text = ['deployments:', '  - name: a', '    schedule: {cron: "0 1 * * *"}', '    work_pool:', '      name: "{{ $POOL }}"', '      job_variables: {image: "{{ build-image.image }}"}', ''].join('\n');
    const { result } = run(text);
    expect(result?.ok && result.text).toBe(text.replace('schedule: {cron: "0 1 * * *"}', 'schedules: [{cron: "0 1 * * *"}]'));
  });

  it('leaves a form whose rewrite would drop an anchor used elsewhere, and says how to fix it', () => {
    const text = ['deployments:', '  - name: a', '    schedule: &nothing {}', '  - name: b', '    parameters: {options: *nothing}', ''].join('\n');
    const { result, issues } = run(text);
    expect(result).toEqual({ ok: true, text, changes: [] });
    expect(issues).toEqual([
      expect.objectContaining({ line: 3, key: 'deployments[0].schedule', severity: 'error', message: expect.stringContaining('it holds the anchor &nothing, used elsewhere in the file') }),
    ]);
  });

  it('rewrites a form that an alias repeats, and then the anchor that nothing else uses', () => {
    const text = ['deployments:', '  - name: a', '    schedule: &nothing {}', '  - name: b', '    schedule: *nothing', ''].join('\n');
    const { result, issues } = run(text);
    expect(issues).toEqual([]);
    expect(result?.ok && result.text).toBe(['deployments:', '  - name: a', '  - name: b', ''].join('\n'));
  });

  it('rewrites a key that shadows a merged one when the result reads the same', () => {
    const text = ['definitions:', '  defaults: &defaults', '    schedule: null', 'deployments:', '  - <<: *defaults', '    name: a', '    schedule: {cron: "0 1 * * *"}', ''].join('\n');
    const { result, issues } = run(text);
    expect(issues).toEqual([]);
    // Then the merged `schedule: null`, which the rewrite brought into effect, in a second pass.
    expect(result).toEqual({
      ok: true,
      text: ['definitions:', '  defaults: &defaults {}', 'deployments:', '  - <<: *defaults', '    name: a', '    schedules: [{cron: "0 1 * * *"}]', ''].join('\n'),
      changes: [
        { line: 3, change: 'schedule: null removed (no schedule)' },
        { line: 7, change: 'schedule -> schedules (one entry)' },
      ],
    });
  });

  it('leaves a key whose rewrite would bring a merged value into effect, and the anchor another deployment would change with', () => {
    // a: no schedule (its own `schedule: {}` hides the merged one); b: the merged cron.
    const text = ['definitions:', '  defaults: &defaults', '    schedule: {cron: "0 1 * * *"}', 'deployments:', '  - <<: *defaults', '    name: a', '    schedule: {}', '  - <<: *defaults', '    name: b', ''].join('\n');
    const { result, issues } = run(text);
    expect(result).toEqual({ ok: true, text, changes: [] });
    expect(issues.map((issue) => [issue.line, issue.message])).toEqual([
      [3, expect.stringContaining('left as it is: rewriting it where it is written would change another deployment that uses it')],
      [7, expect.stringContaining('left as it is: a `<<:` merge gives this mapping `schedule` too')],
    ]);
  });

  it('leaves a form in an anchor that one deployment using it refuses', () => {
    const text = ['definitions:', '  old: &old', '    is_paused: true', 'deployments:', '  - <<: *old', '    name: a', '    paused: true', '  - <<: *old', '    name: b', ''].join('\n');
    const { result, issues } = run(text);
    expect(result).toEqual({ ok: true, text, changes: [] });
    expect(issues).toEqual([expect.objectContaining({ line: 3, key: 'deployments[0].is_paused', message: expect.stringContaining('write `paused: true` instead') })]);
  });

  it('says where a file does not parse, never quoting it', () => {
    const { result, issues } = run('deployments:\n  - name: "top-secret-value\n');
    expect(result).toBeUndefined();
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ file: 'prefect.yaml', line: expect.any(Number), column: expect.any(Number), severity: 'error' });
    expect(JSON.stringify(issues)).not.toContain('top-secret');
  });

  it('refuses a file that is not a mapping', () => {
    const { result, issues } = run('- name: a\n');
    expect(result).toBeUndefined();
    expect(issues).toEqual([expect.objectContaining({ line: 1, message: expect.stringContaining('a prefect.yaml must be a mapping') })]);
  });
});
