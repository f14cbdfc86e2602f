// The saved plan file: what it holds of a plan, and how a file that is not one is refused.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { planDifferences, planItems, readSavedPlan, withAbsolutePaths, type PlannedOptions } from '../../src/reconcile/saved-plan.js';

const dir = mkdtempSync(join(tmpdir(), 'openem-saved-plan-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('a saved plan', () => {
  it('holds no value of a secret change, even when a kind left one in', () => {
    const items = planItems([{ name: 'secret', items: [{ kind: 'secret', key: 's3-user', action: 'update', changes: [{ field: 'value', from: 'old-value', to: 'new-value', secret: true }] }] }]);
    expect(items).toEqual([{ name: 'secret', items: [{ kind: 'secret', key: 's3-user', action: 'update', changes: [{ field: 'value', secret: true }] }] }]);
  });

  it('differs from a plan made later only where an object is planned otherwise', () => {
    const before = planItems([{ name: 'variable', items: [
      { kind: 'variable', key: 'a', action: 'create', changes: [{ field: 'value', to: 1 }] },
      { kind: 'variable', key: 'b', action: 'noop', changes: [] },
    ] }]);
    const same = planItems([{ name: 'variable', items: [
      { kind: 'variable', key: 'b', action: 'noop', changes: [] },
      { kind: 'variable', key: 'a', action: 'create', changes: [{ to: 1, field: 'value' }] },
    ] }]);
    expect(planDifferences(before, same)).toEqual([]);
    const later = planItems([{ name: 'variable', items: [
      { kind: 'variable', key: 'a', action: 'noop', changes: [] },
      { kind: 'variable', key: 'b', action: 'update', changes: [{ field: 'value', from: 1, to: 2 }] },
    ] }]);
    expect(planDifferences(before, later)).toEqual(['variable a', 'variable b']);
  });

  it('names input paths absolutely, a secret pair by its path only', () => {
    const options: PlannedOptions = {
      variables: ['vars.toml'], secrets: ['S3_USER_FILE'], secretsDirs: ['secrets'], secretPairs: ['token=files/token.txt'], limits: ['/etc/limits.toml'],
      deployments: ['prefect.yaml'], flowsDir: 'flows', fromEnv: [], stringValues: false, keepTrailingNewline: false, strict: false, stepOutputs: [], prune: false, only: [],
    };
    expect(withAbsolutePaths(options, '/srv/config')).toMatchObject({
      variables: ['/srv/config/vars.toml'], secrets: ['S3_USER_FILE'], secretsDirs: ['/srv/config/secrets'], secretPairs: ['token=/srv/config/files/token.txt'],
      limits: ['/etc/limits.toml'], deployments: ['/srv/config/prefect.yaml'], flowsDir: '/srv/config/flows',
    });
  });

  it.each([
    ['missing', join(dir, 'absent.json'), /cannot read the saved plan .*absent\.json: ENOENT/],
    ['not JSON', file('text.json', 'plan: yes\n'), /is not a plan saved by `openem-config plan --out` \(not JSON\)/],
    ['another document', file('other.json', '{"variables": {}}'), /is not a plan saved by `openem-config plan --out`$/],
    ['another format version', file('v2.json', '{"format": "openem-config plan", "version": 2}'), /format version 2; this openem-config reads version 1: run plan --out again/],
    ['a broken one', file('broken.json', '{"format": "openem-config plan", "version": 1, "cwd": "/"}'), /is not a well-formed saved plan \(createdBy: .*\); run plan --out again/],
  ])('is refused when %s', (_name, path, message) => {
    expect(() => readSavedPlan(path)).toThrow(UsageError);
    expect(() => readSavedPlan(path)).toThrow(message);
  });
});
