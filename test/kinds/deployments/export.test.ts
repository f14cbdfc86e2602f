// Deployments as prefect.yaml: read back through the deployments loader, and compared with the
// server through the deployments kind, whose diff must be empty for every exported deployment.
import { afterAll, describe, expect, it } from 'vitest';
import { loadDeployments } from '../../../src/kinds/deployments/spec.js';
import { IssueList } from '../../../src/errors.js';
import { entryChecker, exportDeployments, type ServerDeployment } from '../../../src/kinds/deployments/export.js';
import { createMatcher } from '../../../src/config/glob.js';
import { Scratch } from '../../../src/export/verify.js';
import { createDeploymentsKind } from '../../../src/kinds/deployments/reconcile.js';
import { useTempDir } from '../../config/temp.js';
import { deploymentsExport, type ServerDeployments } from '../../../src/kinds/deployments/export.js';
import { fakeDeployment, fakeLimit, fakeSchedule, fakeSecretValues } from '../../export/factories.js';

const temp = useTempDir();
const scratch = new Scratch();
afterAll(() => scratch.close());
const all = createMatcher([]);
const check = entryChecker({ scratchFile: (name, content) => scratch.file(name, content) });
const kind = createDeploymentsKind();

function exported(deployments: ServerDeployment[], matches = all) {
  return exportDeployments(deployments, { matches, check });
}

function loadBack(content: string) {
  const file = temp.write(`${Math.random().toString(36).slice(2)}/prefect.yaml`, content);
  const issues = new IssueList();
  const deployments = loadDeployments([file], { env: {} }, issues);
  expect(issues.errors).toEqual([]);
  return deployments;
}

const NASTY = {
  quotes: 'say "hi" it\'s',
  newlines: 'one\ntwo\n',
  trailing: 'blank at end \nnext',
  unicode: 'é 中文 🚀 \u0007',
  yes: 'yes',
  off: 'off',
  number: '1.10',
  colon: 'a: b',
  hash: '# x',
  merge: { '<<': { looks: 'like a merge' } },
  nothing: null,
  nested: [{ '': 'empty key' }, [1.5, -0.25, 1e21]],
};

describe('exportDeployments', () => {
  it('writes every field apply compares, reads back through the loader, and diffs as no change', () => {
    const d = fakeDeployment(
      {
        name: 'datasets_archival',
        version: '1.10',
        description: 'Archives "datasets"\nto tape: ✓',
        tags: ['archiver', 'yes'],
        paused: true,
        entrypoint: './archiver/flows/archive.py:archive_datasets_flow',
        work_pool_name: 'archival-docker-workpool',
        work_queue_name: 'default',
        job_variables: { image: 'registry/x:1', registry_credentials: { password: '{{ prefect.blocks.secret.github-password }}' }, env: { RUN: '{{ ctx.flow_run.id }}' } },
        parameters: NASTY,
        parameter_openapi_schema: { title: 'Parameters', type: 'object', properties: { job_id: { type: 'string', format: 'uuid' } }, required: ['job_id'] },
        enforce_parameter_schema: false,
        pull_steps: [{ 'prefect.deployments.steps.set_working_directory': { directory: '{{ $WORKDIR }}' } }],
        schedules: [
          fakeSchedule({ cron: '0 3 * * *', timezone: 'Europe/Zurich', day_or: false }, { slug: 'nightly', parameters: { full: true } }),
          fakeSchedule({ interval: 3600, anchor_date: '2024-01-01T00:00:00Z', timezone: 'UTC' }, { slug: 'hourly', active: false }),
          fakeSchedule({ rrule: 'DTSTART:20200101T000000\nFREQ=WEEKLY;BYDAY=MO', timezone: 'UTC' }, { slug: 'mondays' }),
        ],
      },
      'archive_datasetlist',
    );
    d.deployment.global_concurrency_limit = fakeLimit(`deployment:${d.deployment.id}`, 2);
    d.deployment.concurrency_options = { collision_strategy: 'CANCEL_NEW', grace_period_seconds: 120 };
    const result = exported([d]);
    expect(result.warnings).toEqual([]);
    expect(result.count).toBe(1);
    const [desired] = loadBack(result.files[0]!.content);
    expect(desired).toMatchObject({
      name: 'datasets_archival',
      flowName: 'archive_datasetlist',
      version: '1.10',
      description: 'Archives "datasets"\nto tape: ✓',
      tags: ['archiver', 'yes'],
      paused: true,
      concurrency: { limit: 2, collisionStrategy: 'CANCEL_NEW', gracePeriodSeconds: 120 },
      workPoolName: 'archival-docker-workpool',
      workQueueName: 'default',
      enforceParameterSchema: false,
    });
    expect(JSON.stringify(desired!.parameters)).toBe(JSON.stringify(NASTY));
    expect(desired!.schedules.map((s) => s.slug)).toEqual(['hourly', 'mondays', 'nightly']);
    expect(kind.diff(desired!, d)).toEqual({ action: 'noop', changes: [] });
    // Stable text: the same input writes the same bytes.
    expect(exported([d]).files[0]!.content).toBe(result.files[0]!.content);
    expect(result.files[0]!.content).toContain('version: "1.10"\n');
    expect(result.files[0]!.content).toContain('"<<":\n');
  });

  it('writes the limit as a number when runs are enqueued, and leaves out a deployment without a limit', () => {
    const plain = fakeDeployment({ name: 'a' });
    plain.deployment.global_concurrency_limit = fakeLimit(`deployment:${plain.deployment.id}`, 3);
    const enqueue = fakeDeployment({ name: 'b', concurrency_options: { collision_strategy: 'ENQUEUE' } });
    enqueue.deployment.global_concurrency_limit = fakeLimit(`deployment:${enqueue.deployment.id}`, 4);
    const grace = fakeDeployment({ name: 'c', concurrency_options: { collision_strategy: 'ENQUEUE', grace_period_seconds: 300 } });
    grace.deployment.global_concurrency_limit = fakeLimit(`deployment:${grace.deployment.id}`, 5);
    const none = fakeDeployment({ name: 'd' });
    const result = exported([none, grace, enqueue, plain]);
    expect(result.warnings).toEqual([]);
    const text = result.files[0]!.content;
    expect(text).toContain('  - name: a\n    flow_name: archive-flow\n    entrypoint: flows/archive.py:archive_flow\n    tags: []\n    paused: false\n    concurrency_limit: 3\n');
    expect(text).toContain('concurrency_limit: 4\n');
    expect(text).toContain('concurrency_limit:\n      limit: 5\n      grace_period_seconds: 300\n');
    expect(text.match(/concurrency_limit/g)).toHaveLength(3);
    expect(loadBack(text).map((d) => d.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('names a shared global limit, and warns about a limit prefect.yaml cannot hold', () => {
    const shared = fakeDeployment({ name: 'shared' });
    shared.deployment.global_concurrency_limit = fakeLimit('database', 3);
    const zero = fakeDeployment({ name: 'zero' });
    zero.deployment.global_concurrency_limit = fakeLimit(`deployment:${zero.deployment.id}`, 0);
    const result = exported([shared, zero]);
    expect(result.warnings).toEqual([{ subject: 'deployment "archive-flow/zero"', message: expect.stringContaining('limit of 0 is not exported') }]);
    const [sharing] = loadBack(result.files[0]!.content);
    expect(sharing!.globalConcurrencyLimit?.name).toBe('database');
    expect(sharing!.concurrency).toBeUndefined();
    // The zero limit is left out, so the diff finds nothing to do: the server keeps it.
    expect(result.count).toBe(2);
  });

  it('exports a deployment linked to a limit prefect.yaml cannot name without the link, and says so', () => {
    const tagged = fakeDeployment({ name: 'tagged' });
    tagged.deployment.global_concurrency_limit = fakeLimit('tag:gpu', 1);
    const result = exported([tagged]);
    expect(result.count).toBe(1);
    expect(result.warnings).toEqual([{ subject: 'deployment "archive-flow/tagged"', message: expect.stringContaining('shares the limit "tag:gpu", which prefect.yaml cannot name') }]);
    const [loaded] = loadBack(result.files[0]!.content);
    expect(loaded!.globalConcurrencyLimit).toBeUndefined();
    // Without the key, apply leaves the link alone: nothing to change on the server.
    expect(kind.diff(loaded!, { deployment: tagged.deployment }).action).toBe('noop');
  });

  it('leaves out schedules without a slug, saying how to give each one, by its own id', () => {
    const daily = fakeSchedule({ interval: 86400 });
    const often = fakeSchedule({ cron: '*/5 * * * *' });
    const d = fakeDeployment({
      name: 'mixed',
      schedules: [fakeSchedule({ cron: '0 3 * * *', day_or: true, timezone: null }, { slug: 'cron-1' }), daily, often],
    });
    const result = exported([d]);
    const curl = (schedule: typeof daily, slug: string) =>
      `curl -X PATCH "$PREFECT_API_URL/deployments/${d.deployment.id}/schedules/${schedule.id}" -H 'content-type: application/json' -d '{"slug": "${slug}"}'`;
    expect(result.warnings).toEqual([
      {
        subject: 'deployment "archive-flow/mixed"',
        message:
          `2 schedules without a slug are not exported: cron "*/5 * * * *" (schedule ${often.id}); every 86400 s (schedule ${daily.id}). ` +
          'Applying the export keeps them on this server, but a copy lacks them. To export them, give each a slug (any name unique in the deployment) and export again: ' +
          // The suggested slugs are free in the deployment: cron-1 is taken.
          `${curl(often, 'cron-2')} ; ${curl(daily, 'every-86400s')}`,
      },
    ]);
    expect(result.warnings[0]!.message).not.toContain('<schedule>');
    const [desired] = loadBack(result.files[0]!.content);
    expect(desired!.schedules.map((s) => s.slug)).toEqual(['cron-1']);
    // Apply keeps slug-less schedules, so the source server sees no change.
    expect(kind.diff(desired!, d).action).toBe('noop');
  });

  it('leaves out, with the reason, a deployment whose values openem-config would resolve at apply time', () => {
    const env = fakeDeployment({ name: 'env', work_pool_name: 'p', job_variables: { image: '{{ $RUNTIME_IMAGE }}' } });
    const bare = fakeDeployment({ name: 'bare', parameters: { target: '{{ target }}' } });
    const result = exported([env, bare]);
    expect(result.count).toBe(0);
    expect(result.files).toEqual([]);
    expect(result.warnings).toEqual([
      { subject: 'deployment "archive-flow/bare"', message: expect.stringContaining('parameters.target') },
      { subject: 'deployment "archive-flow/env"', message: expect.stringContaining('RUNTIME_IMAGE') },
    ]);
    for (const warning of result.warnings) expect(warning.message).toMatch(/^not exported: prefect.yaml cannot hold it as it is: /);
  });

  it('exports a block placeholder inside other text as it is: the worker resolves it there', () => {
    const inline = fakeDeployment({ name: 'inline', work_pool_name: 'p', job_variables: { url: 'https://{{ prefect.blocks.secret.host }}/x' } });
    const result = exported([inline]);
    expect(result.count).toBe(1);
    expect(result.warnings).toEqual([]);
    const [desired] = loadBack(result.files[0]!.content);
    expect(desired?.jobVariables).toEqual({ url: 'https://{{ prefect.blocks.secret.host }}/x' });
  });

  it('leaves out a deployment whose entrypoint the loader refuses, and keeps one with none or with a module path', () => {
    const method = fakeDeployment({ name: 'method', entrypoint: 'archiver/flows.py:Jobs.archive' });
    const module = fakeDeployment({ name: 'module', entrypoint: 'archiver.flows:archive' });
    const none = fakeDeployment({ name: 'none', entrypoint: null });
    const result = exported([method, module, none]);
    expect(result.count).toBe(2);
    expect(result.warnings).toEqual([{ subject: 'deployment "archive-flow/method"', message: expect.stringContaining('entrypoint') }]);
  });

  it('warns about what prefect.yaml cannot hold: labels, storage, a queue without a pool, max_scheduled_runs, a lost flow', () => {
    const d = fakeDeployment({
      name: 'old',
      labels: { 'prefect.flow.id': 'x', team: 'a' },
      path: '/opt/flows',
      work_queue_name: 'legacy',
      schedules: [fakeSchedule({ interval: 60 }, { slug: 'minutely', max_scheduled_runs: 5 })],
    });
    const result = exportDeployments([d], { matches: all, check, withoutFlow: ['orphan'] });
    expect(result.count).toBe(1);
    expect(result.warnings.map((w) => [w.subject, w.message.slice(0, 30)])).toEqual([
      ['deployment "orphan"', 'not exported: its flow is gone'],
      ['deployment "archive-flow/old"', 'schedule "minutely" has max_sc'],
      ['deployment "archive-flow/old"', 'its work queue "legacy" has no'],
      ['deployment "archive-flow/old"', 'its labels (team) are not expo'],
      ['deployment "archive-flow/old"', 'path is not exported (Prefect '],
    ]);
  });

  it('selects deployments by name or flow/name, and sorts them by flow/name', () => {
    const deployments = [fakeDeployment({ name: 'z' }, 'b-flow'), fakeDeployment({ name: 'y' }, 'a-flow'), fakeDeployment({ name: 'x' }, 'c-flow')];
    expect(loadBack(exported(deployments).files[0]!.content).map((d) => `${d.flowName}/${d.name}`)).toEqual(['a-flow/y', 'b-flow/z', 'c-flow/x']);
    expect(exported(deployments, createMatcher(['b-flow/*', 'x'])).count).toBe(2);
  });
});

describe('credentials in deployments', () => {
  const secrets = fakeSecretValues({ 'github-user': 'svc-bot', 'github-token': 'ghp_resolvedToken123', 's3-password': 'minio-pass' });
  const resolved = () =>
    fakeDeployment(
      {
        name: 'resolved',
        work_pool_name: 'pool',
        // As `prefect deploy` stores `{{ prefect.blocks.secret.github-* }}`: resolved.
        job_variables: { image: 'ghcr.io/x:1', registry_credentials: { username: 'svc-bot', password: 'ghp_resolvedToken123', registry_url: 'ghcr.io' } },
        pull_steps: [{ 'prefect.deployments.steps.git_clone': { repository: 'https://github.com/x/y', access_token: 'ghp_resolvedToken123' } }],
        parameters: { bucket: 'archive' },
      },
      'archive',
    );

  it('writes a resolved secret as a reference to its block, says so, and the entry reads back as the server then holds it', () => {
    const d = resolved();
    const result = exportDeployments([d], { matches: all, check, secrets });
    const text = result.files[0]!.content;
    for (const value of ['svc-bot', 'ghp_resolvedToken123']) expect(text).not.toContain(value);
    expect(text).toContain('username: "{{ prefect.blocks.secret.github-user }}"');
    expect(text).toContain('password: "{{ prefect.blocks.secret.github-token }}"');
    expect(text).toContain('access_token: "{{ prefect.blocks.secret.github-token }}"');
    expect(result.warnings).toEqual([
      {
        subject: 'deployment "archive/resolved"',
        message: expect.stringMatching(
          /^work_pool\.job_variables\.registry_credentials\.username -> \{\{ prefect\.blocks\.secret\.github-user \}\}, .*, pull\[0\]\.prefect\.deployments\.steps\.git_clone\.access_token -> .*: these values were the value of a secret block .* written as a reference/,
        ),
      },
    ]);
    for (const warning of result.warnings) expect(warning.message).not.toContain('ghp_');
    // The server keeps the resolved value; the file says the reference: the announced difference.
    const [desired] = loadBack(text);
    expect(kind.diff(desired!, d).action).toBe('update');
    expect(kind.diff(desired!, result.written.get('archive/resolved')!)).toEqual({ action: 'noop', changes: [] });
    expect(result.written.get('archive/resolved')!.deployment.parameters).toEqual({ bucket: 'archive' });
  });

  it('leaves out a credential that matches no block, and one in parameters, naming each by key path; or writes them when allowed', () => {
    const d = fakeDeployment({
      name: 'plain',
      work_pool_name: 'pool',
      job_variables: { env: { GITHUB_TOKEN: 'ghp_typedInTheUi', LOG_LEVEL: 'INFO' } },
      parameters: { s3_password: 'minio-pass', retries: 2 },
      schedules: [fakeSchedule({ cron: '0 1 * * *' }, { slug: 'nightly', parameters: { api_key: 'k-123' } })],
    });
    const result = exportDeployments([d], { matches: all, check, secrets });
    const text = result.files[0]!.content;
    for (const value of ['ghp_typedInTheUi', 'minio-pass', 'k-123']) expect(text).not.toContain(value);
    expect(text).toContain('LOG_LEVEL: INFO');
    const [warning] = result.warnings;
    expect(warning).toEqual({
      subject: 'deployment "archive-flow/plain"',
      message: expect.stringMatching(/^3 credentials are not written: .*--allow-plain-credentials/),
      credentials: { paths: ['work_pool.job_variables.env.GITHUB_TOKEN', 'parameters.s3_password', 'schedules[nightly].parameters.api_key'], written: false },
    });
    expect(warning!.message).toContain('parameters.s3_password (the value of secret block "s3-password": Prefect passes parameters to the flow as written');
    expect(warning!.message).toContain('work_pool.job_variables.env.GITHUB_TOKEN (under a credential-like key, the value of no secret block)');
    // Read back, it matches the server without them: the verification passes, the warning says the rest.
    const [desired] = loadBack(text);
    expect(kind.diff(desired!, result.written.get('archive-flow/plain')!)).toEqual({ action: 'noop', changes: [] });

    const allowed = exportDeployments([d], { matches: all, check, secrets, allowPlainCredentials: true });
    expect(allowed.files[0]!.content).toContain('GITHUB_TOKEN: ghp_typedInTheUi');
    expect(allowed.warnings).toEqual([
      {
        subject: 'deployment "archive-flow/plain"',
        message: expect.stringMatching(/^3 credentials are written in plain text \(--allow-plain-credentials\)/),
        credentials: { paths: ['work_pool.job_variables.env.GITHUB_TOKEN', 'parameters.s3_password', 'schedules[nightly].parameters.api_key'], written: true },
      },
    ]);
    expect(kind.diff(loadBack(allowed.files[0]!.content)[0]!, d)).toEqual({ action: 'noop', changes: [] });
  });

  it('refers to a secret within other text there, and to a string of a JSON secret by its key path; both read back', () => {
    const withJson = fakeSecretValues({ 'github-token': 'ghp_resolvedToken123', registry: { username: 'registry-robot', password: 'registry-pass-42' } });
    const d = fakeDeployment({
      name: 'cloned',
      work_pool_name: 'pool',
      job_variables: { registry_credentials: { username: 'registry-robot', password: 'registry-pass-42', registry_url: 'ghcr.io' }, env: { MIRROR: 'https://x-access-token:ghp_resolvedToken123@github.com/x/y' } },
      pull_steps: [{ 'prefect.deployments.steps.git_clone': { repository: 'https://oauth2:ghp_resolvedToken123@github.com/x/y.git' } }],
    });
    const result = exportDeployments([d], { matches: all, check, secrets: withJson });
    const text = result.files[0]!.content;
    for (const secret of ['ghp_resolvedToken123', 'registry-robot', 'registry-pass-42']) {
      expect(text).not.toContain(secret);
      for (const warning of result.warnings) expect(warning.message).not.toContain(secret);
    }
    expect(text).toContain('username: "{{ prefect.blocks.secret.registry.value.username }}"');
    expect(text).toContain('password: "{{ prefect.blocks.secret.registry.value.password }}"');
    expect(text).toContain('MIRROR: https://x-access-token:{{ prefect.blocks.secret.github-token }}@github.com/x/y');
    expect(text).toContain('repository: https://oauth2:{{ prefect.blocks.secret.github-token }}@github.com/x/y.git');
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]!.message).toContain('registry_credentials.password -> {{ prefect.blocks.secret.registry.value.password }}');
    expect(result.warnings[0]!.message).toContain('work_pool.job_variables.env.MIRROR -> {{ prefect.blocks.secret.github-token }} (within the text)');
    // The loader takes the key path and inline placeholders, and the entry reads back as the server then holds it.
    const [desired] = loadBack(text);
    expect(desired!.references.map((r) => `${r.kind} ${r.name}`)).toEqual(['secret registry', 'secret registry', 'secret github-token', 'secret github-token']);
    expect(kind.diff(desired!, result.written.get('archive-flow/cloned')!)).toEqual({ action: 'noop', changes: [] });
  });

  it('leaves out a credential among the default values of the parameter schema, keeping the order of everything else', () => {
    const d = fakeDeployment({
      name: 'defaults',
      parameter_openapi_schema: {
        title: 'Parameters',
        type: 'object',
        properties: {
          password: { title: 'password', default: 'hunter2-default', type: 'string', position: 0 },
          endpoint: { default: 'http://minio:9000', title: 'endpoint', type: 'string' },
          key: { default: 'minio-pass', type: 'string' },
          token_file: { default: '/run/secrets/token', type: 'string' },
        },
      },
    });
    const result = exportDeployments([d], { matches: all, check, secrets });
    const text = result.files[0]!.content;
    for (const value of ['hunter2-default', 'minio-pass']) expect(text).not.toContain(value);
    expect(result.warnings[0]!.credentials).toEqual({
      paths: ['parameter_openapi_schema.properties.password.default', 'parameter_openapi_schema.properties.key.default'],
      written: false,
    });
    const written = result.written.get('archive-flow/defaults')!.deployment.parameter_openapi_schema as { properties: Record<string, object> };
    expect(Object.keys(written.properties)).toEqual(['password', 'endpoint', 'key', 'token_file']);
    expect(Object.keys(written.properties.password!)).toEqual(['title', 'type', 'position']);
    expect(Object.keys(written.properties.endpoint!)).toEqual(['default', 'title', 'type']);
    expect(written.properties.token_file).toEqual({ default: '/run/secrets/token', type: 'string' });
    expect(kind.diff(loadBack(text)[0]!, result.written.get('archive-flow/defaults')!)).toEqual({ action: 'noop', changes: [] });
  });

  it('reads the secrets with the deployments, takes the policy from the context, and gives the round trip the deployments as written', () => {
    const d = resolved();
    const server: ServerDeployments = { deployments: [d], withoutFlow: [], secrets };
    expect(deploymentsExport.current(server).get('archive/resolved')).toEqual({ deployment: d.deployment });
    const context = { matches: all, env: {}, scratchFile: (name: string, content: string) => scratch.file(name, content) };
    const written = deploymentsExport.write(server, context);
    expect(written.warnings.map((w) => w.credentials)).toEqual([undefined]);
    const current = deploymentsExport.current(server).get('archive/resolved') as { deployment: ServerDeployment['deployment'] };
    expect(current.deployment.job_variables).toMatchObject({ registry_credentials: { password: '{{ prefect.blocks.secret.github-token }}' } });
    const typed = { ...server, deployments: [fakeDeployment({ name: 'typed', work_pool_name: 'pool', job_variables: { token: 'abc' } })] };
    expect(deploymentsExport.write(typed, context).warnings[0]!.credentials).toEqual({ paths: ['work_pool.job_variables.token'], written: false });
    expect(deploymentsExport.write(typed, { ...context, allowPlainCredentials: true } as typeof context).warnings[0]!.credentials).toEqual({ paths: ['work_pool.job_variables.token'], written: true });
  });
});
