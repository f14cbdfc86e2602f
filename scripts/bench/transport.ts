// The HTTP transport alone: Node's global fetch against src/prefect/transport.ts (node:http with
// keep-alive), each in a fresh process sending the same sequential POSTs to a loopback server that
// answers with a page of variables, as Prefect's filter routes do. Wall time and peak RSS per run.
//
//   npx tsx scripts/bench/transport.ts [requests=6000] [runs=3]
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { measure } from './lib/process.js';
import { spread } from './lib/stats.js';

const requests = Number(process.argv[2] ?? 6000);
const runs = Number(process.argv[3] ?? 3);
const repo = resolve(import.meta.dirname, '..', '..');

const page = JSON.stringify(
  Array.from({ length: 20 }, (_, i) => ({ id: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`, name: `variable_${i}`, value: { a: [1, 2, 3], b: 'text' }, tags: ['openem-config'] })),
);
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(page));
});
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/variables/filter`;

// Each variant as a plain script: the same Request in, the body read as JSON.
const work = mkdtempSync(join(tmpdir(), 'openem-transport-'));
const transportModule = join(work, 'transport.mjs');
await build({ entryPoints: [join(repo, 'src', 'prefect', 'transport.ts')], outfile: transportModule, bundle: true, platform: 'node', format: 'esm', logLevel: 'error' });
const loop = (send: string) =>
  [
    `const n = ${requests};`,
    send,
    'for (let i = 0; i < n; i += 1) {',
    `  const response = await send(new Request(${JSON.stringify(url)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variables: { name: { any_: ['v' + i] } }, limit: 200, offset: 0 }), signal: AbortSignal.timeout(90000) }));`,
    '  await response.json();',
    '}',
  ].join('\n');
const variants = {
  'global fetch (undici)': loop('const send = (request) => fetch(request);'),
  'node:http transport (src/prefect/transport.ts)': loop(`const { createNodeTransport } = await import(${JSON.stringify(transportModule)});\nconst transport = createNodeTransport({});\nconst send = transport.fetch;`),
};

console.log(`${requests} sequential POSTs per run, ${runs} runs per variant, interleaved; node ${process.version}`);
const samples = new Map<string, Array<{ wallMs: number; rssKb: number }>>();
for (let run = 0; run < runs; run += 1) {
  for (const [name, source] of Object.entries(variants)) {
    const file = join(work, `${Object.keys(variants).indexOf(name)}.mjs`);
    writeFileSync(file, source);
    const result = await measure({ command: process.execPath, args: [file], env: process.env });
    if (result.exitCode !== 0) throw new Error(`${name}: exit ${result.exitCode}\n${result.stderr}`);
    samples.set(name, [...(samples.get(name) ?? []), { wallMs: result.wallMs, rssKb: result.maxRssKb }]);
  }
}
console.log('| transport | wall time, median (min–max) | peak RSS, median (min–max) |\n|---|---|---|');
for (const [name, list] of samples) {
  const wall = spread(list.map((s) => s.wallMs));
  const rss = spread(list.map((s) => s.rssKb / 1024));
  console.log(`| ${name} | ${(wall.median / 1000).toFixed(2)} s (${(wall.min / 1000).toFixed(2)}–${(wall.max / 1000).toFixed(2)}) | ${rss.median.toFixed(0)} MB (${rss.min.toFixed(0)}–${rss.max.toFixed(0)}) |`);
}
server.close();
rmSync(work, { recursive: true, force: true });
