// Credential values never reach the plan: a deployment's values under a credential-like key (the
// one rule, isCredential) show as "(hidden)", and a work pool's base job template change names its
// file only, so a default under a credential-like key in the template is never shown either.
import { describe, expect, it } from 'vitest';
import type { DesiredDeployment, DesiredWorkPool } from '../../src/config/types.js';
import { createDeploymentsKind } from '../../src/kinds/deployments/reconcile.js';
import { workPoolsKind } from '../../src/kinds/work-pools/reconcile.js';
import { expandChanges, planLine } from '../../src/report.js';
import type { FieldChange } from '../../src/reconcile/types.js';

const source = { file: 'prefect.yaml', line: 1 };

/** The plan line and the JSON report's changes of an update, as text. */
function shownBy(item: { kind: string; key: string; changes: FieldChange[] }): string {
  return `${planLine({ ...item, action: 'update' })}\n${JSON.stringify(expandChanges(item.changes, 'update'))}`;
}

describe('a deployment plan', () => {
  it('hides every value under a credential-like key, whatever its case style, and shows the others', () => {
    const env = (value: string) => ({
      PGPASSWORD: `pg-${value}`,
      MYSQL_PWD: `my-${value}`,
      db_pwd: `db-${value}`,
      githubToken: `gh-${value}`,
      'x-api-key': `key-${value}`,
      PWD: `/work/${value}`,
      tokenizer: `tok-${value}`,
      secret_name: `name-${value}`,
    });
    const desired: DesiredDeployment = { name: 'd', flowName: 'f', schedules: [], jobVariables: { env: env('new') }, references: [], source };
    const current = { deployment: { id: 'id', name: 'd', flow_id: 'flow', job_variables: { env: env('old') }, schedules: [] } } as never;
    const diff = createDeploymentsKind().diff(desired, current);
    const text = shownBy({ kind: 'deployment', key: 'f/d', changes: diff.changes });
    for (const hidden of ['pg-', 'my-', 'db-', 'gh-', 'key-']) expect(text).not.toContain(hidden);
    expect(text).toContain('job_variables.env.PWD: "/work/old" -> "/work/new"');
    expect(text).toContain('job_variables.env.tokenizer: "tok-old" -> "tok-new"');
    expect(text).toContain('job_variables.env.secret_name: "name-old" -> "name-new"');
  });
});

describe('a work pool plan', () => {
  it('names the template file for a changed template, never a default of it', () => {
    const template = (password: string) => ({
      job_configuration: { env: '{{ env }}', password: '{{ db_password }}' },
      variables: { type: 'object', properties: { db_password: { type: 'string', default: password }, apiKey: { type: 'string', default: `${password}-key` } } },
    });
    const desired: DesiredWorkPool = { name: 'p', type: 'docker', baseJobTemplate: template('new-s3cret'), baseJobTemplateFile: 'job-templates/p.json', queues: [], source };
    const update = workPoolsKind.diff(desired, { pool: { id: 'id', name: 'p', type: 'docker', base_job_template: template('old-s3cret') } as never, queues: new Map() });
    expect(update.action).toBe('update');
    const text = shownBy({ kind: 'work-pool', key: 'p', changes: update.changes });
    expect(text).toContain("~ work-pool p: base_job_template: \"(the server's template)\" -> \"job-templates/p.json\"");
    expect(text).not.toContain('s3cret');

    const create = workPoolsKind.diff(desired, undefined);
    expect(planLine({ kind: 'work-pool', key: 'p', ...create })).toBe('+ work-pool p: type = "docker", base_job_template = "job-templates/p.json"');
  });
});
