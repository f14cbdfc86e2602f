// Which Prefect a run needs: per kind, and per feature of the declared objects; checked before any read of the kinds.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { UnsupportedServerError } from '../../src/errors.js';
import { KINDS } from '../../src/kinds/index.js';
import { DesiredSet } from '../../src/reconcile/kind.js';
import { checkServerVersion, olderThan } from '../../src/reconcile/versions.js';
import { useFake } from '../fake/use-fake.js';
import { runCli } from '../helpers/cli.js';

describe('olderThan', () => {
  it('compares the release numbers and leaves unreadable versions unchecked', () => {
    expect(olderThan('3.3.5', '3.3.6')).toBe(true);
    expect(olderThan('3.3.6', '3.3.6')).toBe(false);
    expect(olderThan('3.10.0', '3.9.1')).toBe(false);
    expect(olderThan('2.20.0', '3.0.0')).toBe(true);
    expect(olderThan('3.4.25.dev3+g1234', '3.4.19')).toBe(false);
    expect(olderThan('unknown', '3.0.0')).toBe(false);
  });
});

describe('checkServerVersion', () => {
  it('names every kind the server is too old for', () => {
    expect(() => checkServerVersion('3.1.0', KINDS, new DesiredSet())).toThrow(UnsupportedServerError);
    expect(() => checkServerVersion('3.1.0', KINDS, new DesiredSet())).toThrow(/Prefect 3\.1\.0: deployments need Prefect 3\.2\.0 or newer/);
    expect(() => checkServerVersion('3.2.0', KINDS, new DesiredSet())).not.toThrow();
  });

  it('every kind names a release the pinned server satisfies', () => {
    for (const kind of KINDS) expect(olderThan('3.7.2', kind.since), kind.name).toBe(false);
  });
});

describe('a server older than a declared feature needs', () => {
  const { fake, server } = useFake();

  it('exits 3 naming the feature and the release, before reading or writing any kind', async () => {
    server.use(http.get(`${fake.baseUrl}/admin/version`, () => HttpResponse.json('3.3.5')));
    const dir = mkdtempSync(join(tmpdir(), 'openem-versions-'));
    writeFileSync(join(dir, 'limits.toml'), '[global_limits.database]\nlimit = 2\n');
    writeFileSync(join(dir, 'prefect.yaml'), 'deployments:\n  - name: d\n    flow_name: f\n    entrypoint: flows/f.py:f\n    global_concurrency_limit: database\n');
    const result = await runCli(['apply', '-l', join(dir, 'limits.toml'), '-d', join(dir, 'prefect.yaml')], { env: { PREFECT_API_URL: fake.baseUrl } });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toContain('the server runs Prefect 3.3.5: global_concurrency_limit (a deployment sharing a global limit) needs Prefect 3.3.6 or newer');
    expect(result.writes).toEqual([]);
    // Only the connection's own requests (readiness, version, CSRF): no kind and no ownership record was read.
    expect(result.requests.map((r) => r.path).filter((path) => !['/health', '/ready', '/admin/version', '/csrf-token'].includes(path.split('?')[0]!))).toEqual([]);
  });
});
