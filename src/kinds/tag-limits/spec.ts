// Tag concurrency limits in a limits manifest: the old flat `<STUB>_LIMIT` form or a `[tag_limits]` table.
import { z } from 'zod';
import type { IssueList, Source } from '../../errors.js';
import type { ManifestClaim, ManifestPart } from '../../config/inputs.js';
import { isTable, KIND_NAMES, tomlKind, type TomlValue } from '../../config/toml.js';
import { nameError, oneLine } from '../../config/names.js';
import type { DesiredTagLimit } from '../../config/types.js';

/** The tags the old tool knew for a `<STUB>_LIMIT` without `<STUB>_TAG`. */
const BUILT_IN_TAGS = new Map([
  ['LTS_WRITE', 'write-to-lts-share'],
  ['LTS_READ', 'read-from-lts-share'],
]);
const TAG_TABLE = 'tag_limits';

/**
 * A limit as the editors' schema states it. The loader checks the TOML value itself (an integer is a
 * bigint there, and a float such as 4.0 is refused) with limitProblem below, to the same rule.
 */
const limitSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const tagLimitsManifest: ManifestClaim = {
  claims: (key) => key === TAG_TABLE || key.endsWith('_LIMIT') || key.endsWith('_TAG'),
  describe: `\`<STUB>_LIMIT = n\` with an optional \`<STUB>_TAG = "tag"\`, a [${TAG_TABLE}] table of "tag" = n`,
  schema: {
    properties: {
      [TAG_TABLE]: z
        .record(z.string(), limitSchema.describe('task runs with this tag that may run at once'))
        .describe('tag limits: "tag" = limit (an integer of 0 or more); a tag declared twice in the manifests is an error the schema cannot see'),
    },
    patternProperties: {
      '_LIMIT$': limitSchema.describe(
        `the old flat form: the limit of the tag given by <STUB>_TAG (LTS_WRITE_LIMIT and LTS_READ_LIMIT have built-in tags ${[...BUILT_IN_TAGS.values()].join(', ')}); another stub without its _TAG is an error the schema cannot see`,
      ),
      '_TAG$': z.string().describe('the old flat form: the tag whose limit <STUB>_LIMIT gives'),
    },
  },
};

interface Declaration {
  tag: string;
  limit: TomlValue;
  source: Source;
}

interface FlatStub {
  limit?: { value: TomlValue; source: Source };
  tag?: { value: TomlValue; source: Source };
}

/** Every tag limit of the manifests' parts, sorted by tag; a tag declared twice is an error. */
export function loadTagLimits(parts: readonly ManifestPart[], issues: IssueList): DesiredTagLimit[] {
  const byTag = new Map<string, DesiredTagLimit>();
  for (const { entries, at } of parts) {
    const declarations: Declaration[] = [];
    const stubs = new Map<string, FlatStub>();
    const stub = (name: string): FlatStub => {
      const found = stubs.get(name) ?? {};
      stubs.set(name, found);
      return found;
    };
    for (const [key, value] of Object.entries(entries)) {
      if (key === TAG_TABLE) {
        if (isTable(value)) for (const [tag, limit] of Object.entries(value)) declarations.push({ tag, limit, source: at(TAG_TABLE, tag) });
        else issues.error(at(key), `${TAG_TABLE} must be a table of "tag" = limit, e.g. [${TAG_TABLE}] "write-to-lts-share" = 4`);
      } else if (key.endsWith('_LIMIT')) {
        stub(key.slice(0, -'_LIMIT'.length)).limit = { value, source: at(key) };
      } else {
        stub(key.slice(0, -'_TAG'.length)).tag = { value, source: at(key) };
      }
    }
    for (const [stubName, { limit, tag }] of stubs) {
      // Quoted in messages: escaped, so that every issue stays one line.
      const name = oneLine(stubName);
      if (!limit) {
        if (tag) issues.error(tag.source, `\`${name}_TAG\` has no \`${name}_LIMIT\`; add \`${name}_LIMIT = n\` or remove it`);
      } else if (!tag) {
        const builtIn = BUILT_IN_TAGS.get(stubName);
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
  return [...byTag.values()].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

function tagProblem(tag: string): string | undefined {
  // Since Prefect 3.4.19 a tag limit is the global limit `tag:<tag>`, so the tag follows the rule for limit names.
  return nameError('tag', tag);
}

export function limitProblem(limit: TomlValue): string | undefined {
  if (typeof limit !== 'bigint') return `the limit must be an integer of 0 or more, found ${KIND_NAMES[tomlKind(limit)]}`;
  if (limit < 0n || limit > BigInt(Number.MAX_SAFE_INTEGER)) return `the limit must be an integer of 0 or more (at most ${Number.MAX_SAFE_INTEGER}), found ${limit}`;
  return undefined;
}
