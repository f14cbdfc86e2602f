// `--only KIND[:NAME]` for plan and apply: which kinds, and which of their objects, a run touches.
// A kind is named as in plan lines (`work-pool`), in the plural (`work-pools`), or by the section
// `export --only` uses (`pools`, `limits`); NAME is an object's key (`flow/deployment` for a
// deployment) or a glob of it. Objects that belong to a selected one (a deployment's triggers) come
// with it.
import { closest } from '../config/suggest.js';
import { UsageError } from '../errors.js';
import { createMatcher, type Matcher } from '../config/glob.js';
import type { AnyKind } from './kind.js';

export interface Selection {
  /** The kinds the run plans at all. */
  hasKind(kind: { name: string }): boolean;
  /** Whether an object of a kind is selected. */
  includes(kind: { name: string }, key: string): boolean;
  /** The names selectors give, by kind, to check that each one matches a declared object. */
  named: ReadonlyMap<string, readonly string[]>;
  /** As the user wrote it, for messages. */
  text: string;
}

/** The names a kind answers to: its own, its plural, and its export section. */
function namesOf(kind: AnyKind): string[] {
  return [kind.name, `${kind.name}s`, kind.label[1].replaceAll(' ', '-'), ...(kind.export ? [kind.export.section] : [])];
}

/** `--only variable,deployment:archive/* --only pools` over the registry; an unknown kind is a usage error. */
export function parseSelection(values: readonly string[], kinds: readonly AnyKind[]): Selection | undefined {
  const selectors = values.flatMap((value) => value.split(',')).map((part) => part.trim()).filter((part) => part !== '');
  if (selectors.length === 0) return undefined;
  /** Per kind name: undefined = every object, else the patterns. */
  const chosen = new Map<string, string[] | undefined>();
  for (const selector of selectors) {
    const colon = selector.indexOf(':');
    const kindName = colon < 0 ? selector : selector.slice(0, colon);
    const pattern = colon < 0 ? undefined : selector.slice(colon + 1);
    const matching = kinds.filter((kind) => namesOf(kind).includes(kindName));
    if (matching.length === 0) {
      const known = kinds.map((kind) => kind.name);
      const suggestion = closest(kindName, kinds.flatMap(namesOf));
      throw new UsageError(`--only: unknown kind "${kindName}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; the kinds are ${known.join(', ')}, as KIND or KIND:NAME`);
    }
    if (pattern === '') throw new UsageError(`--only ${selector}: give a name after the colon (KIND:NAME, NAME may be a glob), or only the kind`);
    for (const kind of matching) {
      if (pattern === undefined) chosen.set(kind.name, undefined);
      else if (!chosen.has(kind.name) || chosen.get(kind.name) !== undefined) chosen.set(kind.name, [...(chosen.get(kind.name) ?? []), pattern]);
    }
  }
  const matchers = new Map<string, Matcher | undefined>([...chosen].map(([name, patterns]) => [name, patterns && createMatcher(patterns)]));
  const byName = new Map(kinds.map((kind) => [kind.name, kind]));
  const includes = (kind: { name: string }, key: string): boolean => {
    if (matchers.has(kind.name)) {
      const matcher = matchers.get(kind.name);
      if (!matcher || matcher(key)) return true;
    }
    const owner = byName.get(kind.name)?.partOf;
    return owner !== undefined && includes({ name: owner.kind }, owner.key(key));
  };
  const hasKind = (kind: { name: string }): boolean => {
    if (chosen.has(kind.name)) return true;
    const owner = byName.get(kind.name)?.partOf;
    return owner !== undefined && hasKind({ name: owner.kind });
  };
  const named = new Map([...chosen].flatMap(([name, patterns]) => (patterns ? [[name, patterns] as const] : [])));
  return { hasKind, includes, named, text: selectors.join(',') };
}
