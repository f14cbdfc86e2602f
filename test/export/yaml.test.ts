// The YAML writer: what it writes, the deployments loader (YAML 1.2) and PyYAML-like readers
// (YAML 1.1, as `prefect deploy` reads prefect.yaml) read back as the same strings.
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../src/config/yaml.js';
import type { JsonValue } from '../../src/config/types.js';
import { IssueList } from '../../src/errors.js';
import { renderYaml } from '../../src/export/yaml.js';

const STRINGS = [
  'yes', 'no', 'on', 'off', 'y', 'n', 'true', 'null', '~', '', '1.10', '0o17', '017', '0x1F', '1_000', '1:20', '.inf', '.nan',
  '2024-01-01', '2024-01-01T00:00:00Z', 'a: b', '- item', '# hash', '&anchor', '*alias', '!tag', '@at', '`tick', '{{ prefect.blocks.secret.x }}',
  "it's", 'say "hi"', 'back\\slash', 'tab\there', 'bell \u0007', 'é 中文 🚀', 'multi\nline', 'ends with newline\n', 'trailing \nblank', '  leading',
  'x'.repeat(300),
];

function readBack(text: string): JsonValue | undefined {
  const issues = new IssueList();
  const data = parseYaml(text, 'test.yaml', issues);
  expect(issues.items).toEqual([]);
  return data?.value;
}

describe('renderYaml', () => {
  it('writes strings that read back unchanged through the deployments loader and as YAML 1.1', () => {
    const value = { strings: STRINGS, keys: Object.fromEntries(STRINGS.map((s, i) => [s, i])) };
    const text = renderYaml(value);
    expect(JSON.stringify(readBack(text))).toBe(JSON.stringify(value));
    expect(JSON.stringify(parse(text, { version: '1.1', logLevel: 'silent' }))).toBe(JSON.stringify(value));
  });

  it('quotes a `<<` key, which readers would take for a merge', () => {
    const value = { '<<': { a: 1 }, b: 2 };
    const text = renderYaml(value);
    expect(text).toBe('"<<":\n  a: 1\nb: 2\n');
    expect(JSON.stringify(readBack(text))).toBe(JSON.stringify(value));
  });

  it('writes null, numbers, empty collections and a comment, never folding lines', () => {
    const text = renderYaml({ n: null, i: -3, f: 0.5, big: 1e21, e: {}, l: [], long: 'word '.repeat(40).trim() }, 'first\nsecond');
    expect(text).toBe(`# first\n# second\n\n"n": null\ni: -3\nf: 0.5\nbig: 1e+21\ne: {}\nl: []\nlong: ${'word '.repeat(40).trim()}\n`);
  });

  it('keeps blanks at the ends of lines of a multi-line string in a quoted form', () => {
    const text = renderYaml({ s: 'trailing \nblank' });
    expect(text).not.toMatch(/ \n/);
    expect(readBack(text)).toEqual({ s: 'trailing \nblank' });
  });
});
