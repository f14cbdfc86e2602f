// Bundles the compiled program (dist/main.js, from tsc) and its dependencies into one ES module,
// dist/openem-config.mjs, which bin/openem-config runs. A one-shot command pays module resolution
// and loading on every start: one file instead of some 200 halves the time to the first request.
// Plain JavaScript, so that `npm run build` needs nothing but tsc and esbuild.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pino-pretty stays a separate package: log.ts loads it only when stderr is a terminal, through
 * require(), which a bundle cannot see into. It is the one runtime dependency left.
 */
export const EXTERNAL = ['pino-pretty'];

/** Writes the bundle of `entry` (the tsc output's main.js) to `outfile`. */
export async function bundle(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22.12',
    external: EXTERNAL,
    // Not minified: stack traces of an internal error (exit 70) stay readable, and a minified
    // bundle measured no faster to start.
    legalComments: 'inline',
    logLevel: 'warning',
    // Some bundled CommonJS packages require() Node's own modules, which an ES module cannot
    // without this.
    banner: { js: "import { createRequire as __openemCreateRequire } from 'node:module'; const require = __openemCreateRequire(import.meta.url);" },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  await bundle(join(dist, 'main.js'), join(dist, 'openem-config.mjs'));
}
