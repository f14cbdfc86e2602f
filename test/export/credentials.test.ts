// Credentials in exported values: a secret block's value becomes a reference where Prefect resolves
// one, a credential-like value matching no block is left out (or kept when allowed), by key path.
import { describe, expect, it } from 'vitest';
import { isCredential, keyParts, protectCredentials } from '../../src/export/credentials.js';
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
      { path: 'work_pool.job_variables.registry_credentials.username', action: 'referenced', block: 'github-user' },
      { path: 'work_pool.job_variables.registry_credentials.password', action: 'referenced', block: 'github-token' },
      { path: 'work_pool.job_variables.env.TOKENS[0]', action: 'referenced', block: 'github-token' },
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
});
