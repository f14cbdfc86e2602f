// Automations and deployment triggers on a real server: created with names resolved to ids, a
// second run sends no write and keeps every id, one change is one update, triggers made by
// `prefect deploy` are taken over in place, and bad input stops the run before any write.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { clearAutomations, clearPoolsAndDeployments, clearServer, getJson, postJson, readAutomations } from '../shared/server.js';

const apiUrl = () => inject('prefectApiUrl');
const env = () => ({ PREFECT_API_URL: apiUrl() });

function files(yaml: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'openem-automations-'));
  writeFileSync(join(dir, 'limits.toml'), '[work_pools.auto-pool]\ntype = "process"\n\n[work_pools.auto-pool.queues.night]\n');
  writeFileSync(join(dir, 'prefect.yaml'), yaml);
  return ['-l', join(dir, 'limits.toml'), '-d', join(dir, 'prefect.yaml')];
}

const deployment = (name: string, extra = '') => `  - name: ${name}\n    flow_name: auto-flow\n    entrypoint: flows/f.py:a\n    work_pool: {name: auto-pool}\n${extra}`;

const BASE = `deployments:
${deployment('dep-a')}${deployment(
  'dep-b',
  `    triggers:
      - expect: [custom.ping]
        match: {prefect.resource.id: my.thing}
        parameters: {x: "{{ event.resource.id }}"}
      - name: on-both
        type: compound
        require: all
        within: 60
        triggers:
          - expect: [a.b]
          - expect: [c.d]
`,
)}
automations:
  # Names an automation declared after it: written after that one, whose id it needs.
  - name: pause-the-other
    trigger: {expect: [x.y], posture: Proactive}
    actions:
      - type: pause-automation
        automation: rerun-b-when-a-fails
      - type: pause-work-pool
        work_pool: auto-pool
  - name: rerun-b-when-a-fails
    description: when A fails, run B
    trigger:
      expect: [prefect.flow-run.Failed]
      match_related: {prefect.resource.id: prefect.deployment.*}
    actions:
      - type: run-deployment
        deployment: auto-flow/dep-b
        parameters: {x: 7}
      - type: pause-work-queue
        work_queue: auto-pool/night
`;

const deploymentId = async (name: string) => (await getJson<{ id: string }>(apiUrl(), `/deployments/name/auto-flow/${name}`)).id;
const automationWrites = (result: { writes: Array<{ method: string; path: string }> }) =>
  result.writes.filter((w) => w.path.startsWith('/automations')).map((w) => `${w.method} ${w.path}`);
const ids = (automations: Record<string, { id: string }>) => Object.fromEntries(Object.entries(automations).map(([name, a]) => [name, a.id]));

describe('automations and deployment triggers', () => {
  beforeEach(async () => {
    await clearAutomations(apiUrl());
    await clearPoolsAndDeployments(apiUrl());
    await clearServer(apiUrl());
  });

  it('creates them with every name resolved to an id; a second run sends no write and keeps every id', async () => {
    const args = files(BASE);
    const first = await runCli(['apply', ...args], { env: env() });
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.stdout).toContain('deployment-triggers: 2 created');
    expect(first.stdout).toContain('automations: 2 created');
    const automations = await readAutomations(apiUrl());
    const depB = await deploymentId('dep-b');
    const pool = await getJson<{ id: string }>(apiUrl(), '/work_pools/auto-pool');
    const queue = await getJson<{ id: string }>(apiUrl(), '/work_pools/auto-pool/queues/night');
    expect(Object.keys(automations).sort()).toEqual(['dep-b__automation_1', 'on-both', 'pause-the-other', 'rerun-b-when-a-fails']);
    expect(automations['rerun-b-when-a-fails']!.actions).toEqual([
      expect.objectContaining({ type: 'run-deployment', source: 'selected', deployment_id: depB, parameters: { x: 7 } }),
      expect.objectContaining({ type: 'pause-work-queue', source: 'selected', work_queue_id: queue.id }),
    ]);
    expect(automations['pause-the-other']!.actions).toEqual([
      expect.objectContaining({ type: 'pause-automation', automation_id: automations['rerun-b-when-a-fails']!.id }),
      expect.objectContaining({ type: 'pause-work-pool', work_pool_id: pool.id }),
    ]);
    // A Proactive trigger without `within` gets Prefect's 10 seconds, so the next run compares equal.
    expect(automations['pause-the-other']!.trigger.within).toBe(10);
    // The trigger's parameters keep their runtime template; the trigger runs its deployment.
    expect(automations['dep-b__automation_1']!.actions).toEqual([expect.objectContaining({ type: 'run-deployment', deployment_id: depB, parameters: { x: '{{ event.resource.id }}' } })]);
    // Owned by the deployment, as prefect deploy makes them: deleting what it owns removes them.
    const owned = await fetch(`${apiUrl()}/automations/owned-by/prefect.deployment.${depB}`, { method: 'DELETE' });
    expect(owned.status).toBe(202);
    expect(Object.keys(await readAutomations(apiUrl())).sort()).toEqual(['pause-the-other', 'rerun-b-when-a-fails']);
    const recreate = await runCli(['apply', ...args], { env: env() });
    expect(recreate.code, recreate.stderr).toBe(EXIT.ok);
    const before = ids(await readAutomations(apiUrl()));

    const again = await runCli(['apply', ...args], { env: env() });
    expect(again.code, again.stderr).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
    expect(ids(await readAutomations(apiUrl()))).toEqual(before);
    // The automation list is read once for both kinds.
    expect(again.requests.filter((r) => r.path === '/automations/filter')).toHaveLength(1);
    const plan = await runCli(['plan', '--output', 'json', ...args], { env: env() });
    const items = (JSON.parse(plan.stdout) as { items: Array<{ kind: string; action: string }> }).items;
    expect(items.filter((i) => i.kind === 'automation' || i.kind === 'deployment-trigger').map((i) => i.action)).toEqual(['noop', 'noop', 'noop', 'noop']);
  });

  it('changes a field with one update of that automation, and shows the nested change in the plan', async () => {
    expect((await runCli(['apply', ...files(BASE)], { env: env() })).code).toBe(EXIT.ok);
    const before = ids(await readAutomations(apiUrl()));
    const changed = files(BASE.replace('expect: [c.d]', 'expect: [c.e]').replace('parameters: {x: 7}', 'parameters: {x: 8}'));
    const plan = await runCli(['plan', ...changed], { env: env() });
    expect(plan.stdout).toContain('~ deployment-trigger auto-flow/dep-b/on-both: trigger.triggers[1].expect: ["c.d"] -> ["c.e"]');
    expect(plan.stdout).toContain('~ automation rerun-b-when-a-fails: actions[0].parameters.x: 7 -> 8');
    const apply = await runCli(['apply', ...changed], { env: env() });
    expect(apply.code, apply.stderr).toBe(EXIT.ok);
    expect(automationWrites(apply).sort()).toEqual([`PUT /automations/${before['on-both']}`, `PUT /automations/${before['rerun-b-when-a-fails']}`].sort());
    const after = await readAutomations(apiUrl());
    expect(ids(after)).toEqual(before);
    expect(after['rerun-b-when-a-fails']!.actions[0]).toMatchObject({ parameters: { x: 8 } });
  });

  it('keeps the triggers of a deployment without `triggers:`, deletes one removed from the list, and all of them for `triggers: []`', async () => {
    expect((await runCli(['apply', ...files(BASE)], { env: env() })).code).toBe(EXIT.ok);
    const before = ids(await readAutomations(apiUrl()));
    const withoutKey = BASE.replace(/ {4}triggers:\n[\s\S]*?(?=automations:)/, '');
    const kept = await runCli(['apply', ...files(withoutKey)], { env: env() });
    expect(kept.code, kept.stderr).toBe(EXIT.ok);
    expect(kept.writes).toEqual([]);

    const oneLess = BASE.replace(/ {6}- expect: \[custom\.ping\]\n.*\n.*\n/, '');
    const removed = await runCli(['apply', ...files(oneLess)], { env: env() });
    expect(removed.code, removed.stderr).toBe(EXIT.ok);
    // The unnamed trigger's name moved to the next one: it is a new trigger, and the old one goes.
    const after = await readAutomations(apiUrl());
    expect(after['on-both']?.id).toBe(before['on-both']);
    expect(Object.keys(after).sort()).toEqual(['on-both', 'pause-the-other', 'rerun-b-when-a-fails']);

    const none = withoutKey.replace(deployment('dep-b'), deployment('dep-b', '    triggers: []\n'));
    const cleared = await runCli(['apply', ...files(none)], { env: env() });
    expect(cleared.code, cleared.stderr).toBe(EXIT.ok);
    // Besides the ownership record, which no longer lists the deleted trigger.
    expect(automationWrites(cleared)).toEqual([`DELETE /automations/${before['on-both']}`]);
    expect(Object.keys(await readAutomations(apiUrl())).sort()).toEqual(['pause-the-other', 'rerun-b-when-a-fails']);
  });

  it("takes over the triggers prefect deploy made, in place, and deletes the ones the file no longer has", async () => {
    const yaml = `deployments:\n${deployment('dep-a')}${deployment('dep-b')}`;
    expect((await runCli(['apply', ...files(yaml)], { env: env() })).code).toBe(EXIT.ok);
    const depB = await deploymentId('dep-b');
    // What `prefect deploy` makes of two unnamed triggers.
    for (const index of [1, 2]) {
      await postJson(apiUrl(), '/automations/', {
        name: `dep-b__automation_${index}`,
        owner_resource: `prefect.deployment.${depB}`,
        trigger: { type: 'event', expect: [`old.${index}`], posture: 'Reactive' },
        actions: [{ type: 'run-deployment', source: 'selected', deployment_id: depB }],
      });
    }
    // Someone's own automation that runs dep-b: not a trigger of it, never touched.
    await postJson(apiUrl(), '/automations/', {
      name: 'hand-made',
      trigger: { type: 'event', expect: ['x'], posture: 'Reactive' },
      actions: [{ type: 'run-deployment', source: 'selected', deployment_id: depB }],
    });
    const before = ids(await readAutomations(apiUrl()));
    const declared = `deployments:\n${deployment('dep-a')}${deployment('dep-b', '    triggers:\n      - expect: [new.one]\n')}`;
    const apply = await runCli(['apply', ...files(declared)], { env: env() });
    expect(apply.code, apply.stderr).toBe(EXIT.ok);
    expect(automationWrites(apply).sort()).toEqual([`DELETE /automations/${before['dep-b__automation_2']}`, `PUT /automations/${before['dep-b__automation_1']}`].sort());
    const after = await readAutomations(apiUrl());
    expect(after['dep-b__automation_1']).toMatchObject({ id: before['dep-b__automation_1'], trigger: { expect: ['new.one'] } });
    expect(after['hand-made']?.id).toBe(before['hand-made']);
    expect(after['dep-b__automation_2']).toBeUndefined();
  });

  it('refuses a name held by an automation it does not own, until adopt: true takes it over', async () => {
    const yaml = `deployments:\n${deployment('dep-a')}`;
    expect((await runCli(['apply', ...files(yaml)], { env: env() })).code).toBe(EXIT.ok);
    const theirs = await postJson<{ id: string }>(apiUrl(), '/automations/', { name: 'shared-name', trigger: { type: 'event', expect: ['x'], posture: 'Reactive' }, actions: [{ type: 'do-nothing' }] });
    const declared = (adopt: string) => `${yaml}automations:\n  - name: shared-name\n${adopt}    trigger: {expect: [y]}\n    actions: [{type: cancel-flow-run}]\n`;
    const refused = await runCli(['apply', ...files(declared(''))], { env: env() });
    expect(refused.code).toBe(EXIT.invalidInput);
    expect(refused.stderr).toMatch(/prefect\.yaml:\d+.*automations\[0\].*openem-config does not own it; rename this one, or add `adopt: true`/);
    expect(refused.writes).toEqual([]);

    const adopted = await runCli(['apply', ...files(declared('    adopt: true\n'))], { env: env() });
    expect(adopted.code, adopted.stderr).toBe(EXIT.ok);
    expect((await readAutomations(apiUrl()))['shared-name']).toMatchObject({ id: theirs.id, trigger: { expect: ['y'] }, actions: [{ type: 'cancel-flow-run' }] });
    // Owned now: the entry no longer needs adopt.
    const owned = await runCli(['apply', ...files(declared(''))], { env: env() });
    expect(owned.code, owned.stderr).toBe(EXIT.ok);
    expect(owned.writes.filter((w) => w.path.startsWith('/automations'))).toEqual([]);

    // Two of one name: nobody can tell which is meant.
    await postJson(apiUrl(), '/automations/', { name: 'shared-name', trigger: { type: 'event', expect: ['z'], posture: 'Reactive' }, actions: [{ type: 'do-nothing' }] });
    const twice = await runCli(['apply', ...files(declared('    adopt: true\n'))], { env: env() });
    expect(twice.code).toBe(EXIT.invalidInput);
    expect(twice.stderr).toContain('2 automations on the server are named "shared-name"');
    expect(twice.writes).toEqual([]);
  });

  it('stops before any write on a name that nothing declares or holds, and on a template the server cannot render', async () => {
    const yaml = `deployments:\n${deployment('dep-a')}automations:
  - name: broken
    trigger: {expect: [x]}
    actions:
      - type: run-deployment
        deployment: auto-flow/no-such-deployment
      - type: pause-work-queue
        work_queue: auto-pool/no-such-queue
      - type: send-notification
        block_document: slack-webhook/no-such-block
        body: "Flow {{ flow_run.name } failed"
`;
    const result = await runCli(['apply', ...files(yaml)], { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr).toMatch(/prefect\.yaml:11:\d+ › automations\[0\]\.actions\[0\]\.deployment: names deployment "auto-flow\/no-such-deployment", which neither the inputs declare nor the server has/);
    expect(result.stderr).toMatch(/prefect\.yaml:13:\d+ .*work queue "auto-pool\/no-such-queue"/);
    expect(result.stderr).toMatch(/prefect\.yaml:15:\d+ .*block "slack-webhook\/no-such-block"/);
    expect(result.stderr).toMatch(/prefect\.yaml:16:\d+ .*is not a valid template \(line 1 of the template: unexpected '}'\)/);
  });

  it('keeps a top-level automation removed from the file, and deletes it with --prune', async () => {
    expect((await runCli(['apply', ...files(BASE)], { env: env() })).code).toBe(EXIT.ok);
    const before = ids(await readAutomations(apiUrl()));
    const without = files(BASE.replace(/ {2}# Names an automation[^\n]*\n {2}- name: pause-the-other\n(?: {4}.*\n)*/, ''));
    const kept = await runCli(['apply', ...without], { env: env() });
    expect(kept.code, kept.stderr).toBe(EXIT.ok);
    expect((await readAutomations(apiUrl()))['pause-the-other']?.id).toBe(before['pause-the-other']);
    const pruned = await runCli(['apply', '--prune', ...without], { env: env() });
    expect(pruned.code, pruned.stderr).toBe(EXIT.ok);
    expect(automationWrites(pruned)).toEqual([`DELETE /automations/${before['pause-the-other']}`]);
  });
  it('writes automations that name each other, or themselves, in one run with every action; the next run sends no write', async () => {
    const automation = (name: string, type: string, target: string) =>
      `  - name: ${name}\n    trigger: {expect: [${name}.ping]}\n    actions:\n      - {type: ${type}, automation: ${target}}\n      - {type: pause-work-pool, work_pool: auto-pool}\n`;
    const yaml = `deployments: []\nautomations:\n${automation('ping', 'pause-automation', 'pong')}${automation('pong', 'resume-automation', 'ping')}${automation('self', 'pause-automation', 'self')}`;
    const args = files(yaml);
    const first = await runCli(['apply', ...args], { env: env() });
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.stdout).toContain('automations: 3 created');
    const automations = await readAutomations(apiUrl());
    const id = (name: string) => automations[name]!.id;
    const pool = await getJson<{ id: string }>(apiUrl(), '/work_pools/auto-pool');
    const actions = (type: string, target: string) => [
      expect.objectContaining({ type, source: 'selected', automation_id: id(target) }),
      expect.objectContaining({ type: 'pause-work-pool', work_pool_id: pool.id }),
    ];
    expect(automations.ping!.actions).toEqual(actions('pause-automation', 'pong'));
    expect(automations.pong!.actions).toEqual(actions('resume-automation', 'ping'));
    expect(automations.self!.actions).toEqual(actions('pause-automation', 'self'));
    // ping names pong, so pong is written first, without its action naming ping, and completed by
    // an update once ping is written; self is completed by an update of its own.
    expect(automationWrites(first)).toEqual(['POST /automations/', 'POST /automations/', `PUT /automations/${id('pong')}`, 'POST /automations/', `PUT /automations/${id('self')}`]);

    const again = await runCli(['apply', ...args], { env: env() });
    expect(again.code, again.stderr).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
  });
});
