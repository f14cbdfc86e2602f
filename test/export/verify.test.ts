// Reading a whole export back: it loads, and apply would change nothing on the server it came from.
import { afterAll, describe, expect, it } from 'vitest';
import { exportDeployments } from '../../src/kinds/deployments/export.js';
import { createMatcher } from '../../src/export/glob.js';
import { exportLimits } from '../../src/kinds/work-pools/export.js';
import type { ServerSnapshot } from '../../src/export/read.js';
import { exportVariables } from '../../src/kinds/variables/export.js';
import { deploymentChecker, Scratch, verifyExport } from '../../src/export/verify.js';
import { fakeDeployment, fakeLimit, fakePool, fakeSchedule, fakeVariable } from './factories.js';

const scratch = new Scratch();
afterAll(() => scratch.close());
const all = createMatcher([]);

const snapshot: ServerSnapshot = {
  variables: [fakeVariable({ name: 'hand-made', value: { a: [1, 'x'] }, tags: ['team', ''] }), fakeVariable({ name: 'managed', value: 1.5 })],
  globalLimits: [fakeLimit('tag:gpu', 1)],
  pools: [fakePool({ name: 'pool', concurrency_limit: 3 })],
  deployments: [fakeDeployment({ name: 'd', work_pool_name: 'pool', work_queue_name: 'default', schedules: [fakeSchedule({ cron: '0 1 * * *' }, { slug: 'one' })] })],
  deploymentsWithoutFlow: [],
  blocks: [],
};

function files(from = snapshot) {
  return [
    ...exportVariables(from.variables, { matches: all, env: {} }).files,
    ...exportLimits({ globalLimits: from.globalLimits, pools: from.pools, matches: all }).files,
    ...exportDeployments(from.deployments, { matches: all, check: deploymentChecker(scratch) }).files,
  ];
}

describe('verifyExport', () => {
  it('finds nothing that apply would change, besides the announced openem-config tag', () => {
    expect(files().map((f) => f.path)).toEqual(['vars.toml', 'vars-team.toml', 'limits.toml', 'job-templates/pool.json', 'prefect.yaml']);
    expect(verifyExport(files(), snapshot, scratch)).toEqual([]);
  });

  it('reports what reads back differently from the server', () => {
    const changed = files().map((file) => (file.path === 'limits.toml' ? { ...file, content: file.content.replace('gpu = 1', 'gpu = 2') } : file));
    expect(verifyExport(changed, snapshot, scratch)).toEqual([
      { subject: 'tag limit "gpu"', message: 'reads back with differences, which apply would write to this server: limit: 1 -> 2' },
    ]);
  });

  it('throws when a file does not load, which is a bug in a writer', () => {
    const broken = files().map((file) => (file.path === 'vars.toml' ? { ...file, content: `${file.content}BROKEN = \n` } : file));
    expect(() => verifyExport(broken, snapshot, scratch)).toThrow(/the exported files do not load back \(a bug in export, please report it\):\n {2}vars.toml:\d+/);
  });
});
