// The example configuration against a real Prefect server started by the harness.
import { describe, expect, inject, it } from 'vitest';
import { defineExampleCases } from '../shared/example-cases.js';
import { getJson } from '../shared/server.js';

describe(`Prefect ${inject('prefectVersion')} on ${inject('prefectDatabase')}`, () => {
  it('is the release and database this project was set up for', async () => {
    expect(await getJson<string>(inject('prefectApiUrl'), '/admin/version')).toBe(inject('prefectVersion'));
  });
});

defineExampleCases({ apiUrl: () => inject('prefectApiUrl') });
