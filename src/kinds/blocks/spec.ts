// Blocks of any type in a limits manifest: `[blocks.<type-slug>.<name>]` with the block's fields.
// A field's value may come from a file (`{ file = "path" }`, relative to the manifest) or from the
// environment (`{ env = "NAME" }`); a top-level field may hold another block by name
// (`{ block = "<type-slug>/<name>" }`). What the server's block schema says of the fields is
// checked with a server (see ./schema.ts); here, what can be checked offline.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { ManifestClaim, ManifestPart } from '../../config/inputs.js';
import type { InputContext } from '../../reconcile/kind.js';
import { readTextFile } from '../../config/files.js';
import { nameError, showName } from '../../config/names.js';
import { isTable, toJsonValue, type TomlTable, type TomlValue } from '../../config/toml.js';
import type { JsonValue } from '../../config/types.js';
import { IssueList, type Source } from '../../errors.js';
import { STATE_BLOCK_TYPE } from '../../prefect/ownership.js';

const TABLE = 'blocks';
/** Prefect's rule for block document names and type slugs. */
const SLUG = /^[a-z0-9-]+$/;
const MAX_VALUE_FILE_BYTES = 1024 * 1024;

export const blocksManifest: ManifestClaim = {
  claims: (key) => key === TABLE,
  describe: `[${TABLE}.<type>.<name>]`,
  schema: {
    properties: {
      // A block's fields are its type's: only the server's block schema says what they are.
      [TABLE]: z
        .record(
          z.string().regex(SLUG),
          z.record(
            z.string().regex(SLUG),
            z.record(z.string(), z.unknown()).describe('the fields of the block; a value may be { file = "path" }, { env = "NAME" } or, for a top-level field, { block = "<type>/<name>" }'),
          ),
        )
        .describe("[blocks.<type-slug>.<name>]: block documents; their fields are checked against the server's block schemas by plan and apply, not by this schema"),
    },
  },
};

/** A field that holds another block, by name. */
export interface BlockReference {
  type: string;
  name: string;
  source: Source;
}

export interface DesiredBlock {
  /** The block type's slug, e.g. `slack-webhook`. */
  type: string;
  name: string;
  /** The fields that hold values (the references are apart). */
  data: { [field: string]: JsonValue };
  /** Fields that hold another block, by field name. */
  references: { [field: string]: BlockReference };
  /** Dotted paths whose value came from a file or the environment: never shown. */
  hidden: string[];
  /** Where each top-level field is, for the schema check's messages. */
  fields: { [field: string]: Source };
  source: Source;
}

export function blockKey(type: string, name: string): string {
  return `${type}/${name}`;
}

/** The type and name of a key made by blockKey (a slug holds no `/`). */
export function splitBlockKey(key: string): { type: string; name: string } {
  const slash = key.indexOf('/');
  return { type: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** `<type>/<name>` as a block reference gives it, or undefined when it is not one. */
export function parseBlockKey(text: string): { type: string; name: string } | undefined {
  const [type, name, ...rest] = text.split('/');
  return type && name && rest.length === 0 && SLUG.test(type) && SLUG.test(name) ? { type, name } : undefined;
}

interface Reading {
  manifestDir: string;
  env: Record<string, string | undefined>;
  keepTrailingNewline: boolean;
  issues: IssueList;
  at: (...path: string[]) => Source;
  hidden: string[];
}

export function loadBlocks(parts: readonly ManifestPart[], input: Pick<InputContext, 'env' | 'options'>, issues: IssueList): DesiredBlock[] {
  const byKey = new Map<string, DesiredBlock>();
  for (const part of parts) {
    const table = part.entries[TABLE];
    if (table === undefined) continue;
    if (!isTable(table)) {
      issues.error(part.at(TABLE), `must be tables of blocks by type and name, e.g. [${TABLE}.slack-webhook.alerts] url = { file = "slack-url.txt" }`);
      continue;
    }
    for (const [type, names] of Object.entries(table)) {
      if (!SLUG.test(type)) {
        issues.error(part.at(TABLE, type), `block type ${showName(type)} is not a type slug (a-z, 0-9 and -), e.g. slack-webhook, s3-bucket`);
        continue;
      }
      if (type === STATE_BLOCK_TYPE) {
        issues.error(part.at(TABLE, type), `"${STATE_BLOCK_TYPE}" is openem-config's own record of what it owns; it is not declared`);
        continue;
      }
      if (!isTable(names)) {
        issues.error(part.at(TABLE, type), `must be tables of blocks by name, e.g. [${TABLE}.${type}.<name>]`);
        continue;
      }
      for (const [name, fields] of Object.entries(names)) {
        const source = part.at(TABLE, type, name);
        const nameProblem = nameError('block', name);
        if (nameProblem) {
          issues.error(source, nameProblem);
          continue;
        }
        if (!isTable(fields)) {
          issues.error(source, `must be a table of the block's fields, e.g. [${TABLE}.${type}.${name}] with one field per line`);
          continue;
        }
        const block = readBlock({ type, name, fields, source }, part, { ...input, issues });
        const key = blockKey(type, name);
        const earlier = byKey.get(key);
        if (earlier) issues.error(source, `block ${key} is already declared at ${earlier.source.file}:${earlier.source.line}; declare each block once`);
        else if (block) byKey.set(key, block);
      }
    }
  }
  return orderByReferences([...byKey.values()], issues);
}

function readBlock(
  block: { type: string; name: string; fields: TomlTable; source: Source },
  part: ManifestPart,
  input: Pick<InputContext, 'env' | 'options'> & { issues: IssueList },
): DesiredBlock | undefined {
  const { issues } = input;
  const reading: Reading = {
    manifestDir: dirname(resolve(part.file)),
    env: input.env,
    keepTrailingNewline: input.options.keepTrailingNewline,
    issues,
    at: (...path) => part.at(TABLE, block.type, block.name, ...path),
    hidden: [],
  };
  const desired: DesiredBlock = { type: block.type, name: block.name, data: {}, references: {}, hidden: reading.hidden, fields: {}, source: block.source };
  const errors = issues.errors.length;
  for (const [field, raw] of Object.entries(block.fields)) {
    desired.fields[field] = reading.at(field);
    const reference = sourceOf(raw, 'block');
    if (reference !== undefined) {
      const target = parseBlockKey(reference);
      if (!target) issues.error(reading.at(field), `{ block = "${reference}" } must name a block as "<type-slug>/<name>", e.g. { block = "aws-credentials/prod" }`);
      else desired.references[field] = { ...target, source: reading.at(field) };
      continue;
    }
    const value = readValue(raw, [field], reading);
    if (value !== undefined) desired.data[field] = value;
  }
  return issues.errors.length > errors ? undefined : desired;
}

/** The string of `{ <kind> = "..." }`, the one-key inline table that says where a value comes from. */
function sourceOf(value: TomlValue, kind: 'file' | 'env' | 'block'): string | undefined {
  if (!isTable(value)) return undefined;
  const keys = Object.keys(value);
  const inner = value[kind];
  return keys.length === 1 && typeof inner === 'string' ? inner : undefined;
}

/** A field's JSON value, with `{ file }` and `{ env }` resolved at any depth. */
function readValue(raw: TomlValue, path: string[], reading: Reading): JsonValue | undefined {
  const { issues, at } = reading;
  const file = sourceOf(raw, 'file');
  if (file !== undefined) {
    reading.hidden.push(path.join('.'));
    const full = resolve(reading.manifestDir, file);
    // Reported at the manifest's line, naming the file: that line is what the user edits.
    const fileIssues = new IssueList();
    const text = readTextFile(full, { maxBytes: MAX_VALUE_FILE_BYTES, what: 'block value file', rejectEmpty: true }, fileIssues);
    for (const issue of fileIssues.errors) issues.error(at(...path), `${full}: ${issue.message}`);
    if (text === undefined) return undefined;
    return reading.keepTrailingNewline ? text : text.replace(/\r?\n$/, '');
  }
  const env = sourceOf(raw, 'env');
  if (env !== undefined) {
    reading.hidden.push(path.join('.'));
    const value = reading.env[env];
    if (value === undefined) {
      issues.error(at(...path), `the environment variable ${env} is not set; set it, or give the value in the file`);
      return undefined;
    }
    return value;
  }
  if (sourceOf(raw, 'block') !== undefined) {
    issues.error(at(...path), '{ block = "..." } may only be the value of a block\'s own field, not nested deeper');
    return undefined;
  }
  if (isTable(raw)) {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, value] of Object.entries(raw)) {
      const inner = readValue(value, [...path, key], reading);
      if (inner !== undefined) out[key] = inner;
    }
    return out;
  }
  if (Array.isArray(raw) && raw.some((item) => isTable(item))) {
    const out: JsonValue[] = [];
    for (const [index, item] of raw.entries()) {
      const inner = readValue(item, [...path, String(index)], reading);
      if (inner !== undefined) out.push(inner);
    }
    return out;
  }
  const json = toJsonValue(raw);
  if ('problem' in json) {
    issues.error(at(...path), json.problem);
    return undefined;
  }
  return json.value;
}

/** Declared blocks that others refer to come first, so that apply creates them first; a cycle is an error. */
function orderByReferences(blocks: DesiredBlock[], issues: IssueList): DesiredBlock[] {
  const byKey = new Map(blocks.map((block) => [blockKey(block.type, block.name), block]));
  const ordered: DesiredBlock[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (block: DesiredBlock, chain: string[]): void => {
    const key = blockKey(block.type, block.name);
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') {
      issues.error(block.source, `blocks refer to each other in a circle (${[...chain, key].join(' -> ')}); Prefect cannot store that`);
      return;
    }
    state.set(key, 'visiting');
    for (const reference of Object.values(block.references)) {
      const target = byKey.get(blockKey(reference.type, reference.name));
      if (target) visit(target, [...chain, key]);
    }
    state.set(key, 'done');
    ordered.push(block);
  };
  for (const block of [...blocks].sort((a, b) => (blockKey(a.type, a.name) < blockKey(b.type, b.name) ? -1 : 1))) visit(block, []);
  return ordered;
}
