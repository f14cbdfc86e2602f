// Python source to a syntax tree, with tree-sitter's Python grammar (web-tree-sitter +
// tree-sitter-python, compiled to WebAssembly). Both WASM files are embedded in the bundle (wasm.ts),
// so that it stays one module and reads no file at run time.
//
// Instantiating WebAssembly is asynchronous, reading the inputs is not: run.ts awaits
// preparePythonReader() once, before it reads inputs that name flow files, and only then. A run
// without --flows-dir (and `--version`) never compiles the grammar.
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';
import { SourceProblem } from './problem.js';
import { pythonWasm, runtimeWasm } from './wasm.js';

export type SyntaxNode = Node;

let parser: Parser | undefined;
let preparing: Promise<void> | undefined;

/** Compiles the grammar, once per process. */
export function preparePythonReader(): Promise<void> {
  preparing ??= (async () => {
    await Parser.init({ wasmBinary: runtimeWasm() });
    const instance = new Parser();
    instance.setLanguage(await Language.load(pythonWasm()));
    parser = instance;
  })();
  return preparing;
}

/** Parses `source`; a file Python would refuse to compile (a syntax error) is a SourceProblem with its line. */
export function parseModule(source: string): Tree {
  if (!parser) throw new Error('the Python reader is not ready: await preparePythonReader() before reading flow files');
  const tree = parser.parse(source);
  if (!tree) throw new SourceProblem('the file could not be parsed as Python');
  if (tree.rootNode.hasError) {
    // The grammar recovers from an error by setting aside the smallest region it cannot read: that
    // region is named, where Python's own message would name the exact token.
    const bad = firstError(tree.rootNode);
    const line = (bad?.startPosition.row ?? 0) + 1;
    const last = (bad?.endPosition.row ?? 0) + 1;
    const where = bad?.isMissing ? `\`${bad.type}\` is missing on line ${line}` : `${last > line ? `lines ${line}-${last}` : `line ${line}`} (\`${oneLine(bad?.text ?? '')}\`) cannot be read`;
    tree.delete();
    throw new SourceProblem(`the file is not valid Python: ${where}; Prefect could not import it either`, line);
  }
  return tree;
}

function firstError(node: Node): Node | undefined {
  if (node.isError || node.isMissing) return node;
  for (const child of node.children) {
    if (child && (child.hasError || child.isMissing)) return firstError(child);
  }
  return undefined;
}

function oneLine(text: string): string {
  const first = text.split(/\r?\n/)[0] ?? '';
  return first.length > 40 ? `${first.slice(0, 40)}...` : first;
}

/** 1-based line of a node. */
export function lineOf(node: Node): number {
  return node.startPosition.row + 1;
}

/** The child of `node` in `field`, or undefined. */
export function field(node: Node, name: string): Node | undefined {
  return node.childForFieldName(name) ?? undefined;
}

/** The named children, skipping comments (tree-sitter keeps them as extra nodes anywhere). */
export function namedChildren(node: Node): Node[] {
  return node.namedChildren.filter((child): child is Node => child !== null && child.type !== 'comment');
}
