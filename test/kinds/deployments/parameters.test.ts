// Parameters against the flow's parameter schema, before any write.
import { beforeAll, describe, expect, it } from 'vitest';
import { IssueList } from '../../../src/errors.js';
import { deployments } from '../../../src/kinds/deployments/kind.js';
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
