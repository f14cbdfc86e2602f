// Every kind of invalid input, against a real server that already holds the example
// configuration: each run exits with the invalid-input code, names the file (and the line where
// the file has lines), sends no request at all, and leaves the server exactly as it was.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
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
  /** Text that must appear nowhere in stdout or stderr (a secret). */
  absent?: string[];
}

/** The content of a secret file given by mistake where a template or configuration file belongs. */
const SENTINEL = 'SENTINEL_PASSWORD_do_not_print';
const DEEP = 50_000;

/** A limits manifest declaring one pool, with a template file beside it. */
function poolManifest(name: string, pool: string, template?: string): string {
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  if (template !== undefined) writeFileSync(join(sub, 'template.json'), template);
  const path = join(sub, 'pools.toml');
  writeFileSync(path, pool);
  return path;
}

const GOOD_TEMPLATE = JSON.stringify({ job_configuration: { image: '{{ image }}' }, variables: { properties: { image: { type: 'string' } } } });

/** A prefect.yaml with one deployment whose body is `entry` (indented under `- `). */
function deployment(name: string, entry: string, top = ''): string {
  return file(name, `${top}deployments:\n  - name: d1\n    flow_name: f1\n    entrypoint: flows.py:f1\n${entry}`);
}

function loop(name: string): string {
  const a = join(dir, `${name}-a`);
  const b = join(dir, `${name}-b`);
  symlinkSync(b, a);
  symlinkSync(a, b);
  return a;
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

  // The hostile corpus: every file kind, broken every way a file can be.
  { name: 'an empty vars file', argv: () => ['-v', file('empty.toml', '')], expect: () => [join(dir, 'empty.toml'), 'empty'] },
  { name: 'a binary vars file', argv: () => ['-v', file('binary.toml', Buffer.from([0x00, 0xff, 0xfe, 0x01]))], expect: () => [join(dir, 'binary.toml'), 'UTF-8'] },
  {
    name: 'a directory given as vars file',
    argv: () => {
      mkdirSync(join(dir, 'vars-dir'), { recursive: true });
      return ['-v', join(dir, 'vars-dir')];
    },
    expect: () => [join(dir, 'vars-dir'), 'directory'],
  },
  { name: 'a symlink loop as vars file', argv: () => ['-v', loop('vars-loop')], expect: () => [join(dir, 'vars-loop-a')] },
  {
    name: 'a fifo as vars file',
    argv: () => {
      const path = join(dir, 'vars.fifo');
      spawnSync('mkfifo', [path]);
      return ['-v', path];
    },
    expect: () => [join(dir, 'vars.fifo'), 'not a regular file'],
  },
  { name: 'a vars file over its size cap', argv: () => ['-v', file('huge.toml', `# ${'x'.repeat(10 * 1024 * 1024)}\n`)], expect: () => [join(dir, 'huge.toml'), 'MiB'] },
  { name: 'an unknown key in [openem-config]', argv: () => ['-v', file('settings.toml', '[openem-config]\nfrom_envs = ["X"]\n')], expect: () => [`${join(dir, 'settings.toml')}:2`, 'from_envs'] },
  { name: 'a nested table in a vars file', argv: () => ['-v', file('nested.toml', '[a.b]\nX = 1\n')], expect: () => [join(dir, 'nested.toml'), 'inline table'] },
  { name: 'a NaN value', argv: () => ['-v', file('nan.toml', '[a]\nX = nan\n')], expect: () => [`${join(dir, 'nan.toml')}:2`, 'a.X'] },
  { name: 'an integer beyond JSON numbers', argv: () => ['-v', file('bigint.toml', 'X = 9007199254740993\n')], expect: () => [`${join(dir, 'bigint.toml')}:1`, 'X'] },
  { name: 'an array of tables in a vars file', argv: () => ['-v', file('aot.toml', '[[servers]]\nX = 1\n')], expect: () => [join(dir, 'aot.toml'), 'servers'] },
  { name: 'a truncated limits file', argv: () => ['-l', file('truncated-limits.toml', '[tag_limits\nx = 1\n')], expect: () => [`${join(dir, 'truncated-limits.toml')}:1`] },
  { name: 'a tag Prefect refuses in limit names', argv: () => ['-l', file('slash-tag.toml', '[tag_limits]\n"a/b" = 1\n')], expect: () => [`${join(dir, 'slash-tag.toml')}:2`, 'a/b'] },
  {
    name: 'the same tag in the flat and the table form',
    argv: () => ['-l', file('dup-tag.toml', 'LTS_WRITE_LIMIT = 4\n[tag_limits]\nwrite-to-lts-share = 2\n')],
    expect: () => [join(dir, 'dup-tag.toml'), 'write-to-lts-share'],
  },
  { name: 'a _TAG without its _LIMIT', argv: () => ['-l', file('orphan-tag.toml', 'TAPE_TAG = "tape"\n')], expect: () => [`${join(dir, 'orphan-tag.toml')}:1`, 'TAPE_LIMIT'] },
  { name: 'a pool name Prefect reserves', argv: () => ['-l', poolManifest('p1', '[work_pools.prefect-agents]\ntype = "process"\n')], expect: () => ['prefect-agents', 'prefect'] },
  { name: 'an unknown pool key', argv: () => ['-l', poolManifest('p2', '[work_pools.p]\nconcurency_limit = 1\n')], expect: () => [':2', 'concurency_limit'] },
  {
    name: 'a truncated base job template',
    argv: () => ['-l', poolManifest('p3', '[work_pools.p]\nbase_job_template = "template.json"\n', '{"job_configuration": {')],
    expect: () => [join(dir, 'p3', 'template.json'), 'not valid JSON'],
  },
  {
    name: 'a base job template with a dangling placeholder',
    argv: () => [
      '-l',
      poolManifest('p4', '[work_pools.p]\nbase_job_template = "template.json"\n', JSON.stringify({ job_configuration: { shm: '{{ shm_size }}' }, variables: { properties: {} } })),
    ],
    expect: () => [join(dir, 'p4', 'template.json'), '{{ shm_size }}'],
  },
  {
    name: 'a base job template without variables',
    argv: () => ['-l', poolManifest('p5', '[work_pools.p]\nbase_job_template = "template.json"\n', '{"job_configuration": {}}')],
    expect: () => [join(dir, 'p5', 'template.json'), 'variables'],
  },
  { name: 'a missing base job template', argv: () => ['-l', poolManifest('p6', '[work_pools.p]\nbase_job_template = "nowhere.json"\n')], expect: () => ['nowhere.json', 'not found'] },
  {
    name: 'a queue priority below 1',
    argv: () => ['-l', poolManifest('p7', `[work_pools.p]\nbase_job_template = "template.json"\n[work_pools.p.queues.q]\npriority = 0\n`, GOOD_TEMPLATE)],
    expect: () => [':4', 'priority'],
  },
  { name: 'a truncated prefect.yaml', argv: () => ['-d', file('truncated.yaml', 'deployments:\n  - name: "d1\n')], expect: () => [join(dir, 'truncated.yaml')] },
  { name: 'an empty prefect.yaml', argv: () => ['-d', file('empty.yaml', '')], expect: () => [join(dir, 'empty.yaml'), 'empty'] },
  { name: 'an unknown deployment key, with a suggestion', argv: () => ['-d', deployment('typo.yaml', '    descripton: x\n')], expect: () => [`${join(dir, 'typo.yaml')}:5`, 'description'] },
  {
    name: 'a concurrency limit under work_pool',
    argv: () => ['-d', deployment('misplaced.yaml', '    work_pool:\n      name: p\n      concurrency_limit: 2\n')],
    expect: () => [`${join(dir, 'misplaced.yaml')}:7`, 'deployment level'],
  },
  { name: 'an invalid cron', argv: () => ['-d', deployment('cron.yaml', '    schedules:\n      - cron: "61 * * * *"\n')], expect: () => [`${join(dir, 'cron.yaml')}:6`, 'cron'] },
  {
    name: 'an unknown timezone',
    argv: () => ['-d', deployment('tz.yaml', '    schedules:\n      - cron: "0 3 * * *"\n        timezone: Mars/Olympus\n')],
    expect: () => [`${join(dir, 'tz.yaml')}:7`, 'Mars/Olympus'],
  },
  { name: 'an invalid rrule', argv: () => ['-d', deployment('rrule.yaml', '    schedules:\n      - rrule: "EVERY TUESDAY"\n')], expect: () => [`${join(dir, 'rrule.yaml')}:6`, 'rrule'] },
  {
    name: 'an unset {{ $VAR }}',
    argv: () => ['-d', deployment('unset.yaml', '    work_pool:\n      name: p\n      job_variables:\n        image: "{{ $NO_SUCH_VARIABLE_SET }}"\n')],
    expect: () => [`${join(dir, 'unset.yaml')}:8`, 'NO_SUCH_VARIABLE_SET'],
  },
  {
    name: 'a YAML alias bomb, quickly and within bounds',
    argv: () => {
      const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
      for (let level = 1; level < 9; level += 1) {
        const prev = String.fromCharCode(96 + level);
        const name = String.fromCharCode(97 + level);
        levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
      }
      return ['-d', file('bomb.yaml', `definitions:\n${levels.map((l) => `  ${l}`).join('\n')}\ndeployments:\n  - name: d1\n    flow_name: f1\n    entrypoint: flows.py:f1\n    parameters:\n      p: *i\n`)];
    },
    expect: () => [join(dir, 'bomb.yaml')],
  },
  {
    name: 'a build step output placeholder',
    argv: () => ['-d', deployment('step.yaml', '    work_pool:\n      name: p\n      job_variables:\n        image: "{{ build-image.image }}"\n')],
    expect: () => [`${join(dir, 'step.yaml')}:8`, 'build-image.image'],
  },
  { name: 'a deployment name Prefect refuses', argv: () => ['-d', file('badname.yaml', 'deployments:\n  - name: "a/b"\n    flow_name: f\n    entrypoint: f.py:f\n')], expect: () => [`${join(dir, 'badname.yaml')}:2`, 'deployments[0].name', 'holds `/`'] },
  {
    name: 'the same deployment twice',
    argv: () => ['-d', file('twice.yaml', 'deployments:\n  - name: d\n    flow_name: f\n    entrypoint: f.py:f\n  - name: d\n    flow_name: f\n    entrypoint: f.py:f\n')],
    expect: () => [join(dir, 'twice.yaml'), 'f/d'],
  },
  // Issue 14: a secret given where a file to parse belongs is never quoted; names the API cannot
  // address are refused; nesting is limited with its place; each issue at the line of its key.
  {
    name: 'a secret file given as the base job template, without quoting it',
    argv: () => ['-l', poolManifest('p8', '[work_pools.p]\nbase_job_template = "template.json"\n', `${SENTINEL}\n`)],
    expect: () => [`${join(dir, 'p8', 'template.json')}:1:1`, 'not valid JSON'],
    absent: [SENTINEL, 'SENTINEL'],
  },
  {
    name: 'a secret file given as a vars file, without quoting it',
    argv: () => ['-v', file('secret-as-vars.toml', `${SENTINEL}\n`)],
    expect: () => [`${join(dir, 'secret-as-vars.toml')}:1:`, 'invalid TOML'],
    absent: [SENTINEL],
  },
  {
    name: 'a secret file given as prefect.yaml, without quoting it',
    argv: () => ['-d', file('secret-as-yaml.yaml', `"\\q${SENTINEL}"\n`)],
    expect: () => [`${join(dir, 'secret-as-yaml.yaml')}:1:`, 'invalid YAML'],
    absent: [SENTINEL],
  },
  {
    name: 'an environment override that is not JSON, without quoting it',
    argv: () => ['-v', file('json-override.toml', 'RETRY = { attempts = 3 }\n')],
    env: () => ({ RETRY: `{"attempts": ${SENTINEL}}` }),
    expect: () => [`${join(dir, 'json-override.toml')}:1`, 'RETRY', 'line 1, column 14'],
    absent: [SENTINEL],
  },
  {
    name: 'a work pool name with a newline',
    argv: () => ['-l', poolManifest('p9', '[work_pools."pool\\nx"]\ntype = "process"\n')],
    expect: () => [`${join(dir, 'p9', 'pools.toml')}:1`, 'work_pools."pool\\nx"', 'U+000A'],
  },
  {
    name: 'a queue name with a tab',
    argv: () => ['-l', poolManifest('p10', '[work_pools.p]\ntype = "process"\n[work_pools.p.queues."q\\tx"]\npriority = 1\n')],
    expect: () => [`${join(dir, 'p10', 'pools.toml')}:3`, 'U+0009'],
  },
  { name: 'a tag with a newline', argv: () => ['-l', file('newline-tag.toml', '[tag_limits]\n"gpu\\nnodes" = 1\n')], expect: () => [`${join(dir, 'newline-tag.toml')}:2`, 'U+000A'] },
  { name: 'a pool named ..', argv: () => ['-l', poolManifest('p11', '[work_pools.".."]\ntype = "process"\n')], expect: () => [`${join(dir, 'p11', 'pools.toml')}:1`, 'URL path'] },
  {
    name: 'a deployment, flow and queue name and a slug with control characters',
    argv: () => ['-d', deployment('control.yaml', '    schedules:\n      - cron: "0 3 * * *"\n        slug: "a\\rb"\n    work_pool:\n      name: "p\\u0000"\n', '')],
    expect: () => [`${join(dir, 'control.yaml')}:7:15`, `${join(dir, 'control.yaml')}:9:13`, 'U+000D', 'U+0000'],
  },
  { name: 'a secret block name with a control character', argv: () => ['--secret', `a\u0007b=${file('s2.txt', 'value\n')}`], expect: () => ['U+0007'] },
  {
    name: 'an environment override nested 5,000 deep',
    argv: () => ['-v', file('deep-override.toml', 'LIST = []\n')],
    env: () => ({ LIST: '['.repeat(5000) }),
    expect: () => [`${join(dir, 'deep-override.toml')}:1`, 'LIST', 'nested more than 100 levels deep'],
  },
  { name: 'flow-style YAML nested 50,000 deep', argv: () => ['-d', file('deep.yaml', `deployments: ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`)], expect: () => [`${join(dir, 'deep.yaml')}:1:`, 'nested more than 100 levels deep'] },
  { name: 'TOML nested 50,000 deep', argv: () => ['-v', file('deep.toml', `X = ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`)], expect: () => [`${join(dir, 'deep.toml')}:1:`, 'nested more than 100 levels deep'] },
  {
    name: 'a base job template nested 50,000 deep',
    argv: () => ['-l', poolManifest('p12', '[work_pools.p]\nbase_job_template = "template.json"\n', `{"variables": ${'['.repeat(DEEP)}${']'.repeat(DEEP)}}`)],
    expect: () => [`${join(dir, 'p12', 'template.json')}:1:`, 'nested more than 100 levels deep'],
  },
  {
    name: 'a key without a value inside a deployment, at its own line',
    argv: () => ['-d', deployment('novalue.yaml', '    tags: [a]\n    work_pool: {name, work_queue_name: q}\n')],
    expect: () => [`${join(dir, 'novalue.yaml')}:6:17`, 'work_pool.name'],
  },
  { name: 'a missing secrets directory', argv: () => ['--secrets-dir', join(dir, 'no-secrets')], expect: () => [join(dir, 'no-secrets')] },
  { name: 'a block name Prefect refuses', argv: () => ['--secret', `Bad_Name=${file('s.txt', 'value\n')}`], expect: () => ['Bad_Name'] },
  {
    name: 'two secrets with the same block name',
    argv: () => ['-s', 'S3_USER_FILE', '--secret', `s3-user=${file('s3.txt', 'other\n')}`],
    env: secretEnv,
    expect: () => ['s3-user'],
  },
  { name: 'a secret file that is a symlink loop', argv: () => ['-s', 'S3_USER_FILE'], env: () => withSecret('S3_USER_FILE', loop('secret-loop'))!(), expect: () => [join(dir, 'secret-loop-a')] },
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
      // Where a secret must not show, the log is at its most verbose.
      const argv = [...testCase.argv(), '-l', exampleLimits, ...(testCase.absent ? ['--log-level', 'debug'] : [])];
      const result = await runCli(argv, { env });
      expect(result.code).toBe(EXIT.invalidInput);
      expect(result.requests).toEqual([]);
      for (const fragment of testCase.expect()) expect(result.stderr).toContain(fragment);
      for (const secret of testCase.absent ?? []) expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
      expect(result.stderr).not.toMatch(/Maximum call stack|RangeError/);
      expect(await readState(apiUrl())).toEqual(before);
    });
  }
});

describe('an error at a place several deployments share', () => {
  it('is listed and counted once: a missing secret named in the top-level pull steps of three deployments', async () => {
    const pull = 'pull:\n  - prefect.deployments.steps.git_clone:\n      repository: https://example.org/x.git\n      access_token: "{{ prefect.blocks.secret.no-such-token }}"\n';
    const three = ['d1', 'd2', 'd3'].map((name) => `  - name: ${name}\n    flow_name: f1\n    entrypoint: flows.py:f1\n    work_pool: {name: archival-docker-workpool}\n`).join('');
    const path = file('shared-pull.yaml', `${pull}deployments:\n${three}`);
    const pools = join(exampleLimits, '..', 'work-pools_dev.toml');
    const result = await runCli(['plan', '--no-project', '-l', pools, '-d', path], { env: { PREFECT_API_URL: inject('prefectApiUrl') } });
    expect(result.code, result.stderr).toBe(EXIT.invalidInput);
    expect(result.writes).toEqual([]);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('error:'))).toEqual([expect.stringMatching(/^error: .*shared-pull\.yaml:4:\d+ .*no-such-token/)]);
    expect(result.stderr).toContain('1 problem in the inputs; nothing was sent to the server.');
  });
});
