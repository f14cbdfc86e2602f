// `--only KIND[:NAME]`: kinds by any of their names, globs on keys, and parts that come with their owner.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { KINDS } from '../../src/kinds/index.js';
import { parseSelection } from '../../src/reconcile/select.js';

const kind = (name: string) => ({ name });

describe('parseSelection', () => {
  it('selects nothing special without --only', () => {
    expect(parseSelection([], KINDS)).toBeUndefined();
    expect(parseSelection([' , '], KINDS)).toBeUndefined();
  });

  it('takes a kind as plan lines name it, in the plural, or as export names its section', () => {
    for (const value of ['work-pool', 'work-pools', 'pools']) {
      const selection = parseSelection([value], KINDS)!;
      expect(selection.hasKind(kind('work-pool'))).toBe(true);
      expect(selection.hasKind(kind('variable'))).toBe(false);
      expect(selection.includes(kind('work-pool'), 'any-pool')).toBe(true);
    }
    const limits = parseSelection(['limits'], KINDS)!;
    expect(['tag-limit', 'global-limit', 'variable'].map((name) => limits.hasKind(kind(name)))).toEqual([true, true, false]);
  });

  it('selects objects by key or glob, comma-separated and repeated', () => {
    const selection = parseSelection(['variable:a_*,secret:s3-user', 'deployment:archive/nightly'], KINDS)!;
    expect(selection.includes(kind('variable'), 'a_one')).toBe(true);
    expect(selection.includes(kind('variable'), 'b_one')).toBe(false);
    expect(selection.includes(kind('secret'), 's3-user')).toBe(true);
    expect(selection.includes(kind('secret'), 's3-password')).toBe(false);
    expect(selection.includes(kind('work-pool'), 'p')).toBe(false);
    expect([...selection.named.keys()].sort()).toEqual(['deployment', 'secret', 'variable']);
  });

  it("brings a deployment's triggers with it, and only that deployment's", () => {
    const selection = parseSelection(['deployment:archive/nightly'], KINDS)!;
    expect(selection.hasKind(kind('deployment-trigger'))).toBe(true);
    expect(selection.includes(kind('deployment-trigger'), 'archive/nightly/on-upload')).toBe(true);
    expect(selection.includes(kind('deployment-trigger'), 'archive/hourly/on-upload')).toBe(false);
    expect(parseSelection(['deployment-trigger'], KINDS)!.hasKind(kind('deployment'))).toBe(false);
  });

  it('names the kinds, with a suggestion, for an unknown one; and wants a name after a colon', () => {
    expect(() => parseSelection(['varible'], KINDS)).toThrow(UsageError);
    expect(() => parseSelection(['varible'], KINDS)).toThrow(/unknown kind "varible" \(did you mean "variable"\?\); the kinds are variable, /);
    expect(() => parseSelection(['variable:'], KINDS)).toThrow(/give a name after the colon/);
  });
});
