// Puts the kinds' export contributions together: their files in registry order, the limits
// manifest from the tables they contribute, the apply arguments, the counts and the warnings.
import type { AnyKind, ExportContribution } from '../reconcile/kind.js';
import { LIMITS_FILE, renderLimitsFile } from './limits-file.js';
import { listNames, type ApplyArguments, type ExportCounts, type ExportFile, type ExportWarning, type SecretEntry } from './types.js';

export interface Assembled {
  files: ExportFile[];
  args: ApplyArguments;
  counts: ExportCounts;
  warnings: ExportWarning[];
  secrets: SecretEntry[];
  /** Files only for reading the export back (secret values): never written to the export. */
  scratchFiles: ExportFile[];
  provide: Array<{ path: string; what: string }>;
}

export function assemble(parts: ReadonlyArray<{ kind: AnyKind; written: ExportContribution }>): Assembled {
  const out: Assembled = { files: [], args: { variables: [], secretEnvNames: [], secretPairs: [], limits: [], deployments: [] }, counts: {}, warnings: [], secrets: [], scratchFiles: [], provide: [] };
  const manifest: string[][] = [];
  const manifestSummary: string[] = [];
  const envNames = new Set<string>();
  // The limits manifest goes before the first file of a kind that writes to it (its job templates).
  let manifestAt: number | undefined;
  for (const { kind, written } of parts) {
    out.counts[kind.countKey] = written.count;
    if (written.manifest) {
      manifestAt ??= out.files.length;
      manifest.push(written.manifest);
      manifestSummary.push(`${written.count} ${kind.label[written.count === 1 ? 0 : 1]}`);
    }
    out.files.push(...written.files);
    out.warnings.push(...written.warnings);
    out.secrets.push(...(written.secrets ?? []));
    out.scratchFiles.push(...(written.scratchFiles ?? []));
    out.provide.push(...(written.provide ?? []));
    for (const name of written.envNames ?? []) envNames.add(name);
    for (const [key, values] of Object.entries(written.args ?? {}) as Array<[keyof ApplyArguments, string[]]>) out.args[key].push(...values);
  }
  if (manifest.length > 0) {
    out.files.splice(manifestAt ?? out.files.length, 0, { path: LIMITS_FILE, content: renderLimitsFile(manifest), summary: manifestSummary.join(', ') });
    out.args.limits.push(LIMITS_FILE);
  }
  const clashes = out.args.secretEnvNames.filter((name) => envNames.has(name));
  if (clashes.length > 0) {
    out.warnings.push({
      subject: 'secrets',
      message: `${listNames(clashes)} ${clashes.length === 1 ? 'names' : 'name'} both a secret file (-s) and a variable's key: set for the secret, it would also replace the variable's value; give that secret with --secret NAME=PATH instead`,
    });
  }
  return out;
}
