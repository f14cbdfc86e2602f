// YAML read into JSON values with the position of every value and key, so that a problem found in
// the value can be reported at its line. Anchors, aliases and `<<:` merges are expanded by hand.
import { Composer, isAlias, isMap, isScalar, isSeq, LineCounter, Parser, visit, type Alias, type CST, type Document, type YAMLError, type YAMLMap } from 'yaml';
import type { IssueList, Source } from '../errors.js';
import { readTextFile } from './files.js';
import { oneLine } from './names.js';
import { MAX_NESTING_DEPTH, NESTING_PROBLEM } from './nesting.js';
import type { PathPart } from './templating.js';
import type { JsonValue } from './types.js';

/**
 * Values produced by expanding aliases and merges. A real file stays in the hundreds; an alias bomb
 * (each level repeating the one below) reaches it after a few milliseconds instead of exhausting memory.
 */
const MAX_EXPANDED_VALUES = 100_000;
/** Syntax errors reported per file; the rest are summed up in one issue. */
const MAX_REPORTED_ERRORS = 10;

export interface YamlData {
  file: string;
  value: JsonValue;
  /**
   * Where the value at `path` is written, or its key with `place: 'key'`; for a path the file does not
   * have (a missing key), the place of the nearest enclosing value. A value reached through an alias or
   * a merge is placed where the anchor defines it, since that is where it would be fixed.
   */
  at(path: readonly PathPart[], place?: 'key' | 'value'): Source;
  /** The scalar at `path` as written, e.g. `1.10` where YAML reads the number 1.1. */
  written(path: readonly PathPart[]): string | undefined;
}

/** Reads and parses a YAML file into JSON values with the position of each; undefined after reporting why it cannot be used. */
export function readYamlFile(file: string, options: { what: string; maxBytes: number }, issues: IssueList): YamlData | undefined {
  const text = readTextFile(file, { ...options, rejectEmpty: true }, issues);
  return text === undefined ? undefined : parseYaml(text, file, issues);
}

export function parseYaml(text: string, file: string, issues: IssueList): YamlData | undefined {
  const parsed = parseYamlDocument(text, file, issues);
  return parsed && readYamlDocument(parsed, issues);
}

/** A parsed YAML document, and where an offset of its text is. */
export interface ParsedYaml {
  file: string;
  /** As parseDocument makes it (merge keys on, unique keys), with its comments: migrate edits it. */
  doc: Document.Parsed;
  position(offset: number): Source & Position;
}

/** The document of a YAML text; undefined after reporting where and why it does not parse, never quoting it. */
export function parseYamlDocument(text: string, file: string, issues: IssueList): ParsedYaml | undefined {
  const lines = new LineCounter();
  const position = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  let doc: Document.Parsed | undefined;
  try {
    // parseDocument's steps, with the nesting checked on the syntax tree (built without recursion)
    // before the composer, which recurses, sees it.
    const tokens = [...new Parser(lines.addNewLine).parse(text)];
    const deep = tooDeepOffset(tokens);
    if (deep !== undefined) {
      issues.error(position(deep), NESTING_PROBLEM);
      return undefined;
    }
    for (const next of new Composer({ merge: true, uniqueKeys: true }).compose(tokens, true, text.length)) {
      if (doc) {
        issues.error(position(next.range[0]), `invalid YAML: ${YAML_REASONS.MULTIPLE_DOCS}; fix the syntax here`);
        return undefined;
      }
      doc = next;
    }
  } catch {
    // Not expected after the nesting check; the parser's message is never passed on, as it may quote the file.
    issues.error({ file }, 'cannot read this file as YAML; check that it is the intended prefect.yaml');
    return undefined;
  }
  if (!doc) {
    issues.error({ file }, 'cannot read this file as YAML; check that it is the intended prefect.yaml');
    return undefined;
  }
  for (const warning of doc.warnings) issues.warn(position(warning.pos[0]), `YAML: ${yamlReason(warning)}`);
  if (doc.errors.length > 0) {
    // One broken line can make every later token an error: the first ones are where to look.
    for (const error of doc.errors.slice(0, MAX_REPORTED_ERRORS)) issues.error(position(error.pos[0]), `invalid YAML: ${yamlReason(error)}; fix the syntax here`);
    const more = doc.errors.length - MAX_REPORTED_ERRORS;
    if (more > 0) issues.error(position(doc.errors[MAX_REPORTED_ERRORS]!.pos[0]), `and ${more} more YAML errors from here on, most likely caused by the ones before; fix those first`);
    return undefined;
  }
  return { file, doc, position };
}

/** The document's value as JSON, with the place of every value and key; undefined after reporting why it has none. */
export function readYamlDocument({ file, doc, position }: ParsedYaml, issues: IssueList): YamlData | undefined {
  const reader = new YamlReader(doc, file, position, issues);
  const value = reader.read();
  if (value === undefined) return undefined;
  const places = reader.places;
  return {
    file,
    value,
    at(path, place = 'value') {
      const key = path.length === 0 ? undefined : formatPath(path);
      for (let length = path.length; length >= 0; length--) {
        const found = places.get(pathId(path.slice(0, length)));
        // A key written without a value (`{name}`) has no value to point at: its key is the place, not the enclosing mapping.
        const own = length === path.length ? (place === 'key' ? (found?.key ?? found?.value) : (found?.value ?? found?.key)) : undefined;
        const spot = own ?? found?.value;
        if (spot) return { file, line: spot.line, column: spot.column, key };
      }
      // Only a document with no value at all (comments only) has no place: it is wrong from its start.
      return { file, line: 1, column: 1, key };
    },
    written(path) {
      return places.get(pathId(path))?.text;
    },
  };
}

export interface Position {
  line: number;
  column: number;
}

interface Place {
  key?: Position;
  value?: Position;
  text?: string;
}

interface EffectivePair {
  key: string;
  keyNode: unknown;
  value: unknown;
  /** Brought in by a `<<:` merge, so its value is an expansion of an anchor. */
  merged: boolean;
}

/** Thrown to abandon a document that cannot be read safely. */
class Abandon extends Error {}

/**
 * The document as JSON, with merges and aliases expanded by hand rather than by `toJS`: so that every
 * value keeps its position, merges are computed once per mapping (nested merges cannot grow the work
 * exponentially), and the expansion is bounded.
 */
class YamlReader {
  readonly places = new Map<string, Place>();
  private readonly targets: Map<Alias, unknown>;
  private readonly mergedPairs = new Map<YAMLMap, EffectivePair[]>();
  private readonly active = new Set<unknown>();
  private expanded = 0;
  /** The alias in the document's own text that the current expansion started from, where a bomb is reported. */
  private outermostAlias: Alias | undefined;
  private failed = false;

  constructor(
    private readonly doc: Document.Parsed,
    private readonly file: string,
    private readonly position: (offset: number) => Source & Position,
    private readonly issues: IssueList,
  ) {
    this.targets = aliasTargets(doc);
  }

  read(): JsonValue | undefined {
    try {
      const value = this.convert(this.doc.contents, [], 0, false);
      return this.failed ? undefined : value;
    } catch (error) {
      if (error instanceof Abandon) return undefined;
      throw error;
    }
  }

  private error(node: unknown, message: string): void {
    this.failed = true;
    this.issues.error(this.at(node), message);
  }

  private at(node: unknown): Source {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.position(range[0]) : { file: this.file };
  }

  private place(path: readonly PathPart[]): Place {
    const id = pathId(path);
    const found = this.places.get(id) ?? {};
    this.places.set(id, found);
    return found;
  }

  private resolve(node: unknown): unknown {
    if (!isAlias(node)) return node;
    const target = this.targets.get(node);
    if (target === undefined) this.error(node, `alias \`*${node.source}\` names no anchor before it; define \`&${node.source}\` earlier in the file`);
    return target ?? null;
  }

  private convert(node: unknown, path: PathPart[], depth: number, expanding: boolean): JsonValue {
    if (depth > MAX_NESTING_DEPTH) {
      this.issues.error(this.at(node), NESTING_PROBLEM);
      throw new Abandon();
    }
    if (expanding && ++this.expanded > MAX_EXPANDED_VALUES) {
      const alias = this.outermostAlias;
      const shown = alias ? `\`*${alias.source}\` expands` : 'aliases expand';
      this.issues.error(this.at(alias ?? node), `${shown} to more than ${MAX_EXPANDED_VALUES} values, which looks like an alias bomb; refer to each anchor fewer times`);
      throw new Abandon();
    }
    if (isAlias(node)) {
      if (!expanding) this.outermostAlias = node;
      const target = this.resolve(node);
      if (this.active.has(target)) {
        this.error(node, `alias \`*${node.source}\` is used inside its own anchor, which would never end; remove it`);
        return null;
      }
      this.active.add(target);
      try {
        return this.convert(target, path, depth + 1, true);
      } finally {
        this.active.delete(target);
      }
    }
    const place = this.place(path);
    // An empty value (`slug:`) takes no room in the text: its key is where to point.
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (node !== null && node !== undefined && !(range && range[0] === range[1])) place.value ??= this.at(node) as Position;
    if (node === null || node === undefined) return null;
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value === 'number' && !Number.isFinite(value)) {
        this.error(node, `${String(node.source ?? value)} cannot be stored: JSON has no NaN or infinity; write a finite number or quote it`);
        return null;
      }
      if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        if (typeof value === 'number') place.text = node.source;
        return value;
      }
      this.error(node, `this value (${typeof value}) has no JSON form; write it as a quoted string`);
      return null;
    }
    if (isSeq(node)) return node.items.map((item, index) => this.convert(item, [...path, index], depth + 1, expanding));
    if (isMap(node)) {
      const entries: [string, JsonValue][] = [];
      for (const pair of this.effectivePairs(node, depth)) {
        const keyPath = [...path, pair.key];
        const keyPlace = this.place(keyPath);
        keyPlace.key ??= this.at(pair.keyNode) as Position;
        entries.push([pair.key, this.convert(pair.value, keyPath, depth + 1, expanding || pair.merged)]);
      }
      // fromEntries defines own properties, so a key such as `__proto__` stays data.
      return Object.fromEntries(entries);
    }
    this.error(node, 'this YAML node has no JSON form; write a mapping, a list or a scalar');
    return null;
  }

  /** The pairs of `map` after its `<<:` merges: its own keys first, then each merged mapping's keys it lacks. */
  private effectivePairs(map: YAMLMap, depth: number): EffectivePair[] {
    const known = this.mergedPairs.get(map);
    if (known) return known;
    if (this.active.has(map)) {
      this.error(map, 'this mapping merges itself (`<<:` with an alias of an enclosing anchor); remove that merge');
      return [];
    }
    this.active.add(map);
    try {
      const pairs: EffectivePair[] = [];
      const merges: unknown[] = [];
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
          merges.push(pair.value);
          continue;
        }
        const key = this.keyOf(pair.key);
        if (key === undefined) continue;
        if (seen.has(key)) {
          this.error(pair.key, `key \`${key}\` appears twice in this mapping; keep one`);
          continue;
        }
        seen.add(key);
        pairs.push({ key, keyNode: pair.key, value: pair.value, merged: false });
      }
      for (const merge of merges) {
        const resolved = this.resolve(merge);
        const sources = isSeq(resolved) ? resolved.items.map((item) => this.resolve(item)) : [resolved];
        for (const source of sources) {
          if (!isMap(source)) {
            this.error(source ?? merge, '`<<:` merges mappings only: give it an alias of a mapping (`<<: *defaults`) or a list of them');
            continue;
          }
          for (const pair of this.effectivePairs(source, depth + 1)) {
            if (++this.expanded > MAX_EXPANDED_VALUES) {
              this.issues.error(this.at(merge), `merges expand this file to more than ${MAX_EXPANDED_VALUES} values, which looks like an alias bomb; merge fewer times`);
              throw new Abandon();
            }
            if (seen.has(pair.key)) continue;
            seen.add(pair.key);
            pairs.push({ ...pair, merged: true });
          }
        }
      }
      this.mergedPairs.set(map, pairs);
      return pairs;
    } finally {
      this.active.delete(map);
    }
  }

  private keyOf(node: unknown): string | undefined {
    const key = this.resolve(node);
    if (isScalar(key) && (typeof key.value === 'string' || typeof key.value === 'number' || typeof key.value === 'boolean')) return String(key.value);
    this.error(key ?? node, 'a key must be plain text; write `name: value`');
    return undefined;
  }
}

/** The node each alias names (undefined when no anchor precedes it): the closest anchor before it, found in one pass in document order. */
export function aliasTargets(doc: Document): Map<Alias, unknown> {
  const targets = new Map<Alias, unknown>();
  const anchors = new Map<string, unknown>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

/**
 * The offset of the first collection nested deeper than MAX_NESTING_DEPTH in the syntax tree, or
 * undefined. Without recursion: the tree of a hostile file may be as deep as the file is long.
 */
function tooDeepOffset(tokens: readonly CST.Token[]): number | undefined {
  const stack: Array<{ token: CST.Token; depth: number }> = tokens.map((token) => ({ token, depth: 0 }));
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { token, depth } = next;
    if (token.type === 'document') {
      if (token.value) stack.push({ token: token.value, depth });
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_NESTING_DEPTH) return token.offset;
      for (const item of token.items) {
        if (item.key) stack.push({ token: item.key, depth: depth + 1 });
        if (item.value) stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/**
 * A reason for each YAML error, in words that quote nothing of the file: some of the library's own
 * messages do (`Invalid escape sequence \x`, `Unresolved tag: !secret-value`), and the file may be a
 * secret given by mistake.
 */
const YAML_REASONS: Record<YAMLError['code'], string> = {
  ALIAS_PROPS: 'an alias (*name) cannot have an anchor or a tag',
  BAD_ALIAS: 'an anchor (&name) or alias (*name) is empty or ends in ":"',
  BAD_DIRECTIVE: 'a % directive is not valid; remove it',
  BAD_DQ_ESCAPE: 'a double-quoted string holds an invalid \\ escape',
  BAD_INDENT: 'the indentation is wrong here',
  BAD_PROP_ORDER: 'an anchor (&) or tag (!) must come after the -, ? or : indicator',
  BAD_SCALAR_START: 'a plain value cannot start with this character; quote the value',
  BLOCK_AS_IMPLICIT_KEY: 'a block list or mapping cannot be a key',
  BLOCK_IN_FLOW: 'a block list or mapping cannot sit inside [...] or {...}',
  DUPLICATE_KEY: 'a key appears twice in one mapping',
  IMPOSSIBLE: 'this cannot be read as YAML',
  KEY_OVER_1024_CHARS: 'a key is longer than 1024 characters',
  MISSING_CHAR: 'a character is missing here (a quote, comma, colon, space or -)',
  MULTILINE_IMPLICIT_KEY: 'a key must be on one line',
  MULTIPLE_ANCHORS: 'a value can have one anchor (&name) only',
  MULTIPLE_DOCS: 'the file holds more than one YAML document (---); keep one',
  MULTIPLE_TAGS: 'a value can have one tag (!name) only',
  NON_STRING_KEY: 'a key must be plain text',
  RESOURCE_EXHAUSTION: 'aliases expand to too many values',
  TAB_AS_INDENT: 'tabs are not allowed as indentation; indent with spaces',
  TAG_RESOLVE_FAILED: 'a tag (!name) is not known here; remove it',
  UNEXPECTED_TOKEN: 'unexpected text here',
  BAD_COLLECTION_TYPE: 'a tag does not fit the kind of collection it is on',
};

/** The library's messages that hold no text of the file, passed on as they are more precise (yaml 2.9). */
const SAFE_YAML_MESSAGES = new Set([
  'All sequence items must start at the same column',
  'A block sequence may not be used as an implicit map key',
  'Nested mappings are not allowed in compact mappings',
  'Map keys must be unique',
  'Block collection cannot start on same line with directives-end marker',
  'Comments must be separated from other tokens by white space characters',
  'Implicit map keys need to be followed by map values',
  'Missing closing "quote',
  "Missing closing 'quote",
  'Sequence item without - indicator',
  'Tags and anchors must be separated from the next token by white space',
  'Missing , between flow map items',
  'Missing , between flow sequence items',
  'Missing , or : between flow map items',
  'Missing , or : between flow sequence items',
  'Implicit keys need to be on a single line',
  'Implicit keys of flow sequence pairs need to be on a single line',
  'Tabs are not allowed as indentation',
  'All mapping items must start at the same column',
  'Block collections are not allowed within flow collections',
  'Flow end indicator should be more indented than parent',
  'Missing newline after block sequence props',
  'Block scalars with more-indented leading empty lines must use an explicit indentation indicator',
  'Block scalar values in collections must be indented',
  'Unexpected doc-end without preceding document',
  ...['Flow map', 'Flow sequence'].flatMap((name) => [
    ...['}', ']'].flatMap((end) => [`${name} must end with a ${end}`, `${name} in block collection must be sufficiently indented and end with a ${end}`]),
  ]),
]);

/** The library's messages that name a kind of syntax token (never its text), with the token kinds it has (yaml 2.9). */
const TOKEN_KINDS = new Set(
  'alias scalar single-quoted-scalar double-quoted-scalar block-scalar block-scalar-header block-map block-seq flow-collection document doc-start doc-end doc-mode directive directive-line comma map-value-ind seq-item-ind explicit-key-ind anchor tag comment newline space flow-map-start flow-map-end flow-seq-start flow-seq-end flow-error-end byte-order-mark error'.split(' '),
);
const TOKEN_MESSAGES = [/^Unexpected (\S+) at node end$/, /^Unexpected (\S+) token$/, /^Expected a flow scalar value, but found: (\S+)$/];
const FLOW_MESSAGES = /^(Unexpected , in|Unexpected empty item in|Missing space after : in) flow (map|sequence)$/;

function yamlReason(error: YAMLError): string {
  const message = error.message.replace(/\.$/, '');
  if (SAFE_YAML_MESSAGES.has(message) || FLOW_MESSAGES.test(message)) return message;
  const kind = TOKEN_MESSAGES.map((pattern) => pattern.exec(message)?.[1]).find((found) => found !== undefined);
  return kind !== undefined && TOKEN_KINDS.has(kind) ? message : YAML_REASONS[error.code];
}

function pathId(path: readonly PathPart[]): string {
  return JSON.stringify(path);
}

/** `deployments[0].work_pool.job_variables.image`; keys that are not plain words are quoted: `pull[0]["prefect.steps.x"]`. */
export function formatPath(path: readonly PathPart[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(part)) text += text === '' ? part : `.${part}`;
    else text += `[${oneLine(JSON.stringify(part))}]`;
  }
  return text;
}
