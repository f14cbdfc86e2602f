// The README.md of an export: what each file holds, the secrets to provide, and the exact command
// line that applies the files. Only what the files hold goes in, so two exports of servers in the
// same state write the same README.
import type { ApplyArguments, ExportFile, SecretEntry } from './types.js';

export const README_FILE = 'README.md';

/** The arguments after `openem-config apply`, one option per line when printed for a shell. */
export function applyArguments(args: ApplyArguments): string[] {
  const out: string[] = [];
  for (const file of args.variables) out.push(`-v ${file}`);
  if (args.secretEnvNames.length > 0) out.push(`-s ${args.secretEnvNames.join(' ')}`);
  for (const pair of args.secretPairs) out.push(`--secret ${pair}`);
  for (const file of args.limits) out.push(`-l ${file}`);
  for (const file of args.deployments) out.push(`-d ${file}`);
  return out;
}

/** `openem-config <command> -v ... \` over several lines, as in the README. */
export function commandLine(command: string, args: ApplyArguments): string {
  return [`openem-config ${command}`, ...applyArguments(args)].join(' \\\n  ');
}

export function secretPath(name: string): string {
  return `/run/secrets/${name}`;
}

export function renderReadme(input: { files: readonly ExportFile[]; secrets: readonly SecretEntry[]; args: ApplyArguments }): string {
  const { files, secrets, args } = input;
  const lines = [
    '# Prefect configuration, exported by openem-config',
    '',
    'These files declare the state of a Prefect server in the form `openem-config` applies. They were',
    'written by `openem-config export`; review them, commit them, and apply them to this server or another.',
    '',
    '## Files',
    '',
    '| file | holds |',
    '|---|---|',
    ...files.map((file) => `| \`${file.path}\` | ${file.summary} |`),
    '',
  ];
  if (secrets.length > 0) {
    lines.push(
      '## Secrets to provide',
      '',
      'Secret values are never exported. Put each secret in a file (one trailing newline is ignored) and',
      'set the environment variable to the path of that file:',
      '',
      '| secret block | environment variable (`-s`) |',
      '|---|---|',
      ...secrets.map((secret) => `| \`${secret.name}\` | ${secret.envName ? `\`${secret.envName}\`` : `none: given with \`--secret ${secret.name}=PATH\``} |`),
      '',
    );
    const exports = secrets.filter((secret) => secret.envName).map((secret) => `export ${secret.envName}=${secretPath(secret.name)}`);
    if (exports.length > 0) lines.push('```sh', ...exports, '```', '');
  }
  const hasVariables = args.variables.length > 0;
  if (applyArguments(args).length === 0) {
    lines.push('## Apply', '', 'Nothing to apply: the server had none of the objects this export selected.', '');
    return lines.join('\n');
  }
  lines.push(
    '## Apply',
    '',
    'From this directory, first see what would change, then apply:',
    '',
    '```sh',
    commandLine('plan', args),
    commandLine('apply', args),
    '```',
    '',
    'The connection comes from the environment as for every openem-config command: `PREFECT_API_URL`,',
    'and `PREFECT_API_AUTH_STRING` or `PREFECT_API_KEY` when the server needs credentials.',
    '',
  );
  if (hasVariables) {
    lines.push(
      'An environment variable named like a key of a vars file (the key is the variable name in upper',
      'case) replaces the value in the file when openem-config runs: check that none is set by accident.',
      '',
    );
  }
  return `${lines.join('\n')}`;
}
