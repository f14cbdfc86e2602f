// migrate rewrites a prefect.yaml in place: the line that names its schema stays the first line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { withDirective } from '../../src/schemas/documents.js';
import { useTempDir } from '../config/temp.js';
import { runCli } from '../helpers/cli.js';
import { directiveOf, parseFile, schemaErrors } from './validator.js';

const temp = useTempDir();

it('keeps the schema line of a file it rewrites, and the result is valid against that schema', async () => {
  const legacy = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'migrate', 'git-project.yaml'), 'utf8');
  const path = temp.write('prefect.yaml', withDirective('prefect-yaml', legacy));
  const result = await runCli(['migrate', path]);
  expect(result.code, result.stderr).toBe(EXIT.ok);
  const rewritten = readFileSync(path, 'utf8');
  expect(rewritten).not.toBe(withDirective('prefect-yaml', legacy));
  expect(rewritten.split('\n')[0]).toBe('# yaml-language-server: $schema=./.schemas/prefect-yaml.json');
  expect(directiveOf(rewritten)).toBe('prefect-yaml');
  expect(schemaErrors('prefect-yaml', parseFile(path, rewritten))).toEqual([]);
});
