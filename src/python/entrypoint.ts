// The forms of a deployment's entrypoint that Prefect imports (prefect/utilities/importtools.py,
// `import_object`): a script and a function (`flows/etl.py:etl`), or a module path from the
// directory prefect deploy runs in, or from an installed package (`pipelines.etl:etl`,
// `pipelines.etl.etl`). A method of a class (`etl.py:Jobs.etl`) is not read.
import { join, relative } from 'node:path';

export type Entrypoint =
  | { form: 'file'; path: string; functionName: string }
  | { form: 'module'; module: string; functionName: string };

/** A Python identifier (PEP 3131, as far as a regular expression can tell). */
const ID = String.raw`[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*`;
const IDENTIFIER = new RegExp(`^${ID}$`, 'u');

const isModulePath = (text: string) => text.split('.').every((part) => IDENTIFIER.test(part));

/**
 * The texts `parseEntrypoint` accepts, as one pattern (for the editors' JSON Schema; a test holds
 * the two in agreement): a file and a function, a module and a function after a colon or the last
 * dot (not a bare `file.py`).
 */
export const ENTRYPOINT_PATTERN = new RegExp(String.raw`^(?:.+\.py:${ID}|${ID}(?:\.${ID})*:${ID}|(?!.*\.py$)${ID}(?:\.${ID})+)$`, 'u');

/** The entrypoint's file or module and function, split where Prefect splits it; undefined for another form. */
export function parseEntrypoint(text: string): Entrypoint | undefined {
  // `etl.py` would import the module etl and look for a function `py` in it.
  if (text.endsWith('.py')) return undefined;
  const colon = text.lastIndexOf(':');
  if (text.includes('.py:')) {
    const functionName = text.slice(colon + 1);
    const path = text.slice(0, colon);
    return path.endsWith('.py') && path.length > 3 && IDENTIFIER.test(functionName) ? { form: 'file', path, functionName } : undefined;
  }
  const split = colon >= 0 ? colon : text.lastIndexOf('.');
  if (split <= 0) return undefined;
  const module = text.slice(0, split);
  const functionName = text.slice(split + 1);
  return isModulePath(module) && IDENTIFIER.test(functionName) ? { form: 'module', module, functionName } : undefined;
}

/** The files, relative to the directory prefect deploy runs in, that a module path may be, in the order Python tries them: the package first. */
export function moduleFiles(module: string): string[] {
  const parts = module.split('.');
  return [join(...parts, '__init__.py'), `${join(...parts)}.py`];
}

export interface FileSystem {
  isFile(path: string): boolean;
  isDirectory(path: string): boolean;
}

/**
 * The file Python imports for `module` from the directory `dir` (what prefect deploy does from the
 * directory it runs in): each enclosing name a package (a directory with `__init__.py`, or without
 * one, a namespace package, unless a module file of that name comes first), the last one the
 * package's `__init__.py`, else the module file; when there is none, why.
 */
export function findModuleFile(dir: string, module: string, fs: FileSystem): { file: string } | { problem: string } {
  const parts = module.split('.');
  let base = dir;
  for (const [index, part] of parts.slice(0, -1).entries()) {
    const name = parts.slice(0, index + 1).join('.');
    const directory = join(base, part);
    if (!fs.isFile(join(directory, '__init__.py'))) {
      if (fs.isFile(`${directory}.py`)) return { problem: `\`${name}\` is the module ${relative(dir, `${directory}.py`)}, not a package, so Python finds no \`${module}\` in it` };
      if (!fs.isDirectory(directory)) return { problem: `there is no package \`${name}\` (no directory ${relative(dir, directory)})` };
    }
    base = directory;
  }
  const candidates = moduleFiles(module);
  for (const file of candidates.map((candidate) => join(dir, candidate))) if (fs.isFile(file)) return { file };
  return { problem: `the module \`${module}\` is neither ${candidates.join(' nor ')}` };
}

export const ENTRYPOINT_FORMS = '`path/to/file.py:function` or a module path such as `package.module:function`';
