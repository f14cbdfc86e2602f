import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLimits } from '../../config/manifest-helper.js';
import { templatePlaceholders } from '../../../src/kinds/work-pools/spec.js';
import { IssueList } from '../../../src/errors.js';

const repo = resolve(import.meta.dirname, '../../..');

function load(...files: string[]) {
  const issues = new IssueList();
  const pools = loadLimits(files, issues).workPools;
  return { pools, issues: issues.items };
}

function manifest(text: string, template?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'openem-pools-'));
  if (template !== undefined) writeFileSync(join(dir, 'template.json'), typeof template === 'string' ? template : JSON.stringify(template));
  const path = join(dir, 'pools.toml');
  writeFileSync(path, text);
  return path;
}

describe('loadWorkPools', () => {
  it('reads the example pools with their template and queues', () => {
    const { pools, issues } = load(join(repo, 'vars', 'work-pools_dev.toml'));
    expect(issues).toEqual([]);
    expect(pools.map((p) => [p.name, p.type, p.concurrencyLimit, p.queues.map((q) => [q.name, q.priority])])).toEqual([
      ['archival-docker-workpool', 'docker', 2, [['default', 1]]],
      ['retrieval-docker-workpool', 'docker', 2, []],
    ]);
    expect(pools[0]?.baseJobTemplate).toHaveProperty('job_configuration.image', '{{ image }}');
  });

  it('tells a pools-only manifest apart from one that declares tag limits (the scope of --prune)', () => {
    const issues = new IssueList();
    expect(loadLimits([join(repo, 'vars', 'work-pools_dev.toml')], issues).declaresTagLimits).toBe(false);
    expect(loadLimits([join(repo, 'vars', 'concurrency-limits.toml')], issues).declaresTagLimits).toBe(true);
    expect(loadLimits([manifest('[tag_limits]\n')], issues).declaresTagLimits).toBe(true);
  });

  it('defaults the type to docker, and reads false as "no limit"', () => {
    const { pools } = load(manifest('[work_pools.p]\nconcurrency_limit = false\n'));
    expect(pools[0]).toMatchObject({ name: 'p', type: 'docker', concurrencyLimit: null });
  });

  it('reports unknown keys, bad limits and names with file and line', () => {
    const file = manifest('[work_pools.prefect-pool]\nconcurency_limit = 2\n\n[work_pools.ok]\nconcurrency_limit = -1\n[work_pools.ok.queues.q]\npriority = 0\n');
    const { issues } = load(file);
    expect(issues.map((i) => [i.line, i.key, i.message.slice(0, 40)])).toEqual([
      [1, 'work_pools.prefect-pool', 'pool names may not start with "prefect" '],
      [2, 'work_pools.prefect-pool.concurency_limit', 'unknown key `concurency_limit`; a pool t'],
      [5, 'work_pools.ok.concurrency_limit', 'must be an integer >= 0, or false for no'],
      [7, 'work_pools.ok.queues.q.priority', 'Too small: expected number to be >=1'],
    ]);
  });

  it('rejects a template whose placeholders are not declared, or that is not JSON', () => {
    const dangling = manifest('[work_pools.p]\nbase_job_template = "template.json"\n', {
      job_configuration: { image: '{{ image }}', shm: '{{ shm_size }}', token: '{{ prefect.blocks.secret.x }}' },
      variables: { properties: { image: { type: 'string' } } },
    });
    expect(load(dangling).issues[0]?.message).toContain('{{ shm_size }}');
    const broken = manifest('[work_pools.p]\nbase_job_template = "template.json"\n', '{\n  "job_configuration": {,\n}');
    expect(load(broken).issues[0]).toMatchObject({ line: 2, message: expect.stringContaining('not valid JSON') });
    const missing = manifest('[work_pools.p]\nbase_job_template = "nope.json"\n');
    expect(load(missing).issues[0]?.message).toContain('not found');
  });

  it('rejects two queues with the same priority', () => {
    const { issues } = load(manifest('[work_pools.p.queues.a]\npriority = 1\n[work_pools.p.queues.b]\npriority = 1\n'));
    expect(issues[0]?.message).toContain('priority 1 is also given to queue "a"');
  });
});

describe('templatePlaceholders', () => {
  it('finds placeholders in nested values, skipping prefect.* and $ENV ones', () => {
    expect([...templatePlaceholders({ a: ['{{ x }}', { b: 'pre {{y}} post' }], c: '{{ prefect.variables.z }}', d: '{{ $HOME }}' })]).toEqual(['x', 'y']);
  });
});
