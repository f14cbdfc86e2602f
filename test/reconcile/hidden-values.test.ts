// Credential values never reach the plan: a deployment's values under a credential-like key (the
// one rule, isCredential) show as "(hidden)", and so do a work pool template's values under such a
// key (a variable named db_password, with its default), while its other changes show path by path.
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
  const template = (password: string, pull = 'IfNotPresent') => ({
    job_configuration: { env: '{{ env }}', password: '{{ db_password }}', image_pull_policy: '{{ image_pull_policy }}' },
    variables: {
      type: 'object',
      properties: {
        db_password: { type: 'string', default: password },
        apiKey: { type: 'string', default: `${password}-key` },
        image_pull_policy: { type: 'string', default: pull, enum: ['IfNotPresent', 'Always', 'Never'] },
      },
    },
  });
  const desired = (password: string, pull?: string): DesiredWorkPool => ({ name: 'p', type: 'docker', baseJobTemplate: template(password, pull), baseJobTemplateFile: 'job-templates/p.json', queues: [], source });
  const current = (password: string, pull?: string) => ({ pool: { id: 'id', name: 'p', type: 'docker', base_job_template: template(password, pull) } as never, queues: new Map() });

  it('shows the paths of the template that changed, and never a default under a credential-like name', () => {
    const update = workPoolsKind.diff(desired('new-s3cret', 'Always'), current('old-s3cret'));
    expect(update.action).toBe('update');
    const text = shownBy({ kind: 'work-pool', key: 'p', changes: update.changes });
    expect(text).toContain('~ work-pool p: base_job_template.variables.properties.image_pull_policy.default: "IfNotPresent" -> "Always"');
    expect(text).not.toContain('s3cret');
    expect(expandChanges(update.changes, 'update')).toEqual([
      { field: 'base_job_template.variables.properties.image_pull_policy.default', within: 'base_job_template', from: 'IfNotPresent', to: 'Always' },
    ]);
  });

  it('says a template changed only in hidden values without showing them', () => {
    const update = workPoolsKind.diff(desired('new-s3cret'), current('old-s3cret'));
    expect(update.action).toBe('update');
    const text = shownBy({ kind: 'work-pool', key: 'p', changes: update.changes });
    expect(text).toContain('~ work-pool p: base_job_template changed (hidden)');
    expect(text).not.toContain('s3cret');
  });

  it('names the template file when a pool is created', () => {
    const create = workPoolsKind.diff(desired('new-s3cret'), undefined);
    expect(planLine({ kind: 'work-pool', key: 'p', ...create })).toBe('+ work-pool p: type = "docker", base_job_template = "job-templates/p.json"');
  });
});
