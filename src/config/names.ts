// The one check of every name the inputs give an object, before anything is written. Prefect's own
// rules differ by resource; on top of them, a name must be one the API can address again: a control
// character, a lone surrogate or a name of "." or ".." is accepted on create but cannot be read,
// updated or deleted through a URL path afterwards (`--prune` could never remove it).

export type NameKind = 'variable' | 'secret block' | 'block' | 'tag' | 'global limit' | 'work pool' | 'work queue' | 'deployment' | 'flow' | 'schedule slug' | 'automation';

interface NameRule {
  /** Prefect's refusal of / % & < > (`types/names.py`, BANNED_CHARACTERS). */
  banned: boolean;
  /** Only these characters, e.g. a-z, 0-9 and - for block documents. */
  charset?: { pattern: RegExp; help: string };
  /** A work pool name made only of spaces and quotes is refused (NonEmptyishName). */
  quotesCountAsEmpty?: boolean;
}

const RULES: Record<NameKind, NameRule> = {
  variable: { banned: true, charset: { pattern: /^[a-z0-9_-]+$/, help: 'a-z, 0-9, _ and -' } },
  'secret block': { banned: true, charset: { pattern: /^[a-z0-9-]+$/, help: 'a-z, 0-9 and -' } },
  block: { banned: true, charset: { pattern: /^[a-z0-9-]+$/, help: "a-z, 0-9 and - (Prefect's rule for block names)" } },
  tag: { banned: true },
  'global limit': { banned: true },
  'work pool': { banned: true, quotesCountAsEmpty: true },
  'work queue': { banned: true },
  deployment: { banned: true },
  flow: { banned: true },
  // Schedules are addressed by id; the slug only has to be a readable, one-line name.
  'schedule slug': { banned: false },
  // Automations are addressed by id: Prefect does not even make their names unique.
  automation: { banned: false },
};

/** One limit for every name: Prefect's for variables; within it, any name fits a URL path the server accepts. */
export const MAX_NAME_LENGTH = 255;
const BANNED = /[/%&<>]/;
/** Control characters (C0, DEL, C1) and lone surrogates, which encodeURIComponent refuses. */
const UNADDRESSABLE = /[\p{Cc}\p{Cs}]/u;
const MAX_SHOWN = 60;

/**
 * Why `name` cannot name an object of this kind, as a phrase to follow the name ("holds ...", "is
 * empty; ..."), with the fix; undefined when it can.
 */
export function nameProblem(kind: NameKind, name: string): string | undefined {
  const rule = RULES[kind];
  if (name.trim() === '' || (rule.quotesCountAsEmpty && /^['" ]*$/.test(name))) return 'is empty or only spaces; give it a name';
  if (name.length > MAX_NAME_LENGTH) return `has ${name.length} characters, more than ${MAX_NAME_LENGTH}; shorten it`;
  const unaddressable = UNADDRESSABLE.exec(name);
  if (unaddressable) {
    const code = unaddressable[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `holds the control character U+${code}, with which the Prefect API could not read or delete it again; remove it`;
  }
  if (name === '.' || name === '..') return 'cannot be addressed in a URL path; choose another name';
  const banned = rule.banned ? BANNED.exec(name) : null;
  if (banned) return `holds \`${banned[0]}\`, which Prefect refuses in names (/ % & < >); choose another name`;
  if (rule.charset && !rule.charset.pattern.test(name)) return `may only hold ${rule.charset.help}; rename it`;
  return undefined;
}

/** The whole message for a name that cannot be used: `work pool name "a\nb" holds ...`; undefined when it can. */
export function nameError(kind: NameKind, name: string): string | undefined {
  const problem = nameProblem(kind, name);
  return problem && `${kind} name ${showName(name)} ${problem}`;
}

/** The name in quotes with its control characters escaped, shortened when long: always one readable line. */
export function showName(name: string): string {
  return oneLine(JSON.stringify(name.length > MAX_SHOWN ? `${name.slice(0, MAX_SHOWN)}…` : name));
}

/**
 * `text` with its control characters (and line and paragraph separators) written as escapes, so
 * that an issue quoting a key or value the file holds stays one line.
 */
export function oneLine(text: string): string {
  const short: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return text.replace(/[\p{Cc}\p{Cs}\u2028\u2029]/gu, (char) => short[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
