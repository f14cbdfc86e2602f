// Blocks on a real server: the shared cases, then references from a deployment's job variables
// (the fake has no deployments).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { clearBlocks, configuration, defineBlockCases, ensureBlockTypes, FILES, MANIFEST, SECRETS } from '../shared/block-cases.js';

const apiUrl = () => inject('prefectApiUrl');
const env = () => ({ PREFECT_API_URL: apiUrl(), AWS_SECRET_ACCESS_KEY: SECRETS.aws });

defineBlockCases({ apiUrl });

describe('blocks referred to by deployments', () => {
  beforeEach(async () => {
    await ensureBlockTypes(apiUrl());
    await clearBlocks(apiUrl());
  });

  it('checks {{ prefect.blocks.<type>.<name> }} of job variables against declared and existing blocks', async () => {
    const { dir, limits } = configuration(`${MANIFEST}\n[work_pools.block-pool]\ntype = "process"\n`, FILES);
    const yaml = (block: string) => {
      const path = join(dir, `prefect-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(path, `deployments:\n  - name: d\n    flow_name: f\n    entrypoint: flows/f.py:f\n    work_pool:\n      name: block-pool\n      job_variables:\n        env:\n          WEBHOOK: "{{ prefect.blocks.${block} }}"\n`);
      return path;
    };
    const ok = await runCli(['plan', '-l', limits, '-d', yaml('slack-webhook.alerts')], { env: env() });
    expect(ok.code).toBe(EXIT.ok);
    const missing = await runCli(['apply', '-l', limits, '-d', yaml('slack-webhook.nowhere')], { env: env() });
    expect(missing.code).toBe(EXIT.invalidInput);
    expect(missing.writes).toEqual([]);
    expect(missing.stderr).toContain('refers to block slack-webhook/nowhere, which the inputs do not declare');
  });

  it('exports every block with its secret fields as files to provide, and the files applied back change nothing', async () => {
    const { limits } = configuration(MANIFEST, FILES);
    expect((await runCli(['apply', '-l', limits], { env: env() })).code).toBe(EXIT.ok);
    const dir = join(mkdtempSync(join(tmpdir(), 'openem-blocks-export-')), 'out');
    const exported = await runCli(['export', '--to', dir, '--only', 'blocks', '--output', 'json'], { env: env() });
    expect(exported.code).toBe(EXIT.ok);
    const manifest = readFileSync(join(dir, 'limits.toml'), 'utf8');
    expect(manifest).toContain('[blocks.slack-webhook.alerts]\nnotify_type = "failure"\nurl = { file = "block-secrets/slack-webhook.alerts.url" }\n');
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('`block-secrets/slack-webhook.alerts.url`');
    expect(manifest).toContain('[blocks.s3-bucket.archive]\nbucket_name = "archive"\ncredentials = { block = "aws-credentials/prod" }\n');
    expect(manifest).toContain('secrets = { token = { file = "block-secrets/custom-webhook.hook.secrets.token" } }');
    // No secret value is written anywhere, nor said.
    for (const value of Object.values(SECRETS)) {
      expect(manifest).not.toContain(value);
      expect(exported.all).not.toContain(value);
    }
    expect(readdirSync(dir)).not.toContain('block-secrets');
    const warning = (JSON.parse(exported.stdout) as { warnings: Array<{ subject: string; message: string }> }).warnings.find((w) => w.subject === 'blocks');
    expect(warning?.message).toContain('block-secrets/slack-webhook.alerts.url');
    // The operator provides the files; applied back to the same server, nothing changes.
    mkdirSync(join(dir, 'block-secrets'));
    writeFileSync(join(dir, 'block-secrets', 'slack-webhook.alerts.url'), `${SECRETS.slack}\n`);
    writeFileSync(join(dir, 'block-secrets', 'docker-registry-credentials.registry.password'), `${SECRETS.registry}\n`);
    writeFileSync(join(dir, 'block-secrets', 'aws-credentials.prod.aws_secret_access_key'), `${SECRETS.aws}\n`);
    writeFileSync(join(dir, 'block-secrets', 'custom-webhook.hook.secrets.token'), `${SECRETS.token}\n`);
    const back = await runCli(['apply', '-l', join(dir, 'limits.toml')], { env: env() });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(EXIT.ok);
    expect(back.writes).toEqual([]);
  });
});

