import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkJobVariables } from '../../../src/kinds/deployments/job-variables.js';

const template = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../vars/job-templates/docker.json'), 'utf8')) as { variables: unknown };

describe('checkJobVariables', () => {
  it('accepts values of the declared types, and placeholders anywhere', () => {
    expect(
      checkJobVariables(
        {
          image: 'registry.example.org/archiver:1.2',
          networks: ['archiver_internal'],
          volumes: ['/data/scratch:/scratch'],
          image_pull_policy: 'Never',
          registry_credentials: { registry_url: 'registry.example.org', username: '{{ prefect.blocks.secret.github-user }}', password: '{{ prefect.blocks.secret.github-password }}' },
          auto_remove: true,
          env: { LOG_LEVEL: 'debug' },
        },
        template.variables,
      ),
    ).toEqual([]);
  });

  it('reports wrong types, enum values and array items with their path', () => {
    expect(checkJobVariables({ auto_remove: 'yes', image_pull_policy: 'Sometimes', networks: ['a', 3] }, template.variables)).toEqual([
      { path: 'auto_remove', message: 'must be boolean, found string' },
      { path: 'image_pull_policy', message: 'must be one of "IfNotPresent", "Always", "Never", found another string' },
      { path: 'networks.1', message: 'must be string, found integer' },
    ]);
  });

  it('warns about a key no template variable uses', () => {
    const [problem] = checkJobVariables({ imagee: 'x' }, template.variables);
    expect(problem).toMatchObject({ path: 'imagee', warning: true });
    expect(problem?.message).toContain('image');
  });

  it('follows $ref and allOf into definitions, as Prefect templates write them', () => {
    const variables = {
      properties: { creds: { allOf: [{ $ref: '#/definitions/Creds' }] }, size: { anyOf: [{ type: 'integer' }, { type: 'null' }] } },
      definitions: { Creds: { type: 'object', properties: { username: { type: 'string' } } } },
    };
    expect(checkJobVariables({ creds: { username: 'u' }, size: null }, variables)).toEqual([]);
    expect(checkJobVariables({ creds: { username: 5 }, size: 'big' }, variables)).toEqual([
      { path: 'creds.username', message: 'must be string, found integer' },
      { path: 'size', message: 'string matches none of the allowed forms' },
    ]);
  });
});
