// Configuration on the server of kinds no export part writes: each object is named in a warning
// with its kind, so that nothing is dropped without a word. Runtime data (flow and task runs, logs,
// artifacts, events, workers) is not configuration, flows come with their deployments, and blocks
// are named by the part that exports secret blocks. A kind leaves this list by getting an export
// part whose section is its own.
import { unwrap, type Api } from '../prefect/client.js';
import { pages } from '../prefect/paging.js';
import type { Matcher } from '../config/glob.js';
import { compareText, type ExportWarning, type Section } from './types.js';

export interface UnexportedKind {
  /** The section an export part would have, once openem-config exports this kind. */
  section: Section;
  /** Singular, as the warning's subject names the object: `automation "retry archival"`. */
  label: string;
  /** The names of the server's objects of this kind, read in bulk. */
  names(api: Api): Promise<string[]>;
  /** How to carry one over to another server. */
  advice: string;
}

export const UNEXPORTED_KINDS: readonly UnexportedKind[] = [
  {
    section: 'saved-searches',
    label: 'saved search',
    names: async (api) => (await pages((offset, limit) => unwrap(api.client.POST('/saved_searches/filter', { body: { limit, offset } })))).map((s) => s.name),
    advice: "openem-config does not declare the UI's saved searches (filters); save it again in the UI of the target",
  },
];

/** One warning per object of a kind that no selected export part holds, by kind then name. */
export async function readUnexported(api: Api, options: { matches: Matcher; exportedSections: readonly Section[]; kinds?: readonly UnexportedKind[] }): Promise<ExportWarning[]> {
  const warnings: ExportWarning[] = [];
  for (const kind of (options.kinds ?? UNEXPORTED_KINDS).filter((k) => !options.exportedSections.includes(k.section))) {
    const names = (await kind.names(api)).filter((name) => options.matches(name)).sort(compareText);
    for (const name of names) warnings.push({ subject: `${kind.label} "${name}"`, message: `not exported: ${kind.advice}` });
  }
  return warnings;
}
