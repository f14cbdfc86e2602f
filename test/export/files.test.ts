// Writing the export: all files or none, never over existing files without --force.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { writeExport } from '../../src/export/files.js';
import { useTempDir } from '../config/temp.js';

const temp = useTempDir();
const files = [
  { path: 'vars.toml', content: '[variables]\nA = 1\n', summary: '1 variable' },
  { path: 'job-templates/p.json', content: '{}\n', summary: 'template' },
];

describe('writeExport', () => {
  it('creates the directory and the files', () => {
    const dir = join(temp.dir, 'new', 'export');
    expect(writeExport(dir, files, { force: false })).toEqual([]);
    expect(readFileSync(join(dir, 'vars.toml'), 'utf8')).toBe('[variables]\nA = 1\n');
    expect(readFileSync(join(dir, 'job-templates', 'p.json'), 'utf8')).toBe('{}\n');
  });

  it('refuses to overwrite an existing file without --force, and writes none of the files', () => {
    const dir = join(temp.dir, 'existing');
    temp.write('existing/job-templates/p.json', 'mine');
    expect(() => writeExport(dir, files, { force: false })).toThrow(UsageError);
    expect(() => writeExport(dir, files, { force: false })).toThrow(/already holds job-templates\/p.json; export into an empty directory, or pass --force/);
    expect(existsSync(join(dir, 'vars.toml'))).toBe(false);
    expect(readFileSync(join(dir, 'job-templates', 'p.json'), 'utf8')).toBe('mine');
  });

  it('overwrites with --force, and warns about files an earlier export left behind', () => {
    const dir = join(temp.dir, 'again');
    temp.write('again/vars.toml', 'old');
    temp.write('again/vars-old-tag.toml', 'old');
    temp.write('again/job-templates/gone.json', '{}');
    temp.write('again/notes.txt', 'not an export file');
    const warnings = writeExport(dir, files, { force: true });
    expect(readFileSync(join(dir, 'vars.toml'), 'utf8')).toBe(files[0]!.content);
    expect(warnings).toEqual([{ subject: dir, message: expect.stringContaining('also holds job-templates/gone.json, vars-old-tag.toml, which this export did not write') }]);
  });

  it('refuses a path that is a file', () => {
    const file = temp.write('plain-file', 'x');
    expect(() => writeExport(file, files, { force: true })).toThrow(/is not a directory/);
  });
});
