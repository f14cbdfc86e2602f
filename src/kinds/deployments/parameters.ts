// A deployment's parameters against its flow's parameter schema, before any write: Prefect checks
// them only when it stores the deployment (enforce_parameter_schema), after the run's other writes,
// and the parameters of the runs a schedule or a trigger starts only when each run is made.
import type { ErrorObject } from 'ajv';
import { compileSchema } from '../../config/json-schema.js';
import type { DesiredDeployment, JsonValue } from '../../config/types.js';
import type { ConfigIssue, IssueList, Source } from '../../errors.js';

type Values = { [name: string]: JsonValue };

/** What the parameters of a deployment's runs are checked against. */
export interface ParameterSchema {
  flowName: string;
  schema: { [key: string]: JsonValue };
  /** The flow takes `**kwargs`: Prefect binds parameters the schema does not name to it. */
  takesAnyParameter: boolean;
  /** The server refuses what does not fit (enforce_parameter_schema); otherwise the flow gets it. */
  enforced: boolean;
}

/** One parameter that does not fit: where under the checked mapping, and what is expected. */
interface Misfit {
  path: string;
  message: string;
}

export function schemaOf(deployment: DesiredDeployment): ParameterSchema | undefined {
  if (!deployment.parameterSchema) return undefined;
  return {
    flowName: deployment.flowName,
    schema: deployment.parameterSchema,
    takesAnyParameter: deployment.takesAnyParameter ?? false,
    enforced: deployment.enforceParameterSchema ?? true,
  };
}

/**
 * Every parameter the flow does not have, and every value of the wrong type, at the deployment's
 * parameters and its schedules'. An error when the schema is enforced (the server would refuse the
 * deployment), a warning when it is not (the flow would get it as it is).
 */
export function checkParameters(deployment: DesiredDeployment, issues: IssueList): void {
  const target = schemaOf(deployment);
  if (!target) return;
  const at = (path: string): Source => ({ ...deployment.source, key: `${deployment.source.key ?? deployment.name}.${path}` });
  const sets: Array<{ path: string; values: Values }> = [];
  if (deployment.parameters) sets.push({ path: 'parameters', values: deployment.parameters });
  for (const schedule of deployment.schedules) {
    if (Object.keys(schedule.parameters).length > 0) sets.push({ path: `schedules.${schedule.slug}.parameters`, values: schedule.parameters });
  }
  for (const { path, values } of sets) {
    for (const misfit of misfits(target, values, { templated: false })) {
      issues.items.push(misfitIssue(target, at(`${path}${misfit.path}`), misfit.message));
    }
  }
}

/** An error when the server would refuse it, else a warning that says why it is not refused. */
function misfitIssue(target: ParameterSchema, source: Source, message: string): ConfigIssue {
  return target.enforced
    ? { ...source, severity: 'error', message }
    : { ...source, severity: 'warning', message: `${message} (the schema is not enforced, so the flow would get it as it is)` };
}

/**
 * The given parameters that the flow does not have, or whose values do not fit. Required
 * parameters are not asked for: a deployment may leave them to each run. With `templated`, values
 * Prefect renders when the run is made (`{{ event... }}` text) are not type-checked; values it
 * hydrates (`{"__prefect_kind": ...}`) never are.
 */
export function misfits(target: ParameterSchema, values: Values, options: { templated: boolean }): Misfit[] {
  const properties = (target.schema.properties ?? {}) as { [name: string]: JsonValue };
  const found: Misfit[] = [];
  for (const name of Object.keys(values)) {
    if (!Object.hasOwn(properties, name) && !target.takesAnyParameter) {
      found.push({ path: `.${name}`, message: `the flow ${target.flowName} has no parameter \`${name}\`; its parameters are ${Object.keys(properties).join(', ') || '(none)'}` });
    }
  }
  const validate = compileSchema({ ...target.schema, required: [] });
  if (validate && !validate(values)) {
    for (const error of validate.errors ?? []) {
      if (error.keyword === 'additionalProperties' || renderedLater(values, error.instancePath, options.templated)) continue;
      found.push({ path: error.instancePath.replaceAll('/', '.'), message: describe(error) });
    }
  }
  return found;
}

/**
 * The flow's required parameters that neither the deployment's parameters nor the run's give: every
 * such run fails (refused by the server when it is made, or when the flow binds its arguments).
 */
export function missingRequired(target: ParameterSchema, ...sets: Values[]): string[] {
  const required = Array.isArray(target.schema.required) ? target.schema.required.filter((name): name is string => typeof name === 'string') : [];
  return required.filter((name) => !sets.some((values) => Object.hasOwn(values, name)));
}

/** Whether the value at `pointer`, or a value around it, is one Prefect fills in when the run is made. */
function renderedLater(values: Values, pointer: string, templated: boolean): boolean {
  let node: JsonValue | undefined = values;
  for (const part of pointer.split('/').slice(1)) {
    if (dynamic(node, templated)) return true;
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    node = Array.isArray(node) ? node[Number(key)] : node && typeof node === 'object' ? (node as Values)[key] : undefined;
  }
  return dynamic(node, templated);
}

function dynamic(node: JsonValue | undefined, templated: boolean): boolean {
  if (typeof node === 'string') return templated && node.includes('{{');
  return node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, '__prefect_kind');
}

/** What is expected, never the value given (a parameter may hold a secret). */
function describe(error: ErrorObject): string {
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  return allowed ? `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}` : (error.message ?? 'does not fit the flow\'s parameter schema');
}
