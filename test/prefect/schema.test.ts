// The committed types must be exactly what openapi-typescript makes of the committed document.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTypes, openapiPath, typesPath } from '../../scripts/api-types.js';

describe('generated API types', () => {
  it('match the committed OpenAPI document (run `npm run gen:api` after changing either)', async () => {
    expect(await generateTypes()).toBe(readFileSync(typesPath, 'utf8'));
  });

  it('come from the pinned Prefect release', () => {
    const document = JSON.parse(readFileSync(openapiPath, 'utf8')) as { info: Record<string, string> };
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { openemConfig: { prefectVersion: string } };
    expect(document.info['x-prefect-version']).toBe(pkg.openemConfig.prefectVersion);
  });
});
