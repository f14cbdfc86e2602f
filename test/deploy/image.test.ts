// The Dockerfile and .dockerignore read as text: the properties the image test (`npm run test:image`,
// which needs podman) proves on the built image, checked here on every `npm test` without an engine.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerfileBaseImage, substitutePlan } from '../../scripts/test-image.js';

const repo = resolve(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { license: string; scripts: Record<string, string> };

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions per stage, continuation lines joined and comments dropped. */
function stages(text: string): Map<string, Instruction[]> {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const result = new Map<string, Instruction[]>();
  let current: Instruction[] = [];
  result.set('(global)', current);
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const instruction = { keyword: match[1]!, args: match[2]!.replace(/\s+/g, ' ').trim() };
    if (instruction.keyword === 'FROM') {
      current = [];
      result.set(/\bAS (\S+)$/i.exec(instruction.args)?.[1] ?? `stage${result.size}`, current);
    }
    current.push(instruction);
  }
  return result;
}

const parsed = stages(dockerfile);
const names = [...parsed.keys()];
const runtime = parsed.get(names.at(-1)!)!;
const args = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('builds every stage on the official Node 24 image that CI can stand in for', () => {
    const base = dockerfileBaseImage(dockerfile);
    expect(base).toBe('docker.io/library/node:24-trixie-slim');
    expect(substitutePlan(base)).toEqual({ nodeMajor: '24', suite: 'trixie' });
    expect(names).toEqual(['(global)', 'build', 'deps', 'runtime']);
    for (const name of names.slice(1)) expect(parsed.get(name)![0]!.args).toBe(`\${BASE_IMAGE} AS ${name}`);
  });

  it('type-checks and compiles in the build stage, and installs production dependencies without scripts', () => {
    expect(args(parsed.get('build')!, 'RUN').join('\n')).toMatch(/npm ci\b[^\n]*\n[\s\S]*npm run build/);
    expect(pkg.scripts.build).toMatch(/^tsc -p tsconfig.build.json && node scripts\/bundle.mjs$/);
    expect(args(parsed.get('build')!, 'COPY')).toContain('scripts/bundle.mjs ./scripts/');
    expect(args(parsed.get('deps')!, 'RUN').join('\n')).toMatch(/npm ci --omit=dev --ignore-scripts/);
  });

  it('copies into the runtime stage only the program, its production dependencies and package.json', () => {
    const copies = args(runtime, 'COPY').sort();
    expect(copies).toEqual(['--from=build /src/dist/openem-config.mjs /src/dist/openem-config.licenses.txt ./dist/', '--from=deps /app/node_modules ./node_modules', 'bin ./bin', 'package.json ./'].sort());
    expect(readFileSync(join(repo, 'bin', 'openem-config'), 'utf8')).toContain("import('../dist/openem-config.mjs')");
  });

  it('runs the CLI as a non-root user given by number', () => {
    expect(args(runtime, 'USER')).toEqual(['1000:1000']);
    expect(args(runtime, 'ENTRYPOINT')).toEqual(['["node", "--max-semi-space-size=2", "/app/bin/openem-config"]']);
    expect(args(runtime, 'CMD')).toEqual([]);
  });

  it('labels the image with its source, version and licence', () => {
    const labels = args(runtime, 'LABEL').join(' ');
    expect(labels).toContain('org.opencontainers.image.source="${SOURCE}"');
    expect(labels).toContain('org.opencontainers.image.version="${VERSION}"');
    expect(labels).toContain(`org.opencontainers.image.licenses="${pkg.license}"`);
    expect(pkg.license).toBe('BSD-3-Clause');
  });

  it('takes no secret as a build argument or environment variable, and none in a layer', () => {
    for (const [, stage] of parsed) {
      for (const name of [...args(stage, 'ARG'), ...args(stage, 'ENV')].flatMap((a) => a.split(' ')).map((a) => a.split('=')[0]!)) {
        expect(name).not.toMatch(/SECRET|TOKEN|PASSWORD|AUTH|KEY|NPMRC|CA_CERTS/i);
      }
      for (const copy of args(stage, 'COPY')) expect(copy).not.toMatch(/npmrc|\.env|secret|\.pem/i);
    }
    // The proxy CA reaches npm only as a build secret mount.
    expect(dockerfile.match(/--mount=type=secret,id=npm_ca/g)).toHaveLength(2);
  });
});

describe('.dockerignore', () => {
  const lines = readFileSync(join(repo, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('sends only what the build reads: everything is excluded, then the sources are let back in', () => {
    expect(lines[0]).toBe('*');
    expect(lines.slice(1).sort()).toEqual(['!bin/', '!package-lock.json', '!package.json', '!scripts/bundle.mjs', '!src/', '!tsconfig.build.json', '!tsconfig.json']);
  });

  it('lets in every file the Dockerfile copies from the context', () => {
    const sources = [...parsed.values()]
      .flatMap((stage) => args(stage, 'COPY'))
      .filter((copy) => !copy.startsWith('--from'))
      .flatMap((copy) => copy.split(' ').slice(0, -1));
    const allowed = lines.slice(1).map((line) => line.slice(1).replace(/\/$/, ''));
    for (const source of sources) expect(allowed, source).toContain(source.replace(/\/$/, ''));
  });
});

describe('package.json', () => {
  it('runs the image test on its own script, outside npm test', () => {
    expect(pkg.scripts['test:image']).toBe('tsx scripts/test-image.ts');
    expect(pkg.scripts.test).not.toMatch(/image|podman/);
  });
});
