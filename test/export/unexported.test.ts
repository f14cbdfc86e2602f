// Objects of kinds no export part writes are named one by one, with their kind, never dropped.
import { describe, expect, it } from 'vitest';
import { createMatcher } from '../../src/export/glob.js';
import { readUnexported, UNEXPORTED_KINDS } from '../../src/export/unexported.js';
import { SECTIONS } from '../../src/export/command.js';
import { fakeApi, fakeAutomation } from './factories.js';

const routes = {
  '/automations/filter': () => [fakeAutomation('retry archival'), fakeAutomation('notify on failure', { enabled: false })],
  '/saved_searches/filter': () => [{ id: 'x', name: 'failed runs', filters: [] }],
};

describe('readUnexported', () => {
  it('names every automation and saved search, read in bulk, sorted by kind then name', async () => {
    const { api, sent } = fakeApi(routes);
    const warnings = await readUnexported(api, { matches: createMatcher([]), exportedSections: SECTIONS });
    expect(warnings).toEqual([
      { subject: 'automation "notify on failure"', message: expect.stringMatching(/^not exported: openem-config does not declare automations; recreate it on the target/) },
      { subject: 'automation "retry archival"', message: expect.stringMatching(/^not exported: /) },
      { subject: 'saved search "failed runs"', message: expect.stringMatching(/^not exported: .*saved searches/) },
    ]);
    expect(sent.map((s) => [s.path, s.body.limit, s.body.offset])).toEqual([
      ['/automations/filter', 200, 0],
      ['/saved_searches/filter', 200, 0],
    ]);
  });

  it('applies --match to their names, and drops a kind once an export part has its section', async () => {
    const { api, sent } = fakeApi(routes);
    const warnings = await readUnexported(api, { matches: createMatcher(['retry*']), exportedSections: [...SECTIONS, 'saved-searches'] });
    expect(warnings.map((w) => w.subject)).toEqual(['automation "retry archival"']);
    expect(sent.map((s) => s.path)).toEqual(['/automations/filter']);
  });

  it('lists kinds the export does not write', () => {
    for (const kind of UNEXPORTED_KINDS) expect(SECTIONS).not.toContain(kind.section);
    expect(UNEXPORTED_KINDS.map((kind) => kind.label)).toEqual(['automation', 'saved search']);
  });
});
