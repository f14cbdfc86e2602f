// A deployment's parameters against its flow's parameter schema, before any write: Prefect checks
// them only when it stores the deployment (enforce_parameter_schema), after the run's other writes.
import type { ErrorObject } from 'ajv';
import { compileSchema } from '../../config/json-schema.js';
import type { DesiredDeployment, JsonValue } from '../../config/types.js';
import type { IssueList } from '../../errors.js';

/**
 * Every parameter the flow does not have, and every value of the wrong type, at the deployment's
 * parameters. An error when the schema is enforced (the server would refuse the deployment), a
 * warning when it is not (the flow would get it as it is).
 */
export function checkParameters(deployment: DesiredDeployment, issues: IssueList): void {
  const schema = deployment.parameterSchema;
  if (!schema) return;
  const enforced = deployment.enforceParameterSchema ?? true;
  const report = (path: string, message: string) => {
    const at = { ...deployment.source, key: `${deployment.source.key ?? deployment.name}.${path}` };
    if (enforced) issues.error(at, message);
    else issues.warn(at, `${message} (the schema is not enforced, so the flow would get it as it is)`);
  };
  const properties = (schema.properties ?? {}) as { [name: string]: JsonValue };
  const known = Object.keys(properties);
  const sets: Array<{ path: string; values: { [name: string]: JsonValue } }> = [];
  if (deployment.parameters) sets.push({ path: 'parameters', values: deployment.parameters });
  for (const schedule of deployment.schedules) {
    if (Object.keys(schedule.parameters).length > 0) sets.push({ path: `schedules.${schedule.slug}.parameters`, values: schedule.parameters });
  }
  if (sets.length === 0) return;
  // A deployment may leave required parameters to each run: only what is given is checked.
  const validate = compileSchema({ ...schema, required: [] });
  for (const { path, values } of sets) {
    for (const name of Object.keys(values)) {
      // A flow with `**kwargs` takes any parameter (Prefect binds the rest to it).
      if (!Object.hasOwn(properties, name) && !deployment.takesAnyParameter) {
        report(`${path}.${name}`, `the flow ${deployment.flowName} has no parameter \`${name}\`; its parameters are ${known.join(', ') || '(none)'}`);
      }
    }
    if (validate && !validate(values)) {
      for (const error of validate.errors ?? []) {
        if (error.keyword === 'additionalProperties') continue;
        report(`${path}${dotted(error)}`, describe(error));
      }
    }
  }
}

function dotted(error: ErrorObject): string {
  return error.instancePath.replaceAll('/', '.');
}

/** What is expected, never the value given (a parameter may hold a secret). */
function describe(error: ErrorObject): string {
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  return allowed ? `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}` : (error.message ?? 'does not fit the flow\'s parameter schema');
}
