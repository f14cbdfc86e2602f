// The automations loader: Prefect's shapes checked at file:line:key, names kept for apply, the
// canonical form the diff compares (server defaults filled in), and templating with the environment.
import { describe, expect, it } from 'vitest';
import { loadAutomations } from '../../../src/kinds/automations/spec.js';
import { IssueList } from '../../../src/errors.js';
import { EXIT } from '../../../src/exit-codes.js';
import { runCli } from '../../helpers/cli.js';
import { useTempDir } from '../../config/temp.js';

const temp = useTempDir();

function load(text: string, env: Record<string, string> = {}) {
  const file = temp.write('automations.yaml', text);
  const issues = new IssueList();
  const { automations, declared } = loadAutomations([file], env, issues);
  return { file, automations, declared, issues: issues.items.map(({ file: _file, column: _column, ...rest }) => rest) };
}

describe('loadAutomations', () => {
  it('reads an automation into the form the server stores, with names kept for apply', () => {
    const { automations, issues } = load(
      [
        'automations:',
        '  - name: retry archival',
        '    tags: [b, a]',
        '    trigger:',
        '      expect: [prefect.flow-run.Failed, prefect.flow-run.Crashed, prefect.flow-run.Failed]',
        '      posture: Proactive',
        '    actions:',
        '      - type: run-deployment',
        '        deployment: archive/nightly',
        '        schedule_after: PT5M',
        '    actions_on_trigger:',
        '      - type: send-notification',
        '        block_document: slack-webhook/ops',
        '        body: "{{ flow_run.name }} failed"',
      ].join('\n'),
    );
    expect(issues).toEqual([]);
    const [automation] = automations;
    expect(automation).toMatchObject({
      name: 'retry archival',
      description: '',
      enabled: true,
      tags: ['b', 'a'],
      adopt: false,
      trigger: { type: 'event', match: {}, match_related: {}, after: [], expect: ['prefect.flow-run.Crashed', 'prefect.flow-run.Failed'], for_each: [], posture: 'Proactive', threshold: 1, within: 10 },
    });
    expect(automation!.actions[0]).toMatchObject({
      body: { type: 'run-deployment', source: 'selected', parameters: null, job_variables: null, schedule_after: 300 },
      reference: { kind: 'deployment', name: 'archive/nightly' },
    });
    expect(automation!.actionsOnTrigger[0]).toMatchObject({
      body: { type: 'send-notification', subject: 'Prefect automated notification', body: '{{ flow_run.name }} failed' },
      reference: { kind: 'block_document', name: 'slack-webhook/ops' },
    });
    // The notification's Jinja template is checked by the server before any write.
    expect(automation!.templates.map((t) => [t.text, t.source.line])).toEqual([['{{ flow_run.name }} failed', 14]]);
  });

  it('names the line and key of an unknown key, with a suggestion', () => {
    const { issues } = load(['automations:', '  - name: a', '    trigger: {expect: [x]}', '    actions:', '      - type: pause-work-pool', '        work_pol: main'].join('\n'));
    expect(issues).toEqual([
      expect.objectContaining({ line: 6, key: 'automations[0].actions[0].work_pol', severity: 'error', message: expect.stringMatching(/^unknown key `work_pol` in a pause-work-pool action; did you mean `work_pool`\?/) }),
    ]);
  });

  it('suggests the action type meant, and refuses a metric trigger with the reason', () => {
    const { issues, automations } = load(
      [
        'automations:',
        '  - name: a',
        '    trigger: {expect: [x]}',
        '    actions: [{type: run-deploymnet}]',
        '  - name: b',
        '    trigger: {posture: Metric, metric: {name: lateness}}',
        '    actions: [{type: do-nothing}]',
      ].join('\n'),
    );
    expect(automations).toEqual([]);
    expect(issues.map((i) => [i.line, i.message])).toEqual([
      [4, expect.stringMatching(/^unknown action type `run-deploymnet`; did you mean `run-deployment`\?/)],
      [6, expect.stringMatching(/^a metric trigger is evaluated only by Prefect Cloud; a self-hosted Prefect server refuses it/)],
    ]);
  });

  it('refuses a reference given both by name and id, a bad id, a bad name form, and a Proactive window under 10 s', () => {
    const { issues } = load(
      [
        'automations:',
        '  - name: a',
        '    trigger: {expect: [x], posture: Proactive, within: 5}',
        '    actions:',
        '      - {type: pause-deployment, deployment: f/d, deployment_id: 0b0c7c1e-4a36-4b8e-9c55-7d2f1c3e5a10}',
        '      - {type: pause-deployment, deployment_id: not-a-uuid}',
        '      - {type: pause-work-queue, work_queue: only-a-queue}',
      ].join('\n'),
    );
    expect(issues.map((i) => [i.line, i.key, i.message])).toEqual([
      [3, 'automations[0].trigger.within', 'must be at least 10 seconds for a Proactive trigger, found 5'],
      [5, 'automations[0].actions[0].deployment_id', expect.stringContaining('either by name (`deployment`) or by id (`deployment_id`), not both')],
      [6, 'automations[0].actions[1].deployment_id', 'must be a UUID'],
      [7, 'automations[0].actions[2].work_queue', expect.stringContaining('must name the work queue as <pool>/<queue>')],
    ]);
  });

  it('refuses two automations of one name, and one without actions', () => {
    const { issues, automations } = load(
      ['automations:', '  - {name: a, trigger: {expect: [x]}, actions: [{type: do-nothing}]}', '  - {name: a, trigger: {expect: [y]}, actions: [{type: do-nothing}]}', '  - {name: c, trigger: {expect: [x]}, actions: []}'].join('\n'),
    );
    expect(automations.map((a) => a.name)).toEqual(['a']);
    expect(issues.map((i) => [i.line, i.message])).toEqual([
      [3, expect.stringMatching(/^automation "a" is already declared at .*automations\.yaml:2; automations are matched by name/)],
      [4, expect.stringMatching(/^an automation needs at least one action;/)],
    ]);
  });

  it('fills in {{ $NAME }} from the environment, but not the fields Prefect renders when the action runs', () => {
    const { automations, issues } = load(
      [
        'automations:',
        '  - name: "{{ $ENVIRONMENT }} failures"',
        '    trigger: {expect: [x]}',
        '    actions:',
        '      - type: run-deployment',
        '        deployment: "archive/{{ $ENVIRONMENT }}"',
        '        parameters: {note: "{{ $ENVIRONMENT }} {{ event.id }}"}',
      ].join('\n'),
      { ENVIRONMENT: 'prod' },
    );
    expect(issues).toEqual([]);
    expect(automations[0]!.name).toBe('prod failures');
    expect(automations[0]!.actions[0]!.reference?.name).toBe('archive/prod');
    expect(automations[0]!.actions[0]!.body.parameters).toEqual({ note: '{{ $ENVIRONMENT }} {{ event.id }}' });
  });

  it('says whether any file declares automations: an empty list deletes nothing by itself, but is a declaration', () => {
    expect(load('deployments: []\n').declared).toBe(false);
    expect(load('automations: []\n')).toMatchObject({ declared: true, automations: [], issues: [] });
    expect(load('automations: {name: a}\n').issues.map((i) => [i.line, i.message.slice(0, 30)])).toEqual([[1, 'must be a list of automations ']]);
  });
});

describe('the order automations are written in', () => {
  it('puts an automation another one names (pause-automation) before it, and keeps file order otherwise', () => {
    const { automations, issues } = load(
      [
        'automations:',
        '  - {name: first, trigger: {expect: [x]}, actions: [{type: pause-automation, automation: third}]}',
        '  - {name: second, trigger: {expect: [x]}, actions: [{type: do-nothing}]}',
        '  - {name: third, trigger: {expect: [x]}, actions: [{type: resume-automation, automation: not declared here}]}',
        '  - {name: fourth, trigger: {expect: [x]}, actions: [{type: pause-automation, automation: fifth}]}',
        '  - {name: fifth, trigger: {expect: [x]}, actions: [{type: pause-automation, automation: fourth}]}',
      ].join('\n'),
    );
    expect(issues).toEqual([]);
    expect(automations.map((a) => a.name)).toEqual(['third', 'first', 'second', 'fifth', 'fourth']);
  });
});

describe('an automation named as a deployment trigger', () => {
  it('is refused before any request by validate, plan and apply, naming the trigger: the server could not tell the two apart by name', async () => {
    const file = temp.write(
      'named-like-trigger/prefect.yaml',
      [
        'deployments:',
        '  - {name: d, flow_name: f, entrypoint: f.py:f, work_pool: {name: p}, triggers: [{name: tp, expect: [a.b]}]}',
        'automations:',
        '  - {name: tp, trigger: {expect: [x.y]}, actions: [{type: do-nothing}]}',
        '  - {name: tq, trigger: {expect: [x.y]}, actions: [{type: pause-automation, automation: tp}]}',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', '--no-project', '-d', file], { env: {} });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toContain(`${file}:4:6 › automations[0]: automation "tp" has the name of a trigger of deployment f/d (${file}:2)`);
    expect(result.stderr).toContain('1 problem in the inputs');
    // plan and apply too, before any request, whatever --only selects.
    for (const argv of [['plan'], ['apply', '--only', 'automation'], ['apply', '--only', 'deployment-trigger']]) {
      const run = await runCli([...argv, '--no-project', '-d', file], { env: { PREFECT_API_URL: 'http://127.0.0.1:9/api' } });
      expect(run.code, argv.join(' ')).toBe(EXIT.invalidInput);
      expect(run.requests).toEqual([]);
      expect(run.stderr).toContain('automation "tp" has the name of a trigger of deployment f/d');
    }
  });
});
