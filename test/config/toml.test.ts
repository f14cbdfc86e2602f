import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseToml, readTomlFile, scanLayout, toJsonValue, tomlKind, type TomlValue } from '../../src/config/toml.js';
import { IssueList } from '../../src/errors.js';
import { fixture, useTempDir } from './temp.js';

const temp = useTempDir();

function parsed(text: string) {
  return parse(text, { integersAsBigInt: true });
}

describe('parseToml', () => {
  it('reports malformed TOML with line, column and the reason', () => {
    const issues = new IssueList();
    const file = fixture('vars-broken.toml');
    expect(readTomlFile(file, { what: 'vars file', maxBytes: 1000 }, issues)).toBeUndefined();
    expect(issues.items).toEqual([
      {
        file,
        line: 2,
        column: 36,
        message: 'invalid TOML: control characters are not allowed in strings; fix the syntax here',
        severity: 'error',
      },
    ]);
  });

  it('reports an integer JavaScript cannot hold as a value, not a syntax error', () => {
    const issues = new IssueList();
    const doc = parseToml('big = 9007199254740993\n', 'big.toml', issues);
    expect(issues.items).toEqual([]);
    expect(doc?.data.big).toBe(9007199254740993n);
  });

  it('keeps the file problems of readTextFile, and refuses an empty file', () => {
    const issues = new IssueList();
    const file = temp.write('empty.toml', '');
    expect(readTomlFile(file, { what: 'limits file', maxBytes: 1000 }, issues)).toBeUndefined();
    expect(issues.items).toEqual([expect.objectContaining({ file, message: expect.stringContaining('limits file is empty') })]);
  });
});

describe('scanLayout', () => {
  it('finds every header and key of a document with multi-line strings and arrays', () => {
    const layout = scanLayout(readFileSync(fixture('vars-types.toml'), 'utf8'));
    expect(layout.headers).toEqual([{ path: ['types'], line: 8, isArray: false }]);
    const lines = Object.fromEntries(
      ['TOP_LEVEL', 'RETRY_DELAYS', 'NOTES', 'LITERAL', 'RATIO', 'ENDPOINTS', 'QUOTED_KEY', 'limits', 'AFTER'].map((key) => [
        key,
        layout.lineOf(['TOP_LEVEL', 'RETRY_DELAYS'].includes(key) ? [key] : ['types', key]),
      ]),
    );
    expect(lines).toEqual({ TOP_LEVEL: 1, RETRY_DELAYS: 2, NOTES: 9, LITERAL: 13, RATIO: 16, ENDPOINTS: 22, QUOTED_KEY: 23, limits: 24, AFTER: 25 });
    expect(layout.lineOf(['not_a_header'])).toBeUndefined();
    expect(layout.lineOf(['types', 'fake'])).toBe(8); // only the enclosing table: `fake` is inside a string
  });

  it('gives a key inside an inline table or a dotted key the line of its nearest known key', () => {
    const layout = scanLayout('[t]\na = { b = 1 }\nc.d.e = 2\n');
    expect(layout.lineOf(['t', 'a', 'b'])).toBe(2);
    expect(layout.lineOf(['t', 'c', 'd', 'e'])).toBe(3);
    expect(layout.lineOf(['t', 'c', 'd'])).toBe(3);
  });

  it('reads quoted, escaped and spaced keys and headers', () => {
    const text = '[ a . "b.c" ]\n"k\\u0041ey" = 1\n\'lit.eral\' = 2\n[[ list ]]\nx = 3\n';
    const layout = scanLayout(text);
    expect(layout.headers).toEqual([
      { path: ['a', 'b.c'], line: 1, isArray: false },
      { path: ['list'], line: 4, isArray: true },
    ]);
    expect(layout.lineOf(['a', 'b.c', 'kAey'])).toBe(2);
    expect(layout.lineOf(['a', 'b.c', 'lit.eral'])).toBe(3);
    expect(layout.lineOf(['list', 'x'])).toBe(5);
    expect(parsed(text)).toEqual({ a: { 'b.c': { kAey: 1n, 'lit.eral': 2n } }, list: [{ x: 3n }] });
  });

  it('skips escaped quotes, quotes before the closing delimiter, and brackets in strings and comments', () => {
    const text = [
      'a = """one \\""" still "inside" """',
      'b = """x"""""',
      "c = '''it''s'''",
      'd = ["]", \'[\', { e = "}" }, # ] [\n  """\n]"""]',
      'e = "# not a comment" # [comment]',
      'f = { g = 1, # TOML 1.1 lets an inline table span lines',
      '  h = "}" }',
      'i = 1',
    ].join('\n');
    parsed(text); // the scanner only ever sees valid TOML
    const layout = scanLayout(text);
    expect(['a', 'b', 'c', 'd', 'e', 'f', 'i'].map((key) => layout.lineOf([key]))).toEqual([1, 2, 3, 4, 7, 8, 10]);
  });

  it('counts lines in files with CRLF line endings', () => {
    const layout = scanLayout('[s3]\r\nA = 1\r\nB = """\r\nx\r\n"""\r\nC = 2\r\n');
    expect([layout.lineOf(['s3', 'A']), layout.lineOf(['s3', 'B']), layout.lineOf(['s3', 'C'])]).toEqual([2, 3, 6]);
  });

  it('tells groups from keys', () => {
    const layout = scanLayout('top = { a = 1 }\n[group]\nkey = 1\n[other.sub]\n');
    expect(layout.hasHeader(['top'])).toBe(false);
    expect(layout.hasHeader(['group'])).toBe(true);
    expect(layout.hasHeader(['group', 'key'])).toBe(false);
    expect(layout.hasHeader(['other'])).toBe(true);
    expect(layout.hasHeader(['other', 'sub'])).toBe(true);
  });
});

describe('toJsonValue', () => {
  it('converts every TOML type', () => {
    const data = parsed(readFileSync(fixture('vars-types.toml'), 'utf8'));
    expect(toJsonValue(data)).toEqual({
      value: {
        TOP_LEVEL: 'top',
        RETRY_DELAYS: [1, 2, 4],
        types: {
          NOTES: '[not_a_header]\nfake = "still inside the string"\n',
          LITERAL: "C:\\data\\ = 'x'\n",
          RATIO: 0.75,
          ENABLED: true,
          STARTED: '2024-03-01T08:30:00.000Z',
          SHIFTED: '2024-03-01T08:30:00.000+02:00',
          LOCAL_DAY: '2024-03-01',
          LOCAL_TIME: '08:30:00.000',
          ENDPOINTS: { primary: 'https://a.example.org', 'backup host': 'https://b.example.org' },
          QUOTED_KEY: 'q',
          limits: { max: 3 },
          AFTER: 'after',
        },
      },
    });
  });

  it('writes a local date-time without an offset', () => {
    expect(toJsonValue(parsed('a = 2024-03-01T08:30:00').a as TomlValue)).toEqual({ value: '2024-03-01T08:30:00.000' });
  });

  it.each([
    ['a = nan', 'nan cannot be stored: JSON has no NaN or infinity'],
    ['a = -inf', '-inf cannot be stored'],
    ['a = 9007199254740992', 'integer 9007199254740992 is too large for JSON numbers'],
    ['a = [{ port = 1 }, { port = inf }]', 'at [1].port: inf cannot be stored'],
    ['a = { hosts = [1, nan] }', 'at hosts[1]: nan cannot be stored'],
  ])('refuses what JSON cannot hold: %s', (text, problem) => {
    expect(toJsonValue(parsed(text).a as TomlValue)).toEqual({ problem: expect.stringContaining(problem) });
  });

  it('accepts the largest safe integer', () => {
    expect(toJsonValue(parsed('a = -9007199254740991').a as TomlValue)).toEqual({ value: -9007199254740991 });
  });

  it('keeps a key named __proto__ as data', () => {
    const result = toJsonValue(parsed('a = { "__proto__" = 1 }').a as TomlValue);
    expect(JSON.stringify('value' in result && result.value)).toBe('{"__proto__":1}');
  });
});

describe('tomlKind', () => {
  it.each([
    ['"s"', 'string'],
    ['1', 'integer'],
    ['1.0', 'float'],
    ['false', 'boolean'],
    ['1979-05-27', 'date'],
    ['[1]', 'array'],
    ['{}', 'table'],
  ])('%s is %s', (written, kind) => {
    expect(tomlKind(parsed(`a = ${written}`).a as TomlValue)).toBe(kind);
  });
});
