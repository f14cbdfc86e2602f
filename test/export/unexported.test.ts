// Objects of kinds no export part writes are named one by one, with their kind, never dropped.
import { describe, expect, it } from 'vitest';
import { createMatcher } from '../../src/config/glob.js';
import { readUnexported, UNEXPORTED_KINDS } from '../../src/export/unexported.js';
import { SECTIONS } from '../../src/export/command.js';
import { fakeApi } from './factories.js';

const routes = {
  '/saved_searches/filter': () => [
    { id: 'y', name: 'slow runs', filters: [] },
    { id: 'x', name: 'failed runs', filters: [] },
  ],
};

describe('readUnexported', () => {
  it('names every saved search, read in bulk, sorted by name', async () => {
    const { api, sent } = fakeApi(routes);
    const warnings = await readUnexported(api, { matches: createMatcher([]), exportedSections: SECTIONS });
    expect(warnings).toEqual([
      { subject: 'saved search "failed runs"', message: expect.stringMatching(/^not exported: .*saved searches/) },
      { subject: 'saved search "slow runs"', message: expect.stringMatching(/^not exported: .*saved searches/) },
    ]);
    expect(sent.map((s) => [s.path, s.body.limit, s.body.offset])).toEqual([['/saved_searches/filter', 200, 0]]);
  });

  it('applies --match to their names, and drops a kind once an export part has its section', async () => {
    const { api, sent } = fakeApi(routes);
    expect((await readUnexported(api, { matches: createMatcher(['slow*']), exportedSections: SECTIONS })).map((w) => w.subject)).toEqual(['saved search "slow runs"']);
    expect(await readUnexported(api, { matches: createMatcher([]), exportedSections: [...SECTIONS, 'saved-searches'] })).toEqual([]);
    expect(sent.map((s) => s.path)).toEqual(['/saved_searches/filter']);
  });

  it('lists kinds the export does not write', () => {
    for (const kind of UNEXPORTED_KINDS) expect(SECTIONS).not.toContain(kind.section);
    expect(UNEXPORTED_KINDS.map((kind) => kind.label)).toEqual(['saved search']);
  });
});
