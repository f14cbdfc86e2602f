// The project file of an export: the same inputs as the README's command line, so that the
// exported directory is applied with `openem-config apply` from inside it, or `-c DIR/openem-config.toml`.
import { PROJECT_FILE } from '../config/project.js';
import { tomlKey, tomlString } from './toml.js';
import type { ApplyArguments, ExportFile } from './types.js';

const list = (items: readonly string[]) => `[${items.map(tomlString).join(', ')}]`;

export function renderProjectFile(args: ApplyArguments): ExportFile {
  const lines = [
    '# The inputs of this export, for `openem-config apply` run in this directory (or with -c PATH/openem-config.toml).',
    '# Paths are relative to this file. Options given on the command line add to these lists.',
  ];
  if (args.variables.length > 0) lines.push(`variables = ${list(args.variables)}`);
  if (args.secretEnvNames.length > 0) lines.push('# Each names an environment variable that holds the path of the secret file (see README.md).', `secrets = ${list(args.secretEnvNames)}`);
  if (args.secretPairs.length > 0) {
    const pairs = args.secretPairs.map((pair) => {
      const at = pair.indexOf('=');
      return `${tomlKey(pair.slice(0, at))} = ${tomlString(pair.slice(at + 1))}`;
    });
    lines.push(`secret = { ${pairs.join(', ')} }`);
  }
  if (args.limits.length > 0) lines.push(`limits = ${list(args.limits)}`);
  if (args.deployments.length > 0) lines.push(`deployments = ${list(args.deployments)}`);
  lines.push('', '# Per environment, e.g. `openem-config apply --env prod`:', '# [env.prod]', '# api_url = "http://prefect-prod:4200/api"');
  return { path: PROJECT_FILE, content: `${lines.join('\n')}\n`, summary: 'the inputs above, for `openem-config apply` in this directory' };
}
