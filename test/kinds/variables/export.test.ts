// Variables grouped into vars files by tag set, read back through the vars loader.
import { describe, expect, it } from 'vitest';
import { loadVariables } from '../../../src/kinds/variables/spec.js';
import { IssueList } from '../../../src/errors.js';
import { createMatcher } from '../../../src/config/glob.js';
import { exportVariables } from '../../../src/kinds/variables/export.js';
import { useTempDir } from '../../config/temp.js';
import { fakeSecretValues, fakeVariable } from '../../export/factories.js';

const temp = useTempDir();
const all = createMatcher([]);

function loadFiles(files: Array<{ path: string; content: string }>) {
  const paths = files.map((file) => temp.write(`${Math.random().toString(36).slice(2)}/${file.path}`, file.content));
  const issues = new IssueList();
  const variables = loadVariables(paths, { env: {}, stringValues: false, fromEnv: [] }, issues);
  expect(issues.items).toEqual([]);
  return variables;
}

describe('exportVariables', () => {
  it('writes one file per tag set and reads back every variable with its value and tags', () => {
    const server = [
      fakeVariable({ name: 'scratch', value: '/scratch', tags: ['openem-config'] }),
      fakeVariable({ name: 'workers', value: 4, tags: [] }),
      fakeVariable({ name: 'archiver-target', value: { size_gb: 20, hosts: ['a', 'b'] }, tags: ['openem-config', 'archiver'] }),
      fakeVariable({ name: 'archiver_retry', value: [1, 2.5], tags: ['archiver', 'openem-config'] }),
      fakeVariable({ name: 'both', value: true, tags: ['retrieval', 'archiver'] }),
    ];
    const result = exportVariables(server, { matches: all, env: {} });
    expect(result.files.map((file) => [file.path, file.summary])).toEqual([
      ['vars.toml', '2 variables'],
      ['vars-archiver.toml', '2 variables tagged archiver'],
      ['vars-archiver+retrieval.toml', '1 variable tagged archiver, retrieval'],
    ]);
    expect(result.count).toBe(5);
    const loaded = loadFiles(result.files);
    expect(loaded.map((v) => ({ name: v.name, value: v.value, tags: v.tags }))).toEqual([
      { name: 'archiver-target', value: { size_gb: 20, hosts: ['a', 'b'] }, tags: ['archiver', 'openem-config'] },
      { name: 'archiver_retry', value: [1, 2.5], tags: ['archiver', 'openem-config'] },
      { name: 'both', value: true, tags: ['archiver', 'openem-config', 'retrieval'] },
      { name: 'scratch', value: '/scratch', tags: ['openem-config'] },
      { name: 'workers', value: 4, tags: ['openem-config'] },
    ]);
    expect(result.files[1]?.content).toBe(
      [
        '# Prefect variables, exported by openem-config. Each key names a variable in lower case.',
        '# An environment variable named like a key (in upper case) replaces its value when openem-config applies this file.',
        '',
        '[openem-config]',
        'tags = ["archiver"]   # and "openem-config", on every variable of this file',
        '',
        '[variables]',
        'ARCHIVER-TARGET = { size_gb = 20, hosts = ["a", "b"] }',
        'ARCHIVER_RETRY = [1, 2.5]',
        '',
      ].join('\n'),
    );
  });

  it('warns about null values, at any depth, and leaves those variables out', () => {
    const result = exportVariables(
      [fakeVariable({ name: 'empty', value: null }), fakeVariable({ name: 'deep', value: { a: [1, null] } }), fakeVariable({ name: 'fine', value: 'x' })],
      { matches: all, env: {} },
    );
    expect(result.count).toBe(1);
    expect(result.warnings).toEqual([
      { subject: 'variable "deep"', message: expect.stringContaining('null at a[1]') },
      { subject: 'variable "empty"', message: expect.stringMatching(/^not exported: its value holds null/) },
    ]);
  });

  it('warns, once with their names, about variables that applying will tag openem-config', () => {
    const result = exportVariables([fakeVariable({ name: 'a', tags: [] }), fakeVariable({ name: 'b', tags: ['team'] }), fakeVariable({ name: 'c' })], {
      matches: all,
      env: {},
    });
    expect(result.warnings).toEqual([{ subject: 'variables', message: expect.stringContaining('2 variables have no "openem-config" tag (a, b)') }]);
  });

  it('warns when an environment variable here would replace a value at apply time', () => {
    const result = exportVariables([fakeVariable({ name: 'path' }), fakeVariable({ name: 'other' })], { matches: all, env: { PATH: '/usr/bin', OTHER: '' } });
    expect(result.warnings).toEqual([{ subject: 'variables', message: expect.stringContaining('PATH is set here') }]);
  });

  it('keeps only the variables --match selects', () => {
    const result = exportVariables([fakeVariable({ name: 'archiver_a' }), fakeVariable({ name: 'retrieval_b' })], { matches: createMatcher(['archiver_*']), env: {} });
    expect(result.count).toBe(1);
    expect(result.files[0]?.content).toContain('ARCHIVER_A = "v"');
  });

  it('gives tag sets that make the same file name distinct names, in an order that does not depend on the server', () => {
    const server = [fakeVariable({ name: 'x', tags: ['A b'] }), fakeVariable({ name: 'y', tags: ['a_b'] }), fakeVariable({ name: 'z', tags: ['a/b'] })];
    const paths = exportVariables(server, { matches: all, env: {} }).files.map((f) => f.path);
    expect(paths).toEqual(['vars-a_b.toml', 'vars-a_b-2.toml', 'vars-a_b-3.toml']);
    expect(exportVariables([...server].reverse(), { matches: all, env: {} }).files.map((f) => f.path)).toEqual(paths);
    const loaded = loadFiles(exportVariables(server, { matches: all, env: {} }).files);
    expect(Object.fromEntries(loaded.map((v) => [v.name, v.tags]))).toEqual({ x: ['A b', 'openem-config'], y: ['a_b', 'openem-config'], z: ['a/b', 'openem-config'] });
  });

  it('leaves out a variable that holds a credential, by its name, a key of its value or a secret block value, unless allowed', () => {
    const secrets = fakeSecretValues({ 's3-password': 'minio-secret-1' });
    const server = [
      fakeVariable({ name: 'github_token', value: 'ghp_inAVariable' }),
      fakeVariable({ name: 's3_settings', value: { endpoint: 'http://minio:9000', password: 'minio-secret-1' } }),
      fakeVariable({ name: 'backup_target', value: ['a', 'minio-secret-1'] }),
      fakeVariable({ name: 'token_url', value: 'https://auth/token' }),
      fakeVariable({ name: 'use_token', value: false }),
    ];
    const result = exportVariables(server, { matches: all, env: {}, secrets });
    const text = result.files.map((file) => file.content).join('\n');
    for (const value of ['ghp_inAVariable', 'minio-secret-1']) expect(text).not.toContain(value);
    expect(loadFiles(result.files).map((v) => v.name)).toEqual(['token_url', 'use_token']);
    expect(result.count).toBe(2);
    expect(result.warnings.filter((w) => w.credentials)).toEqual([
      { subject: 'variable "backup_target"', message: expect.stringMatching(/^not exported: it holds a credential \(backup_target\[1\] \(the value of secret block "s3-password"\)\)/), credentials: { paths: ['backup_target[1]'], written: false } },
      { subject: 'variable "github_token"', message: expect.stringContaining('github_token (a credential-like name or key)'), credentials: { paths: ['github_token'], written: false } },
      { subject: 'variable "s3_settings"', message: expect.stringContaining('--allow-plain-credentials'), credentials: { paths: ['s3_settings.password'], written: false } },
    ]);
    for (const warning of result.warnings) expect(warning.message).not.toMatch(/ghp_|minio-secret/);

    const allowed = exportVariables(server, { matches: all, env: {}, secrets, allowPlainCredentials: true });
    expect(allowed.count).toBe(5);
    expect(allowed.warnings.filter((w) => w.credentials).map((w) => w.credentials!.written)).toEqual([true, true, true]);
    expect(allowed.files.map((file) => file.content).join('\n')).toContain('GITHUB_TOKEN = "ghp_inAVariable"');
  });
});
