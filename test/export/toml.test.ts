// The TOML writer: what it writes reads back, through smol-toml and through the vars loader, as the
// same JSON value; what TOML cannot hold is reported instead of written.
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { loadVariables } from '../../src/kinds/variables/spec.js';
import type { JsonValue } from '../../src/config/types.js';
import { IssueList } from '../../src/errors.js';
import { tomlKey, tomlProblem, tomlString, tomlTableName, tomlValue } from '../../src/export/toml.js';
import { renderVarsFile } from '../../src/kinds/variables/export.js';
import { useTempDir } from '../config/temp.js';

const temp = useTempDir();

const NASTY_STRINGS = [
  '',
  'plain',
  'with "double" and \'single\' quotes',
  'back\\slash and \\n not a newline',
  'line one\nline two\r\nline three',
  'tab\there, form\ffeed, back\bspace',
  'nul \u0000 bell \u0007 escape \u001b delete \u007f',
  'unicode: é ü ß 中文 🚀 e\u0301 \u200b zero-width',
  '"""',
  "'''",
  '# not a comment',
  'trailing spaces   ',
  '{{ prefect.blocks.secret.s3-password }}',
];

function readBack(value: JsonValue): unknown {
  return parse(`v = ${tomlValue(value)}`, { integersAsBigInt: false }).v;
}

describe('tomlString', () => {
  it.each(NASTY_STRINGS)('reads back %j unchanged', (text) => {
    expect(readBack(text)).toBe(text);
  });

  it('escapes only what TOML requires, and writes other characters as they are', () => {
    expect(tomlString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(tomlString('\u0001\u007f')).toBe('"\\u0001\\u007F"');
    expect(tomlString('é🚀')).toBe('"é🚀"');
  });
});

describe('tomlKey', () => {
  it('leaves bare keys bare, upper case and dashes included', () => {
    expect(tomlKey('ARCHIVER_SCRATCH-FOLDER')).toBe('ARCHIVER_SCRATCH-FOLDER');
  });

  it.each(['', 'a b', 'a.b', 'é', 'quote"d', 'new\nline', '1.2', 'tag:gpu'])('quotes %j so that it reads back as the same key', (key) => {
    const text = `${tomlKey(key)} = 1`;
    expect(Object.keys(parse(text))).toEqual([key]);
  });

  it('names nested tables with each part quoted as needed', () => {
    expect(tomlTableName(['work_pools', 'my pool', 'queues', 'default'])).toBe('work_pools."my pool".queues.default');
    expect(parse(`[${tomlTableName(['work_pools', 'a.b', 'queues', 'x y'])}]\nk = 1`)).toEqual({ work_pools: { 'a.b': { queues: { 'x y': { k: 1 } } } } });
  });
});

describe('tomlValue', () => {
  const values: Array<[string, JsonValue]> = [
    ['an integer', 42],
    ['a negative integer', -7],
    ['zero', 0],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER],
    ['a float', 1.5],
    ['a small float', 1.5e-7],
    ['a large float', 1.5e300],
    ['an integer past 2^53, as the float JSON holds', 1e21],
    ['the smallest float', 5e-324],
    ['true', true],
    ['false', false],
    ['an empty array', []],
    ['a mixed array', [1, 'two', 3.5, false, [], {}]],
    ['an empty object', {}],
    ['an object with keys needing quotes', { 'a b': 1, '': 2, 'a.b': 3, é: 4, x: { 'y z': ['q"'] } }],
    ['an object with a __proto__ key', JSON.parse('{"__proto__": {"polluted": true}, "k": 1}') as JsonValue],
  ];

  it.each(values)('reads back %s as the same JSON value', (_, value) => {
    // As JSON text, which also compares key order (smol-toml's tables have no prototype, so toStrictEqual would not do).
    expect(JSON.stringify(readBack(value))).toBe(JSON.stringify(value));
  });

  it('keeps the key order of objects', () => {
    expect(tomlValue({ b: 1, a: 2 })).toBe('{ b = 1, a = 2 }');
  });

  it('writes safe integers as TOML integers and other numbers as floats', () => {
    expect(tomlValue(3)).toBe('3');
    expect(tomlValue(-0)).toBe('0');
    expect(tomlValue(3.25)).toBe('3.25');
    expect(tomlValue(2 ** 60)).toBe('1.152921504606847e+18');
  });
});

describe('tomlProblem', () => {
  it('finds null at any depth and says where', () => {
    expect(tomlProblem(null)).toContain('null');
    expect(tomlProblem({ a: [1, { b: null }] })).toBe('null at a[1].b: TOML has no null');
    expect(tomlProblem({ a: 1, b: [true, 'x'] })).toBeUndefined();
  });

  it('refuses a string with an unpaired surrogate, which UTF-8 cannot encode', () => {
    expect(tomlProblem(['ok', 'bad \ud800'])).toContain('[1]');
    expect(tomlProblem({ ['\udc00']: 1 })).toContain('a key');
    expect(tomlProblem('paired 🚀')).toBeUndefined();
  });
});

describe('vars files through the loader', () => {
  it('reads every value back as the same variable, named by the lower-cased key, with the group tags', () => {
    const variables: Array<{ name: string; value: JsonValue }> = [
      ...NASTY_STRINGS.map((text, index) => ({ name: `string-${index}`, value: text })),
      { name: 'int', value: 20 },
      { name: 'float', value: 0.25 },
      { name: 'bool', value: false },
      { name: 'list', value: ['a', 1, { nested: ['x'] }] },
      { name: 'object', value: { 'needs quotes': 'é "q"\n', plain: 1.5, deeper: { list: [] } } },
      { name: 'dashes-and_underscores-0', value: 'x' },
      // A variable named like the config table is a key of the [variables] group, not the table.
      { name: 'openem-config', value: 'not the settings table' },
    ];
    const file = temp.write('roundtrip.toml', renderVarsFile({ tags: ['archiver', 'tag with "quotes"'], variables }));
    const issues = new IssueList();
    const loaded = loadVariables([file], { env: {}, stringValues: false, fromEnv: [] }, issues);
    expect(issues.items).toEqual([]);
    expect(Object.fromEntries(loaded.map((v) => [v.name, v.value]))).toStrictEqual(Object.fromEntries(variables.map((v) => [v.name, v.value])));
    for (const variable of loaded) expect(variable.tags).toEqual(['archiver', 'openem-config', 'tag with "quotes"']);
  });

  it('writes the untagged group without an [openem-config] table', () => {
    const text = renderVarsFile({ tags: [], variables: [{ name: 'a-b', value: 1 }] });
    expect(text).not.toContain('[openem-config]');
    expect(text).toContain('[variables]\nA-B = 1\n');
  });
});
