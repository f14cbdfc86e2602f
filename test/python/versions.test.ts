// The Prefect release a schema is derived for: each rule of src/python/versions.ts with its case,
// and which release validate picks (--prefect-version, else the pinned one). That apply and plan take
// the server's release is tested against the real servers (test/real/deployments.test.ts).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { analyzeFlowSource, type FlowInfo } from '../../src/python/flow.js';
import { preparePythonReader } from '../../src/python/syntax.js';
import { sameSchemaRules, schemaRulesFor, SCHEMA_RULES } from '../../src/python/versions.js';
import { runCli } from '../helpers/cli.js';

beforeAll(preparePythonReader);

const VARIADIC = 'from prefect import flow\n\n@flow\ndef f(x: int, *args: str, y: int = 1, **kwargs: int):\n    pass\n';

function schemaFor(source: string, prefectVersion: string): FlowInfo['parameterSchema'] {
  const result = analyzeFlowSource(source, 'f', { prefectVersion });
  if ('problem' in result) throw new Error(result.problem);
  return result.parameterSchema;
}

describe('schemaRulesFor', () => {
  it('applies a rule from its release on', () => {
    expect(SCHEMA_RULES.variadicCollections.since).toBe('3.9.0');
    const none = { variadicCollections: false, decimalWithoutPattern: false };
    const all = { variadicCollections: true, decimalWithoutPattern: true };
    expect(schemaRulesFor('3.7.2')).toEqual(none);
    expect(schemaRulesFor('3.8.8')).toEqual(none);
    expect(schemaRulesFor('3.9.0')).toEqual(all);
    expect(schemaRulesFor('3.10.2')).toEqual(all);
    // A build whose version cannot be read is taken for the newest.
    expect(schemaRulesFor('dev')).toEqual(all);
    expect(sameSchemaRules('3.7.2', '3.8.8')).toBe(true);
    expect(sameSchemaRules('3.7.2', '3.9.1')).toBe(false);
  });
});

// What each release answers, from the test virtualenvs (test/real/python-parity.test.ts checks the same).
describe('variadicCollections: *args and **kwargs', () => {
  it('before 3.9.0: a required property of the annotated type', () => {
    expect(schemaFor(VARIADIC, '3.7.2')).toEqual({
      title: 'Parameters',
      type: 'object',
      properties: {
        x: { position: 0, title: 'x', type: 'integer' },
        args: { position: 1, title: 'args', type: 'string' },
        y: { default: 1, position: 2, title: 'y', type: 'integer' },
        kwargs: { position: 3, title: 'kwargs', type: 'integer' },
      },
      required: ['x', 'args', 'kwargs'],
    });
  });

  it('from 3.9.0: list[T] and dict[str, T] with an empty default, not required', () => {
    const schema = schemaFor(VARIADIC, '3.9.1');
    expect(JSON.stringify(schema)).toBe(
      JSON.stringify({
        title: 'Parameters',
        type: 'object',
        properties: {
          x: { position: 0, title: 'x', type: 'integer' },
          args: { default: [], items: { type: 'string' }, position: 1, title: 'args', type: 'array' },
          y: { default: 1, position: 2, title: 'y', type: 'integer' },
          kwargs: { additionalProperties: { type: 'integer' }, default: {}, position: 3, title: 'kwargs', type: 'object' },
        },
        required: ['x'],
      }),
    );
    expect(schemaFor('@flow\ndef f(*args, **kwargs): pass\n', '3.9.1').properties).toEqual({
      args: { default: [], items: {}, position: 0, title: 'args', type: 'array' },
      kwargs: { additionalProperties: true, default: {}, position: 1, title: 'kwargs', type: 'object' },
    });
  });

  it('without a release: as the oldest 3.x', () => {
    const result = analyzeFlowSource(VARIADIC, 'f');
    expect('problem' in result ? result.problem : result.parameterSchema.required).toEqual(['x', 'args', 'kwargs']);
  });
});

describe('decimalWithoutPattern: Decimal', () => {
  const source = 'from decimal import Decimal\n@flow\ndef f(amount: Decimal = Decimal("1.50")): pass\n';
  it('before 3.9.0: the string has the pattern pydantic 2.13 gives it', () => {
    expect(schemaFor(source, '3.7.2').properties).toEqual({
      amount: { anyOf: [{ type: 'number' }, { pattern: '^(?!^[-+.]*$)[+-]?0*\\d*\\.?\\d*$', type: 'string' }], default: '1.50', position: 0, title: 'amount' },
    });
  });

  it('from 3.9.0: no pattern, as pydantic 2.14 writes it', () => {
    expect(schemaFor(source, '3.9.1').properties).toEqual({ amount: { anyOf: [{ type: 'number' }, { type: 'string' }], default: '1.50', position: 0, title: 'amount' } });
  });
});

describe('which release a run derives for', () => {
  function project(): { dir: string; args: string[] } {
    const dir = mkdtempSync(join(tmpdir(), 'openem-prefect-version-'));
    mkdirSync(join(dir, 'flows'));
    writeFileSync(join(dir, 'flows', 'variadic.py'), VARIADIC);
    writeFileSync(join(dir, 'prefect.yaml'), 'deployments:\n  - name: d\n    entrypoint: variadic.py:f\n    parameters: {x: 1, extra: 2}\n    work_pool: {name: pool}\n');
    return { dir, args: ['-d', join(dir, 'prefect.yaml'), '--flows-dir', join(dir, 'flows'), '--no-project'] };
  }

  it('validate: the pinned release, and says so; --prefect-version another', async () => {
    const { args } = project();
    const pinned = await runCli(['validate', ...args]);
    expect(pinned.code).toBe(EXIT.ok);
    expect(pinned.stdout).toContain('Parameter schemas read from flow files are derived as Prefect 3.7.2 derives them (the pinned release, as no server is asked offline; --prefect-version derives them for another).');
    const given = await runCli(['validate', '--prefect-version', '3.9.1', '--output', 'json', ...args]);
    expect(JSON.parse(given.stdout)).toMatchObject({ ok: true, schemasFor: { version: '3.9.1', source: 'option' } });
    expect((await runCli(['validate', ...args.filter((arg) => !arg.endsWith('flows') && arg !== '--flows-dir')])).stdout).not.toContain('Parameter schemas');
  });

  it('takes prefect_version from the project file, and --prefect-version over it', async () => {
    const { dir, args } = project();
    writeFileSync(join(dir, 'openem-config.toml'), 'deployments = ["prefect.yaml"]\nflows_dir = "flows"\nprefect_version = "3.9.1"\n');
    const fromFile = await runCli(['validate', '--output', 'json'], { cwd: dir });
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ schemasFor: { version: '3.9.1', source: 'option' } });
    const fromCli = await runCli(['validate', '--output', 'json', '--prefect-version', '3.8.0'], { cwd: dir });
    expect(JSON.parse(fromCli.stdout)).toMatchObject({ schemasFor: { version: '3.8.0', source: 'option' } });
    expect(args).toContain('--no-project');
  });

  it('refuses a --prefect-version that is no Prefect 3 release', async () => {
    const { args } = project();
    const result = await runCli(['validate', '--prefect-version', 'latest', ...args]);
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toContain('--prefect-version takes a Prefect 3 release such as 3.9.1, found "latest"');
  });
});
