// `--match GLOB`: shell-like patterns on object names. `*` matches any run of characters (also `/`,
// so `archive_*/*` matches a deployment's `flow/name`), `?` one character, `[abc]`, `[a-z]` and
// `[!abc]` one of a set. Everything else, `.` included, matches itself.

export type Matcher = (...names: string[]) => boolean;

/** True for a name that any pattern matches; every name matches when there is no pattern. */
export function createMatcher(patterns: readonly string[]): Matcher {
  if (patterns.length === 0) return () => true;
  const regexps = patterns.map(globToRegExp);
  return (...names) => names.some((name) => regexps.some((regexp) => regexp.test(name)));
}

export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index]!;
    if (char === '*') {
      source += '.*';
    } else if (char === '?') {
      source += '.';
    } else if (char === '[') {
      const end = pattern.indexOf(']', index + 2);
      if (end < 0) {
        source += '\\[';
        continue;
      }
      let set = pattern.slice(index + 1, end);
      const negate = set.startsWith('!') || set.startsWith('^');
      if (negate) set = set.slice(1);
      source += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, (c) => `\\${c}`)}]`;
      index = end;
    } else {
      source += char.replace(/[.+^${}()|\\\]]/g, (c) => `\\${c}`);
    }
  }
  return new RegExp(`^${source}$`, 'su');
}
