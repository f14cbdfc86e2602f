// What `export` writes, on the msw fake: every file apply reads starts with the line naming its
// schema in .schemas/, validates against that schema, and the stale-file check knows the schemas.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { http, HttpResponse } from 'msw';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { findDocument, schemaText } from '../../src/schemas/documents.js';
import { useTempDir } from '../config/temp.js';
import { useFake } from '../fake/use-fake.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLE_ENV, writeSecretFiles } from '../shared/example-cases.js';
import { directiveOf, parseFile, schemaErrors } from './validator.js';

const { fake, server } = useFake();
// What export reads besides: none of these on the fake (test/export/run.test.ts exports deployments and automations).
beforeEach(() => {
  server.use(...['saved_searches', 'work_pools', 'deployments', 'flows', 'automations'].map((what) => http.post(`${fake.baseUrl}/${what}/filter`, () => HttpResponse.json([]))));
});
const temp = useTempDir();
const repo = resolve(import.meta.dirname, '..', '..');

// What the fake serves besides variables and secrets: tag and global limits, and a block.
const LIMITS = `[global_limits.database]
limit = 5
slot_decay_per_second = 0.5

[blocks.secret.registry-token]
value = "not-a-real-token"
`;

/** Every file below `dir`, relative to it. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(dir, join(prefix, entry.name)) : [join(prefix, entry.name)],
  );
}

describe('export and the schemas', () => {
  it('writes each file apply reads with its schema line, valid against that schema, and the schemas beside them', async () => {
    const env = { PREFECT_API_URL: fake.baseUrl, ...writeSecretFiles(), ...EXAMPLE_ENV };
    const limits = temp.write('limits-in.toml', LIMITS);
    const applied = await runCli(
      [
        '--no-project',
        '-v', join(repo, 'vars/vars_dev.toml'),
        '-s', 'S3_USER_FILE', 'GITHUB_USER_FILE', 'GITHUB_PASSWORD_FILE',
        '-l', join(repo, 'vars/concurrency-limits.toml'),
        '-l', limits,
      ],
      { env },
    );
    expect(applied.stderr).not.toContain('error');
    expect(applied.code, applied.stdout).toBe(EXIT.ok);

    const dir = join(temp.dir, 'export');
    const exported = await runCli(['export', '--to', dir, '--only', 'variables,secrets,limits,blocks'], { env: { PREFECT_API_URL: fake.baseUrl } });
    expect(exported.code, exported.stderr).toBe(EXIT.ok);

    const files = listFiles(dir).sort();
    const withSchema = files.filter((file) => !file.startsWith('.schemas/') && !file.startsWith('job-templates/') && file !== 'README.md');
    expect(withSchema).toEqual(expect.arrayContaining(['openem-config.toml', 'limits.toml']));
    expect(withSchema.some((file) => /^vars.*\.toml$/.test(file))).toBe(true);
    const named = new Set<string>();
    for (const file of withSchema) {
      const text = readFileSync(join(dir, file), 'utf8');
      const schema = directiveOf(text);
      expect(schema, `${file} names its schema`).toBeDefined();
      named.add(schema!);
      expect(schemaErrors(schema!, parseFile(file, text)), file).toEqual([]);
    }
    // Exactly the schemas the files name, as `openem-config schemas` writes them.
    expect(files.filter((file) => file.startsWith('.schemas/')).sort()).toEqual([...named].map((name) => `.schemas/${name}.json`).sort());
    for (const name of named) expect(readFileSync(join(dir, '.schemas', `${name}.json`), 'utf8')).toBe(schemaText(findDocument(name)!));

    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('The first line of each file names its JSON Schema in `.schemas/`');

    // The export applies back from its own project file, schema lines and all.
    const back = await runCli(['validate', '-c', join(dir, 'openem-config.toml')], {
      env: { ...writeSecretFiles({ S3_USER_FILE: 'a', GITHUB_USER_FILE: 'b', GITHUB_PASSWORD_FILE: 'c', REGISTRY_TOKEN_FILE: 'd' }), ...EXAMPLE_ENV },
    });
    expect(back.code, back.stderr).toBe(EXIT.ok);

    // Without --force an existing schema file is not overwritten; with it, a schema the export no longer writes is named.
    const again = await runCli(['export', '--to', dir, '--only', 'variables'], { env: { PREFECT_API_URL: fake.baseUrl } });
    expect(again.code).toBe(EXIT.invalidInput);
    expect(again.stderr).toContain('.schemas/project.json');
    const forced = await runCli(['export', '--to', dir, '--only', 'variables', '--force'], { env: { PREFECT_API_URL: fake.baseUrl } });
    expect(forced.code, forced.stderr).toBe(EXIT.ok);
    expect(forced.stderr).toMatch(/also holds .*\.schemas\/limits\.json/);
    expect(existsSync(join(dir, '.schemas', 'vars.json'))).toBe(true);
    writeFileSync(join(dir, '.schemas', 'notes.json'), '{}');
    const notes = await runCli(['export', '--to', dir, '--only', 'variables', '--force'], { env: { PREFECT_API_URL: fake.baseUrl } });
    expect(notes.stderr).not.toContain('notes.json');
  });
});
