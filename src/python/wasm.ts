// The WebAssembly of the Python grammar: web-tree-sitter's runtime and tree-sitter-python. Read from
// node_modules here (tests, tsx scripts); the bundle replaces this module with one that embeds both
// files (scripts/bundle.mjs), so that the shipped program is one module and reads no file for them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function runtimeWasm(): Uint8Array {
  return readFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'));
}

export function pythonWasm(): Uint8Array {
  return readFileSync(require.resolve('tree-sitter-python/tree-sitter-python.wasm'));
}
