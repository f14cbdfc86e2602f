import { describe, expect, it } from 'vitest';
import { parseOnly, renderExport, warningTopics } from '../../src/export/command.js';
import { applyArguments, commandLine, renderReadme } from '../../src/export/readme.js';
import type { ApplyArguments } from '../../src/export/types.js';
import { UsageError } from '../../src/errors.js';

const args: ApplyArguments = {
  variables: ['vars.toml', 'vars-archiver.toml'],
  secretEnvNames: ['S3_PASSWORD_FILE', 'S3_USER_FILE'],
  secretPairs: ['1password=/run/secrets/1password'],
  limits: ['limits.toml'],
  deployments: ['prefect.yaml'],
};

describe('the apply command line', () => {
  it('lists every file and secret in the order openem-config reads them', () => {
    expect(applyArguments(args)).toEqual([
      '-v vars.toml',
      '-v vars-archiver.toml',
      '-s S3_PASSWORD_FILE S3_USER_FILE',
      '--secret 1password=/run/secrets/1password',
      '-l limits.toml',
      '-d prefect.yaml',
    ]);
    expect(commandLine('apply', { ...args, secretPairs: [], variables: ['vars.toml'] })).toBe(
      'openem-config apply \\\n  -v vars.toml \\\n  -s S3_PASSWORD_FILE S3_USER_FILE \\\n  -l limits.toml \\\n  -d prefect.yaml',
    );
  });

  it('goes into the README with the secrets to provide, and nothing that differs between servers', () => {
    const text = renderReadme({
      files: [{ path: 'vars.toml', content: '', summary: '2 variables' }],
      secrets: [{ name: '1password' }, { name: 's3-user', envName: 'S3_USER_FILE' }],
      args,
    });
    expect(text).toContain('| `vars.toml` | 2 variables |');
    expect(text).toContain('| `1password` | none: given with `--secret 1password=PATH` |');
    expect(text).toContain('export S3_USER_FILE=/run/secrets/s3-user');
    expect(text).toContain(commandLine('plan', args));
    expect(text).toContain('replaces the value in the file');
    expect(text).not.toMatch(/http|\d{4}-\d{2}-\d{2}/);
  });

  it('marks the secrets whose value ends with a newline and points at --keep-trailing-newline', () => {
    const text = renderReadme({
      files: [],
      secrets: [{ name: 's3-user', envName: 'S3_USER_FILE' }, { name: 's3-password', envName: 'S3_PASSWORD_FILE' }],
      args,
      secretsWithNewline: ['s3-user'],
    });
    expect(text).toContain('Secret values are never written here.');
    expect(text).toContain('| `s3-user` (value ends with a newline) | `S3_USER_FILE` |');
    expect(text).toContain('| `s3-password` | `S3_PASSWORD_FILE` |');
    expect(text).toContain('On the server, the value of `s3-user` ends with a newline');
    expect(text).toContain('Apply with `--keep-trailing-newline`');
    expect(renderReadme({ files: [], secrets: [{ name: 's3-user' }], args })).not.toContain('--keep-trailing-newline` and files');
  });

  it('lists the credentials left out, or written as they are, by key path', () => {
    const text = renderReadme({
      files: [],
      secrets: [],
      args,
      credentials: [
        { subject: 'deployment "f/a"', paths: ['work_pool.job_variables.env.TOKEN', 'parameters.password'], written: false },
        { subject: 'deployment "f/b"', paths: ['pull[0].x.access_token'], written: true },
      ],
    });
    expect(text).toContain('## Credentials left out\n');
    expect(text).toContain('| deployment "f/a" | `work_pool.job_variables.env.TOKEN` |\n| deployment "f/a" | `parameters.password` |\n');
    expect(text).toContain('## Credentials written in plain text\n');
    expect(text).toContain('| deployment "f/b" | `pull[0].x.access_token` |\n');
    expect(renderReadme({ files: [], secrets: [], args })).not.toContain('Credentials');
  });

  it('says when there is nothing to apply', () => {
    const none = { variables: [], secretEnvNames: [], secretPairs: [], limits: [], deployments: [] };
    expect(renderReadme({ files: [], secrets: [], args: none })).toContain('Nothing to apply');
  });
});

describe('export options and report', () => {
  it('says in the summary what the warnings are about, by kind', () => {
    const topics = warningTopics(
      [
        { subject: 'automation "a"', message: 'not exported: ...' },
        { subject: 'automation "b"', message: 'not exported: ...' },
        { subject: 'saved search "s"', message: 'not exported: ...' },
        { subject: 'deployment "f/d"', message: 'holds credentials ...', credentials: { paths: ['job_variables.password'], written: false } },
        { subject: 'variables', message: 'the environment variable X is set here ...' },
        { subject: 'variables', message: '2 variables have no "openem-config" tag ...' },
        { subject: 'global limit "g"', message: 'reads back with differences, ...' },
        { subject: 'block secret/x', message: 'not exported: ...' },
        { subject: '/srv/export', message: 'also holds old.toml, ...' },
        { subject: 'something new', message: '...' },
      ],
      '/srv/export',
    );
    expect(topics).toBe(
      '2 automations not exported, 1 saved search not exported, credentials of 1 deployment, 2 about variables, ' +
        '1 global limit reading back with differences, 1 block not exported, 1 about the export directory, 1 about something new',
    );
  });

  it('takes --only as a comma-separated, repeatable list, in a fixed order', () => {
    expect(parseOnly([])).toEqual(['variables', 'secrets', 'limits', 'blocks', 'pools', 'deployments', 'automations']);
    expect(parseOnly(['deployments,pools', 'variables'])).toEqual(['variables', 'pools', 'deployments']);
    expect(() => parseOnly(['pools,saved-searches'])).toThrow(UsageError);
    expect(() => parseOnly(['pools,saved-searches'])).toThrow('not "saved-searches"');
  });

  it('reports the files, the counts and the command that applies them', () => {
    const text = renderExport({
      dir: '/srv/export',
      server: { url: 'http://prefect:4200/api', version: '3.7.2' },
      files: [
        { path: 'vars.toml', summary: '2 variables' },
        { path: 'README.md', summary: 'how to apply' },
      ],
      counts: { variables: 2, secrets: 0, tagLimits: 0, globalLimits: 0, workPools: 0, deployments: 0 },
      args: { ...args, secretEnvNames: [], secretPairs: [], limits: [], deployments: [], variables: ['vars.toml'] },
      warnings: [{ subject: 'variables', message: 'the environment variable RETRIES is set here: ...' }],
      requests: { reads: 3, writes: 0 },
      credentialsLeftOut: [],
    });
    expect(text).toBe(
      [
        'Exported Prefect 3.7.2 at http://prefect:4200/api to /srv/export:',
        '  vars.toml  2 variables',
        '  README.md  how to apply',
        '2 variables, 0 secrets (names only), 0 tag limits, 0 global limits, 0 blocks, 0 work pools, 0 deployments, 0 deployment triggers, 0 automations.',
        '1 warning (on stderr): 1 about variables.',
        'Apply them, from that directory, with:',
        '  openem-config apply \\',
        '    -v vars.toml',
        'or, with the project file it holds, `openem-config apply` in that directory (or -c /srv/export/openem-config.toml).',
        '',
      ].join('\n'),
    );
  });
});
