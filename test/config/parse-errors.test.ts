// Files that do not parse, and files nested too deeply: every loader names the file, line and
// column, never quotes the text (which may be a secret given by mistake), and never overflows the stack.
import { describe, expect, it } from 'vitest';
import { IssueList, formatIssue } from '../../src/errors.js';
import { lineAndColumn, parseJsonText } from '../../src/config/json.js';
import { MAX_NESTING_DEPTH } from '../../src/config/nesting.js';
import { parseToml } from '../../src/config/toml.js';
import { parseYaml } from '../../src/config/yaml.js';
import { loadDeployments } from '../../src/kinds/deployments/spec.js';
import { loadVariables } from '../../src/kinds/variables/spec.js';
import { loadLimits } from './manifest-helper.js';
import { useTempDir } from './temp.js';

const temp = useTempDir();
const SENTINEL = 'SENTINEL_PASSWORD_c0ffee';

function errorsOf(load: (issues: IssueList) => unknown) {
  const issues = new IssueList();
  load(issues);
  return issues.items.map((issue) => ({ ...issue, text: formatIssue(issue) }));
}

/** A limits manifest with one pool whose template file holds `template`. */
function poolWithTemplate(name: string, template: string): { manifest: string; template: string } {
  const templatePath = temp.write(`${name}/template.json`, template);
  return { manifest: temp.write(`${name}/pools.toml`, '[work_pools.p]\nbase_job_template = "template.json"\n'), template: templatePath };
}

describe('a file that does not parse is named with its line and column, and never quoted', () => {
  // Secret-looking content in every form a parser may echo: at the start, in the middle, in a key, an escape, a tag.
  const secrets = [SENTINEL, `${SENTINEL}\n`, `{"a": ${SENTINEL}}`, `{"a": "x\\${SENTINEL}"}`, `[1, 2\n, "${SENTINEL}`, `{"${SENTINEL}" 1}`];

  it.each(secrets)('a base job template holding %j', (content) => {
    const { manifest, template } = poolWithTemplate(`t${secrets.indexOf(content)}`, content);
    const errors = errorsOf((issues) => loadLimits([manifest], issues));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: template, line: expect.any(Number), column: expect.any(Number), message: expect.stringContaining('not valid JSON') });
    expect(errors[0]!.text).not.toContain('SENTINEL');
  });

  it.each([
    `${SENTINEL}\n`,
    `a = ${SENTINEL}\n`,
    `a = "\\q${SENTINEL}"\n`,
    `[${SENTINEL}\n`,
    `a = 1979-13-01${SENTINEL}\n`,
    `a = [1, ${SENTINEL}]\n`,
  ])('a TOML file holding %j', (content) => {
    const errors = errorsOf((issues) => parseToml(content, 'vars.toml', issues));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'vars.toml', line: 1, column: expect.any(Number), message: expect.stringContaining('invalid TOML') });
    expect(errors[0]!.text).not.toContain('SENTINEL');
  });

  it.each([
    `a: "\\q${SENTINEL}"\n`,
    `a: !${SENTINEL} x\n`,
    `a: @${SENTINEL}\n`,
    `a: |x${SENTINEL}\n  b\n`,
    `[${SENTINEL}\n`,
    `a: 1\n---\nb: ${SENTINEL}\n`,
    `{a: 1, ${SENTINEL}`,
  ])('a YAML file holding %j', (content) => {
    const errors = errorsOf((issues) => parseYaml(content, 'prefect.yaml', issues));
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toMatchObject({ file: 'prefect.yaml', line: expect.any(Number), column: expect.any(Number) });
      expect(error.text).not.toContain('SENTINEL');
    }
  });

  it('the library\'s own words where they name only a kind of token', () => {
    const reasons = (text: string) => errorsOf((issues) => parseYaml(text, 'p.yaml', issues)).map((error) => error.message);
    expect(reasons(`- a\n${SENTINEL}: 1\n`)).toEqual([
      'invalid YAML: Unexpected scalar at node end; fix the syntax here',
      // `Unexpected map-value-ind token in YAML stream: ":"` quotes the text: said in other words.
      'invalid YAML: unexpected text here; fix the syntax here',
      'invalid YAML: unexpected text here; fix the syntax here',
    ]);
    expect(reasons(`a: [1,, ${SENTINEL}]\n`)).toContain('invalid YAML: Unexpected , in flow sequence; fix the syntax here');
  });

  it('the first ten YAML syntax errors, and how many more follow', () => {
    const errors = errorsOf((issues) => parseYaml(` a: 1\nb: 2\n${Array.from({ length: 30 }, (_, i) => `k${i}: [${i}\n`).join('')}`, 'flood.yaml', issues));
    expect(errors).toHaveLength(11);
    expect(errors[10]).toMatchObject({ file: 'flood.yaml', line: expect.any(Number), message: expect.stringMatching(/^and \d+ more YAML errors from here on/) });
  });

  it('JSON problems at their line and column, in words that quote nothing', () => {
    expect(parseJsonText('{"a": 1,\n  "b": tru}')).toEqual({ problem: expect.stringContaining('expected a value'), line: 2, column: 8 });
    expect(parseJsonText('[1, 2,]')).toMatchObject({ line: 1, column: 7 });
    expect(parseJsonText('{"a" 1}')).toMatchObject({ problem: 'expected ":" after the property name', column: 6 });
    expect(parseJsonText('"a\tb"')).toMatchObject({ problem: expect.stringContaining('control character'), column: 3 });
    expect(parseJsonText('"abc')).toMatchObject({ problem: expect.stringContaining('never closed'), column: 1 });
    expect(parseJsonText('1 2')).toMatchObject({ problem: 'unexpected text after the JSON value', column: 3 });
    expect(parseJsonText('[1e999]')).toMatchObject({ problem: expect.stringContaining('infinity'), column: 2 });
    expect(parseJsonText('  ')).toMatchObject({ problem: 'holds no JSON value' });
    expect(parseJsonText('{')).toMatchObject({ problem: expect.stringContaining('ends too early') });
    expect(parseJsonText(' {"a": [1, -2.5e3, "\\u00e9\\n"], "b": {}, "c": [], "d": null, "e": true} ')).toEqual({
      value: { a: [1, -2500, 'é\n'], b: {}, c: [], d: null, e: true },
    });
    expect(lineAndColumn('ab\ncd\r\nef', 7)).toEqual({ line: 3, column: 1 });
  });
});

describe(`nesting deeper than ${MAX_NESTING_DEPTH} levels is refused with its place, never overflowing the stack`, () => {
  const deep = 50_000;

  it('in a JSON template, at the bracket that goes too deep', () => {
    const { manifest, template } = poolWithTemplate('deep', `${'['.repeat(deep)}${']'.repeat(deep)}`);
    expect(errorsOf((issues) => loadLimits([manifest], issues))).toMatchObject([
      { file: template, line: 1, column: MAX_NESTING_DEPTH + 1, message: expect.stringContaining(`nested more than ${MAX_NESTING_DEPTH} levels deep`) },
    ]);
    expect(parseJsonText(`${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}`)).toHaveProperty('value');
  });

  it('in TOML: inline arrays and tables, header tables and dotted keys', () => {
    const nested = (text: string) => errorsOf((issues) => parseToml(text, 'deep.toml', issues));
    const message = expect.stringContaining(`nested more than ${MAX_NESTING_DEPTH} levels deep`);
    expect(nested(`x = 1\na = ${'['.repeat(deep)}${']'.repeat(deep)}\n`)).toMatchObject([{ file: 'deep.toml', line: 2, message }]);
    expect(nested(`x = 1\na = ${'{b = '.repeat(deep)}1${'}'.repeat(deep)}\n`)).toMatchObject([{ file: 'deep.toml', line: 2, message }]);
    expect(nested(`x = 1\n\n[${Array(deep).fill('a').join('.')}]\nb = 1\n`)).toMatchObject([{ file: 'deep.toml', line: 3, message }]);
    expect(nested(`x = 1\n${Array(200_000).fill('a').join('.')} = 1\n`)).toMatchObject([{ file: 'deep.toml', line: 2, message }]);
    // A header 60 deep holding an inline value 60 deep: the two add up.
    expect(nested(`[${Array(60).fill('a').join('.')}]\nb = ${'['.repeat(60)}${']'.repeat(60)}\n`)).toMatchObject([{ line: 2, message }]);
    expect(nested(`a = ${'['.repeat(MAX_NESTING_DEPTH - 1)}${']'.repeat(MAX_NESTING_DEPTH - 1)}\n`)).toEqual([]);
  });

  it('in YAML: flow and block collections, at their line and column', () => {
    const deep = 20_000;
    const nested = (text: string) => errorsOf((issues) => parseYaml(text, 'deep.yaml', issues));
    const message = expect.stringContaining(`nested more than ${MAX_NESTING_DEPTH} levels deep`);
    expect(nested(`a: 1\nb: ${'['.repeat(deep)}${']'.repeat(deep)}\n`)).toEqual([
      expect.objectContaining({ file: 'deep.yaml', line: 2, column: 3 + MAX_NESTING_DEPTH, message }),
    ]);
    expect(nested(`a: 1\nb: ${'{a: '.repeat(deep)}1${'}'.repeat(deep)}\n`)).toMatchObject([{ line: 2, message }]);
    expect(nested(`a: 1\nb: ${'['.repeat(deep)}\n`)).toMatchObject([{ line: 2, message }]);
    expect(nested(`- ${'- '.repeat(deep)}x\n`)).toMatchObject([{ line: 1, message }]);
    for (const error of [...nested(`${'['.repeat(deep)}`), ...nested(`${'- '.repeat(deep)}`)]) expect(error.text).not.toContain('stack');
    expect(nested(`${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}\n`)).toEqual([]);
  });

  it('in a prefect.yaml, through the loader', () => {
    const file = temp.write('deep.yaml', `deployments:\n  - name: d\n    parameters:\n      p: ${'['.repeat(deep)}${']'.repeat(deep)}\n`);
    expect(errorsOf((issues) => loadDeployments([file], { env: {} }, issues))).toMatchObject([{ file, line: 4, message: expect.stringContaining('nested more than') }]);
  });

  it('in an environment override, naming the variable', () => {
    const file = temp.write('deep-vars.toml', 'LIST = []\n');
    const errors = errorsOf((issues) => loadVariables([file], { env: { LIST: '['.repeat(5000) }, stringValues: false, fromEnv: [] }, issues));
    expect(errors).toMatchObject([{ file, line: 1, key: 'LIST', message: expect.stringMatching(/LIST .*line 1, column 101: nested more than/) }]);
  });
});
