// Issue #13: which maintained Python parser reads flow files for openem-config. Measures
// @lezer/python and web-tree-sitter + tree-sitter-python side by side with the reader the bundle
// ships (src/python), on what matters to a one-shot CLI: the bundle's size, the start-up of
// `--version` and of a `validate` no-op of the example configuration, the time to read 500 flow
// files, and whether the fixture flows parse without an error node. Prints a Markdown table.
//
//   npm install --no-save @lezer/python web-tree-sitter tree-sitter-python   # the candidates
//   npm run build && npx tsx scripts/bench/python-parsers.ts [--runs 10]
//
// Each candidate is bundled into its own copy of dist/openem-config.mjs (esbuild, as
// scripts/bundle.mjs does; WASM embedded, so that the bundle stays one module) and, when the command
// line has --flows-dir, reads every .py file under it before the program runs: the cost it would
// add to a validate, which otherwise reads the flows with the shipped reader.
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { measure } from './lib/process.js';
import { spread } from './lib/stats.js';

const repo = resolve(import.meta.dirname, '..', '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 10;
const work = mkdtempSync(join(tmpdir(), 'openem-python-parsers-'));
const fixtureDirs = [join(repo, 'test', 'fixtures', 'flows')];
/** Valid Python that real flow modules contain; each error node here is a misread. */
const constructsDir = mkdtempSync(join(tmpdir(), 'openem-python-constructs-'));
cpSync(join(repo, 'scripts', 'bench', 'python-constructs.py'), join(constructsDir, 'constructs.py'));

/** Each adapter: `init()` (async), `parse(text)` walking every node, `parseTop(text)` the top level only. */
const ADAPTERS: Record<string, string> = {
  // The reader as shipped: every top-level function analysed as a flow, as a deployment would.
  'shipped (src/python)': `
import { analyzeFlowSource } from ${JSON.stringify(join(repo, 'src', 'python', 'flow.ts'))};
import { preparePythonReader } from ${JSON.stringify(join(repo, 'src', 'python', 'syntax.ts'))};
export async function init() { await preparePythonReader(); }
export function parse(text) {
  let nodes = 0;
  for (const match of text.matchAll(/^(?:async[ \\t]+)?def[ \\t]+(\\w+)/gm)) { analyzeFlowSource(text, match[1]); nodes++; }
  return { nodes, errors: 0 };
}
export function parseTop(text) {
  analyzeFlowSource(text, '__none__');
  return { nodes: 0, errors: 0 };
}`,
  '@lezer/python': `
import { parser } from '@lezer/python';
export async function init() {}
export function parse(text) {
  const cursor = parser.parse(text).cursor();
  let nodes = 0, errors = 0;
  do { nodes++; if (cursor.type.isError) errors++; } while (cursor.next());
  return { nodes, errors };
}
export function parseTop(text) {
  const cursor = parser.parse(text).topNode.cursor();
  let nodes = 0;
  if (cursor.firstChild()) do nodes++; while (cursor.nextSibling());
  return { nodes, errors: 0 };
}`,
  'web-tree-sitter + tree-sitter-python': `
import { Parser, Language } from 'web-tree-sitter';
import runtime from 'web-tree-sitter/web-tree-sitter.wasm';
import python from 'tree-sitter-python/tree-sitter-python.wasm';
let parser;
export async function init() {
  await Parser.init({ wasmBinary: runtime });
  parser = new Parser();
  parser.setLanguage(await Language.load(python));
}
export function parse(text) {
  const tree = parser.parse(text);
  const cursor = tree.walk();
  let nodes = 0, errors = 0;
  for (;;) {
    nodes++;
    if (cursor.nodeType === 'ERROR' || cursor.nodeIsMissing) errors++;
    if (cursor.gotoFirstChild()) continue;
    while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) { tree.delete(); return { nodes, errors }; }
  }
}
export function parseTop(text) {
  const tree = parser.parse(text);
  const result = { nodes: tree.rootNode.childCount, errors: tree.rootNode.hasError ? 1 : 0 };
  tree.delete();
  return result;
}`,
};

function pythonFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => name.endsWith('.py')).map((name) => join(dir, name)).sort();
}

const { embeddedWasm } = (await import(join(repo, 'scripts', 'bundle.mjs'))) as { embeddedWasm: Plugin };
const BUNDLE_OPTIONS: BuildOptions = {
  plugins: [embeddedWasm],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22.12',
  external: ['pino-pretty'],
  legalComments: 'inline',
  logLevel: 'warning',
  loader: { '.wasm': 'binary' },
  nodePaths: [join(repo, 'node_modules')],
  banner: { js: "import { createRequire as __openemCreateRequire } from 'node:module'; const require = __openemCreateRequire(import.meta.url);" },
};

/** A copy of the CLI (bin, bundle, package.json) whose bundle also holds `adapter`. */
async function variant(name: string, adapter: string | undefined): Promise<{ name: string; bin: string; bundleBytes: number; adapterFile?: string }> {
  const dir = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(join(dir, 'dist'), { recursive: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  cpSync(join(repo, 'package.json'), join(dir, 'package.json'));
  cpSync(join(repo, 'bin', 'openem-config'), join(dir, 'bin', 'openem-config'));
  const entry = join(dir, 'entry.mjs');
  let adapterFile: string | undefined;
  if (adapter === undefined) writeFileSync(entry, `export { main } from ${JSON.stringify(join(repo, 'dist', 'main.js'))};\n`);
  else {
    adapterFile = join(dir, 'adapter.mjs');
    writeFileSync(adapterFile, adapter);
    writeFileSync(
      entry,
      [
        `import { readdirSync, readFileSync } from 'node:fs';`,
        `import { join } from 'node:path';`,
        `import * as candidate from './adapter.mjs';`,
        `export { main } from ${JSON.stringify(join(repo, 'dist', 'main.js'))};`,
        `const at = process.argv.indexOf('--flows-dir');`,
        `if (at > 0) {`,
        `  const dir = process.argv[at + 1];`,
        `  await candidate.init();`,
        `  for (const name of readdirSync(dir, { recursive: true })) if (name.endsWith('.py')) candidate.parse(readFileSync(join(dir, name), 'utf8'));`,
        `}`,
      ].join('\n'),
    );
  }
  const outfile = join(dir, 'dist', 'openem-config.mjs');
  await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile });
  return { name, bin: join(dir, 'bin', 'openem-config'), bundleBytes: statSync(outfile).size, ...(adapterFile ? { adapterFile } : {}) };
}

/** A program that reads `dir`'s flow files with the adapter and prints the time it took. */
async function readerProgram(adapterFile: string): Promise<string> {
  const entry = join(adapterFile, '..', 'read-all.mjs');
  writeFileSync(
    entry,
    [
      `import { readdirSync, readFileSync } from 'node:fs';`,
      `import { join } from 'node:path';`,
      `import * as candidate from './adapter.mjs';`,
      `const [dir, mode] = process.argv.slice(2);`,
      `const started = performance.now();`,
      `await candidate.init();`,
      `let errors = 0, nodes = 0, files = 0;`,
      `for (const name of readdirSync(dir, { recursive: true }).sort()) {`,
      `  if (!name.endsWith('.py')) continue;`,
      `  const result = (mode === 'top' ? candidate.parseTop : candidate.parse)(readFileSync(join(dir, name), 'utf8'));`,
      `  errors += result.errors; nodes += result.nodes; files++;`,
      `}`,
      `console.log(JSON.stringify({ ms: performance.now() - started, files, nodes, errors }));`,
    ].join('\n'),
  );
  const outfile = entry.replace(/\.mjs$/, '.bundle.mjs');
  await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile });
  return outfile;
}

/** The reader program's answer; its error output when it failed. */
async function readAll(program: string, dir: string, mode: 'top' | 'all'): Promise<{ ms: number; errors: number }> {
  const result = await measure({ command: process.execPath, args: [program, dir, mode], env });
  if (result.exitCode !== 0) throw new Error(`${program} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { ms: number; errors: number };
}

/** 500 flow files: the fixture flows over and over, each copy with a line of its own. */
function flows500(): string {
  const dir = join(work, 'flows500');
  mkdirSync(dir);
  const sources = fixtureDirs.flatMap(pythonFiles);
  for (let i = 0; i < 500; i += 1) writeFileSync(join(dir, `flow_${i}.py`), `# copy ${i}\n${readFileSync(sources[i % sources.length] as string, 'utf8')}`);
  return dir;
}

function ms(values: number[]): string {
  const s = spread(values);
  return `${s.median.toFixed(0)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
}

const env = {
  ...process.env,
  PREFECT_RUNTIME_IMAGE: 'registry.example.org/archiver-runtime:latest',
  PREFECT_NETWORK: 'dev_internal',
  PREFECT_ARCHIVER_HOST_SCRATCH: '/data/scratch',
  ARCHIVER_SCRATCH_FOLDER: '/scratch',
  S3_ENDPOINT: 'http://minio:9000',
  S3_EXTERNAL_ENDPOINT: 'https://s3.example.org',
};
const validateArgs = [
  'validate',
  '--no-project',
  '-v', join(repo, 'vars', 'vars_dev.toml'),
  '-l', join(repo, 'vars', 'concurrency-limits.toml'),
  '-l', join(repo, 'vars', 'work-pools_dev.toml'),
  '-d', join(repo, 'vars', 'prefect.yaml'),
  '--flows-dir', join(repo, 'test', 'fixtures', 'flows'),
];

try {
  const variants = [];
  for (const [name, adapter] of Object.entries(ADAPTERS)) variants.push(await variant(name, name.startsWith('shipped') ? undefined : adapter));
  const times = new Map(variants.map((v) => [v.name, { version: [] as number[], validate: [] as number[] }]));
  for (const v of variants) {
    // Unmeasured: fills the compile cache and the page cache.
    await measure({ command: process.execPath, args: [v.bin, '--version'], env });
    const check = await measure({ command: process.execPath, args: [v.bin, ...validateArgs], env });
    if (check.exitCode !== 0) throw new Error(`${v.name}: validate exited ${check.exitCode}: ${check.stderr}`);
  }
  // Interleaved, so that a busy moment of the machine falls on every variant alike.
  for (let i = 0; i < runs; i += 1) {
    for (const v of variants) {
      times.get(v.name)?.version.push((await measure({ command: process.execPath, args: [v.bin, '--version'], env })).wallMs);
      times.get(v.name)?.validate.push((await measure({ command: process.execPath, args: [v.bin, ...validateArgs], env })).wallMs);
    }
  }
  const dir500 = flows500();
  const lines = [
    `Node ${process.version}, ${runs} runs each, interleaved; medians with min–max.`,
    '',
    '| reader | bundle | `--version` | `validate` of the example (5 flow files) | 500 flow files: parse | 500 flow files: parse and walk every node | error nodes in the fixture flows | error nodes in python-constructs.py |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const v of variants) {
    const t = times.get(v.name) as { version: number[]; validate: number[] };
    let read: string;
    let walk: string;
    let errors: string;
    {
      const adapterFile = v.adapterFile ?? join(v.bin, '..', '..', 'adapter.mjs');
      if (!v.adapterFile) writeFileSync(adapterFile, ADAPTERS[v.name] as string);
      const program = await readerProgram(adapterFile);
      const top: number[] = [];
      const all: number[] = [];
      let fixtureErrors = 0;
      for (let i = 0; i < 5; i += 1) {
        top.push((await readAll(program, dir500, 'top')).ms);
        all.push((await readAll(program, dir500, 'all')).ms);
      }
      for (const dir of fixtureDirs) fixtureErrors += (await readAll(program, dir, 'all')).errors;
      read = ms(top);
      walk = ms(all);
      errors = v.adapterFile ? `${fixtureErrors} | ${(await readAll(program, constructsDir, 'all')).errors}` : '(none: problems are reported) | —';
    }
    lines.push(`| ${v.name} | ${(v.bundleBytes / 1024).toFixed(0)} KiB | ${ms(t.version)} | ${ms(t.validate)} | ${read} | ${walk} | ${errors} |`);
  }
  console.log(lines.join('\n'));
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(constructsDir, { recursive: true, force: true });
}
