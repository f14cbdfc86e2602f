import { describe, expect, it } from 'vitest';
import { createMatcher, globToRegExp } from '../../src/config/glob.js';

describe('--match globs', () => {
  it.each([
    ['archiver_*', 'archiver_scratch', true],
    ['archiver_*', 'retrieval_x', false],
    ['*', 'flow/deployment', true],
    ['archive_*/*', 'archive_datasetlist/datasets_archival', true],
    ['s3-?ser', 's3-user', true],
    ['s3-?ser', 's3-uuser', false],
    ['[ab]-pool', 'b-pool', true],
    ['[a-c]x', 'dx', false],
    ['[!a]x', 'bx', true],
    ['[!a]x', 'ax', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['(x)+$', '(x)+$', true],
    ['[unclosed', '[unclosed', true],
    ['tag:gpu*', 'tag:gpu-nodes', true],
    ['🚀*', '🚀 launch', true],
  ])('%s on %s: %s', (pattern, name, expected) => {
    expect(globToRegExp(pattern).test(name)).toBe(expected);
  });

  it('matches everything without patterns, and any of several names against any pattern', () => {
    expect(createMatcher([])('anything')).toBe(true);
    const matches = createMatcher(['a*', 'flow/b']);
    expect(matches('x', 'flow/b')).toBe(true);
    expect(matches('abc')).toBe(true);
    expect(matches('b', 'other/b')).toBe(false);
  });
});
