// Parity with Prefect, measured: every flow of the corpus (test/fixtures/flows/corpus, written for
// these tests in the styles real projects use) is imported by the test virtualenvs' Prefect, the
// pinned release and the newest 3.x, and openem-config's reading of the same file, derived for that
// release, must give identical JSON (key order included). The flows named `undecidable_*` hold what
// the source alone cannot decide: there the schema must be left open with a warning naming the
// parameter, never wrong. Where Prefect cannot evaluate the annotations (UNEVALUATED), the schema is
// still identical and a warning says why it is poor.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prefectPin, type PrefectPin } from '../../scripts/prefect-env.js';
import type { JsonValue } from '../../src/config/types.js';
import { IssueList } from '../../src/errors.js';
import { analyzeEntrypoint, type FlowInfo } from '../../src/python/flow.js';
import { preparePythonReader } from '../../src/python/syntax.js';
import { describeWithPrefect, type PrefectFlow } from './prefect-flows.js';

const flowsDir = fileURLToPath(new URL('../fixtures/flows/corpus/', import.meta.url));
const files = readdirSync(flowsDir).filter((name) => name.endsWith('.py')).sort();
const source = { file: 'prefect.yaml', line: 1, key: 'deployments.0.entrypoint' };

type Schema = { [key: string]: JsonValue };

/** The flows of these files name, in an annotation, what is not defined when Prefect reads them. */
const UNEVALUATED = new Set(['unevaluated.py:checked_only', 'unevaluated.py:typing_spelled_out', 'unevaluated.py:nowhere_defined', 'quoted_unevaluated.py:quoted_checked_only']);
const unevaluated = (entrypoint: string): boolean => UNEVALUATED.has(entrypoint);

await preparePythonReader();
const PINS: PrefectPin[] = [prefectPin(), prefectPin({ OPENEM_PREFECT_VERSION: 'latest' })];

interface Compared {
  entrypoint: string;
  verdict: 'identical' | 'open' | 'wrong';
  why: string[];
}

/** Identical, left open (each difference a parameter the warnings name, given no default and no type Prefect lacks), or wrong. */
function compare(prefect: PrefectFlow, info: FlowInfo | undefined, warnings: string[]): Compared {
  const entrypoint = prefect.entrypoint;
  if (!info) return { entrypoint, verdict: 'wrong', why: ['openem-config refused the flow'] };
  const ours = info.parameterSchema;
  const theirs = prefect.parameterSchema ?? {};
  if (JSON.stringify(ours) === JSON.stringify(theirs) && info.flowName === prefect.flowName && info.description === (prefect.description ?? undefined)) {
    return { entrypoint, verdict: 'identical', why: [] };
  }
  const why: string[] = [];
  if (info.flowName !== prefect.flowName) why.push(`flow name ${info.flowName} != ${prefect.flowName}`);
  if (info.description !== (prefect.description ?? undefined)) why.push('description differs');
  const ourProperties = (ours.properties ?? {}) as Record<string, Schema>;
  const theirProperties = (theirs.properties ?? {}) as Record<string, Schema>;
  const theirRequired = new Set((theirs.required ?? []) as string[]);
  if (JSON.stringify(Object.keys(ourProperties)) !== JSON.stringify(Object.keys(theirProperties))) why.push('other parameters');
  for (const [name, property] of Object.entries(ourProperties)) {
    const theirsProperty = theirProperties[name];
    if (JSON.stringify(property) === JSON.stringify(theirsProperty)) continue;
    const named = warnings.some((warning) => warning.includes(`parameter \`${name}\``));
    const required = ((ours.required ?? []) as string[]).includes(name);
    // Open: whatever we say of it, Prefect says too; we may say less, never something else.
    const subset = theirsProperty !== undefined && Object.entries(property).every(([key, value]) => JSON.stringify(theirsProperty[key]) === JSON.stringify(value));
    if (!named || !subset || (required && !theirRequired.has(name))) why.push(`parameter ${name}: ${JSON.stringify(property)} vs Prefect's ${JSON.stringify(theirsProperty)}`);
  }
  return { entrypoint, verdict: why.length === 0 ? 'open' : 'wrong', why };
}

for (const pin of PINS) {
  describe(`the corpus against Prefect ${pin.version}`, () => {
    const described = describeWithPrefect(flowsDir, files, pin).filter((flow) => flow.flowName !== null);
    const results = described.map((prefect) => {
      const issues = new IssueList();
      const info = analyzeEntrypoint(flowsDir, prefect.entrypoint, source, issues, { prefectVersion: pin.version });
      const warnings = issues.items.filter((issue) => issue.severity === 'warning').map((issue) => issue.message);
      return { prefect, info, warnings, errors: issues.errors.map((issue) => issue.message), compared: compare(prefect, info, warnings) };
    });

    it('holds at least 80 flow functions', () => {
      expect(described.length).toBeGreaterThanOrEqual(80);
    });

    it.each(results.map((result) => [result.prefect.entrypoint, result] as const))('%s', (entrypoint, { prefect, info, warnings, errors, compared }) => {
      expect(errors).toEqual([]);
      if (entrypoint.includes(':undecidable_')) {
        expect(compared.why).toEqual([]);
        expect(compared.verdict).toBe('open');
        return;
      }
      // Where Prefect itself cannot evaluate the annotations, the schema is still identical, and the
      // user is told why it is so poor.
      if (unevaluated(entrypoint)) expect(warnings).toEqual([expect.stringContaining('so Prefect cannot evaluate the flow')]);
      else expect(warnings).toEqual([]);
      expect(info?.parameterSchema).toEqual(prefect.parameterSchema);
      // Key order too: the server stores the schema as sent, and the UI lists parameters in it.
      expect(JSON.stringify(info?.parameterSchema)).toBe(JSON.stringify(prefect.parameterSchema));
      expect(info?.flowName).toBe(prefect.flowName);
      expect(info?.description).toBe(prefect.description ?? undefined);
      expect(info?.version).toBe(prefect.version);
    });

    it('is identical for every flow the source decides, open for the others, and wrong for none', () => {
      const undecidable = results.filter((result) => result.prefect.entrypoint.includes(':undecidable_'));
      const identical = results.filter((result) => result.compared.verdict === 'identical');
      const wrong = results.filter((result) => result.compared.verdict === 'wrong').map((result) => `${result.prefect.entrypoint}: ${result.compared.why.join('; ')}`);
      expect(wrong).toEqual([]);
      expect(identical.length).toBe(results.length - undecidable.length);
      expect(undecidable.every((result) => result.compared.verdict === 'open')).toBe(true);
      // The share the issue asks of real flows (>= 95%), here with the undecidable ones counted against it.
      expect(identical.length / results.length).toBeGreaterThan(0.9);
    });
  });
}
