// The limits manifest: tag concurrency limits in the old flat `<STUB>_LIMIT` form or a `[tag_limits]` table.
import type { IssueList, Source } from '../errors.js';
import { isTable, KIND_NAMES, readTomlFile, toJsonValue, tomlKind, type TomlValue } from './toml.js';
import type { DesiredTagLimit, JsonValue } from './types.js';

/** A section read but not yet validated: the caller that owns its format checks it. */
export interface RawSection {
  value: JsonValue;
  source: Source;
  /** The line of a key below the section, e.g. `['archival', 'queues', 'default']`. */
  lineOf(path: readonly string[]): number | undefined;
}

export interface LimitsManifest {
  tagLimits: DesiredTagLimit[];
  /**
   * Whether any file declares tag limits (flat keys or a [tag_limits] table, even empty): only then
   * does --prune delete owned tag limits, so a pools-only manifest never removes them.
   */
  declaresTagLimits: boolean;
  /** `[work_pools]` of each file that has one, for the work pools loader. */
  workPools: RawSection[];
}

/** The tags the old tool knew for a `<STUB>_LIMIT` without `<STUB>_TAG`. */
const BUILT_IN_TAGS = new Map([
  ['LTS_WRITE', 'write-to-lts-share'],
  ['LTS_READ', 'read-from-lts-share'],
]);
const TAG_TABLE = 'tag_limits';
const WORK_POOLS = 'work_pools';
const MAX_TAG_LENGTH = 255;
/** Prefect rejects these in concurrency limit names. */
const FORBIDDEN_IN_TAG = /[/%&<>]/;
const MAX_FILE_BYTES = 1024 * 1024;
const ALLOWED = `\`<STUB>_LIMIT = n\` with an optional \`<STUB>_TAG = "tag"\`, a [${TAG_TABLE}] table of "tag" = n, or [${WORK_POOLS}]`;

interface Declaration {
  tag: string;
  limit: TomlValue;
  source: Source;
}

interface FlatStub {
  limit?: { value: TomlValue; source: Source };
  tag?: { value: TomlValue; source: Source };
}

export function loadLimits(files: string[], issues: IssueList): LimitsManifest {
  const byTag = new Map<string, DesiredTagLimit>();
  let declaresTagLimits = false;
  const workPools: RawSection[] = [];
  for (const file of files) {
    const doc = readTomlFile(file, { what: 'limits file', maxBytes: MAX_FILE_BYTES }, issues);
    if (!doc) continue;
    const at = (...path: string[]): Source => ({ file, line: doc.layout.lineOf(path), key: path.join('.') });
    const declarations: Declaration[] = [];
    const stubs = new Map<string, FlatStub>();
    const stub = (name: string): FlatStub => {
      const found = stubs.get(name) ?? {};
      stubs.set(name, found);
      return found;
    };
    for (const [key, value] of Object.entries(doc.data)) {
      if (key === TAG_TABLE || key.endsWith('_LIMIT') || key.endsWith('_TAG')) declaresTagLimits = true;
      if (key === TAG_TABLE) {
        if (isTable(value)) for (const [tag, limit] of Object.entries(value)) declarations.push({ tag, limit, source: at(TAG_TABLE, tag) });
        else issues.error(at(key), `${TAG_TABLE} must be a table of "tag" = limit, e.g. [${TAG_TABLE}] "write-to-lts-share" = 4`);
      } else if (key === WORK_POOLS) {
        const json = toJsonValue(value);
        if ('problem' in json) issues.error(at(key), json.problem);
        else workPools.push({ value: json.value, source: at(key), lineOf: (path) => doc.layout.lineOf([WORK_POOLS, ...path]) });
      } else if (key.endsWith('_LIMIT')) {
        stub(key.slice(0, -'_LIMIT'.length)).limit = { value, source: at(key) };
      } else if (key.endsWith('_TAG')) {
        stub(key.slice(0, -'_TAG'.length)).tag = { value, source: at(key) };
      } else {
        issues.error(at(key), `unknown key \`${key}\`; a limits file holds ${ALLOWED}`);
      }
    }
    for (const [name, { limit, tag }] of stubs) {
      if (!limit) {
        if (tag) issues.error(tag.source, `\`${name}_TAG\` has no \`${name}_LIMIT\`; add \`${name}_LIMIT = n\` or remove it`);
      } else if (!tag) {
        const builtIn = BUILT_IN_TAGS.get(name);
        if (builtIn) declarations.push({ tag: builtIn, limit: limit.value, source: limit.source });
        else issues.error(limit.source, `no tag for \`${name}_LIMIT\`; add \`${name}_TAG = "..."\` or write it as "tag" = n in the [${TAG_TABLE}] table`);
      } else if (typeof tag.value !== 'string') {
        issues.error(tag.source, `\`${name}_TAG\` must be a string (the tag), found ${KIND_NAMES[tomlKind(tag.value)]}`);
      } else {
        declarations.push({ tag: tag.value, limit: limit.value, source: limit.source });
      }
    }
    // In file order, so a duplicate is reported at its later place.
    declarations.sort((a, b) => (a.source.line ?? 0) - (b.source.line ?? 0));
    for (const { tag, limit, source } of declarations) {
      const problems = [tagProblem(tag), limitProblem(limit)].filter((problem) => problem !== undefined);
      for (const problem of problems) issues.error(source, problem);
      const earlier = byTag.get(tag);
      if (earlier) {
        const { file, line, key } = earlier.source;
        issues.error(source, `tag \`${tag}\` already has a limit at ${file}:${line} (${key}); declare each tag once`);
      } else if (problems.length === 0) {
        byTag.set(tag, { tag, limit: Number(limit), source });
      }
    }
  }
  return { tagLimits: [...byTag.values()].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)), declaresTagLimits, workPools };
}

function tagProblem(tag: string): string | undefined {
  if (tag === '' || tag.length > MAX_TAG_LENGTH) return `a tag must have 1 to ${MAX_TAG_LENGTH} characters; this one has ${tag.length}`;
  const forbidden = FORBIDDEN_IN_TAG.exec(tag);
  return forbidden ? `tag \`${tag}\` holds \`${forbidden[0]}\`, which Prefect rejects in limit names (/ % & < >); choose another tag` : undefined;
}

function limitProblem(limit: TomlValue): string | undefined {
  if (typeof limit !== 'bigint') return `the limit must be an integer of 0 or more, found ${KIND_NAMES[tomlKind(limit)]}`;
  if (limit < 0n || limit > BigInt(Number.MAX_SAFE_INTEGER)) return `the limit must be an integer of 0 or more (at most ${Number.MAX_SAFE_INTEGER}), found ${limit}`;
  return undefined;
}
