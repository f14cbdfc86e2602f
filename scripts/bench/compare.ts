// A/B comparison of openem-config builds, interleaved on the same server so that a busy machine
// hits every variant alike: how the recommended changes in BENCHMARKS.md were measured.
//
//   npx tsx scripts/bench/compare.ts NAME=ENTRY[::NODE_OPTIONS] ...
//   npx tsx scripts/bench/compare.ts main=bin/openem-config patched=/tmp/patched/bin/openem-config \
//     'patched+semi=/tmp/patched/bin/openem-config::--max-semi-space-size=2'
//
// Cases: no-op of the example (8 rounds), of 5,000 variables (5 rounds) and of mixed 5000 (3 rounds),
// after one untimed round; then one cold apply of 5,000 variables per variant, each on a fresh server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exampleInputs } from './lib/example.js';
import { generate } from './lib/generate.js';
import { ServerPool } from './lib/servers.js';
import { spread } from './lib/stats.js';
import { runOpenem } from './lib/tools.js';

interface Variant {
  name: string;
  entry: string;
  extraEnv: Record<string, string>;
}

const variants = process.argv.slice(2).map((arg): Variant => {
  const match = /^([^=]+)=([^:]+)(?:::(.*))?$/.exec(arg);
  if (!match) throw new Error(`expected NAME=ENTRY[::NODE_OPTIONS], got ${arg}`);
  const extraEnv: Record<string, string> = match[3] ? { NODE_OPTIONS: match[3] } : {};
  return { name: match[1]!, entry: resolve(match[2]!), extraEnv };
});
if (variants.length < 2) throw new Error('give two variants or more: NAME=ENTRY[::NODE_OPTIONS] ...');

const work = mkdtempSync(join(tmpdir(), 'openem-compare-'));
const servers = new ServerPool(work);
const example = exampleInputs(work);
const cases = [
  { name: 'example', args: example.args, env: example.env, rounds: 8 },
  { name: 'variables 5000', args: ['-v', generate(5000, join(work, 'variables')).files.variables[0]!], env: {}, rounds: 5 },
  { name: 'mixed 5000', args: generate(5000, join(work, 'mixed')).args, env: {}, rounds: 3 },
];
const pad = Math.max(...variants.map((v) => v.name.length));
try {
  for (const c of cases) {
    const server = await servers.fresh();
    try {
      await runOpenem({ args: c.args, env: c.env, apiUrl: server.apiUrl, entry: variants[0]!.entry });
      const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
      const peaks = new Map<string, number>();
      const reads = new Map<string, number>();
      for (let round = 0; round <= c.rounds; round += 1) {
        for (const v of variants) {
          const result = await runOpenem({ args: c.args, env: c.env, apiUrl: server.apiUrl, entry: v.entry, extraEnv: v.extraEnv });
          if (round === 0) continue;
          times.get(v.name)!.push(result.wallMs);
          peaks.set(v.name, Math.max(peaks.get(v.name) ?? 0, result.maxRssKb));
          reads.set(v.name, result.self?.reads ?? Number.NaN);
        }
      }
      for (const v of variants) {
        const s = spread(times.get(v.name)!);
        console.log(
          `${c.name.padEnd(15)} no-op  ${v.name.padEnd(pad)}  median ${s.median.toFixed(0)} ms (IQR ${s.q1.toFixed(0)}–${s.q3.toFixed(0)}, n=${s.n})  peak RSS ${((peaks.get(v.name) ?? 0) / 1024).toFixed(0)} MB  reads ${reads.get(v.name)}`,
        );
      }
    } finally {
      await server.stop();
    }
  }
  const variables = ['-v', generate(5000, join(work, 'variables-cold')).files.variables[0]!];
  for (const v of variants) {
    const server = await servers.fresh();
    try {
      const result = await runOpenem({ args: variables, env: {}, apiUrl: server.apiUrl, entry: v.entry, extraEnv: v.extraEnv });
      console.log(`variables 5000  cold   ${v.name.padEnd(pad)}  ${(result.wallMs / 1000).toFixed(1)} s  peak RSS ${(result.maxRssKb / 1024).toFixed(0)} MB  reads ${result.self?.reads}`);
    } finally {
      await server.stop();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
