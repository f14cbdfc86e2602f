// Parameters against the flow's parameter schema, before any write.
import { beforeAll, describe, expect, it } from 'vitest';
import { IssueList } from '../../../src/errors.js';
import { deployments } from '../../../src/kinds/deployments/kind.js';
import { checkReferencesOffline } from '../../../src/reconcile/references.js';
import { loadDesired } from '../../../src/run.js';
import { useTempDir } from '../../config/temp.js';
import { noInputs } from '../../../src/config/inputs.js';
import { preparePythonReader } from '../../../src/python/syntax.js';

const temp = useTempDir();

const SCHEMA = `    parameter_openapi_schema:
      type: object
      properties:
        dataset_id: { type: string, title: dataset_id }
        size_mb: { type: integer, default: 20, title: size_mb }
        mode: { enum: [fast, safe], title: mode }
      required: [dataset_id]
`;

function load(parameters: string, extra = '') {
  const file = temp.write(
    `p-${Math.random().toString(36).slice(2)}/prefect.yaml`,
    `deployments:\n  - name: d\n    flow_name: archive\n    entrypoint: flows/a.py:archive\n${SCHEMA}${extra}    parameters: ${parameters}\n`,
  );
  const issues = new IssueList();
  const desired = loadDesired({ ...noInputs(), deployments: [file] }, {}, issues);
  return { desired: desired.get(deployments), issues: issues.items.map((i) => [i.severity, i.key, i.message]) };
}

describe('parameters against the parameter schema', () => {
  it('takes values that fit, and leaves required parameters to the runs', () => {
    expect(load('{ size_mb: 5, mode: safe }').issues).toEqual([]);
  });

  it('refuses a parameter the flow does not have and a value of the wrong type, without showing the value', () => {
    const { issues } = load('{ dataset: "x", size_mb: "sentinel-value", mode: slow }');
    expect(issues).toEqual([
      ['error', 'deployments[0].parameters.dataset', 'the flow archive has no parameter `dataset`; its parameters are dataset_id, size_mb, mode'],
      ['error', 'deployments[0].parameters.size_mb', 'must be integer'],
      ['error', 'deployments[0].parameters.mode', 'must be one of "fast", "safe"'],
    ]);
    expect(JSON.stringify(issues)).not.toContain('sentinel-value');
  });

  it('warns instead when the schema is not enforced', () => {
    const { issues } = load('{ size_mb: "x" }', '    enforce_parameter_schema: false\n');
    expect(issues).toEqual([['warning', 'deployments[0].parameters.size_mb', 'must be integer (the schema is not enforced, so the flow would get it as it is)']]);
  });

  it('takes a parameter the schema does not name when the flow takes **kwargs, and checks the others', async () => {
    await preparePythonReader();
    const dir = temp.write('kwargs/flows/a.py', 'from prefect import flow\n@flow(name="archive")\ndef archive(size_mb: int = 1, **options):\n    pass\n').replace(/\/flows\/a\.py$/, '');
    const file = temp.write('kwargs/prefect.yaml', 'deployments:\n  - name: d\n    entrypoint: a.py:archive\n    parameters: { anything: 1, size_mb: "x" }\n');
    const issues = new IssueList();
    loadDesired({ ...noInputs(), deployments: [file], flowsDir: `${dir}/flows` }, {}, issues);
    expect(issues.items.map((i) => [i.severity, i.key, i.message])).toEqual([['error', 'deployments[0].parameters.size_mb', 'must be integer']]);
  });
});

/** A prefect.yaml with `extra` under the one deployment and `tail` after the deployments; the rules' issues. */
function runIssues(extra: string, tail = '') {
  const file = temp.write(
    `r-${Math.random().toString(36).slice(2)}/prefect.yaml`,
    `deployments:\n  - name: d\n    flow_name: archive\n    entrypoint: flows/a.py:archive\n${SCHEMA}${extra}${tail}`,
  );
  const issues = new IssueList();
  const desired = loadDesired({ ...noInputs(), deployments: [file] }, {}, issues);
  return [...issues.items, ...checkReferencesOffline(desired)].map((i) => [i.severity, i.key, i.message]);
}

describe('the parameters of the runs schedules and triggers start', () => {
  it('refuses an active schedule whose runs lack a required parameter, and only warns for an inactive one', () => {
    const schedules = '    parameters: {}\n    schedules:\n      - cron: "0 1 * * *"\n      - cron: "0 2 * * *"\n        parameters: { dataset_id: "x" }\n      - cron: "0 3 * * *"\n        active: false\n';
    expect(runIssues(schedules)).toEqual([
      ['error', 'deployments[0].schedules[0]', "every run of this schedule would fail: the flow archive requires `dataset_id`, which neither the schedule's `parameters` nor the deployment's give; add it to either, or give the flow parameter a default"],
      ['warning', 'deployments[0].schedules[2]', expect.stringContaining('(the schedule is inactive, so no run fails yet)')],
    ]);
  });

  it('takes a schedule whose required parameter the deployment gives', () => {
    expect(runIssues('    parameters: { dataset_id: "x" }\n    schedules:\n      - cron: "0 1 * * *"\n')).toEqual([]);
  });

  it('only warns offline when the inputs leave the parameters to the server', () => {
    expect(runIssues('    schedules:\n      - cron: "0 1 * * *"\n')).toEqual([
      ['warning', 'deployments[0].schedules[0]', expect.stringContaining('(unless the deployment on the server has it: the inputs give no `parameters`, so it keeps its own)')],
    ]);
  });

  it('warns only when the deployment is paused', () => {
    expect(runIssues('    paused: true\n    schedules:\n      - cron: "0 1 * * *"\n')).toEqual([
      ['warning', 'deployments[0].schedules[0]', expect.stringContaining('(the deployment is paused, so no run fails yet)')],
    ]);
  });

  it("checks a trigger's parameters: unknown names, wrong types and missing required ones, but not what Prefect renders at run time", () => {
    const triggers = (parameters: string, enabled = true) =>
      `    parameters: {}\n    triggers:\n      - type: event\n        expect: [my.event]\n        enabled: ${enabled}\n        parameters: ${parameters}\n`;
    expect(runIssues(triggers('{ dataset: "x", size_mb: "sentinel-value" }'))).toEqual([
      ['error', 'deployments[0].triggers[0].parameters.dataset', 'the flow archive has no parameter `dataset`; its parameters are dataset_id, size_mb, mode, for the runs of deployment "archive/d" this action starts'],
      ['error', 'deployments[0].triggers[0].parameters.size_mb', 'must be integer, for the runs of deployment "archive/d" this action starts'],
      ['error', 'deployments[0].triggers[0]', "every run of deployment \"archive/d\" this action starts would fail: the flow archive requires `dataset_id`, which neither the action's `parameters` nor the deployment's give; add it to either"],
    ]);
    expect(runIssues(triggers('{ dataset_id: "{{ event.resource.id }}", size_mb: "{{ event.payload.size }}", mode: { __prefect_kind: json, value: "\\"fast\\"" } }'))).toEqual([]);
    expect(runIssues(triggers('{ size_mb: 3 }', false))).toEqual([['warning', 'deployments[0].triggers[0]', expect.stringContaining('(the automation is disabled, so no run fails yet)')]]);
  });

  it('checks the parameters of an automation that runs a declared deployment by name', () => {
    const automation = '\nautomations:\n  - name: rerun\n    trigger: { type: event, expect: [my.event] }\n    actions:\n      - type: run-deployment\n        deployment: archive/d\n        parameters: { mode: slow }\n';
    const issues = runIssues('    parameters: {}\n', automation);
    expect(issues).toContainEqual(['error', expect.stringMatching(/^automations\[0\]\.actions\[0\]\.parameters\.mode$/), 'must be one of "fast", "safe", for the runs of deployment "archive/d" this action starts']);
    expect(issues).toContainEqual(['error', expect.stringMatching(/^automations\[0\]\.actions\[0\]/), expect.stringContaining('requires `dataset_id`')]);
  });
});

describe('a schema without properties', () => {
  it('says nothing of the runs: Prefect stores it when a deployment is given none', () => {
    const file = temp.write(
      `e-${Math.random().toString(36).slice(2)}/prefect.yaml`,
      'deployments:\n  - name: d\n    flow_name: archive\n    entrypoint: flows/a.py:archive\n    parameter_openapi_schema: { type: object, properties: {} }\n    schedules:\n      - cron: "0 1 * * *"\n        parameters: {}\n    triggers:\n      - type: event\n        expect: [my.event]\n        parameters: { urgent: true }\n',
    );
    const issues = new IssueList();
    const desired = loadDesired({ ...noInputs(), deployments: [file] }, {}, issues);
    expect([...issues.items, ...checkReferencesOffline(desired)]).toEqual([]);
  });
});
