// Credentials in exported values: a secret block's value becomes a reference where Prefect resolves
// one, a credential-like value matching no block is left out (or kept when allowed), by key path.
import { describe, expect, it } from 'vitest';
import { isCredential, keyParts, MIN_CONTAINED_LENGTH, protectCredentials } from '../../src/export/credentials.js';
import { fakeSecretValues } from './factories.js';

const secrets = fakeSecretValues({ 'github-user': 'svc-bot', 'github-token': 'ghp_abc123', 'old-tool': 'with-newline\n', Upper_Name: 'upper-value', json: { a: 1 }, empty: '' });

describe('isCredential', () => {
  it('splits keys at separators, case changes and the end of an acronym', () => {
    expect(keyParts('GITHUB_TOKEN')).toEqual(['github', 'token']);
    expect(keyParts('apiKey')).toEqual(['api', 'key']);
    expect(keyParts('APIToken')).toEqual(['api', 'token']);
    expect(keyParts('x-api-key')).toEqual(['x', 'api', 'key']);
  });

  // The one rule of what is a credential: export leaves these values out, the plan shows them as (hidden).
  it.each([
    // A part names a credential, in any case style.
    ['password', true],
    ['DB_PASSWORD', true],
    ['db-password', true],
    ['dbPassword', true],
    ['DBPassword', true],
    ['passwords', true],
    ['passwd', true],
    ['ssh_passphrase', true],
    ['token', true],
    ['GITHUB_TOKEN', true],
    ['githubToken', true],
    ['github-token', true],
    ['APIToken', true],
    ['use_token', true],
    ['secret', true],
    ['client-secret', true],
    ['clientSecret', true],
    ['AWS_SECRET_ACCESS_KEY', true],
    ['api_key', true],
    ['apiKey', true],
    ['APIKEY', true],
    ['x-api-key', true],
    ['access_key', true],
    ['private_key', true],
    ['credentials', true],
    ['registry_credentials', true],
    ['Authorization', true],
    ['PREFECT_API_AUTH_STRING', true],
    // pwd: a password, but not the shell's working directory.
    ['pwd', true],
    ['db_pwd', true],
    ['MYSQL_PWD', true],
    ['dbPwd', true],
    ['PWD', false],
    ['OLDPWD', false],
    // A word glued in front of one, as environment variables are written.
    ['PGPASSWORD', true],
    ['githubtoken', true],
    ['clientsecret', true],
    ['dbpwd', true],
    // Words that only start like one, or hold one in another sense.
    ['tokenizer', false],
    ['tokenizer_name', false],
    ['secretary', false],
    ['passenger', false],
    ['passwordless', false],
    ['max_tokens', false],
    ['tokens', false],
    ['secrets', false],
    // Where a credential is, or what it is: not the credential.
    ['secret_name', false],
    ['token_file', false],
    ['PASSWORD_FILE', false],
    ['password_path', false],
    ['aws_access_key_id', false],
    ['token_url', false],
    ['auth_header', false],
    // Nothing to do with one.
    ['username', false],
    ['image', false],
    ['key', false],
    ['keyboard', false],
  ])('%s: %s', (key, credential) => {
    expect(isCredential(key)).toBe(credential);
  });
});

describe('protectCredentials', () => {
  it('leaves out a whole list under a credential key, and a URL with a password in it', () => {
    const value = { password: ['a', 'b'], DATABASE_URL: 'postgresql://app:s3cret@db:5432/app', HOMEPAGE: 'https://example.org/a:b@c' };
    const result = protectCredentials(value, { path: 'job_variables', secrets, referable: true, allowPlain: false });
    expect(result.value).toEqual({ HOMEPAGE: 'https://example.org/a:b@c' });
    expect(result.findings.map((f) => [f.path, f.action])).toEqual([
      ['job_variables.password', 'withheld'],
      ['job_variables.DATABASE_URL', 'withheld'],
    ]);
    expect(JSON.stringify(result)).not.toContain('s3cret');
  });

  it('writes a secret block value as a reference where Prefect resolves references', () => {
    const value = { image: 'x', registry_credentials: { username: 'svc-bot', password: 'ghp_abc123', registry_url: 'ghcr.io' }, env: { TOKENS: ['ghp_abc123'] } };
    const result = protectCredentials(value, { path: 'work_pool.job_variables', secrets, referable: true, allowPlain: false });
    expect(result.value).toEqual({
      image: 'x',
      registry_credentials: { username: '{{ prefect.blocks.secret.github-user }}', password: '{{ prefect.blocks.secret.github-token }}', registry_url: 'ghcr.io' },
      env: { TOKENS: ['{{ prefect.blocks.secret.github-token }}'] },
    });
    expect(result.findings).toEqual([
      { path: 'work_pool.job_variables.registry_credentials.username', action: 'referenced', block: 'github-user', reference: '{{ prefect.blocks.secret.github-user }}' },
      { path: 'work_pool.job_variables.registry_credentials.password', action: 'referenced', block: 'github-token', reference: '{{ prefect.blocks.secret.github-token }}' },
      { path: 'work_pool.job_variables.env.TOKENS[0]', action: 'referenced', block: 'github-token', reference: '{{ prefect.blocks.secret.github-token }}' },
    ]);
    // The input is not changed.
    expect(value.registry_credentials.password).toBe('ghp_abc123');
  });

  it('leaves out a credential-like value matching no block, and keeps it when allowed', () => {
    const value = { env: { GITHUB_TOKEN: 'ghp_unknown', LOG_LEVEL: 'DEBUG', secret_name: 'regcred', api_key: 42, use_token: true, token: '', password: '{{ prefect.blocks.secret.x }}' }, tokens: ['a'] };
    const withheld = protectCredentials(value, { path: 'job_variables', secrets, referable: true, allowPlain: false });
    expect(withheld.value).toEqual({ env: { LOG_LEVEL: 'DEBUG', secret_name: 'regcred', use_token: true, token: '', password: '{{ prefect.blocks.secret.x }}' }, tokens: ['a'] });
    expect(withheld.findings).toEqual([
      { path: 'job_variables.env.GITHUB_TOKEN', action: 'withheld', block: undefined, reason: undefined },
      { path: 'job_variables.env.api_key', action: 'withheld', block: undefined, reason: undefined },
    ]);
    const allowed = protectCredentials(value, { path: 'job_variables', secrets, referable: true, allowPlain: true });
    expect(allowed.value).toEqual(value);
    expect(allowed.findings.map((f) => [f.path, f.action])).toEqual([
      ['job_variables.env.GITHUB_TOKEN', 'written'],
      ['job_variables.env.api_key', 'written'],
    ]);
  });

  it('leaves out a secret value where no reference can stand: in parameters, for a block name a placeholder cannot hold, or without its final newline', () => {
    const parameters = protectCredentials({ user: 'svc-bot', retries: 3 }, { path: 'parameters', secrets, referable: false, allowPlain: false });
    expect(parameters.value).toEqual({ retries: 3 });
    expect(parameters.findings).toEqual([{ path: 'parameters.user', action: 'withheld', block: 'github-user', reason: expect.stringContaining('passes parameters to the flow as written') }]);
    const odd = protectCredentials({ a: 'upper-value', b: 'with-newline', c: 'with-newline\n' }, { path: 'pull', secrets, referable: true, allowPlain: false });
    expect(odd.value).toEqual({ c: '{{ prefect.blocks.secret.old-tool }}' });
    expect(odd.findings.map((f) => [f.path, f.action, f.block])).toEqual([
      ['pull.a', 'withheld', 'Upper_Name'],
      ['pull.b', 'withheld', 'old-tool'],
      ['pull.c', 'referenced', 'old-tool'],
    ]);
  });

  it('never matches an empty secret, and keeps keys such as __proto__ as data', () => {
    const value = JSON.parse('{"__proto__": {"x": ""}, "list": ["", "svc-bot"]}') as { [key: string]: unknown };
    const result = protectCredentials(value as never, { path: 'p', secrets, referable: true, allowPlain: false });
    expect(JSON.stringify(result.value)).toBe('{"__proto__":{"x":""},"list":["","{{ prefect.blocks.secret.github-user }}"]}');
  });

  it('writes a secret value within other text (a token in a URL) as a reference there, and leaves out one no reference can stand for', () => {
    const value = {
      REPO: 'https://oauth2:ghp_abc123@github.com/org/repo.git',
      NOTE: 'use ghp_abc123 for the mirror, ghp_abc123 for the rest',
      OLD: 'prefix with-newline suffix',
      // Shorter than MIN_CONTAINED_LENGTH: found only as a whole value, not in an image path.
      image: 'ghcr.io/svc-bot/archiver:1.2',
      user: 'svc-bot',
    };
    const result = protectCredentials(value, { path: 'job_variables', secrets, referable: true, allowPlain: false });
    expect(result.value).toEqual({
      REPO: 'https://oauth2:{{ prefect.blocks.secret.github-token }}@github.com/org/repo.git',
      NOTE: 'use {{ prefect.blocks.secret.github-token }} for the mirror, {{ prefect.blocks.secret.github-token }} for the rest',
      image: 'ghcr.io/svc-bot/archiver:1.2',
      user: '{{ prefect.blocks.secret.github-user }}',
    });
    expect(result.findings.map((f) => [f.path, f.action, f.block, f.within])).toEqual([
      ['job_variables.REPO', 'referenced', 'github-token', true],
      ['job_variables.NOTE', 'referenced', 'github-token', true],
      // The block keeps the file's final newline: a reference within the text would add it.
      ['job_variables.OLD', 'withheld', 'old-tool', true],
      ['job_variables.user', 'referenced', 'github-user', undefined],
    ]);
    expect(JSON.stringify(result)).not.toMatch(/ghp_abc123|with-newline/);
    expect('ghp_abc123'.length).toBeGreaterThanOrEqual(MIN_CONTAINED_LENGTH);

    // In parameters no reference is resolved: the value is left out, or written when allowed.
    const parameters = protectCredentials(value, { path: 'parameters', secrets, referable: false, allowPlain: false });
    expect(parameters.value).toEqual({ image: 'ghcr.io/svc-bot/archiver:1.2' });
    const allowed = protectCredentials(value, { path: 'parameters', secrets, referable: false, allowPlain: true });
    expect(allowed.value).toMatchObject({ REPO: value.REPO, NOTE: value.NOTE, OLD: value.OLD });
    expect(allowed.findings.filter((f) => f.within).map((f) => f.action)).toEqual(['written', 'written', 'written']);
  });

  it('does not take a placeholder for a secret value it happens to spell', () => {
    const named = fakeSecretValues({ 'a-token': 'prefect.blocks.secret.github-token' });
    const result = protectCredentials({ password: '{{ prefect.blocks.secret.github-token }}' }, { path: 'p', secrets: named, referable: true, allowPlain: false });
    expect(result).toEqual({ value: { password: '{{ prefect.blocks.secret.github-token }}' }, findings: [] });
  });

  describe('a JSON secret (a secret block whose value is an object)', () => {
    const json = fakeSecretValues({
      database: { user: 'archiver-app', password: 'pg-s3cret-pass', hosts: ['db-1.internal', 'db-2.internal'], port: 5432, 'odd key': 'odd-value-123', '0': 'digit-key-value' },
      // A string secret wins over a JSON one holding the same value.
      'pg-password': 'pg-s3cret-pass',
    });

    it('writes a string of it as a reference with its key path where Prefect resolves references', () => {
      const value = { env: { DB_USER: 'archiver-app', DB_PASSWORD: 'pg-s3cret-pass', REPLICA: 'db-2.internal', DB_PORT: 5432 } };
      const result = protectCredentials(value, { path: 'work_pool.job_variables', secrets: json, referable: true, allowPlain: false });
      expect(result.value).toEqual({
        env: {
          DB_USER: '{{ prefect.blocks.secret.database.value.user }}',
          DB_PASSWORD: '{{ prefect.blocks.secret.pg-password }}',
          REPLICA: '{{ prefect.blocks.secret.database.value.hosts[1] }}',
          DB_PORT: 5432,
        },
      });
      expect(result.findings.map((f) => [f.path, f.block, f.reference])).toEqual([
        ['work_pool.job_variables.env.DB_USER', 'database', '{{ prefect.blocks.secret.database.value.user }}'],
        ['work_pool.job_variables.env.DB_PASSWORD', 'pg-password', '{{ prefect.blocks.secret.pg-password }}'],
        ['work_pool.job_variables.env.REPLICA', 'database', '{{ prefect.blocks.secret.database.value.hosts[1] }}'],
      ]);
    });

    it('leaves it out where no reference can stand: in parameters, under a key a placeholder cannot spell; within other text it is referenced', () => {
      const value = { user: 'archiver-app', odd: 'odd-value-123', digit: 'digit-key-value', dsn: 'postgresql://archiver-app@db-1.internal:5432/archive', port: 5432 };
      const parameters = protectCredentials(value, { path: 'parameters', secrets: json, referable: false, allowPlain: false });
      expect(parameters.value).toEqual({ port: 5432 });
      const jobVariables = protectCredentials(value, { path: 'job_variables', secrets: json, referable: true, allowPlain: false });
      expect(jobVariables.value).toEqual({
        user: '{{ prefect.blocks.secret.database.value.user }}',
        dsn: 'postgresql://{{ prefect.blocks.secret.database.value.user }}@{{ prefect.blocks.secret.database.value.hosts[0] }}:5432/archive',
        port: 5432,
      });
      expect(jobVariables.findings.map((f) => [f.path, f.action, f.block, f.within ?? false, f.reason?.split(' ').slice(0, 4).join(' ')])).toEqual([
        ['job_variables.user', 'referenced', 'database', false, undefined],
        ['job_variables.odd', 'withheld', 'database', false, 'a placeholder cannot spell'],
        ['job_variables.digit', 'withheld', 'database', false, 'a placeholder cannot spell'],
        ['job_variables.dsn', 'referenced', 'database', true, undefined],
        ['job_variables.dsn', 'referenced', 'database', true, undefined],
      ]);
      const within = protectCredentials({ dsn: 'odd-value-123@host' }, { path: 'job_variables', secrets: json, referable: true, allowPlain: false });
      expect(within.value).toEqual({});
      expect(within.findings).toEqual([{ path: 'job_variables.dsn', action: 'withheld', block: 'database', within: true, reason: "a placeholder cannot spell the key path to it in the block's JSON value" }]);
      for (const secret of ['archiver-app', 'odd-value-123', 'digit-key-value', 'db-1.internal']) {
        expect(JSON.stringify([parameters, jobVariables.findings])).not.toContain(secret);
      }
    });
  });
});
