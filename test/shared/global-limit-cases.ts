// Global concurrency limits, the same cases against the msw fake and a real Prefect server.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import type { Target } from './example-cases.js';
import { clearServer, postJson } from './server.js';

interface V2Limit {
  id: string;
  name: string;
  limit: number;
  active: boolean;
  active_slots: number;
  slot_decay_per_second: number;
}

export function manifest(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'openem-gcl-'));
  const path = join(dir, 'limits.toml');
  writeFileSync(path, text);
  return path;
}

export async function readLimits(apiUrl: string): Promise<Record<string, V2Limit>> {
  const rows = await postJson<V2Limit[]>(apiUrl, '/v2/concurrency_limits/filter', { limit: 200, offset: 0 });
  return Object.fromEntries(rows.map((row) => [row.name, row]));
}

export async function clearLimits(apiUrl: string): Promise<void> {
  await clearServer(apiUrl);
  for (const row of Object.values(await readLimits(apiUrl))) await fetch(`${apiUrl}/v2/concurrency_limits/${row.id}`, { method: 'DELETE' });
}

const DECLARED = `
[tag_limits]
gpu = 2

[global_limits.database]
limit = 5

[global_limits.api-calls]
limit = 10
slot_decay_per_second = 0.5

[global_limits.paused]
limit = 1
active = false
`;

export function defineGlobalLimitCases(target: Target): void {
  const env = () => ({ PREFECT_API_URL: target.apiUrl(), ...target.env?.() });

  describe('global concurrency limits', () => {
    beforeEach(async () => {
      await clearLimits(target.apiUrl());
    });

    it('creates the declared limits, and a second run plans only noop and sends no write', async () => {
      const file = manifest(DECLARED);
      const first = await runCli(['apply', '-l', file], { env: env() });
      expect(first.stderr).toBe('');
      expect(first.code).toBe(EXIT.ok);
      expect(first.stdout).toContain('global-limits: 3 created, 0 updated, 0 unchanged, 0 failed');
      const limits = await readLimits(target.apiUrl());
      expect(limits.database).toMatchObject({ limit: 5, active: true });
      expect(limits['api-calls']).toMatchObject({ limit: 10, active: true, slot_decay_per_second: 0.5 });
      expect(limits.paused).toMatchObject({ limit: 1, active: false });
      expect(limits['tag:gpu']).toMatchObject({ limit: 2 });

      const again = await runCli(['apply', '-l', file], { env: env() });
      expect(again.code).toBe(EXIT.ok);
      expect(again.writes).toEqual([]);
      // Tag limits and global limits are rows of one v2 list (it cannot filter by name): read once for both.
      expect(again.requests.filter((r) => r.path.endsWith('/v2/concurrency_limits/filter'))).toHaveLength(1);
      const plan = await runCli(['plan', '--output', 'json', '-l', file], { env: env() });
      const items = (JSON.parse(plan.stdout) as { items: Array<{ kind: string; action: string }> }).items;
      expect(items.filter((i) => i.kind === 'global-limit').map((i) => i.action)).toEqual(['noop', 'noop', 'noop']);
    });

    it('patches only the declared fields that differ, and never active_slots', async () => {
      await runCli(['apply', '-l', manifest(DECLARED)], { env: env() });
      const before = await readLimits(target.apiUrl());
      const changed = manifest(DECLARED.replace('limit = 5', 'limit = 7'));
      const plan = await runCli(['plan', '-l', changed], { env: env() });
      expect(plan.stdout).toContain('~ global-limit database: limit: 5 -> 7');
      const apply = await runCli(['apply', '-l', changed], { env: env() });
      expect(apply.code).toBe(EXIT.ok);
      expect(apply.writes.map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /v2/concurrency_limits/${before.database!.id}`]);
      expect(JSON.parse(apply.writes[0]!.body)).toEqual({ limit: 7 });
      expect((await readLimits(target.apiUrl())).database).toMatchObject({ id: before.database!.id, limit: 7, active_slots: 0 });
    });

    it('shows a hand edit as old -> new, and apply puts it back with one write', async () => {
      const file = manifest(DECLARED);
      await runCli(['apply', '-l', file], { env: env() });
      const response = await fetch(`${target.apiUrl()}/v2/concurrency_limits/database`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ limit: 9, active: false }),
      });
      expect(response.status).toBe(204);
      const plan = await runCli(['plan', '--detailed-exitcode', '-l', file], { env: env() });
      expect(plan.code).toBe(EXIT.changesPending);
      expect(plan.stdout).toContain('~ global-limit database: limit: 9 -> 5, active: false -> true\n');
      const apply = await runCli(['apply', '-l', file], { env: env() });
      expect(apply.writes.map((w) => JSON.parse(w.body) as unknown)).toEqual([{ limit: 5, active: true }]);
      expect((await runCli(['apply', '-l', file], { env: env() })).writes).toEqual([]);
    });

    it('ignores the tag: and deployment: rows of the same list, and prunes only its own limits', async () => {
      await postJson(target.apiUrl(), '/v2/concurrency_limits/', { name: 'by-hand', limit: 3 });
      await runCli(['apply', '-l', manifest(DECLARED)], { env: env() });
      const fewer = manifest(DECLARED.replace(/\[global_limits\.paused\][^[]*/, ''));
      const plan = await runCli(['plan', '--prune', '-l', fewer], { env: env() });
      expect(plan.code).toBe(EXIT.ok);
      expect(plan.stdout.split('\n').filter((line) => line.startsWith('-'))).toEqual(['- global-limit paused']);
      const apply = await runCli(['apply', '--prune', '-l', fewer], { env: env() });
      expect(apply.code).toBe(EXIT.ok);
      const limits = await readLimits(target.apiUrl());
      expect(Object.keys(limits).sort()).toEqual(['api-calls', 'by-hand', 'database', 'tag:gpu']);
    });

    it.each([
      ['a negative limit', '[global_limits.db]\nlimit = -1\n', 2, 'global_limits.db.limit', 'must be an integer of 0 or more'],
      ['a limit that is no integer', '[global_limits.db]\nlimit = 1.5\n', 2, 'global_limits.db.limit', 'must be an integer of 0 or more'],
      ['a tag: name', '[global_limits."tag:gpu"]\nlimit = 1\n', 1, 'global_limits.tag:gpu', 'starts with "tag:"'],
      ['a deployment: name', '[global_limits."deployment:x"]\nlimit = 1\n', 1, 'global_limits.deployment:x', 'starts with "deployment:"'],
      ['an unknown key', '[global_limits.db]\nlimit = 1\nslots = 2\n', 3, 'global_limits.db.slots', 'unknown key `slots`'],
      ['a name with a newline', '[global_limits."a\\nb"]\nlimit = 1\n', 1, 'global_limits."a\\nb"', 'control character U+000A'],
    ])('refuses %s with file, line and key, and writes nothing', async (_what, text, line, key, message) => {
      const file = manifest(`[global_limits.fine]\nlimit = 1\n\n${text}`.replace(/^/, ''));
      const result = await runCli(['apply', '--output', 'json', '-l', file], { env: env() });
      expect(result.code).toBe(EXIT.invalidInput);
      expect(result.writes).toEqual([]);
      const issues = (JSON.parse(result.stdout) as { error: { issues: Array<{ file: string; line: number; key: string; message: string }> } }).error.issues;
      expect(issues).toContainEqual(expect.objectContaining({ file, line: line + 3, key, message: expect.stringContaining(message) }));
      expect(Object.keys(await readLimits(target.apiUrl()))).toEqual([]);
    });
  });
}
