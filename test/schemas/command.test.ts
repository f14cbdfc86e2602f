// `openem-config schemas`: lists the schemas, prints one, or writes them all, as its help says.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { DOCUMENTS, schemaText } from '../../src/schemas/documents.js';
import { useTempDir } from '../config/temp.js';
import { runCli } from '../helpers/cli.js';

const temp = useTempDir();

describe('openem-config schemas', () => {
  it('writes every schema into --out DIR as <name>.json, creating DIR', async () => {
    const dir = join(temp.dir, 'made', 'here');
    const result = await runCli(['schemas', '--out', dir]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(`Wrote ${DOCUMENTS.length} schemas to ${dir}`);
    expect(readdirSync(dir).sort()).toEqual(DOCUMENTS.map((document) => `${document.name}.json`).sort());
    for (const document of DOCUMENTS) {
      const text = readFileSync(join(dir, `${document.name}.json`), 'utf8');
      expect(text).toBe(schemaText(document));
      expect(JSON.parse(text)).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' });
    }
  });

  it('prints one schema by name, and refuses an unknown name with the known ones', async () => {
    const vars = DOCUMENTS.find((document) => document.name === 'vars')!;
    expect(await runCli(['schemas', 'vars'])).toMatchObject({ code: EXIT.ok, stdout: schemaText(vars) });
    const unknown = await runCli(['schemas', 'var']);
    expect(unknown.code).toBe(EXIT.invalidInput);
    expect(unknown.stderr).toContain('no schema "var"; the schemas are project, vars, limits, prefect-yaml');
    const both = await runCli(['schemas', 'vars', '--out', temp.dir]);
    expect(both.code).toBe(EXIT.invalidInput);
    expect(both.stderr).toContain('not both');
  });

  it('lists each schema with the line that points a file at it', async () => {
    const result = await runCli(['schemas']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('#:schema ./.schemas/project.json');
    expect(result.stdout).toContain('#:schema ./.schemas/limits.json');
    expect(result.stdout).toContain('# yaml-language-server: $schema=./.schemas/prefect-yaml.json');
    expect(result.stdout.split('\n').filter((line) => /^\S/.test(line)).map((line) => line.split(' ')[0])).toEqual(DOCUMENTS.map((document) => document.name));
  });

  it('says in --help what it does and which editors read the directives', async () => {
    const help = (await runCli(['schemas', '--help'])).stdout;
    expect(help).toContain('--out <dir>');
    expect(help).toContain('#:schema PATH');
    expect(help).toContain('# yaml-language-server: $schema=PATH');
  });
});
