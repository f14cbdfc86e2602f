// What a kind is to the rest of the program: how its inputs are loaded, how it is reconciled, how
// which Prefect it needs. src/kinds/index.ts lists them, in dependency order.
import type { InputOptions, ManifestClaim, ManifestPart } from '../config/inputs.js';
import type { ConfigIssue, IssueList } from '../errors.js';
import type { Matcher } from '../config/glob.js';
import type { ApplyArguments, ExportFile, ExportWarning, SecretEntry } from '../export/types.js';
import type { Api } from '../prefect/client.js';
import type { Kind } from './types.js';

/** What a kind's load is given. */
export interface InputContext {
  options: InputOptions;
  env: Record<string, string | undefined>;
  /** The parts of the limits manifests that this kind claims. */
  manifest: readonly ManifestPart[];
  /** The kinds loaded before this one (the registry's order), for a kind read out of another's inputs. */
  loaded: DesiredSet;
}

export interface Loaded<Desired> {
  desired: Desired[];
  /**
   * Whether the inputs speak of this kind at all (a file or flag of it was given, even empty):
   * only then may --prune delete owned objects of it.
   */
  declared: boolean;
}

export interface KindDefinition<Desired, Current> {
  /** Singular, as in plan lines and the ownership record: `variable`, `tag-limit`. */
  readonly name: string;
  /** The key of its count in `desired` of the JSON report: `variables`, `tagLimits`. */
  readonly countKey: string;
  /** As a person reads it, singular and plural: `tag limit`, `tag limits`. */
  readonly label: readonly [string, string];
  /** The oldest Prefect release whose API has what this kind uses. */
  readonly since: string;
  /** Newer releases that some declared features need (a field the server must know), with the feature's name. */
  requires?(desired: readonly Desired[]): Array<{ version: string; feature: string }>;
  /**
   * Checks of the declared objects that need the server (a schema it publishes), after the plan's
   * reads and before the first write; their issues are input errors.
   */
  checkAgainstServer?(api: Api, desired: readonly Desired[], current: ReadonlyMap<string, Current>): Promise<ConfigIssue[]>;
  /** The top-level keys of a limits manifest (-l) this kind reads, if it is declared there. */
  readonly manifest?: ManifestClaim;
  load(input: InputContext, issues: IssueList): Loaded<Desired>;
  key(desired: Desired): string;
  /**
   * The same server object as another kind names it (a secret block is also `secret/<name>` of
   * the blocks kind): ownership moves with the declaration, and --prune never deletes an object
   * that the other kind declares.
   */
  aliases?(key: string): Array<{ kind: string; key: string }>;
  /**
   * Objects of it that the ownership record lists (or that its prune finds otherwise) and the inputs
   * no longer declare are deleted without --prune, within what `declared` covers (a deployment
   * that declares `triggers:` has exactly those).
   */
  readonly prunesUndeclared?: boolean;
  /**
   * Its objects belong to an object of another kind (a deployment's triggers to the deployment):
   * `--only` selecting that object selects them too. `key` gives the owner's key.
   */
  readonly partOf?: { kind: string; key(key: string): string };
  /** Its read matches objects by the ownership record (names are not unique): plan reads the record too. */
  readonly needsOwnership?: boolean;
  /** The reconcile part; a new one per run, as it may remember ids it read. */
  reconcile(desired?: DesiredSet): Kind<Desired, Current>;
  /** How `export` writes this kind's objects as input files. */
  readonly export?: ExportPart<Current, unknown>;
}

/** What an export part is given besides the server's objects. */
export interface ExportContext {
  matches: Matcher;
  env: Record<string, string | undefined>;
  /** Writes a file into a fresh scratch directory and returns its path, for reading an entry back. */
  scratchFile(name: string, content: string): string;
}

/** What one kind adds to an export. */
export interface ExportContribution {
  /** Files of its own (vars files, prefect.yaml, job templates). */
  files: ExportFile[];
  /** Tables for the limits manifest, in TOML, without the file's header. */
  manifest?: string[] | undefined;
  warnings: ExportWarning[];
  count: number;
  /** How apply is given these files (the limits manifest is added when any part writes to it). */
  args?: Partial<ApplyArguments> | undefined;
  /** Secret blocks to provide, for the README. */
  secrets?: SecretEntry[] | undefined;
  /** Environment variable names the files give a meaning to (a variable's key overrides it). */
  envNames?: string[] | undefined;
  /**
   * Files the written ones refer to but the export never writes (secret values), with the server's
   * content: only for reading the export back in a scratch directory.
   */
  scratchFiles?: ExportFile[] | undefined;
  /** Files the written ones read a value from, for the operator to provide (named in the README). */
  provide?: Array<{ path: string; what: string }> | undefined;
}

export interface ExportPart<Current, Server> {
  /** The name `--only` selects; kinds may share one (tag and global limits: `limits`). */
  readonly section: string;
  /** Said after the kind's count in the report, e.g. `names only`. */
  readonly countNote?: string;
  /** The server's objects of this kind, read in bulk. */
  read(api: Api, matches: Matcher): Promise<Server>;
  write(server: Server, context: ExportContext): ExportContribution;
  /**
   * The objects by key as the kind's diff sees them once the files are applied to the server they
   * came from: the export is verified by diffing what the files load to with these.
   */
  current(server: Server): Map<string, Current>;
}

/** Types an export part; the kind keeps it with its server shape erased. */
export function defineExport<Current, Server>(part: ExportPart<Current, Server>): ExportPart<Current, unknown> {
  return part;
}

/** Types a kind's definition; the registry keeps them as KindDefinition<unknown, unknown>. */
export function defineKind<Desired, Current>(definition: KindDefinition<Desired, Current>): KindDefinition<Desired, Current> {
  return definition;
}

/**
 * A kind of any types, as the registry lists them. TypeScript compares methods bivariantly, so
 * every KindDefinition<D, C> is one of these without a cast.
 */
export type AnyKind = KindDefinition<unknown, unknown>;

/**
 * Each kind's desired objects, typed by the kind that is asked for. The one place that turns a
 * list of unknown back into a kind's type: it was stored under that kind's name by that kind.
 */
export class DesiredSet {
  private readonly byKind = new Map<string, { loaded: Loaded<unknown>; byKey: Map<string, unknown> }>();

  set<D>(kind: KindDefinition<D, unknown>, loaded: Loaded<D>): void {
    this.byKind.set(kind.name, { loaded, byKey: new Map(loaded.desired.map((item) => [kind.key(item), item])) });
  }

  get<D>(kind: KindDefinition<D, unknown>): D[] {
    return (this.byKind.get(kind.name)?.loaded.desired ?? []) as D[];
  }

  /** The desired object of a kind with this key, if the inputs declare it. */
  find<D>(kind: KindDefinition<D, unknown>, key: string): D | undefined {
    return this.byKind.get(kind.name)?.byKey.get(key) as D | undefined;
  }

  declared(kind: { name: string }): boolean {
    return this.byKind.get(kind.name)?.loaded.declared ?? false;
  }

  /** The same inputs, with only the objects `keep` keeps; a kind none of whose objects is kept counts as not declared. */
  filter(kinds: readonly KindDefinition<unknown, unknown>[], keep: (kind: KindDefinition<unknown, unknown>, key: string) => boolean, keepKind: (kind: KindDefinition<unknown, unknown>) => boolean): DesiredSet {
    const chosen = new DesiredSet();
    for (const kind of kinds) {
      const entry = this.byKind.get(kind.name);
      if (!entry) continue;
      const included = keepKind(kind);
      chosen.set(kind, { desired: included ? entry.loaded.desired.filter((item) => keep(kind, kind.key(item))) : [], declared: included && entry.loaded.declared });
    }
    return chosen;
  }

  /** Whether a key is among the desired objects of a kind. */
  has(kind: { name: string }, key: string): boolean {
    return this.byKind.get(kind.name)?.byKey.has(key) ?? false;
  }
}
