import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTRYPOINT_PATTERN, findModuleFile, moduleFiles, parseEntrypoint } from '../../src/python/entrypoint.js';

describe('parseEntrypoint', () => {
  it('splits the forms Prefect imports where Prefect splits them', () => {
    expect(parseEntrypoint('./flows/etl.py:etl')).toEqual({ form: 'file', path: './flows/etl.py', functionName: 'etl' });
    expect(parseEntrypoint('C:/work/etl.py:etl')).toEqual({ form: 'file', path: 'C:/work/etl.py', functionName: 'etl' });
    expect(parseEntrypoint('pipelines.etl:run_etl')).toEqual({ form: 'module', module: 'pipelines.etl', functionName: 'run_etl' });
    expect(parseEntrypoint('flows:sync')).toEqual({ form: 'module', module: 'flows', functionName: 'sync' });
    expect(parseEntrypoint('pipelines.etl.run_etl')).toEqual({ form: 'module', module: 'pipelines.etl', functionName: 'run_etl' });
    expect(parseEntrypoint('données.flux:étape')).toEqual({ form: 'module', module: 'données.flux', functionName: 'étape' });
  });

  it('refuses what Prefect would not import as a flow function', () => {
    for (const text of ['etl', 'etl.py', 'etl.py:', ':etl', 'etl.py:Jobs.run', '.etl:run', 'pipe-lines.etl:run', 'pipelines..etl:run', 'pipelines.etl:', 'pipelines/etl:run', 'etl.py:1run', '']) {
      expect(parseEntrypoint(text), text).toBeUndefined();
    }
  });

  it('names the files a module path may be, the package before the module, as Python tries them', () => {
    expect(moduleFiles('pipelines.etl')).toEqual(['pipelines/etl/__init__.py', 'pipelines/etl.py']);
  });


  it('accepts exactly what the schema pattern accepts', () => {
    const cases = ['./flows/etl.py:etl', 'pipelines.etl:run', 'pipelines.etl.run', 'etl.py', 'a.py:b.py:c', 'pkg.py:mod:func', 'a.py:x.y', 'x.py:y', 'é.py:ü'];
    for (const text of cases) expect(ENTRYPOINT_PATTERN.test(text), text).toBe(parseEntrypoint(text) !== undefined);
    const piece = fc.constantFrom('a', 'b_1', 'é', '.', ':', '.py', '/', '-', ' ', '1', 'py');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const text = pieces.join('');
        expect(ENTRYPOINT_PATTERN.test(text), text).toBe(parseEntrypoint(text) !== undefined);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('findModuleFile', () => {
  /** A directory tree as the list of its files; directories are what holds them. */
  const tree = (...files: string[]) => ({
    isFile: (path: string) => files.includes(path),
    isDirectory: (path: string) => files.some((file) => file.startsWith(`${path}/`)),
  });

  it('finds the package before the module of the same name, through regular and namespace packages', () => {
    expect(findModuleFile('/p', 'pkg.mod', tree('/p/pkg/__init__.py', '/p/pkg/mod.py', '/p/pkg/mod/__init__.py'))).toEqual({ file: '/p/pkg/mod/__init__.py' });
    expect(findModuleFile('/p', 'pkg.mod', tree('/p/pkg/mod.py'))).toEqual({ file: '/p/pkg/mod.py' });
    expect(findModuleFile('/p', 'a.b.c', tree('/p/a/__init__.py', '/p/a/b/c.py'))).toEqual({ file: '/p/a/b/c.py' });
    expect(findModuleFile('/p', 'flows', tree('/p/flows.py'))).toEqual({ file: '/p/flows.py' });
  });

  it('says why there is none: a module file where a package is needed, no such package, no such module', () => {
    expect(findModuleFile('/p', 'pkg.mod', tree('/p/pkg.py', '/p/pkg/mod.py'))).toEqual({ problem: '`pkg` is the module pkg.py, not a package, so Python finds no `pkg.mod` in it' });
    expect(findModuleFile('/p', 'pkg.mod', tree('/p/other.py'))).toEqual({ problem: 'there is no package `pkg` (no directory pkg)' });
    expect(findModuleFile('/p', 'pkg.mod', tree('/p/pkg/other.py'))).toEqual({ problem: 'the module `pkg.mod` is neither pkg/mod/__init__.py nor pkg/mod.py' });
    // A package directory with __init__.py wins over a module file of its name.
    expect(findModuleFile('/p', 'pkg.mod', tree('/p/pkg.py', '/p/pkg/__init__.py', '/p/pkg/mod.py'))).toEqual({ file: '/p/pkg/mod.py' });
  });
});
