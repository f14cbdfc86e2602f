// A prefect.yaml with its legacy forms rewritten into the current ones, as the deployments reader
// converts them when it reads the file (the verdicts of kinds/deployments/legacy.ts). The parsed
// document is edited node by node, so comments, anchors, aliases and the order of keys stay; a
// form inside an anchor is rewritten once, where the anchor is written. A form the reader refuses,
// or one that cannot be rewritten without changing another use of it, is left and reported.
import { isDeepStrictEqual } from 'node:util';
import { isCollection, isMap, isNode, isScalar, Scalar, YAMLSeq, type Document, type Pair, type ToStringOptions, type YAMLMap } from 'yaml';
import { IssueList, type Source } from '../errors.js';
import { isObject, type JsonObject } from '../config/json.js';
import type { PathPart } from '../config/templating.js';
import type { JsonValue } from '../config/types.js';
import { formatPath, parseYamlDocument, readYamlDocument, type ParsedYaml } from '../config/yaml.js';
import { currentForm, legacyFindings, type LegacyFix, type LegacyScope, type LegacyVerdict } from '../kinds/deployments/legacy.js';
import { DocumentView, type Provider } from './nodes.js';

export interface MigrateChange {
  /** The line of the original text where the rewritten key is. */
  line: number;
  /** What changed, e.g. `schedule -> schedules (one entry)`. */
  change: string;
}

export type MigrateResult =
  | { ok: true; text: string; changes: MigrateChange[] }
  /** The rewrite would change what the file declares: a bug of migrate, and nothing is written. */
  | { ok: false; reason: string };

/** One pair to rewrite, with the verdict of every deployment (or schedule) that reaches it. */
interface Edit {
  provider: Provider;
  /** Where the reader reports it first, e.g. `deployments[1].schedule`. */
  path: PathPart[];
  verdicts: LegacyVerdict[];
  deployments: Set<number>;
  /** A `<<:` merge gives the same key again below it. */
  shadowed: boolean;
}

/** Passes over the document: a rewrite can bring a legacy form into effect (a merged key it shadowed), which the next pass rewrites. */
const MAX_PASSES = 20;

/**
 * `text` with its legacy forms in the current form, and a line for each change; undefined after
 * reporting why the file cannot be read. Forms left as they are, each with why, go to `issues`
 * as errors.
 */
export function migrateText(text: string, file: string, issues: IssueList): MigrateResult | undefined {
  const parsed = parseYamlDocument(text, file, issues);
  const data = parsed && readYamlDocument(parsed, issues);
  if (!parsed || !data) return undefined;
  const { doc } = parsed;
  if (!isMap(doc.contents) || !isObject(data.value)) {
    issues.error(data.at([]), 'a prefect.yaml must be a mapping with a `deployments:` list; nothing to migrate');
    return undefined;
  }
  // What every rewrite must keep: the deployments as the reader reads them.
  const declared = currentForm(data.value);
  const keeps = () => {
    const reread = readYamlDocument(parsed, new IssueList());
    return reread !== undefined && isDeepStrictEqual(currentForm(reread.value), declared);
  };
  let style: ToStringOptions | undefined;
  const changes: MigrateChange[] = [];
  /** Rewrites that would change what the file declares, by pair: left, and never tried again. */
  const blocked = new Set<Pair>();
  let value: JsonObject = data.value;
  for (let pass = 1; ; pass++) {
    const view = new DocumentView(doc);
    const edits = planEdits(doc.contents, value, view);
    const ready = edits.filter((edit) => !blocked.has(edit.provider.pair) && whyLeft(edit, view) === undefined);
    if (ready.length === 0 || pass > MAX_PASSES) {
      const left = edits.flatMap((edit) => {
        const why = whyLeft(edit, view) ?? (blocked.has(edit.provider.pair) ? blockedReason(edit) : undefined);
        return why ? [{ source: sourceOf(edit, { view, parsed }), why }] : [];
      });
      left.sort((a, b) => (a.source.line ?? 0) - (b.source.line ?? 0) || (a.source.column ?? 0) - (b.source.column ?? 0));
      for (const { source, why } of left) issues.error(source, `left as it is: ${why}`);
      break;
    }
    // Chosen before the first edit, so that the lines no edit touches come out as they were written.
    style ??= writtenStyle(doc, text);
    // Said before the rewrite, which takes away the nodes that show where it is.
    const said = new Map(ready.map((edit) => [edit, changeOf(edit, { view, parsed })]));
    let applied = ready.map((edit) => ({ edit, undo: rewrite(edit.provider, fixOf(edit)) }));
    if (!keeps()) {
      // Some rewrite changes another use of what it rewrites: find which, one at a time.
      for (const { undo } of applied.reverse()) undo();
      applied = [];
      for (const edit of ready) {
        const undo = rewrite(edit.provider, fixOf(edit));
        if (keeps()) applied.push({ edit, undo });
        else {
          undo();
          blocked.add(edit.provider.pair);
        }
      }
    }
    for (const { edit } of applied) changes.push(said.get(edit)!);
    const reread = readYamlDocument(parsed, new IssueList());
    if (!reread || !isObject(reread.value)) return { ok: false, reason: 'the rewritten document cannot be read back' };
    value = reread.value;
  }
  if (changes.length === 0 || !style) return { ok: true, text, changes };
  let migrated = doc.toString(style);
  if (text.includes('\r\n')) migrated = migrated.replace(/\r?\n/g, '\r\n');
  const problem = sameDeployments(declared, migrated, file);
  if (problem) return { ok: false, reason: problem };
  changes.sort((a, b) => a.line - b.line);
  return { ok: true, text: migrated, changes };
}

/** Every legacy key the reader finds, at the pair that gives it, in the order the reader reaches them. */
function planEdits(root: YAMLMap, value: JsonObject, view: DocumentView): Edit[] {
  const edits = new Map<Pair, Edit>();
  const judge = (scope: LegacyScope, map: YAMLMap | undefined, json: JsonObject, path: PathPart[], deployment?: number) => {
    const findings = legacyFindings(scope, json);
    if (!map) return findings;
    for (const { rule, verdict } of findings) {
      const [provider, ...below] = view.providers(map, rule.key);
      if (!provider) continue;
      let edit = edits.get(provider.pair);
      if (!edit) {
        edit = { provider, path: [...path, rule.key], verdicts: [], deployments: new Set(), shadowed: false };
        edits.set(provider.pair, edit);
      }
      edit.verdicts.push(verdict);
      if (deployment !== undefined) edit.deployments.add(deployment);
      edit.shadowed ||= below.length > 0;
    }
    return findings;
  };

  judge('file', root, value, []);
  const list = value.deployments;
  const items = view.seq(view.valueOf(root, 'deployments'))?.items ?? [];
  if (!Array.isArray(list)) return [...edits.values()];
  for (const [index, entry] of list.entries()) {
    const map = view.map(items[index]);
    if (!map || !isObject(entry)) continue;
    const base: PathPart[] = ['deployments', index];
    const findings = judge('deployment', map, entry, base, index);
    if (isObject(entry.work_pool)) judge('work_pool', view.map(view.valueOf(map, 'work_pool')), entry.work_pool, [...base, 'work_pool'], index);
    // The schedules the reader reads: the single one when it is converted, else the list.
    if (findings.some(({ verdict }) => verdict.outcome !== 'refused' && verdict.fix === 'to-schedules') && isObject(entry.schedule)) {
      judge('schedule', view.map(view.valueOf(map, 'schedule')), entry.schedule, [...base, 'schedule'], index);
    } else if (Array.isArray(entry.schedules)) {
      const nodes = view.seq(view.valueOf(map, 'schedules'))?.items ?? [];
      for (const [at, schedule] of entry.schedules.entries()) {
        if (isObject(schedule)) judge('schedule', view.map(nodes[at]), schedule, [...base, 'schedules', at], index);
      }
    }
  }
  return [...edits.values()];
}

interface EditContext {
  view: DocumentView;
  parsed: ParsedYaml;
}

/** The verdict an edit follows: a refusal by any deployment that reaches the pair wins. */
function verdictOf(edit: Edit): LegacyVerdict {
  return edit.verdicts.find((verdict) => verdict.outcome === 'refused') ?? edit.verdicts[0]!;
}

/** The fix of an edit that is not refused (whyLeft keeps refused ones from being tried). */
function fixOf(edit: Edit): LegacyFix {
  const verdict = verdictOf(edit);
  if (verdict.outcome === 'refused') throw new Error('a refused form is never rewritten');
  return verdict.fix;
}

/** Why the pair cannot be rewritten, before trying: the reader refuses it, or it holds an anchor used elsewhere. */
function whyLeft(edit: Edit, view: DocumentView): string | undefined {
  const verdict = verdictOf(edit);
  if (verdict.outcome === 'refused') return verdict.message;
  const { pair } = edit.provider;
  const removed = verdict.fix === 'remove' ? [pair.key, pair.value] : verdict.fix === 'to-null' ? [pair.value] : [];
  const anchors = view.anchorsUsedOutside(removed);
  if (anchors.length === 0) return undefined;
  return `it holds the anchor ${anchors.map((name) => `&${name}`).join(', ')}, used elsewhere in the file; move the anchor out of it, then run migrate again (${verdict.message})`;
}

/** Why a rewrite was undone: it changed what some deployment declares. */
function blockedReason(edit: Edit): string {
  const { message } = verdictOf(edit);
  const key = String(edit.path.at(-1));
  if (edit.shadowed) return `a \`<<:\` merge gives this mapping \`${key}\` too, and its value would take effect instead; convert both by hand (${message})`;
  return `rewriting it where it is written would change another deployment that uses it; convert it by hand (${message})`;
}

function changeOf(edit: Edit, context: EditContext): MigrateChange {
  const verdict = verdictOf(edit);
  const change = verdict.outcome === 'refused' ? '' : verdict.change;
  const shared = edit.deployments.size > 1 ? `; written once, used by ${edit.deployments.size} deployments` : '';
  return { line: sourceOf(edit, context).line ?? 1, change: `${change}${shared}` };
}

/** Where the key is written in the original text, or the key below it that the verdict names (`limit` of `concurrency_limit`). */
function sourceOf(edit: Edit, { view, parsed }: EditContext): Source {
  const verdict = verdictOf(edit);
  let node: unknown = verdict.outcome === 'refused' && verdict.place === 'value' ? edit.provider.pair.value : edit.provider.pair.key;
  let map = view.map(edit.provider.pair.value);
  for (const key of verdict.at ?? []) {
    const below = map && view.providers(map, String(key))[0];
    if (!below) break;
    node = below.pair.key;
    map = view.map(below.pair.value);
  }
  const range = isNode(node) ? node.range : undefined;
  const where = range ? parsed.position(range[0]) : { file: parsed.file };
  return { ...where, key: formatPath([...edit.path, ...(verdict.at ?? [])]) };
}

/** Rewrites the pair in place; returns what puts it back as it was. */
function rewrite({ owner, pair }: Provider, fix: LegacyFix): () => void {
  const { key, value } = pair;
  if (fix === 'remove') return removePair(owner, pair);
  if (fix === 'to-null') {
    pair.value = new Scalar(null);
  } else if (fix === 'to-list') {
    // `pull: {step: {...}}` becomes `pull:` with that step as its one item, in block style as written.
    const list = new YAMLSeq();
    list.items.push(value);
    list.flow = isCollection(value) && value.flow === true;
    pair.value = list;
  } else {
    const renamed = isScalar(key) ? key.value : undefined;
    if (isScalar(key)) key.value = 'schedules';
    else pair.key = new Scalar('schedules');
    const list = new YAMLSeq();
    list.items.push(value);
    // `schedule: {cron: ...}` and `schedule: *nightly` become `schedules: [...]`, a block mapping a block list.
    list.flow = !isCollection(value) || value.flow === true;
    // A comment after the value stays after it, outside the brackets, on the same line.
    const comment = isNode(value) ? value.comment : undefined;
    if (list.flow && isNode(value) && comment) {
      list.comment = comment;
      value.comment = undefined;
    }
    pair.value = list;
    return () => {
      if (isScalar(key)) key.value = renamed;
      if (isNode(value)) value.comment = comment;
      pair.key = key;
      pair.value = value;
    };
  }
  return () => {
    pair.value = value;
  };
}

/** Takes the pair out; the comment lines and the blank line above it stay, above the next key or at the end of the mapping. */
function removePair(owner: YAMLMap, pair: Pair): () => void {
  const index = owner.items.indexOf(pair);
  if (index < 0) return () => {};
  owner.items.splice(index, 1);
  const key = isNode(pair.key) ? pair.key : undefined;
  const before = key?.commentBefore;
  const next = owner.items[index]?.key;
  const saved = isNode(next) ? { commentBefore: next.commentBefore, spaceBefore: next.spaceBefore } : undefined;
  const comment = owner.comment;
  if (isNode(next)) {
    if (before) next.commentBefore = next.commentBefore ? `${before}\n${next.commentBefore}` : before;
    if (key?.spaceBefore) next.spaceBefore = true;
  } else if (before) {
    owner.comment = comment ? `${before}\n${comment}` : before;
  }
  return () => {
    if (isNode(next) && saved) Object.assign(next, saved);
    owner.comment = comment;
    owner.items.splice(index, 0, pair);
  };
}

/**
 * The output options under which the unedited document comes out closest to how it is written
 * (indentation, lists indented under their key or not, spaces inside `{ }`), and with no line
 * folded: the document is written again as a whole, and this keeps the lines no edit touches.
 */
function writtenStyle(doc: Document, text: string): ToStringOptions {
  const written = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) written.set(line, (written.get(line) ?? 0) + 1);
  let best: { style: ToStringOptions; kept: number } | undefined;
  for (const indent of [2, 4]) {
    for (const indentSeq of [true, false]) {
      for (const flowCollectionPadding of [false, true]) {
        const style: ToStringOptions = { indent, indentSeq, flowCollectionPadding, lineWidth: 0 };
        const left = new Map(written);
        let kept = 0;
        for (const line of doc.toString(style).split('\n')) {
          const count = left.get(line) ?? 0;
          if (count > 0) {
            kept++;
            left.set(line, count - 1);
          }
        }
        if (!best || kept > best.kept) best = { style, kept };
      }
    }
  }
  return best?.style ?? { lineWidth: 0 };
}

/** Undefined when the migrated text, read back, declares what the original does (`declared`); else what is wrong. */
function sameDeployments(declared: JsonValue, migrated: string, file: string): string | undefined {
  const scratch = new IssueList();
  const parsed = parseYamlDocument(migrated, file, scratch);
  const reread = parsed && readYamlDocument(parsed, scratch);
  if (!reread || scratch.errors.length > 0) return 'the rewritten file does not read back as YAML';
  return isDeepStrictEqual(currentForm(reread.value), declared) ? undefined : 'the rewritten file would declare other deployments';
}
