import { describe, expect, it } from 'vitest';
import { secretNameFromEnv } from '../../../src/kinds/secrets/spec.js';
import { createMatcher } from '../../../src/config/glob.js';
import { exportSecrets, secretEnvName } from '../../../src/kinds/secrets/export.js';

describe('exportSecrets', () => {
  it('lists secret blocks by name with the -s variable that gives each, and leaves other block types to the blocks kind', () => {
    const result = exportSecrets(
      [
        { type: 'secret', name: 's3-user' },
        { type: 'aws-credentials', name: 'prod' },
        { type: 'secret', name: 'idp-client-secret' },
        { type: 'json', name: 'settings' },
        { type: 'openem-config-state', name: 'ownership' },
      ],
      createMatcher([]),
    );
    expect(result.secrets).toEqual([
      { name: 'idp-client-secret', envName: 'IDP_CLIENT_SECRET_FILE' },
      { name: 's3-user', envName: 'S3_USER_FILE' },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('gives a -s name only when the loader turns it back into the block name and a shell accepts it', () => {
    for (const name of ['s3-user', 'a--b', 'x', 'github-password-2']) {
      const envName = secretEnvName(name);
      expect(envName).toBeDefined();
      expect(secretNameFromEnv(envName!)).toBe(name);
    }
    expect(secretEnvName('1password')).toBeUndefined();
  });

  it('selects blocks with --match', () => {
    const result = exportSecrets([{ type: 'secret', name: 's3-user' }, { type: 'secret', name: 'github-user' }, { type: 'webhook', name: 'x' }], createMatcher(['s3-*']));
    expect(result.secrets.map((s) => s.name)).toEqual(['s3-user']);
    expect(result.warnings).toEqual([]);
  });
});
