import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTRYPOINT_PATTERN, moduleFiles, parseEntrypoint } from '../../src/python/entrypoint.js';

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

  it('names the files a module path may be, the module before the package', () => {
    expect(moduleFiles('pipelines.etl')).toEqual(['pipelines/etl.py', 'pipelines/etl/__init__.py']);
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
