// A plan shows what changed inside a document at its paths, in text and in --output json, against
// the msw fake: a variable whose value is a table.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { useFake } from './use-fake.js';

const { fake } = useFake();

describe('nested changes in the plan', () => {
  it('names the paths inside a value that differ, in text and JSON, and the apply report says the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openem-nested-'));
    const vars = join(dir, 'vars.toml');
    const env = { PREFECT_API_URL: fake.baseUrl };
    writeFileSync(vars, 'RETRY = { attempts = 3, delay = 1.5, on = { timeout = true } }\n');
    expect((await runCli(['-v', vars], { env })).code).toBe(EXIT.ok);
    writeFileSync(vars, 'RETRY = { attempts = 5, delay = 1.5, on = { timeout = false, http = [502, 503] } }\n');

    const plan = await runCli(['plan', '-v', vars], { env });
    expect(plan.stdout).toContain('~ variable retry: value.attempts: 3 -> 5, value.on.timeout: true -> false, value.on.http: (none) -> [502,503]\n');

    const json = await runCli(['plan', '--output', 'json', '-v', vars], { env });
    const items = (JSON.parse(json.stdout) as { items: Array<{ key: string; changes: unknown[] }> }).items;
    expect(items.find((item) => item.key === 'retry')?.changes).toEqual([
      { field: 'value.attempts', from: 3, to: 5, within: 'value' },
      { field: 'value.on.timeout', from: true, to: false, within: 'value' },
      { field: 'value.on.http', to: [502, 503], within: 'value' },
    ]);

    const apply = await runCli(['-v', vars], { env });
    expect(apply.code).toBe(EXIT.ok);
    expect(apply.stdout).toContain('~ variable retry: value.attempts: 3 -> 5, value.on.timeout: true -> false, value.on.http: (none) -> [502,503]\n');
    expect((await runCli(['plan', '-v', vars], { env })).stdout).toContain('No changes');
  });
});
