import { describe, expect, it } from 'vitest';
import { loadLimits } from './manifest-helper.js';
import { IssueList, type ConfigIssue } from '../../src/errors.js';
import { fixture, useTempDir } from './temp.js';

const temp = useTempDir();
const flat = fixture('limits-flat.toml');
const table = fixture('limits-table.toml');

function load(...files: string[]) {
  const issues = new IssueList();
  const manifest = loadLimits(files, issues);
  return { ...manifest, issues: issues.items };
}

function issue(file: string, line: number, key: string, fragment: string): ConfigIssue {
  return { file, line, key, message: expect.stringContaining(fragment), severity: 'error' };
}

describe('loadLimits', () => {
  it('reads the flat form with its built-in tags', () => {
    expect(load(flat)).toEqual({
      tagLimits: [
        { tag: 'gpu-node', limit: 1, source: { file: flat, line: 4, key: 'GPU_LIMIT' } },
        { tag: 'read-from-lts-share', limit: 2, source: { file: flat, line: 3, key: 'LTS_READ_LIMIT' } },
        { tag: 'write-to-lts-share', limit: 4, source: { file: flat, line: 2, key: 'LTS_WRITE_LIMIT' } },
      ],
      declaresTagLimits: true,
      workPools: [],
      issues: [],
    });
  });

  it('reads the [tag_limits] table and hands [work_pools] to the work pools kind', () => {
    expect(load(table)).toEqual({
      tagLimits: [
        { tag: 'gpu.node', limit: 1, source: { file: table, line: 3, key: 'tag_limits.gpu.node' } },
        { tag: 'scratch-io', limit: 10, source: { file: table, line: 4, key: 'tag_limits.scratch-io' } },
        { tag: 'write-to-lts-share', limit: 3, source: { file: table, line: 2, key: 'tag_limits.write-to-lts-share' } },
      ],
      declaresTagLimits: true,
      workPools: [
        expect.objectContaining({
          name: 'archival-docker-workpool',
          concurrencyLimit: 2,
          source: expect.objectContaining({ file: table, key: 'work_pools.archival-docker-workpool' }),
        }),
      ],
      issues: [],
    });
  });

  it('lets <STUB>_TAG replace a built-in tag, and accepts a limit of 0', () => {
    const file = temp.write('custom.toml', 'LTS_WRITE_LIMIT = 0\nLTS_WRITE_TAG = "tape-write"\n');
    expect(load(file).tagLimits).toEqual([{ tag: 'tape-write', limit: 0, source: { file, line: 1, key: 'LTS_WRITE_LIMIT' } }]);
  });

  it('reports every problem of a broken manifest', () => {
    const file = fixture('limits-invalid.toml');
    const { tagLimits, issues } = load(file);
    expect(tagLimits).toEqual([{ tag: 'write-to-lts-share', limit: 4, source: { file, line: 1, key: 'LTS_WRITE_LIMIT' } }]);
    expect([...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))).toEqual([
      issue(file, 2, 'TAPE_LIMIT', 'no tag for `TAPE_LIMIT`; add `TAPE_TAG = "..."` or write it as "tag" = n in the [tag_limits] table'),
      issue(file, 3, 'ORPHAN_TAG', '`ORPHAN_TAG` has no `ORPHAN_LIMIT`; add `ORPHAN_LIMIT = n` or remove it'),
      issue(file, 4, 'NEGATIVE_LIMIT', 'the limit must be an integer of 0 or more (at most 9007199254740991), found -1'),
      issue(file, 6, 'FLOAT_LIMIT', 'the limit must be an integer of 0 or more, found a float'),
      issue(file, 9, 'NUMBER_TAG_TAG', '`NUMBER_TAG_TAG` must be a string (the tag), found an integer'),
      issue(file, 10, 'MAX_CONCURRENCY', 'unknown key `MAX_CONCURRENCY`; a limits file holds `<STUB>_LIMIT = n` with an optional `<STUB>_TAG = "tag"`'),
      issue(file, 13, 'tag_limits.write-to-lts-share', `tag \`write-to-lts-share\` already has a limit at ${file}:1 (LTS_WRITE_LIMIT); declare each tag once`),
      issue(file, 14, 'tag_limits.a/b', 'tag name "a/b" holds `/`, which Prefect refuses in names'),
      issue(file, 15, 'tag_limits.', 'tag name "" is empty'),
      issue(file, 16, 'tag_limits.text', 'the limit must be an integer of 0 or more, found a string'),
    ]);
  });

  it('reports a tag declared in two files at the later one', () => {
    const { tagLimits, issues } = load(flat, table);
    expect(tagLimits.find((limit) => limit.tag === 'write-to-lts-share')?.limit).toBe(4);
    expect(issues).toEqual([
      issue(table, 2, 'tag_limits.write-to-lts-share', `tag \`write-to-lts-share\` already has a limit at ${flat}:2 (LTS_WRITE_LIMIT)`),
    ]);
  });

  it.each(['%', '&', '<', '>'])('refuses %s in a tag', (character) => {
    const file = temp.write(`forbidden-${character.charCodeAt(0)}.toml`, `[tag_limits]\n"x${character}y" = 1\n`);
    expect(load(file).issues).toEqual([issue(file, 2, `tag_limits.x${character}y`, `holds \`${character}\``)]);
  });

  it('accepts a 255-character tag and refuses a longer one', () => {
    const file = temp.write('long.toml', `[tag_limits]\n${'t'.repeat(255)} = 1\n${'u'.repeat(256)} = 1\n`);
    const { tagLimits, issues } = load(file);
    expect(tagLimits.map((limit) => limit.tag.length)).toEqual([255]);
    expect(issues).toEqual([issue(file, 3, `tag_limits.${'u'.repeat(256)}`, 'has 256 characters, more than 255')]);
  });

  it('refuses a limit too large to be exact', () => {
    const file = temp.write('huge.toml', '[tag_limits]\nx = 9007199254740992\n');
    expect(load(file).issues).toEqual([issue(file, 2, 'tag_limits.x', 'found 9007199254740992')]);
  });

  it('refuses a tag_limits that is not a table', () => {
    const file = temp.write('not-table.toml', 'tag_limits = 4\n');
    expect(load(file).issues).toEqual([issue(file, 1, 'tag_limits', 'tag_limits must be a table of "tag" = limit')]);
  });

  it('reports a work_pools value JSON cannot hold', () => {
    const file = temp.write('pools.toml', '[work_pools.a]\nweight = nan\n');
    expect(load(file)).toMatchObject({ workPools: [], issues: [issue(file, 1, 'work_pools', 'at a.weight: nan cannot be stored')] });
  });

  it('reports a missing or empty file and still reads the others', () => {
    const missing = fixture('no-such-limits.toml');
    const empty = temp.write('empty.toml', '');
    const { tagLimits, issues } = load(missing, empty, flat);
    expect(tagLimits).toHaveLength(3);
    expect(issues).toEqual([
      { file: missing, message: 'limits file not found; check the path', severity: 'error' },
      { file: empty, message: expect.stringContaining('limits file is empty'), severity: 'error' },
    ]);
  });
});
