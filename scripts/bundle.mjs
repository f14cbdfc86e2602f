// Bundles the compiled program (dist/main.js, from tsc) and its dependencies into one ES module,
// dist/openem-config.mjs, which bin/openem-config runs. A one-shot command pays module resolution
// and loading on every start: one file instead of some 200 halves the time to the first request.
// Plain JavaScript, so that `npm run build` needs nothing but tsc and esbuild.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pino-pretty stays a separate package: log.ts loads it only when stderr is a terminal, through
 * require(), which a bundle cannot see into. It is the one runtime dependency left.
 */
export const EXTERNAL = ['pino-pretty'];

/**
 * src/python/wasm.ts reads the WASM of the Python grammar from node_modules; in the bundle it is
 * replaced by a module holding their bytes (esbuild's binary loader), so that the bundle stays one
 * module and the program reads no file for them (the image's node_modules has only pino-pretty).
 */
export const embeddedWasm = {
  name: 'openem-embedded-wasm',
  setup(build) {
    build.onLoad({ filter: /[\\/]python[\\/]wasm\.[jt]s$/ }, () => ({
      contents: [
        "import runtime from 'web-tree-sitter/web-tree-sitter.wasm';",
        "import python from 'tree-sitter-python/tree-sitter-python.wasm';",
        'export const runtimeWasm = () => runtime;',
        'export const pythonWasm = () => python;',
      ].join('\n'),
      resolveDir: join(dirname(fileURLToPath(import.meta.url)), '..'),
      loader: 'js',
    }));
    build.onLoad({ filter: /\.wasm$/ }, async (args) => ({ contents: readFileSync(args.path), loader: 'binary' }));
  },
};

/**
 * Writes the bundle of `entry` (the tsc output's main.js) to `outfile`, and beside it
 * `<outfile without .mjs>.licenses.txt`: the licence of every package the bundle contains, since a
 * bundle keeps their code but not the licence files their terms ask to ship with it.
 */
export async function bundle(entry, outfile) {
  const result = await build({
    metafile: true,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22.12',
    external: EXTERNAL,
    // The Python grammar: its WASM files embedded (see src/python/wasm.ts).
    plugins: [embeddedWasm],
    // Not minified: stack traces of an internal error (exit 70) stay readable, and a minified
    // bundle measured no faster to start.
    legalComments: 'inline',
    logLevel: 'warning',
    // Some bundled CommonJS packages require() Node's own modules, which an ES module cannot
    // without this.
    banner: { js: "import { createRequire as __openemCreateRequire } from 'node:module'; const require = __openemCreateRequire(import.meta.url);" },
  });
  writeFileSync(outfile.replace(/\.mjs$/, '.licenses.txt'), licenceNotice(Object.keys(result.metafile.inputs)));
}

/** The package directories the bundle's inputs come from, e.g. node_modules/@scope/name. */
function packageDirs(inputs) {
  const dirs = new Set();
  for (const input of inputs) {
    // The last node_modules in the path; a name never starts with a dot (node_modules/.cache is no package).
    const match = /^(.*node_modules\/(?:@[^/.][^/]*\/)?[^/.@][^/]*)\//.exec(input);
    if (match && existsSync(join(match[1], 'package.json'))) dirs.add(match[1]);
  }
  return [...dirs].sort();
}

function licenceNotice(inputs) {
  const sections = [
    'openem-config bundles the following packages into dist/openem-config.mjs.',
    'Their licences follow, as each package ships them.',
  ];
  for (const dir of packageDirs(inputs)) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(name));
    const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `(no licence file in the package; package.json says: ${pkg.license ?? 'nothing'})`;
    sections.push(`${'='.repeat(78)}\n${pkg.name}@${pkg.version} (${pkg.license ?? 'no licence field'})\n${'='.repeat(78)}\n\n${text}`);
  }
  return `${sections.join('\n\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  await bundle(join(dist, 'main.js'), join(dist, 'openem-config.mjs'));
  // The JSON Schemas of the input files, for editors, ship in the npm package (schemas/): written
  // by the program just bundled, so that they are the ones its `schemas` command writes.
  const { main } = await import(join(dist, 'openem-config.mjs'));
  const out = join(dist, '..', 'schemas');
  const write = (text) => process.stderr.write(text);
  const code = await main({ argv: ['schemas', '--out', out], env: process.env, stdout: () => {}, stderr: write, stderrIsTTY: false });
  if (code !== 0) throw new Error(`writing the JSON Schemas into ${out} failed (exit ${code})`);
}
