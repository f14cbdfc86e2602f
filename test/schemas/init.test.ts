// What `init` writes: each input starts with the line naming its schema in .schemas/, validates
// against that schema, and the schemas are the ones `openem-config schemas` writes.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { DOCUMENTS, schemaText } from '../../src/schemas/documents.js';
import { useTempDir } from '../config/temp.js';
import { runCli } from '../helpers/cli.js';
import { directiveOf, parseFile, schemaErrors } from './validator.js';

const temp = useTempDir();
const INPUTS = ['openem-config.toml', 'vars.toml', 'vars_dev.toml', 'vars_prod.toml', 'limits.toml', 'prefect.yaml'];

describe('init and the schemas', () => {
  it('starts every input with its schema line, and each validates against the schema it names', async () => {
    const dir = join(temp.dir, 'starter');
    expect((await runCli(['init', dir])).code).toBe(EXIT.ok);
    const named: string[] = [];
    for (const file of INPUTS) {
      const text = readFileSync(join(dir, file), 'utf8');
      const schema = directiveOf(text);
      expect(schema, file).toBeDefined();
      named.push(schema!);
      // The directive is relative to the file, and the schema is there.
      const relative = /\$schema=(\S+)|#:schema (\S+)/.exec(text)!.slice(1).find(Boolean)!;
      expect(readFileSync(join(dir, relative), 'utf8')).toBe(schemaText(DOCUMENTS.find((document) => document.name === schema)!));
      expect(schemaErrors(schema!, parseFile(file, text)), file).toEqual([]);
    }
    expect(named).toEqual(['project', 'vars', 'vars', 'vars', 'limits', 'prefect-yaml']);
  });

  it('does not overwrite a schema file it would write, unless --force', async () => {
    const dir = join(temp.dir, 'only-schema');
    expect((await runCli(['init', dir])).code).toBe(EXIT.ok);
    for (const file of [...INPUTS, 'flows/example.py', '.schemas/project.json', '.schemas/vars.json', '.schemas/prefect-yaml.json']) rmSync(join(dir, file));
    const again = await runCli(['init', dir]);
    expect(again.code).toBe(EXIT.invalidInput);
    expect(again.stderr).toContain('already holds .schemas/limits.json;');
    expect((await runCli(['init', dir, '--force'])).code).toBe(EXIT.ok);
  });
});
