// The desired state read from the input files: plain data, validated, ready to diff.
import type { Source } from '../errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface DesiredVariable {
  /** The Prefect variable name: the file key in lower case. */
  name: string;
  value: JsonValue;
  tags: string[];
  source: Source;
}

export interface DesiredSecret {
  /** The Prefect block document name (slug `secret`). */
  name: string;
  /** The secret itself. Never log, print or put it in an error. */
  value: string;
  source: Source;
}

export interface DesiredTagLimit {
  tag: string;
  limit: number;
  source: Source;
}


/** The `Source.file` of a problem in a command-line argument rather than in a file. */
export const COMMAND_LINE = '<command line>';

export interface DesiredQueue {
  name: string;
  /** Only the fields the file declares are compared and written; undefined means "not managed". */
  description?: string | undefined;
  paused?: boolean | undefined;
  /** null clears the limit. */
  concurrencyLimit?: number | null | undefined;
  priority?: number | undefined;
  source: Source;
}

export interface DesiredWorkPool {
  name: string;
  type: string;
  description?: string | undefined;
  paused?: boolean | undefined;
  /** null clears the limit. */
  concurrencyLimit?: number | null | undefined;
  /** The parsed base job template (`{job_configuration, variables}`), when declared. */
  baseJobTemplate?: { [key: string]: JsonValue } | undefined;
  /** The template file, for messages. */
  baseJobTemplateFile?: string | undefined;
  queues: DesiredQueue[];
  source: Source;
}

/** One schedule of a deployment; `slug` is always set (generated when the file has none). */
export interface DesiredSchedule {
  slug: string;
  schedule:
    | { cron: string; timezone?: string | undefined; day_or?: boolean | undefined }
    | { interval: number; anchor_date?: string | undefined; timezone?: string | undefined }
    | { rrule: string; timezone?: string | undefined };
  active: boolean;
  parameters: { [key: string]: JsonValue };
  source: Source;
}

export interface DesiredDeployment {
  /** The deployment name; with `flowName` it is the key `<flow>/<name>`. */
  name: string;
  flowName: string;
  entrypoint?: string | undefined;
  version?: string | undefined;
  description?: string | undefined;
  tags?: string[] | undefined;
  parameters?: { [key: string]: JsonValue } | undefined;
  /** Declared or derived from the flow's signature; undefined keeps what the server has. */
  parameterSchema?: { [key: string]: JsonValue } | undefined;
  /** The flow takes `**kwargs` (read from its source): a parameter the schema does not name is passed on to it. */
  takesAnyParameter?: boolean | undefined;
  enforceParameterSchema?: boolean | undefined;
  paused?: boolean | undefined;
  schedules: DesiredSchedule[];
  /** `concurrency_limit` of prefect.yaml; null removes the deployment's limit. */
  concurrency?: { limit: number; collisionStrategy?: 'ENQUEUE' | 'CANCEL_NEW' | undefined; gracePeriodSeconds?: number | undefined } | null | undefined;
  /** `global_concurrency_limit` of prefect.yaml: a global limit shared by name, not owned by the deployment. */
  globalConcurrencyLimit?: { name: string; source: Source } | undefined;
  workPoolName?: string | undefined;
  /** Where `work_pool.name` is written: the place of an issue about the pool. */
  workPoolSource?: Source | undefined;
  workQueueName?: string | undefined;
  /**
   * `work_pool.type` as written (Prefect 2): ignored, as Prefect 3 ignores it, but a pool of another
   * type is refused, since the runs would go to a pool other than the one the file describes.
   */
  workPoolType?: { type: string; source: Source } | undefined;
  /** Placeholders `{{ prefect.blocks.* }}` / `{{ prefect.variables.* }}` stay in; `{{ $ENV }}` are resolved. */
  jobVariables?: { [key: string]: JsonValue } | undefined;
  /**
   * Where each value below `job_variables` is written, by the dotted path the job variable check
   * reports (`image`, `networks.0`, `registry_credentials.password`): the place of an issue about it.
   */
  jobVariableSources?: { [path: string]: Source } | undefined;
  pullSteps?: JsonValue[] | undefined;
  /**
   * The automations its `triggers:` make, each running this deployment; undefined when the file has
   * no `triggers:` key (its trigger automations are kept), empty for `triggers: []` (deleted).
   */
  triggers?: DesiredAutomation[] | undefined;
  triggersSource?: Source | undefined;
  /** Every `{{ prefect.blocks.secret.x }}` / `{{ prefect.variables.y }}` reference, for cross-checks. */
  references: Array<{ kind: 'secret' | 'variable' | 'block'; name: string; source: Source }>;
  source: Source;
}

// ---- Automations and deployment triggers ----

/** The kinds of object an automation's action may name. */
export type ReferenceKind = 'deployment' | 'work_pool' | 'work_queue' | 'block_document' | 'automation';

/** An object an action names, by name or by id as the file writes it. */
export interface ActionReference {
  kind: ReferenceKind;
  name?: string | undefined;
  id?: string | undefined;
  source: Source;
}

/** One action: the fields Prefect stores, without the id of what it names (that is `reference`). */
export interface DesiredAction {
  body: { [key: string]: JsonValue };
  reference?: ActionReference | undefined;
  source: Source;
}

/** A Jinja template Prefect renders when the action runs, to be checked by the server before any write. */
export interface TemplateText {
  text: string;
  source: Source;
}

/** An automation as the server holds it, in canonical form, with its references by name. */
export interface DesiredAutomation {
  name: string;
  description: string;
  enabled: boolean;
  tags: string[];
  trigger: { [key: string]: JsonValue };
  actions: DesiredAction[];
  actionsOnTrigger: DesiredAction[];
  actionsOnResolve: DesiredAction[];
  /** Take over an automation of that name that openem-config does not own yet. */
  adopt: boolean;
  templates: TemplateText[];
  source: Source;
}

