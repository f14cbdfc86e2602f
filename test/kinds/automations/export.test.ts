// Export of automations: names in place of ids, defaults left out, deployments' triggers apart,
// and every automation the files cannot hold named in a warning instead of written wrong.
import { describe, expect, it } from 'vitest';
import { exportAutomations, type ServerAutomations } from '../../../src/kinds/automations/export.js';
import type { NamesById } from '../../../src/kinds/automations/server.js';
import { deploymentTriggerEntries, type ServerTriggers } from '../../../src/kinds/deployment-triggers/export.js';
import { createMatcher } from '../../../src/config/glob.js';
import { fakeAutomation, fakeSecretValues } from '../../export/factories.js';
import { useTempDir } from '../../config/temp.js';

const temp = useTempDir();
const DEPLOYMENT = '3f1d0a52-7c1b-4c55-9a0e-1b2c3d4e5f60';
const POOL = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const GONE = '00000000-0000-4000-8000-00000000dead';
const BLOCK = '5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e';
const names: NamesById = new Map([
  ['deployment', new Map([[DEPLOYMENT, 'archive/nightly']])],
  ['work_pool', new Map([[POOL, 'main']])],
]);
const context = { matches: createMatcher([]), scratchFile: (name: string, content: string) => temp.write(`${Math.random().toString(36).slice(2)}-${name}`, content) };
const event = (extra: Record<string, unknown> = {}) => ({ type: 'event', id: 'x', match: {}, match_related: {}, after: [], expect: ['a.b'], for_each: [], posture: 'Reactive', threshold: 1, within: 0, ...extra });
const runs = (deploymentId: string, extra: Record<string, unknown> = {}) => ({ type: 'run-deployment', source: 'selected', deployment_id: deploymentId, parameters: null, job_variables: null, schedule_after: 0, ...extra });

function exported(automations: ReturnType<typeof fakeAutomation>[]) {
  const server = { automations, names } as unknown as ServerAutomations;
  return exportAutomations(server, context);
}

describe('exportAutomations', () => {
  it('writes objects by name, leaves defaults out and adopts, and keeps a deployment trigger for its deployment', () => {
    const result = exported([
      fakeAutomation('pause on failure', {
        trigger: event({ threshold: 3, within: 60 }),
        actions: [{ type: 'pause-work-pool', source: 'selected', work_pool_id: POOL }],
        actions_on_resolve: [{ type: 'resume-work-pool', source: 'inferred', work_pool_id: null }],
      }),
      fakeAutomation('archive/nightly trigger', { trigger: event(), actions: [runs(DEPLOYMENT)] }),
    ]);
    expect(result.warnings).toEqual([]);
    expect(result.entries).toEqual([
      {
        name: 'pause on failure',
        trigger: { type: 'event', expect: ['a.b'], posture: 'Reactive', threshold: 3, within: 60 },
        actions: [{ type: 'pause-work-pool', work_pool: 'main' }],
        actions_on_resolve: [{ type: 'resume-work-pool', source: 'inferred' }],
        adopt: true,
      },
    ]);
    expect([...result.written.keys()]).toEqual(['pause on failure']);
  });

  it('names each automation it cannot write, and why', () => {
    const result = exported([
      fakeAutomation('gone', { actions: [{ type: 'pause-deployment', source: 'selected', deployment_id: GONE }] }),
      fakeAutomation('cloud', { actions: [{ type: 'declare-incident' }] }),
      fakeAutomation('metric', { trigger: { type: 'metric', posture: 'Metric' } }),
      fakeAutomation('twice'),
      fakeAutomation('twice'),
    ]);
    expect(result.entries).toEqual([]);
    expect(result.warnings.map((w) => `${w.subject}: ${w.message}`)).toEqual([
      expect.stringMatching(/^automation "cloud": not exported: its action type "declare-incident" is one openem-config does not declare$/),
      expect.stringMatching(/^automation "gone": not exported: its pause-deployment action points at a deployment the server does not have \(0+-0+-4000-8000-0+dead\)$/),
      expect.stringMatching(/^automation "metric": not exported: its trigger is of type "metric"/),
      expect.stringMatching(/^automation "twice": not exported: 2 automations on the server have this name/),
      expect.stringMatching(/^automation "twice": not exported: 2 automations/),
    ]);
  });

  it('leaves out an automation holding a credential, or writes it with --allow-plain-credentials, naming paths and never values', () => {
    const secrets = fakeSecretValues({ 'alerts-token': 'xoxb-alerts-token-1234' });
    const webhook = fakeAutomation('webhook', {
      actions: [{ type: 'call-webhook', block_document_id: BLOCK, payload: '{"token": "xoxb-alerts-token-1234", "run": "{{ flow_run.name }}"}' }],
    });
    const plain = fakeAutomation('plain', { actions: [{ type: 'pause-work-pool', source: 'selected', work_pool_id: POOL }] });
    const BLOCK_NAMES: NamesById = new Map([...names, ['block_document', new Map([[BLOCK, 'webhook/alerts']])]]);
    const server = { automations: [webhook, plain], names: BLOCK_NAMES, secrets } as unknown as ServerAutomations;
    const withheld = exportAutomations(server, context);
    expect(withheld.entries.map((entry) => entry.name)).toEqual(['plain']);
    expect(withheld.warnings).toEqual([
      {
        subject: 'automation "webhook"',
        message: expect.stringMatching(/^not exported: it holds a credential \(actions\[0\]\.payload \(holds the value of secret block "alerts-token"\)\)/),
        credentials: { paths: ['actions[0].payload'], written: false },
      },
    ]);
    const allowed = exportAutomations(server, { ...context, allowPlainCredentials: true });
    expect(allowed.entries.map((entry) => entry.name)).toEqual(['plain', 'webhook']);
    expect(allowed.warnings[0]).toMatchObject({ credentials: { paths: ['actions[0].payload'], written: true } });
    for (const result of [withheld, allowed]) for (const warning of result.warnings) expect(warning.message).not.toContain('xoxb-alerts-token-1234');
  });

  it('applies --match to automation names', () => {
    const result = exportAutomations({ automations: [fakeAutomation('keep me'), fakeAutomation('not me')], names } as unknown as ServerAutomations, { ...context, matches: createMatcher(['keep*']) });
    expect(result.entries.map((entry) => entry.name)).toEqual(['keep me']);
  });
});

describe('deploymentTriggerEntries', () => {
  it('writes triggers in the deployment trigger shape, and records them only once the deployment is kept', () => {
    const trigger = fakeAutomation('nightly__automation_1', { trigger: event({ match: { 'prefect.resource.id': 'x.*' } }), actions: [runs(DEPLOYMENT, { parameters: { n: '{{ event.id }}' }, schedule_after: 30 })] });
    const twin = fakeAutomation('twin', { actions: [runs(DEPLOYMENT)] });
    const server = { automations: [], names, byDeployment: new Map([['archive/nightly', [twin, trigger, { ...twin }]]]), written: new Map() } as unknown as ServerTriggers;
    const warnings: string[] = [];
    const result = deploymentTriggerEntries(server, 'archive/nightly', (message) => warnings.push(message));
    expect(result?.entries).toEqual([
      { name: 'nightly__automation_1', type: 'event', match: { 'prefect.resource.id': 'x.*' }, expect: ['a.b'], posture: 'Reactive', parameters: { n: '{{ event.id }}' }, schedule_after: 30 },
    ]);
    expect(warnings).toEqual([expect.stringMatching(/^its trigger "twin" is not exported: 2 of its triggers are named "twin"/), expect.stringMatching(/^its trigger "twin"/)]);
    expect(server.written.size).toBe(0);
    result!.record();
    expect([...server.written.keys()]).toEqual(['archive/nightly/nightly__automation_1']);
    expect(deploymentTriggerEntries(server, 'archive/other', () => undefined)).toBeUndefined();
  });

  it('leaves out a trigger whose run parameters hold a secret value, or keeps it when plain credentials are allowed', () => {
    const secrets = fakeSecretValues({ 'api-token': 'tok-0123456789' });
    const leaky = fakeAutomation('leaky', { actions: [runs(DEPLOYMENT, { parameters: { auth: 'Bearer tok-0123456789' } })] });
    const clean = fakeAutomation('clean', { actions: [runs(DEPLOYMENT)] });
    const server = () => ({ automations: [], names, byDeployment: new Map([['archive/nightly', [leaky, clean]]]), written: new Map() }) as unknown as ServerTriggers;
    const withheld = deploymentTriggerEntries(server(), 'archive/nightly', () => undefined, { secrets, allowPlain: false });
    expect(withheld?.entries.map((entry) => entry.name)).toEqual(['clean']);
    expect(withheld?.findings).toEqual([{ path: 'triggers["leaky"].parameters.auth', action: 'withheld', block: 'api-token', within: true, reason: expect.stringContaining('Prefect passes parameters') }]);
    const allowed = deploymentTriggerEntries(server(), 'archive/nightly', () => undefined, { secrets, allowPlain: true });
    expect(allowed?.entries.map((entry) => entry.name)).toEqual(['clean', 'leaky']);
    expect(allowed?.findings.map((finding) => finding.action)).toEqual(['written']);
  });
});
