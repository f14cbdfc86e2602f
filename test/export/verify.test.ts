// Reading a whole export back: it loads, and apply would change nothing on the server it came from.
import { afterAll, describe, expect, it } from 'vitest';
import { assemble } from '../../src/export/assemble.js';
import { createMatcher } from '../../src/config/glob.js';
import type { ExportFile } from '../../src/export/types.js';
import { EXPORTED_KINDS, Scratch, verifyExport } from '../../src/export/verify.js';
import type { ExportContext } from '../../src/reconcile/kind.js';
import type { NamesById } from '../../src/kinds/automations/server.js';
import type { ServerTriggers } from '../../src/kinds/deployment-triggers/export.js';
import { fakeAutomation, fakeDeployment, fakeLimit, fakePool, fakeSchedule, fakeSecretValues, fakeVariable } from './factories.js';

const scratch = new Scratch();
afterAll(() => scratch.close());
const context: ExportContext = { matches: createMatcher([]), env: {}, scratchFile: (name, content) => scratch.file(name, content) };

const limits = [fakeLimit('tag:gpu', 1), fakeLimit('database', 4)];
const withTrigger = fakeDeployment({ name: 'd', work_pool_name: 'pool', work_queue_name: 'default', schedules: [fakeSchedule({ cron: '0 1 * * *' }, { slug: 'one' })] });
const names: NamesById = new Map([
  ['deployment', new Map([[withTrigger.deployment.id, 'archive-flow/d']])],
  ['work_pool', new Map([['9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', 'pool']])],
]);
const event = { type: 'event', id: 'x', match: {}, match_related: {}, after: [], expect: ['a.b'], for_each: [], posture: 'Reactive', threshold: 1, within: 0 };
const trigger = fakeAutomation('d__automation_1', { trigger: event, actions: [{ type: 'run-deployment', source: 'selected', deployment_id: withTrigger.deployment.id, parameters: { n: 1 }, job_variables: null, schedule_after: 0 }] });
const automation = fakeAutomation('pause pool', { tags: ['ops'], trigger: { ...event, threshold: 3, within: 60 }, actions: [{ type: 'pause-work-pool', source: 'selected', work_pool_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' }] });
const triggers = { automations: [trigger, automation], names, byDeployment: new Map([['archive-flow/d', [trigger]]]), written: new Map() } as unknown as ServerTriggers;
/** What each kind's export part read from the server, by kind name. */
const servers: Record<string, unknown> = {
  variable: { variables: [fakeVariable({ name: 'hand-made', value: { a: [1, 'x'] }, tags: ['team', ''] }), fakeVariable({ name: 'managed', value: 1.5 })], secrets: new Map() },
  secret: [],
  'tag-limit': limits,
  'global-limit': limits,
  'work-pool': [fakePool({ name: 'pool', concurrency_limit: 3 })],
  deployment: {
    triggers,
    deployments: [
      withTrigger,
      // As `prefect deploy` leaves it: the secret resolved, which the file says as a reference.
      fakeDeployment({ name: 'resolved', work_pool_name: 'pool', job_variables: { env: { TOKEN: 'ghp_resolved' } } }),
    ],
    withoutFlow: [],
    secrets: fakeSecretValues({ 'github-token': 'ghp_resolved' }),
  },
};

servers.block = { documents: [], secretPaths: new Map() };
servers['deployment-trigger'] = triggers;
servers.automation = { automations: [trigger, automation], names };

const assembled = assemble(EXPORTED_KINDS.map((kind) => ({ kind, written: kind.export!.write(servers[kind.name], context) })));
const exported = EXPORTED_KINDS.map((kind) => ({ kind, current: kind.export!.current(servers[kind.name]) }));
const verify = (files: ExportFile[]) => verifyExport(files, assembled.args, exported, scratch);

describe('verifyExport', () => {
  it('finds nothing that apply would change, besides the announced openem-config tag and secret references', () => {
    expect(assembled.files.map((f) => f.path)).toEqual(['vars.toml', 'vars-team.toml', 'limits.toml', 'job-templates/pool.json', 'prefect.yaml', 'automations.yaml']);
    expect(assembled.counts).toMatchObject({ deployments: 2, deploymentTriggers: 1, automations: 1 });
    expect(assembled.files.find((f) => f.path === 'automations.yaml')!.content).toContain('work_pool: pool');
    expect(assembled.files.find((f) => f.path === 'prefect.yaml')!.content).toContain('TOKEN: "{{ prefect.blocks.secret.github-token }}"');
    expect(assembled.warnings.map((w) => w.subject)).toContain('deployment "archive-flow/resolved"');
    expect(verify(assembled.files)).toEqual([]);
  });

  it('reports what reads back differently from the server', () => {
    const changed = assembled.files.map((file) =>
      file.path === 'limits.toml' ? { ...file, content: file.content.replace('gpu = 1', 'gpu = 2').replace('limit = 4', 'limit = 5') } : file,
    );
    expect(verify(changed)).toEqual([
      { subject: 'tag limit "gpu"', message: 'reads back with differences, which apply would write to this server: limit: 1 -> 2' },
      { subject: 'global limit "database"', message: 'reads back with differences, which apply would write to this server: limit: 4 -> 5' },
    ]);
  });

  it('throws when a file does not load, which is a bug in a writer', () => {
    const broken = assembled.files.map((file) => (file.path === 'vars.toml' ? { ...file, content: `${file.content}BROKEN = \n` } : file));
    expect(() => verify(broken)).toThrow(/the exported files do not load back \(a bug in export, please report it\):\n {2}vars.toml:\d+/);
  });
});
