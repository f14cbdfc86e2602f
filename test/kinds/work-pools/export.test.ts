// Tag limits and work pools as a limits manifest with template files, read back through the
// limits and work pools loaders, and compared with the server through the work pools kind.
import { describe, expect, it } from 'vitest';
import { loadLimits } from '../../config/manifest-helper.js';

import { IssueList } from '../../../src/errors.js';
import { createMatcher } from '../../../src/config/glob.js';
import type { ServerPool } from '../../../src/kinds/work-pools/export.js';
import type { ExportFile } from '../../../src/export/types.js';
import { workPoolsKind } from '../../../src/kinds/work-pools/reconcile.js';
import { useTempDir } from '../../config/temp.js';
import { exportLimits, fakeLimit, fakePool, fakeQueue, TEMPLATE } from '../../export/factories.js';

const temp = useTempDir();
const all = createMatcher([]);

function load(files: ExportFile[]) {
  const dir = `export-${Math.random().toString(36).slice(2)}`;
  for (const file of files) temp.write(`${dir}/${file.path}`, file.content);
  const issues = new IssueList();
  const limits = loadLimits([`${temp.dir}/${dir}/limits.toml`], issues);
  const pools = limits.workPools;
  expect(issues.items).toEqual([]);
  return { tagLimits: limits.tagLimits.map(({ tag, limit }) => ({ tag, limit })), pools };
}

function expectNoChange(pools: ReturnType<typeof load>['pools'], server: ServerPool[]) {
  for (const desired of pools) {
    const current = server.find((p) => p.pool.name === desired.name)!;
    expect(workPoolsKind.diff(desired, { pool: current.pool, queues: new Map(current.queues.map((q) => [q.name, q])) })).toEqual({ action: 'noop', changes: [] });
  }
}

describe('exportLimits', () => {
  it('writes tag limits in [tag_limits] and other global limits in [global_limits], skipping deployment limits', () => {
    const result = exportLimits({
      globalLimits: [
        fakeLimit('tag:write-to-lts-share', 4),
        fakeLimit('tag:gpu nodes', 1),
        fakeLimit('tag:0', 0),
        fakeLimit('deployment:0b0e4f0a-0000-4000-8000-000000000001', 2),
        fakeLimit('database-connections', 10),
      ],
      matches: all,
    });
    expect(result.tagLimits).toBe(3);
    expect(load(result.files).tagLimits).toEqual([
      { tag: '0', limit: 0 },
      { tag: 'gpu nodes', limit: 1 },
      { tag: 'write-to-lts-share', limit: 4 },
    ]);
    expect(result.warnings).toEqual([]);
    expect(result.globalLimits).toBe(1);
    expect(result.files[0]?.content).toContain('[tag_limits]\n0 = 0\n"gpu nodes" = 1\nwrite-to-lts-share = 4\n');
    expect(result.files[0]?.content).toContain('[global_limits.database-connections]\nlimit = 10\nactive = true\nslot_decay_per_second = ');
  });

  it('warns about what a tag limit cannot say: inactive, slot decay', () => {
    const result = exportLimits({ globalLimits: [fakeLimit('tag:a', 1, { active: false }), fakeLimit('tag:b', 1, { slot_decay_per_second: 0.5 })], matches: all });
    expect(result.warnings.map((w) => [w.subject, w.message.split(',')[0]])).toEqual([
      ['tag limit "a"', 'is inactive on the server'],
      ['tag limit "b"', 'has slot_decay_per_second = 0.5'],
    ]);
  });

  it('writes pools with their queues and template file, which read back with no change to apply', () => {
    const server = [
      fakePool({ name: 'archival pool', description: 'Archival "runs"\nin Docker', concurrency_limit: 2, is_paused: true }, [
        fakeQueue({ name: 'default', description: "The work pool's default queue.", priority: 2 }),
        fakeQueue({ name: 'urgent.high', priority: 1, concurrency_limit: 1, is_paused: true }),
      ]),
      fakePool({ name: 'process', type: 'process', base_job_template: {} }, []),
    ];
    const result = exportLimits({ pools: server, matches: all });
    expect(result.files.map((f) => f.path)).toEqual(['limits.toml', 'job-templates/archival_pool.json']);
    expect(JSON.parse(result.files[1]!.content)).toEqual(TEMPLATE);
    expect(result.files[1]!.content).toBe(`${JSON.stringify(TEMPLATE, null, 2)}\n`);
    const { pools } = load(result.files);
    expect(pools.map((p) => ({ ...p, source: undefined, baseJobTemplateFile: undefined, queues: p.queues.map((q) => ({ ...q, source: undefined })) }))).toEqual([
      {
        name: 'archival pool',
        type: 'docker',
        description: 'Archival "runs"\nin Docker',
        paused: true,
        concurrencyLimit: 2,
        baseJobTemplate: TEMPLATE,
        queues: [
          { name: 'default', description: "The work pool's default queue.", paused: false, concurrencyLimit: null, priority: 2 },
          { name: 'urgent.high', description: undefined, paused: true, concurrencyLimit: 1, priority: 1 },
        ],
      },
      { name: 'process', type: 'process', description: undefined, paused: false, concurrencyLimit: null, queues: [] },
    ]);
    expectNoChange(pools, server);
    expect(result.files[0]?.content).toContain('[work_pools."archival pool".queues."urgent.high"]\npriority = 1\npaused = true\nconcurrency_limit = 1\n');
  });

  it('leaves out a template the loader would refuse, and pools Prefect reserves, with warnings', () => {
    const broken = { job_configuration: { image: '{{ image }}', shm: '{{ shm_size }}' }, variables: { properties: { image: {} } } };
    const result = exportLimits({ pools: [fakePool({ name: 'odd', base_job_template: broken }), fakePool({ name: 'prefect-managed' })], matches: all });
    expect(result.workPools).toBe(1);
    expect(result.files.map((f) => f.path)).toEqual(['limits.toml']);
    expect(result.warnings).toEqual([
      { subject: 'work pool "odd"', message: expect.stringContaining('{{ shm_size }}') },
      { subject: 'work pool "prefect-managed"', message: expect.stringContaining('reserves') },
    ]);
    load(result.files);
  });

  it('warns about a storage configuration, which a manifest cannot declare', () => {
    const pool = fakePool({ name: 'p', storage_configuration: { bundle_upload_step: { 'prefect_aws.upload': {} }, bundle_execution_step: null, default_result_storage_block_id: null } });
    expect(exportLimits({ pools: [pool], matches: all }).warnings).toEqual([{ subject: 'work pool "p"', message: expect.stringContaining('bundle_upload_step') }]);
  });

  it('names template files safely and distinctly', () => {
    const result = exportLimits({ pools: [fakePool({ name: 'a/b' }), fakePool({ name: 'a b' }), fakePool({ name: '..x' })], matches: all });
    expect(result.files.map((f) => f.path)).toEqual(['limits.toml', 'job-templates/_x.json', 'job-templates/a_b.json', 'job-templates/a_b-2.json']);
  });

  it('writes nothing when there is nothing selected', () => {
    expect(exportLimits({ globalLimits: [fakeLimit('tag:a', 1)], pools: [fakePool({ name: 'p' })], matches: createMatcher(['zzz']) }).files).toEqual([]);
  });
});
