// Placeholders in prefect.yaml values: `{{ $ENV }}` is resolved here; block and variable references
// are kept for the worker, which resolves them at run time so that secrets never sit in a deployment.
import type { Source } from '../errors.js';
import type { JsonValue } from './types.js';

export type PathPart = string | number;

/** Where each value of the walked document is written. */
export type Locate = (path: readonly PathPart[]) => Source;

/** The part of `IssueList` the templater needs; the loader passes one that drops repeats. */
export interface IssueSink {
  error(source: Source, message: string): void;
  warn(source: Source, message: string): void;
}

export interface Reference {
  /** `secret` for `prefect.blocks.secret.<name>`, `block` for other block types, `variable` for `prefect.variables.<name>`. */
  kind: 'secret' | 'variable' | 'block';
  /** The secret block or variable name; for `block`, `<block type>/<block name>`. */
  name: string;
  source: Source;
}

export interface Resolved {
  value: JsonValue;
  references: Reference[];
  /** False when an environment variable was not set: `value` still holds its placeholder, and `finish` reports it. */
  complete: boolean;
}

export interface TemplaterOptions {
  env: Record<string, string | undefined>;
  issues: IssueSink;
  /**
   * Values of the outputs of build and push steps, which openem-config does not run, by the
   * placeholder's expression (`build-image.image`). The environment variable that
   * `stepOutputVariable` names gives the others.
   */
  stepOutputs?: Readonly<Record<string, string>> | undefined;
}

const STEP_OUTPUT_PREFIX = 'OPENEM_STEP_OUTPUT_';
/** What `{{ ctx.<root>.* }}` gives a worker's job template when a run starts; without `ctx.`, it reads as a step output. */
const RUNTIME_ROOTS = new Set(['flow_run', 'flow']);

/**
 * The environment variable that gives the step output `expression`: each dotted part in upper case,
 * any character other than a letter or digit as `_`, the parts joined by `__`
 * (`build-image.image` -> OPENEM_STEP_OUTPUT_BUILD_IMAGE__IMAGE).
 */
export function stepOutputVariable(expression: string): string {
  return `${STEP_OUTPUT_PREFIX}${expression
    .split('.')
    .map((part) => part.toUpperCase().replace(/[^A-Z0-9]/g, '_'))
    .join('__')}`;
}

/** Prefect's own pattern (`utilities/templating.py`), so that exactly the placeholders Prefect sees are seen here. */
const PLACEHOLDER = /\{\{\s*([\w.\-[\]$]+)\s*\}\}/g;
const HAS_PLACEHOLDER = new RegExp(PLACEHOLDER.source);
/** What is left of a placeholder the pattern did not take, e.g. `{{ $A:-b }}` or `{{ prefect.blocks.x y }}`. */
const MALFORMED = /\{\{\s*(\$|prefect\.)/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Block document names and block type slugs (`[a-z0-9-]`), variable names (`[a-z0-9_-]`). */
const BLOCK_PART = /^[a-z0-9-]+$/;
const VARIABLE_NAME = /^[a-z0-9_-]+$/;
const BLOCKS = 'prefect.blocks.';
const VARIABLES = 'prefect.variables.';
const MAX_LISTED_PLACES = 10;

/**
 * How a walk treats placeholders: `resolve` fills in environment variables and step outputs,
 * `keep` only collects references, and in pull steps (`pullIds`, the ids of the earlier pull steps)
 * step outputs are filled in and what the worker resolves is kept.
 */
type Mode = 'resolve' | 'keep' | { pullIds: ReadonlySet<string> };

/**
 * One templater serves a whole load, so that an unset environment variable is reported once with
 * every place that uses it.
 */
export class Templater {
  private readonly missing = new Map<string, Source[]>();
  /** Uses of unset variables so far, repeats included. */
  private missingCount = 0;

  constructor(private readonly options: TemplaterOptions) {}

  /**
   * `value` with every `{{ $NAME }}` (and, with a warning, bare `{{ NAME }}`) replaced by the environment
   * variable; `{{ prefect.blocks.* }}`, `{{ prefect.variables.* }}` and `{{ ctx.* }}` are kept as written.
   */
  resolve(value: JsonValue, path: readonly PathPart[], locate: Locate): Resolved {
    const references: Reference[] = [];
    const reported = this.missingCount;
    const resolved = this.walk(value, [...path], locate, references, 'resolve');
    return { value: resolved, references, complete: this.missingCount === reported };
  }

  /**
   * The references in `value`, which stays as written: pull steps run in the worker, which resolves
   * their environment variables, blocks and variables, and may use outputs of earlier pull steps.
   */
  references(value: JsonValue, path: readonly PathPart[], locate: Locate): Reference[] {
    const references: Reference[] = [];
    this.walk(value, [...path], locate, references, 'keep');
    return references;
  }

  /**
   * Pull steps as prefect deploy stores them: an output of a build or push step (`{{ step-id.field }}`,
   * which exists only when the steps run) is filled in from the values given for it; the output of
   * an earlier pull step, `{{ $NAME }}`, blocks, variables and `{{ ctx.* }}` stay as written, for the
   * worker to resolve when a run starts.
   */
  pullSteps(steps: readonly JsonValue[], path: readonly PathPart[], locate: Locate): Resolved {
    const references: Reference[] = [];
    const pullIds = new Set<string>();
    const value = steps.map((step, index) => {
      const resolved = this.walk(step, [...path, index], locate, references, { pullIds: new Set(pullIds) });
      for (const args of step !== null && typeof step === 'object' && !Array.isArray(step) ? Object.values(step) : []) {
        const id = args !== null && typeof args === 'object' && !Array.isArray(args) ? args.id : undefined;
        if (typeof id === 'string') pullIds.add(id);
      }
      return resolved;
    });
    return { value, references, complete: true };
  }

  /** Reports each environment variable that was not set, once, with every place that uses it. */
  finish(): void {
    for (const [name, places] of this.missing) {
      const [first, ...others] = places;
      if (!first) continue;
      const listed = others.slice(0, MAX_LISTED_PLACES).map((source) => `${source.file}:${source.line ?? '?'}`);
      const more = others.length > MAX_LISTED_PLACES ? ` and ${others.length - MAX_LISTED_PLACES} more` : '';
      const also = listed.length > 0 ? ` (also used at ${listed.join(', ')}${more})` : '';
      this.options.issues.error(first, `environment variable ${name} is not set or is empty${also}; set it for openem-config, or write the value here`);
    }
    this.missing.clear();
  }

  private walk(value: JsonValue, path: PathPart[], locate: Locate, references: Reference[], mode: Mode): JsonValue {
    if (typeof value === 'string') return this.string(value, path, locate, references, mode);
    if (Array.isArray(value)) return value.map((item, index) => this.walk(item, [...path, index], locate, references, mode));
    if (value !== null && typeof value === 'object') {
      // fromEntries defines own properties, so a key such as `__proto__` stays data.
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.walk(item, [...path, key], locate, references, mode)]));
    }
    return value;
  }

  private string(text: string, path: PathPart[], locate: Locate, references: Reference[], mode: Mode): string {
    const resolve = mode === 'resolve';
    if (!text.includes('{{')) return text;
    const { issues, env } = this.options;
    const at = () => locate(path);
    let out = '';
    let last = 0;
    for (const match of text.matchAll(PLACEHOLDER)) {
      const [full, expression = ''] = match;
      const literal = text.slice(last, match.index);
      if (resolve) this.checkLiteral(literal, at);
      out += literal;
      last = match.index + full.length;
      if (expression.startsWith('prefect.')) {
        // Kept for the worker, which resolves it when a run starts, inside other text too.
        const reference = this.reference(expression, full, at);
        if (reference) references.push(reference);
        out += full;
      } else if (mode === 'keep' || expression.startsWith('ctx.')) {
        // `{{ ctx.* }}` is filled in by Prefect when a run starts.
        out += full;
      } else if (typeof mode === 'object') {
        out += this.inPullStep(expression, full, mode.pullIds, at);
      } else if (expression.startsWith('$')) {
        const name = expression.slice(1);
        if (!ENV_NAME.test(name)) {
          issues.error(at(), `\`${full}\` does not name an environment variable: write \`{{ $NAME }}\` with letters, digits and _`);
          out += full;
        } else {
          out += this.environment(name, full, at);
        }
      } else if (ENV_NAME.test(expression)) {
        issues.warn(
          at(),
          `\`${full}\` is read from environment variable ${expression}; write \`{{ $${expression} }}\` to say so: prefect deploy also fills a bare name from the environment when it is set there, but otherwise takes a build or push step output of that name (and, with none, leaves the value out), and openem-config runs no build or push step`,
        );
        out += this.environment(expression, full, at);
      } else {
        out += this.stepOutput(expression, full, at);
      }
    }
    const rest = text.slice(last);
    if (resolve) this.checkLiteral(rest, at);
    return out + rest;
  }

  /**
   * A placeholder in a pull step: a step output is filled in, as prefect deploy fills it in; the
   * rest is left to the worker. prefect deploy would also fill in an environment variable set
   * where it runs, which the warning says.
   */
  private inPullStep(expression: string, full: string, pullIds: ReadonlySet<string>, at: () => Source): string {
    const name = expression.startsWith('$') ? expression.slice(1) : expression;
    if (ENV_NAME.test(name)) {
      if (this.options.env[name]) {
        this.options.issues.warn(
          at(),
          `\`${full}\` in a pull step is stored as written, and the worker fills it in from its own environment when a run starts; prefect deploy would store the value ${name} has where it runs instead (in clear text, in the deployment); write the value here to store it`,
        );
      }
      return full;
    }
    const [id = ''] = expression.split('.');
    return pullIds.has(id) ? full : this.stepOutput(expression, full, at, 'in a pull step, ');
  }

  /** The value given for a build or push step's output; the placeholder, after an error naming where to give it, when none is. */
  private stepOutput(expression: string, full: string, at: () => Source, where = ''): string {
    const variable = stepOutputVariable(expression);
    const value = this.options.stepOutputs?.[expression] ?? this.options.env[variable];
    if (!value) {
      const [root = ''] = expression.split('.');
      const inPull = where === '' ? '' : ` (no earlier pull step has the id \`${root}\`; prefect deploy fills it in when it deploys, as the worker has no build or push step output)`;
      const runtime = RUNTIME_ROOTS.has(root)
        ? `; for the run's own ${root}, Prefect's workers fill in \`{{ ctx.${expression} }}\` when a run starts, but only in the job's name (\`job_variables: {name: ...}\`), elsewhere it stays as written; prefect deploy leaves \`${full}\` out, with a warning`
        : '';
      this.options.issues.error(
        at(),
        `\`${full}\` ${where}is the output of a build or push step${inPull}, and openem-config runs no build or push step: give its value with --step-output ${expression}=VALUE or in the environment variable ${variable} (for example from the CI job that built the image), or write the value here${runtime}`,
      );
      return full;
    }
    if (MALFORMED.test(value) || HAS_PLACEHOLDER.test(value)) {
      this.options.issues.error(at(), `the value given for step output \`${expression}\` holds a \`{{ }}\` placeholder, which is not resolved again; give the final value`);
    }
    return value;
  }

  /** A `{{ $` that Prefect's pattern did not take would stay in the deployment unresolved. */
  private checkLiteral(literal: string, at: () => Source): void {
    const malformed = MALFORMED.exec(literal);
    if (!malformed) return;
    const end = literal.indexOf('}}', malformed.index);
    const shown = end < 0 ? literal.slice(malformed.index) : literal.slice(malformed.index, end + 2);
    this.options.issues.error(
      at(),
      `\`${shown}\` is not a placeholder: write \`{{ $NAME }}\` for an environment variable, \`{{ prefect.blocks.<type>.<name> }}\` or \`{{ prefect.variables.<name> }}\`, with nothing else inside the braces`,
    );
  }

  private environment(name: string, full: string, at: () => Source): string {
    const value = this.options.env[name];
    // Empty counts as unset, as for the vars files: compose writes `NAME: ${NAME}` as "" when NAME is missing.
    if (!value) {
      this.missingCount++;
      const places = this.missing.get(name) ?? [];
      const source = at();
      if (!places.some((place) => place.file === source.file && place.line === source.line)) places.push(source);
      this.missing.set(name, places);
      return full;
    }
    if (MALFORMED.test(value) || HAS_PLACEHOLDER.test(value)) {
      this.options.issues.error(at(), `the value of environment variable ${name} holds a \`{{ }}\` placeholder, which is not resolved again; give the final value`);
    }
    return value;
  }

  private reference(expression: string, full: string, at: () => Source): Reference | undefined {
    const { issues } = this.options;
    if (expression.startsWith(BLOCKS)) {
      // `prefect.blocks.<type>.<name>` with an optional `.field.path`, as Prefect splits it.
      const [type = '', name = ''] = expression.slice(BLOCKS.length).split('.');
      if (!BLOCK_PART.test(type) || !BLOCK_PART.test(name)) {
        issues.error(at(), `\`${full}\` must name a block as \`{{ prefect.blocks.<block type>.<block name> }}\`, both in lower case letters, digits and -`);
        return undefined;
      }
      return type === 'secret' ? { kind: 'secret', name, source: at() } : { kind: 'block', name: `${type}/${name}`, source: at() };
    }
    if (expression.startsWith(VARIABLES)) {
      const name = expression.slice(VARIABLES.length);
      if (!VARIABLE_NAME.test(name)) {
        issues.error(at(), `\`${full}\` must name a variable as \`{{ prefect.variables.<name> }}\`, the name in lower case letters, digits, _ and -`);
        return undefined;
      }
      return { kind: 'variable', name, source: at() };
    }
    issues.error(at(), `\`${full}\` is not a Prefect placeholder: only \`{{ prefect.blocks.<type>.<name> }}\` and \`{{ prefect.variables.<name> }}\` exist`);
    return undefined;
  }
}
