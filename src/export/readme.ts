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

export interface ReadmeInput {
  files: readonly ExportFile[];
  secrets: readonly SecretEntry[];
  args: ApplyArguments;
  /** Secrets whose value on the server ends with a newline, which apply strips from a file by default. */
  secretsWithNewline?: readonly string[] | undefined;
  /** Credentials left out of the files, or written as they are (--allow-plain-credentials), by key path. */
  credentials?: ReadonlyArray<{ subject: string; paths: readonly string[]; written: boolean }> | undefined;
  /** Files the written ones read a value from (`{ file = ... }`), which the operator provides. */
  provide?: ReadonlyArray<{ path: string; what: string }> | undefined;
}

export function renderReadme(input: ReadmeInput): string {
  const { files, secrets, args } = input;
  const withNewline = new Set(input.secretsWithNewline ?? []);
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
    'The first line of each file names its JSON Schema in `.schemas/`, written beside them: editors with',
    'taplo (VS Code: Even Better TOML) or yaml-language-server (VS Code: YAML) complete and check the files.',
    '',
  ];
  if (secrets.length > 0) {
    lines.push(
      '## Secrets to provide',
      '',
      'Secret values are never written here. Put each secret in a file (one trailing newline is removed,',
      'unless `--keep-trailing-newline` is given) and set the environment variable to the path of that file:',
      '',
      '| secret block | environment variable (`-s`) |',
      '|---|---|',
      ...secrets.map(
        (secret) =>
          `| \`${secret.name}\`${withNewline.has(secret.name) ? ' (value ends with a newline)' : ''} | ${secret.envName ? `\`${secret.envName}\`` : `none: given with \`--secret ${secret.name}=PATH\``} |`,
      ),
      '',
    );
    if (withNewline.size > 0) {
      lines.push(
        `On the server, the value of ${[...withNewline].map((name) => `\`${name}\``).join(', ')} ends with a newline (an older tool stored whole`,
        'files). openem-config removes the final newline of a secret file, so applying files that end with it',
        'would show every such secret as "value changed". Apply with `--keep-trailing-newline` and files that',
        'keep the newline (the option applies to every secret file of the run), or accept the change.',
        '',
      );
    }
    const exports = secrets.filter((secret) => secret.envName).map((secret) => `export ${secret.envName}=${secretPath(secret.name)}`);
    if (exports.length > 0) lines.push('```sh', ...exports, '```', '');
  }
  const provide = input.provide ?? [];
  if (provide.length > 0) {
    lines.push(
      '## Secret files to provide',
      '',
      'The limits manifest reads these values from files (`{ file = ... }`, relative to it) and the export',
      'never writes them: put each secret into its file (one trailing newline is removed) before applying.',
      '',
      '| file | holds |',
      '|---|---|',
      ...provide.map((file) => `| \`${file.path}\` | ${file.what} |`),
      '',
    );
  }
  lines.push(...credentialLines(input.credentials ?? []));
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

/** The credentials an export left out (or wrote as they are): where, never what. */
function credentialLines(credentials: NonNullable<ReadmeInput['credentials']>): string[] {
  const lines: string[] = [];
  const section = (written: boolean, title: string, intro: string[]) => {
    const listed = credentials.filter((c) => c.written === written);
    if (listed.length === 0) return;
    lines.push(title, '', ...intro, '', '| object | key |', '|---|---|');
    for (const { subject, paths } of listed) for (const path of paths) lines.push(`| ${subject} | \`${path}\` |`);
    lines.push('');
  };
  section(false, '## Credentials left out', [
    'These values looked like credentials (by their key, or as the value of a secret block, whole or within',
    'other text such as a token in a URL, where no reference can stand) and are',
    'not in the files. Applying the files removes them from the objects: keep each in a secret block, refer',
    'to it as `{{ prefect.blocks.secret.<name> }}` (job variables, pull steps), and export again.',
  ]);
  section(true, '## Credentials written in plain text', [
    'These values look like credentials, or hold one where no reference can stand; `--allow-plain-credentials`',
    'wrote them as they are. Keep these files as secret as the credentials.',
  ]);
  return lines;
}
