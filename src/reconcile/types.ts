// The shape every managed kind shares: desired spec -> key -> read current -> pure diff -> apply.
import type { Api } from '../prefect/client.js';

export type Action = 'create' | 'update' | 'delete' | 'noop';

export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
  /** The values are secret: only the fact of a change is shown. */
  secret?: boolean;
}

/** One line of the plan: plain data, safe to print and to serialise (no secret values). */
export interface PlanItem {
  kind: string;
  key: string;
  action: Action;
  changes: FieldChange[];
  /** Why this object cannot be brought to the declared state (e.g. an immutable field differs); apply skips it and fails. */
  problem?: string;
}

export interface Diff {
  action: Action;
  changes: FieldChange[];
  problem?: string;
}

/**
 * What apply reports when the plan's create met an object someone else made since the read (another
 * run applying at the same time): found already as declared, or found and then updated to it.
 * Nothing when it did what the plan said (a create whose answer was lost and that then met its own
 * object counts as done by this run).
 */
export type Applied = void | 'found-unchanged' | 'found-updated';

export interface Kind<Desired, Current> {
  /** Singular, as shown in plan lines: `variable`, `secret`, `tag-limit`. */
  readonly name: string;
  key(desired: Desired): string;
  /**
   * Reads, in bulk, what the server has for these desired objects, by key. `owned` is what the
   * ownership record lists for this kind (empty when it was not read).
   */
  read(api: Api, desired: Desired[], owned?: readonly string[]): Promise<Map<string, Current>>;
  /**
   * Reads, in bulk, objects of this kind that other kinds refer to but the inputs do not declare
   * (a pool a deployment runs on), by key. Only the object itself: no parts the plan would need.
   */
  lookup?(api: Api, keys: readonly string[]): Promise<Map<string, Current>>;
  /** Pure: what has to change to turn `current` into `desired`. */
  diff(desired: Desired, current: Current | undefined): Diff;
  /** Sends the writes for one planned item. */
  apply(api: Api, item: PlanItem, desired: Desired, current: Current | undefined): Promise<Applied>;
  /** How `--prune` finds and deletes objects of this kind that this tool owns. */
  prune?: Prune<Current>;
  /** Apply this kind's writes one at a time, in plan order (its objects refer to each other). */
  sequential?: boolean;
}

export interface Prune<Current> {
  /**
   * The owned objects that exist on the server, by key. `owned` is the ownership record's list
   * for this kind; a kind that marks its objects itself (variables carry a tag) may ignore it.
   */
  list(api: Api, owned: readonly string[]): Promise<Map<string, Current>>;
  remove(api: Api, key: string, current: Current): Promise<void>;
}

export interface ItemResult extends PlanItem {
  outcome: 'created' | 'updated' | 'deleted' | 'unchanged' | 'failed';
  error?: string;
  /** Failed after its object was written (a WrittenError): owned all the same, finished by the next run. */
  written?: true;
  /** The run stopped (refused credentials, a server gone, a signal) before this object was attempted; outcome `failed`. */
  notDone?: true;
  /** Set when a create found the object made meanwhile by someone else: outcome `unchanged` or `updated`, not `created`. */
  note?: string;
}

export interface KindSummary {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  failed: number;
}
