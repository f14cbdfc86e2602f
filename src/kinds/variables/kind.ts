// Prefect variables, from vars TOML files (-v) and --from-env.
import type { DesiredVariable } from '../../config/types.js';
import { defineKind } from '../../reconcile/kind.js';
import { variablesExport } from './export.js';
import { variablesKind } from './reconcile.js';
import { loadVariables } from './spec.js';

export const variables = defineKind({
  name: 'variable',
  countKey: 'variables',
  label: ['variable', 'variables'],
  since: '3.0.0',
  load({ options, env }, issues) {
    const desired = loadVariables(options.variables, { env, stringValues: options.stringValues, fromEnv: options.fromEnv }, issues);
    return { desired, declared: options.variables.length + options.fromEnv.length > 0 };
  },
  key: (desired: DesiredVariable) => desired.name,
  reconcile: () => variablesKind,
  export: variablesExport,
});
