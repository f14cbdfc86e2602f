// One name rule for every kind: Prefect's own rules, and nothing the API could not address again.
import { describe, expect, it } from 'vitest';
import { IssueList, formatIssue } from '../../src/errors.js';
import { MAX_NAME_LENGTH, nameError, nameProblem, showName, type NameKind } from '../../src/config/names.js';
import { loadDeployments } from '../../src/kinds/deployments/spec.js';
import { loadSecrets } from '../../src/kinds/secrets/spec.js';
import { loadVariables } from '../../src/kinds/variables/spec.js';
import { loadLimits } from './manifest-helper.js';
import { loadDesired } from '../../src/run.js';
import { globalLimits } from '../../src/kinds/global-limits/kind.js';
import { useTempDir } from './temp.js';
import { noInputs } from '../../src/config/inputs.js';

const temp = useTempDir();
const KINDS: NameKind[] = ['variable', 'secret block', 'block', 'tag', 'global limit', 'work pool', 'work queue', 'deployment', 'flow', 'schedule slug'];

function errors(load: (issues: IssueList) => unknown) {
  const issues = new IssueList();
  load(issues);
  return issues.errors;
}

describe('nameProblem', () => {
  it.each(KINDS)('refuses for a %s what the API cannot address, and an empty or overlong name', (kind) => {
    for (const name of ['a\nb', 'tab\there', 'nul\u0000', 'del\u007f', 'c1\u0085', 'lone\ud800', 'x\r']) {
      expect(nameProblem(kind, name)).toMatch(/holds the control character U\+[0-9A-F]{4}/);
    }
    expect(nameProblem(kind, '')).toMatch(/is empty/);
    expect(nameProblem(kind, '   ')).toMatch(/is empty/);
    expect(nameProblem(kind, 'a'.repeat(MAX_NAME_LENGTH))).toBeUndefined();
    expect(nameProblem(kind, 'a'.repeat(MAX_NAME_LENGTH + 1))).toMatch(/more than 255/);
    expect(nameProblem(kind, 'good-name')).toBeUndefined();
  });

  it('keeps Prefect’s own rule of each kind', () => {
    for (const kind of ['tag', 'global limit', 'work pool', 'work queue', 'deployment', 'flow'] as const) {
      for (const banned of ['/', '%', '&', '<', '>']) expect(nameProblem(kind, `a${banned}b`)).toContain(`holds \`${banned}\``);
      expect(nameProblem(kind, 'Ünïcode name, with spaces: ok')).toBeUndefined();
      expect(nameProblem(kind, '.')).toMatch(/URL path/);
      expect(nameProblem(kind, '..')).toMatch(/URL path/);
    }
    expect(nameProblem('variable', 'a.b')).toMatch(/a-z, 0-9, _ and -/);
    expect(nameProblem('variable', 'a_b-c')).toBeUndefined();
    expect(nameProblem('secret block', 'a_b')).toMatch(/a-z, 0-9 and -/);
    expect(nameProblem('work pool', `'" '`)).toMatch(/is empty/);
    expect(nameProblem('deployment', `'" '`)).toBeUndefined();
    // Schedules are addressed by id: a slug may hold what Prefect takes there.
    expect(nameProblem('schedule slug', 'nightly/3am')).toBeUndefined();
  });

  it('shows a name on one line, escaped and shortened', () => {
    expect(showName('a\nb')).toBe('"a\\nb"');
    expect(showName('x'.repeat(100))).toBe(`"${'x'.repeat(60)}…"`);
    expect(nameError('work pool', 'a\nb')).toBe('work pool name "a\\nb" holds the control character U+000A, with which the Prefect API could not read or delete it again; remove it');
  });
});

describe('every loader refuses such a name before any write, with file, line and key', () => {
  const oneLine = (issue: Parameters<typeof formatIssue>[0]) => expect(formatIssue(issue)).not.toMatch(/[\n\r]/);

  it('work pools and queues, tag limits and global limits in a limits manifest', () => {
    const file = temp.write(
      'names.toml',
      ['[tag_limits]', '"gpu\\nnodes" = 1', '', '[global_limits."db\\u0007"]', 'limit = 1', '', '[work_pools."pool\\nx"]', 'type = "process"', '', '[work_pools.ok.queues."q\\tx"]', 'priority = 1', ''].join('\n'),
    );
    const found = errors((issues) => loadDesired({ ...noInputs(), limits: [file] }, {}, issues));
    expect(found).toEqual([
      expect.objectContaining({ file, line: 2, key: 'tag_limits."gpu\\nnodes"', message: expect.stringContaining('tag name "gpu\\nnodes" holds the control character U+000A') }),
      expect.objectContaining({ file, line: 4, key: 'global_limits."db\\u0007"', message: expect.stringContaining('U+0007') }),
      expect.objectContaining({ file, line: 7, key: 'work_pools."pool\\nx"', message: expect.stringContaining('work pool name "pool\\nx"') }),
      expect.objectContaining({ file, line: 10, key: 'work_pools.ok.queues."q\\tx"', message: expect.stringContaining('work queue name "q\\tx" holds the control character U+0009') }),
    ]);
    for (const issue of found) oneLine(issue);
    expect(loadLimits([file], new IssueList()).workPools.map((pool) => pool.name)).toEqual(['ok']);
    expect(loadDesired({ ...noInputs(), limits: [file] }, {}, new IssueList()).get(globalLimits)).toEqual([]);
  });

  it('blocks in a limits manifest', () => {
    const file = temp.write('names-blocks.toml', '[blocks.slack-webhook."hook\\n"]\nurl = "https://example.org"\n');
    const found = errors((issues) => loadDesired({ ...noInputs(), limits: [file] }, {}, issues));
    expect(found).toEqual([expect.objectContaining({ file, line: 1, key: 'blocks.slack-webhook."hook\\n"', message: expect.stringContaining('block name "hook\\n" holds the control character U+000A') })]);
  });

  it('variables, from a file and from --from-env', () => {
    const file = temp.write('names-vars.toml', 'OK = 1\n"BAD\\nKEY" = 2\n');
    const found = errors((issues) => loadVariables([file], { env: { 'A\tB': 'x' }, stringValues: false, fromEnv: ['A\tB'] }, issues));
    expect(found).toEqual([
      expect.objectContaining({ file, line: 2, key: '"BAD\\nKEY"', message: expect.stringContaining('"BAD\\nKEY" cannot name a variable') }),
      expect.objectContaining({ file: '<command line>', message: expect.stringContaining('"A\\tB" cannot name a variable') }),
    ]);
    for (const issue of found) oneLine(issue);
  });

  it('secret blocks from --secret and --secrets-dir', () => {
    const secret = temp.write('names-secrets/ok', 'value\n');
    temp.write('names-secrets/bad\nname', 'value\n');
    const found = errors((issues) =>
      loadSecrets({ env: {}, fileEnvNames: [], dirs: [temp.dir + '/names-secrets'], pairs: [`a\u0001b=${secret}`], keepTrailingNewline: false }, issues),
    );
    expect(found.map((issue) => issue.message)).toEqual([
      expect.stringContaining('block name "bad\\nname", which holds the control character U+000A'),
      expect.stringContaining('secret block name "a\\u0001b" holds the control character U+0001'),
    ]);
  });

  it('deployments: the name, the flow name, the pool and queue names and schedule slugs, each at its line', () => {
    const file = temp.write(
      'names.yaml',
      [
        'deployments:',
        '  - name: "d\\nx"',
        '    flow_name: "f\\u0000"',
        '    entrypoint: flows.py:f',
        '    schedules:',
        '      - cron: "0 3 * * *"',
        '        slug: "nightly\\r"',
        '    work_pool:',
        '      name: "pool\\tx"',
        '      work_queue_name: ".."',
        '',
      ].join('\n'),
    );
    const found = errors((issues) => loadDeployments([file], { env: {} }, issues));
    // Schedules are read first, each on its own.
    expect(found).toEqual([
      expect.objectContaining({ file, line: 7, column: 15, key: 'deployments[0].schedules[0].slug', message: expect.stringContaining('U+000D') }),
      expect.objectContaining({ file, line: 2, column: 11, key: 'deployments[0].name', message: expect.stringContaining('U+000A') }),
      expect.objectContaining({ file, line: 3, column: 16, key: 'deployments[0].flow_name', message: expect.stringContaining('U+0000') }),
      expect.objectContaining({ file, line: 9, column: 13, key: 'deployments[0].work_pool.name', message: expect.stringContaining('U+0009') }),
      expect.objectContaining({ file, line: 10, column: 24, key: 'deployments[0].work_pool.work_queue_name', message: expect.stringContaining('URL path') }),
    ]);
  });
});

describe('formatIssue', () => {
  it('keeps every issue on one line, whatever a file name, key or message holds', () => {
    const shown = formatIssue({ file: 'dir\nname.toml', line: 3, key: 'pools.a\u2028b', message: 'bad\r\nthing\u0007' });
    expect(shown).toBe('dir\\u000aname.toml:3 › pools.a\\u2028b: bad\\u000d\\u000athing\\u0007');
  });
});
