// The whole command on mutated inputs against the msw fake: whatever the files hold, `apply` never
// ends in an unexpected error (exit 70), an input it refuses (exit 3) sends no write, and a secret's
// value never reaches stdout, stderr or the debug log.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { useTempDir } from '../config/temp.js';
import { useFake } from './use-fake.js';

const { fake } = useFake();
const temp = useTempDir();
const RUNS = Number(process.env.OPENEM_PROPERTY_RUNS ?? 15);
const SENTINEL = 'SENTINEL_SECRET_91b2';

const FRAGMENTS = ['[', ']', '{', '}', '"', '\n', '=', ':', ',', '- ', '*a', '\u0000', '\u2028', '💥', '1e999', 'null', '/', '%', SENTINEL, '['.repeat(120)];
interface Edit {
  at: number;
  remove: number;
  insert: string;
}
const editsArb: fc.Arbitrary<Edit[]> = fc.array(
  fc.record({ at: fc.nat(), remove: fc.nat({ max: 6 }), insert: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 4 })) }),
  { minLength: 1, maxLength: 2 },
);
function mutate(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const { at, remove, insert } of edits) {
    const position = at % (out.length + 1);
    out = out.slice(0, position) + insert + out.slice(position + remove);
  }
  return out;
}

const VARS = '[archiver]\nFOLDER = "/scratch"\nSIZE = 20\nLIST = ["a"]\n';
const LIMITS = [
  'LTS_WRITE_LIMIT = 4',
  '[global_limits.database]',
  'limit = 5',
  '',
].join('\n');
/** Work pools and deployments: the fake has no routes for them, so they go through `validate`. */
const POOLS = [
  '[work_pools.archival]',
  'type = "docker"',
  'base_job_template = "template.json"',
  '[work_pools.archival.queues.default]',
  'priority = 1',
  '',
].join('\n');
const TEMPLATE = JSON.stringify({ job_configuration: { image: '{{ image }}' }, variables: { properties: { image: { type: 'string' } } } });
const DEPLOYMENTS = [
  'deployments:',
  '  - name: d1',
  '    flow_name: f1',
  '    entrypoint: flows/f.py:f1',
  '    schedules: [{cron: "0 3 * * *", slug: nightly}]',
  '    work_pool: {name: archival, work_queue_name: default, job_variables: {image: x}}',
  '',
].join('\n');

type Target = 'vars' | 'limits' | 'pools' | 'template' | 'deployments' | 'none';

/** Writes the inputs of one run, `target` broken by `edits`, and returns their command line. */
function inputs(dir: string, target: Target, edits: readonly Edit[], secretTail: string) {
  mkdirSync(dir);
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  const text = (name: Target, seed: string) => (name === target ? mutate(seed, edits) : seed);
  file('template.json', text('template', TEMPLATE));
  return {
    served: ['-v', file('vars.toml', text('vars', VARS)), '-l', file('limits.toml', text('limits', LIMITS)), '--secret', `s3-password=${file('secret.txt', `${SENTINEL}${secretTail}\n`)}`],
    offline: ['-l', file('pools.toml', text('pools', POOLS)), '-d', file('prefect.yaml', text('deployments', DEPLOYMENTS))],
  };
}

// One file broken at a time (or none), so that some runs are valid and get as far as writing.
const targetArb = fc.constantFrom<Target>('vars', 'limits', 'pools', 'template', 'deployments', 'none');
/** The secret file's value goes to the server only; a mutation that pastes the sentinel into another file makes it no secret. */
const pasted = (target: Target, edits: readonly Edit[]) => target !== 'none' && edits.some((edit) => edit.insert.includes(SENTINEL));

describe('the command on mutated inputs', () => {
  it('apply against the fake: never exits 70, writes nothing when it refuses the input, never prints a secret', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Target>('vars', 'limits', 'none'), editsArb, fc.string({ maxLength: 6 }), async (target, edits, secretTail) => {
        const { served } = inputs(join(temp.dir, `apply-${run++}`), target, edits, secretTail);
        const result = await runCli(['apply', ...served], { env: { PREFECT_API_URL: fake.baseUrl } });
        expect([EXIT.ok, EXIT.invalidInput], result.all).toContain(result.code);
        if (result.code === EXIT.invalidInput) expect(result.writes).toEqual([]);
        if (!pasted(target, edits)) expect(result.all).not.toContain(SENTINEL);
        fake.reset();
      }),
      { numRuns: RUNS },
    );
  });

  it('validate with every kind: never exits 70, never prints a secret', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(targetArb, editsArb, fc.string({ maxLength: 6 }), async (target, edits, secretTail) => {
        const { served, offline } = inputs(join(temp.dir, `validate-${run++}`), target, edits, secretTail);
        const result = await runCli(['validate', ...served, ...offline]);
        expect([EXIT.ok, EXIT.invalidInput], result.all).toContain(result.code);
        expect(result.requests).toEqual([]);
        if (!pasted(target, edits)) expect(result.all).not.toContain(SENTINEL);
      }),
      { numRuns: RUNS },
    );
  });
});
