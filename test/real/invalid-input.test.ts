// Every kind of invalid input, against a real server that already holds the example
// configuration: each run exits with the invalid-input code, names the file (and the line where
// the file has lines), sends no request at all, and leaves the server exactly as it was.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, exampleLimits, exampleVars, writeSecretFiles } from '../shared/example-cases.js';
import { clearServer, readState, type ServerState } from '../shared/server.js';

const dir = mkdtempSync(join(tmpdir(), 'openem-invalid-'));
function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

interface Case {
  name: string;
  argv: () => string[];
  env?: () => Record<string, string>;
  /** Fragments the error output must contain: the file, its line, the key. */
  expect: () => string[];
}

const secretEnv = () => ({ ...writeSecretFiles(), ...EXAMPLE_ENV });
const withSecret = (name: string, path: string): Case['env'] => () => ({ ...secretEnv(), [name]: path });

const cases: Case[] = [
  { name: 'a missing vars file', argv: () => ['-v', join(dir, 'nope.toml')], expect: () => [join(dir, 'nope.toml'), 'not found'] },
  {
    name: 'malformed TOML, with line and column',
    argv: () => ['-v', file('broken.toml', '[a]\nX = 1\nY = "unterminated\n')],
    expect: () => [`${join(dir, 'broken.toml')}:3:`],
  },
  {
    name: 'a variable name Prefect rejects',
    argv: () => ['-v', file('badname.toml', '[a]\nOK = 1\n"bad.name" = 2\n')],
    expect: () => [`${join(dir, 'badname.toml')}:3`, 'bad.name'],
  },
  {
    name: 'a value over 5000 bytes as JSON',
    argv: () => ['-v', file('big.toml', `BIG = "${'x'.repeat(5000)}"\n`)],
    expect: () => [`${join(dir, 'big.toml')}:1`, 'BIG', '5000'],
  },
  {
    name: 'the same variable in two groups',
    argv: () => ['-v', file('dup.toml', '[a]\nX = 1\n[b]\nx = 2\n')],
    expect: () => [`${join(dir, 'dup.toml')}:4`, 'line 2', 'a.X'],
  },
  {
    name: 'an environment override that does not convert',
    argv: () => ['-v', file('typed.toml', '[a]\nWORKERS = 4\n')],
    env: () => ({ WORKERS: 'four' }),
    expect: () => [`${join(dir, 'typed.toml')}:2`, 'WORKERS', 'integer'],
  },
  {
    name: 'a from_env variable whose environment variable is missing',
    argv: () => ['-v', exampleVars],
    env: () => ({ S3_ENDPOINT: 'http://minio:9000' }),
    expect: () => [exampleVars, 'S3_EXTERNAL_ENDPOINT'],
  },
  { name: 'a secret whose environment variable is not set', argv: () => ['-s', 'S3_USER_FILE'], expect: () => ['S3_USER_FILE'] },
  { name: 'a secret argument without _FILE', argv: () => ['-s', 'S3_USER'], env: secretEnv, expect: () => ['S3_USER', '_FILE'] },
  {
    name: 'a missing secret file',
    argv: () => ['-s', 'S3_USER_FILE'],
    env: withSecret('S3_USER_FILE', join(dir, 'gone.txt')),
    expect: () => [join(dir, 'gone.txt'), 'not found'],
  },
  {
    name: 'a directory as secret file',
    argv: () => ['-s', 'S3_USER_FILE'],
    env: () => {
      mkdirSync(join(dir, 'adir'), { recursive: true });
      return withSecret('S3_USER_FILE', join(dir, 'adir'))!();
    },
    expect: () => [join(dir, 'adir'), 'directory'],
  },
  { name: 'an empty secret file', argv: () => ['-s', 'S3_USER_FILE'], env: () => withSecret('S3_USER_FILE', file('empty.txt', '\n'))!(), expect: () => [join(dir, 'empty.txt'), 'empty'] },
  {
    name: 'a secret file over 1 MiB',
    argv: () => ['-s', 'S3_USER_FILE'],
    env: () => withSecret('S3_USER_FILE', file('huge.txt', 'x'.repeat(1024 * 1024 + 1)))!(),
    expect: () => [join(dir, 'huge.txt'), 'MiB'],
  },
  {
    name: 'a secret file that is not UTF-8',
    argv: () => ['-s', 'S3_USER_FILE'],
    env: () => withSecret('S3_USER_FILE', file('latin1.txt', Buffer.from([0x70, 0xe4, 0xff, 0x0a])))!(),
    expect: () => [join(dir, 'latin1.txt'), 'UTF-8'],
  },
  {
    name: 'a limit stub with no tag',
    argv: () => ['-l', file('stub.toml', 'LTS_WRITE_LIMIT = 4\nTAPE_LIMIT = 2\n')],
    expect: () => [`${join(dir, 'stub.toml')}:2`, 'TAPE_TAG'],
  },
  {
    name: 'a limit that is not an integer',
    argv: () => ['-l', file('float.toml', '[tag_limits]\nfast = 1.5\n')],
    expect: () => [`${join(dir, 'float.toml')}:2`, 'fast'],
  },
  {
    name: 'a negative limit',
    argv: () => ['-l', file('neg.toml', 'LTS_READ_LIMIT = -1\n')],
    expect: () => [`${join(dir, 'neg.toml')}:1`, 'LTS_READ_LIMIT'],
  },
  {
    name: 'an unknown key in the limits manifest',
    argv: () => ['-l', file('unknown.toml', 'LTS_READ_LIMIT = 1\nretries = 3\n')],
    expect: () => [`${join(dir, 'unknown.toml')}:2`, 'retries'],
  },
];

describe('invalid input against a configured server', () => {
  let before: ServerState;
  const apiUrl = () => inject('prefectApiUrl');

  beforeAll(async () => {
    await clearServer(apiUrl());
    const applied = await runCli(OLD_COMMAND_LINE, { env: { PREFECT_API_URL: apiUrl(), ...secretEnv() } });
    expect(applied.code).toBe(EXIT.ok);
    before = await readState(apiUrl());
  });

  for (const testCase of cases) {
    it(`rejects ${testCase.name}`, async () => {
      const env = { PREFECT_API_URL: apiUrl(), ...(testCase.env?.() ?? {}) };
      // Valid inputs beside the broken one: a half-valid run must not apply the valid half.
      const argv = [...testCase.argv(), '-l', exampleLimits];
      const result = await runCli(argv, { env });
      expect(result.code).toBe(EXIT.invalidInput);
      expect(result.requests).toEqual([]);
      for (const fragment of testCase.expect()) expect(result.stderr).toContain(fragment);
      expect(await readState(apiUrl())).toEqual(before);
    });
  }
});
