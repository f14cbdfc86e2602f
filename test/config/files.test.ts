import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFsError, readTextFile } from '../../src/config/files.js';
import { IssueList } from '../../src/errors.js';
import { useTempDir } from './temp.js';

const temp = useTempDir();
const options = { maxBytes: 100, what: 'vars file', key: '-v' };

function read(path: string, overrides: Partial<typeof options> & { rejectEmpty?: boolean } = {}) {
  const issues = new IssueList();
  const text = readTextFile(path, { ...options, ...overrides }, issues);
  return { text, issues: issues.items };
}

/** readTextFile in a child process that keeps uid 0 but has neither capability that bypasses file permissions. */
function readWithoutDacOverride(path: string): { text?: string; issues: unknown[] } {
  const root = join(import.meta.dirname, '..', '..', 'src');
  const script = `
    const { readTextFile } = await import(${JSON.stringify(join(root, 'config', 'files.ts'))});
    const { IssueList } = await import(${JSON.stringify(join(root, 'errors.ts'))});
    const issues = new IssueList();
    const text = readTextFile(process.argv[1], ${JSON.stringify(options)}, issues);
    process.stdout.write(JSON.stringify({ text, issues: issues.items }));`;
  const dropped = '-dac_override,-dac_read_search';
  const output = execFileSync('setpriv', [`--bounding-set=${dropped}`, `--inh-caps=${dropped}`, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script, path], {
    encoding: 'utf8',
  });
  return JSON.parse(output) as { text?: string; issues: unknown[] };
}

function expectProblem(path: string, fragment: string, overrides: Parameters<typeof read>[1] = {}) {
  const { text, issues } = read(path, overrides);
  expect(text).toBeUndefined();
  expect(issues).toEqual([{ file: path, key: '-v', message: expect.stringContaining(fragment), severity: 'error' }]);
}

describe('readTextFile', () => {
  it('returns the text of a UTF-8 file', () => {
    expect(read(temp.write('plain.txt', 'grüezi\n'))).toEqual({ text: 'grüezi\n', issues: [] });
  });

  it('drops a UTF-8 byte order mark', () => {
    expect(read(temp.write('bom.txt', '\uFEFFa = 1\n')).text).toBe('a = 1\n');
  });

  it('reports a missing file', () => {
    expectProblem(join(temp.dir, 'absent.toml'), 'vars file not found; check the path');
  });

  it('reports a path through a file as not found', () => {
    const file = temp.write('a-file', 'x');
    expectProblem(join(file, 'inside.toml'), 'the path or a part of it is not a directory');
  });

  it('reports a directory', () => {
    const dir = join(temp.dir, 'a-directory');
    mkdirSync(dir);
    expectProblem(dir, 'vars file is a directory; give the path of a file');
  });

  it('reports a fifo without waiting for a writer', () => {
    const path = join(temp.dir, 'a-fifo');
    execFileSync('mkfifo', [path]);
    expectProblem(path, 'is not a regular file');
  });

  it('reports a socket', async () => {
    const path = join(temp.dir, 'a-socket');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      expectProblem(path, 'is not a regular file');
    } finally {
      server.close();
    }
  });

  it('reports a device', () => {
    expectProblem('/dev/null', 'is not a regular file');
  });

  it('reports a symlink loop', () => {
    const first = join(temp.dir, 'loop-a');
    symlinkSync(join(temp.dir, 'loop-b'), first);
    symlinkSync(first, join(temp.dir, 'loop-b'));
    expectProblem(first, 'symlink loop');
  });

  it('reports a file it may not read, also where the tests run as root', () => {
    const path = temp.write('secret-mode.txt', 'x');
    execFileSync('chmod', ['000', path]);
    if (process.getuid?.() !== 0) {
      expectProblem(path, 'permission denied');
      return;
    }
    // Root reads any file through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: the same read runs in
    // a child process started without them (setpriv, util-linux), as a container without them would.
    const result = readWithoutDacOverride(path);
    expect(result.text).toBeUndefined();
    expect(result.issues).toEqual([{ file: path, key: '-v', message: expect.stringContaining('permission denied'), severity: 'error' }]);
  });

  it('describes a permission error even where the tests run as root', () => {
    const error = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    expect(describeFsError(error, 'vars file')).toBe('vars file is not readable (permission denied); make it readable by the user this program runs as');
  });

  it('refuses a file larger than maxBytes', () => {
    expect(read(temp.write('exact.txt', 'x'.repeat(100))).text).toHaveLength(100);
    expectProblem(temp.write('large.txt', 'x'.repeat(101)), 'vars file is larger than 100 bytes');
  });

  it.runIf(process.platform === 'linux')('refuses a file whose size stat does not report', () => {
    // procfs reports size 0 for files that do hold text.
    expectProblem('/proc/self/status', 'is larger than 10 bytes', { maxBytes: 10 });
  });

  it('reports bytes that are not UTF-8', () => {
    expectProblem(temp.write('latin1.txt', Buffer.from([0x61, 0xe9, 0x0a])), 'is not valid UTF-8; save it with UTF-8 encoding');
  });

  it('accepts an empty file unless told to reject it', () => {
    const path = temp.write('empty.txt', '');
    expect(read(path)).toEqual({ text: '', issues: [] });
    expectProblem(path, 'vars file is empty', { rejectEmpty: true });
  });
});
