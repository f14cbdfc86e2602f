// Blocks on a real server: the shared cases, then references from a deployment's job variables
// (the fake has no deployments).
import { writeFileSync } from 'node:fs';
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
});
