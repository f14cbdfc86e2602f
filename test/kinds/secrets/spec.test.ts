import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecrets, secretNameFromEnv, type SecretsOptions } from '../../../src/kinds/secrets/spec.js';
import { IssueList, type ConfigIssue } from '../../../src/errors.js';
import { useTempDir } from '../../config/temp.js';

const temp = useTempDir();
const CONTENT = 'Tops3cret-Value';

function load(options: Partial<SecretsOptions>) {
  const issues = new IssueList();
  const secrets = loadSecrets({ env: {}, fileEnvNames: [], dirs: [], pairs: [], keepTrailingNewline: false, ...options }, issues);
  return { secrets, issues: issues.items };
}

function issue(file: string, key: string, fragment: string): ConfigIssue {
  return { file, key, message: expect.stringContaining(fragment), severity: 'error' };
}

function expectNoContent(issues: ConfigIssue[]) {
  expect(issues.length).toBeGreaterThan(0);
  for (const { message } of issues) expect(message).not.toContain('s3cret');
}

describe('secretNameFromEnv', () => {
  it.each([
    ['S3_USER_FILE', 's3-user'],
    ['S3_PASSWORD_FILE', 's3-password'],
    ['GITHUB_PASSWORD_FILE', 'github-password'],
    // The old tool stripped the characters of `_FILE` from both ends and wrote `dp-client-secret`.
    ['IDP_CLIENT_SECRET_FILE', 'idp-client-secret'],
    ['FILE_STORE_KEY_FILE', 'file-store-key'],
  ])('%s -> %s', (envName, name) => {
    expect(secretNameFromEnv(envName)).toBe(name);
  });
});

describe('loadSecrets from -s NAME_FILE', () => {
  it('reads each file named by an environment variable, without its trailing newline', () => {
    const user = temp.write('s3_user', 'archiver\n');
    const password = temp.write('s3_password', `${CONTENT}\r\n`);
    const idp = temp.write('idp', '  spaced secret  \n\n');
    const env = { S3_USER_FILE: user, S3_PASSWORD_FILE: password, IDP_CLIENT_SECRET_FILE: idp };
    expect(load({ env, fileEnvNames: ['S3_USER_FILE', 'S3_PASSWORD_FILE', 'IDP_CLIENT_SECRET_FILE'] })).toEqual({
      secrets: [
        { name: 'idp-client-secret', value: '  spaced secret  \n', source: { file: idp, key: '-s IDP_CLIENT_SECRET_FILE' } },
        { name: 's3-password', value: CONTENT, source: { file: password, key: '-s S3_PASSWORD_FILE' } },
        { name: 's3-user', value: 'archiver', source: { file: user, key: '-s S3_USER_FILE' } },
      ],
      issues: [],
    });
  });

  it('keeps the trailing newline when told to', () => {
    const path = temp.write('keep', 'line\n');
    expect(load({ env: { KEEP_FILE: path }, fileEnvNames: ['KEEP_FILE'], keepTrailingNewline: true }).secrets[0]?.value).toBe('line\n');
  });

  it('requires the _FILE suffix and a usable block name', () => {
    expect(load({ fileEnvNames: ['S3_USER', 'S3_USER_file', 'S3.USER_FILE', '_FILE'] }).issues).toEqual([
      issue('<command line>', '-s S3_USER', 'S3_USER must end with _FILE: it names the environment variable holding the path'),
      issue('<command line>', '-s S3_USER_file', 'must end with _FILE'),
      issue('<command line>', '-s S3.USER_FILE', 'gives the block name "s3.user", which may only hold a-z, 0-9 and -'),
      issue('<command line>', '-s _FILE', 'gives the block name "", which is empty'),
    ]);
  });

  it('reports an unset or empty environment variable', () => {
    expect(load({ env: { EMPTY_FILE: '' }, fileEnvNames: ['S3_USER_FILE', 'EMPTY_FILE'] }).issues).toEqual([
      issue('<command line>', '-s S3_USER_FILE', 'S3_USER_FILE is not set; set S3_USER_FILE to the path of the file holding the secret'),
      issue('<command line>', '-s EMPTY_FILE', 'set EMPTY_FILE to the path'),
    ]);
  });
});

describe('loadSecrets from --secrets-dir', () => {
  it('reads every regular file, following Kubernetes-style symlinks and skipping dotfiles and directories', () => {
    const dir = join(temp.dir, 'mounted');
    temp.write('mounted/..2024_05_01/scicat_user', 'ingestor\n');
    symlinkSync('..2024_05_01', join(dir, '..data'));
    symlinkSync('..data/scicat_user', join(dir, 'scicat_user'));
    temp.write('mounted/GITHUB_PASSWORD', `${CONTENT}\n`);
    temp.write('mounted/.hidden', 'x');
    mkdirSync(join(dir, 'nested'));
    expect(load({ dirs: [dir] })).toEqual({
      secrets: [
        { name: 'github-password', value: CONTENT, source: { file: join(dir, 'GITHUB_PASSWORD'), key: `--secrets-dir ${dir}` } },
        { name: 'scicat-user', value: 'ingestor', source: { file: join(dir, 'scicat_user'), key: `--secrets-dir ${dir}` } },
      ],
      issues: [],
    });
  });

  it('reports file names that make no block name, and symlinks that lead nowhere', () => {
    const dir = join(temp.dir, 'odd');
    const dotted = temp.write('odd/s3.password', CONTENT);
    symlinkSync(join(dir, 'missing'), join(dir, 'dangling'));
    const { secrets, issues } = load({ dirs: [dir] });
    expect(secrets).toEqual([]);
    expect(issues).toEqual([
      issue(dotted, `--secrets-dir ${dir}`, 'the file name gives the block name "s3.password", which may only hold a-z, 0-9 and -; rename it (rename the file)'),
      issue(join(dir, 'dangling'), `--secrets-dir ${dir}`, 'secret file not found'),
    ]);
  });

  it('reports a missing directory and a path that is a file', () => {
    const missing = join(temp.dir, 'no-such-dir');
    const file = temp.write('plain-file', 'x');
    expect(load({ dirs: [missing, file] }).issues).toEqual([
      issue(missing, `--secrets-dir ${missing}`, 'secrets directory not found; check the path'),
      issue(file, `--secrets-dir ${file}`, 'secrets directory: the path or a part of it is not a directory'),
    ]);
  });
});

describe('loadSecrets from --secret name=PATH', () => {
  it('reads the named file', () => {
    const path = temp.write('registry', 'pull-token\n');
    expect(load({ pairs: [`registry-password=${path}`] }).secrets).toEqual([
      { name: 'registry-password', value: 'pull-token', source: { file: path, key: '--secret registry-password' } },
    ]);
  });

  it('requires NAME=PATH with a usable name', () => {
    expect(load({ pairs: ['no-path', '=/tmp/x', 'name=', 'S3_User=/tmp/x'] }).issues).toEqual([
      issue('<command line>', '--secret no-path', 'write --secret NAME=PATH'),
      issue('<command line>', '--secret =/tmp/x', 'write --secret NAME=PATH'),
      issue('<command line>', '--secret name=', 'write --secret NAME=PATH'),
      issue('<command line>', '--secret S3_User', 'secret block name "S3_User" may only hold a-z, 0-9 and -'),
    ]);
  });
});

describe('loadSecrets checks', () => {
  it('reports two sources of one block name and keeps the first', () => {
    const first = temp.write('first', 'one\n');
    const second = temp.write('second', 'two\n');
    const { secrets, issues } = load({ env: { S3_USER_FILE: first }, fileEnvNames: ['S3_USER_FILE'], pairs: [`s3-user=${second}`] });
    expect(secrets.map((secret) => secret.value)).toEqual(['one']);
    expect(issues).toEqual([issue(second, '--secret s3-user', `secret \`s3-user\` is also given by -s S3_USER_FILE (${first}); give each secret one source`)]);
  });

  it('accepts exactly 1 MiB', () => {
    const path = temp.write('mib', 'x'.repeat(1024 * 1024));
    expect(load({ pairs: [`big=${path}`] }).secrets[0]?.value).toHaveLength(1024 * 1024);
  });

  const fifo = join(temp.dir, 'secret-fifo');
  const directory = join(temp.dir, 'secret-directory');
  it.each([
    ['missing', () => join(temp.dir, 'absent'), 'secret file not found'],
    ['a directory', () => (mkdirSync(directory), directory), 'secret file is a directory'],
    ['a fifo', () => (execFileSync('mkfifo', [fifo]), fifo), 'secret file is not a regular file'],
    ['empty', () => temp.write('empty', ''), 'secret file is empty'],
    ['only a newline', () => temp.write('newline', '\r\n'), 'secret file holds only a newline; write the secret into it'],
    ['larger than 1 MiB', () => temp.write('huge', CONTENT.repeat(70_000)), 'secret file is larger than 1 MiB'],
    ['not UTF-8', () => temp.write('binary', Buffer.concat([Buffer.from(CONTENT), Buffer.from([0xff, 0x0a])])), 'secret file is not valid UTF-8'],
  ])('reports a file that is %s, never showing its content', (_, create, fragment) => {
    const path = create();
    const { secrets, issues } = load({ env: { S3_PASSWORD_FILE: path }, fileEnvNames: ['S3_PASSWORD_FILE'] });
    expect(secrets).toEqual([]);
    expect(issues).toEqual([issue(path, '-s S3_PASSWORD_FILE', fragment)]);
    expectNoContent(issues);
  });

  it('never shows content in the messages about names and duplicates', () => {
    const path = temp.write('with-content', `${CONTENT}\n`);
    temp.write('content-dir/Bad.Name', CONTENT);
    const { issues } = load({ env: { X_FILE: path }, fileEnvNames: ['X_FILE'], dirs: [join(temp.dir, 'content-dir')], pairs: [`x=${path}`] });
    expect(issues).toHaveLength(2);
    expectNoContent(issues);
  });
});
