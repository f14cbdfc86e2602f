// Variables as vars TOML files. A vars file gives every variable of the file the same tags (its
// `[openem-config] tags`, plus `openem-config`), so variables are grouped by their tag set: one
// file per set, `vars.toml` for the variables with no other tag. A variable that holds a credential
// (by its name or a key of its value, or a secret block's value) is not written: a vars file
// cannot refer to a secret block.
import type { JsonValue } from '../../config/types.js';
import { MANAGED_TAG } from './spec.js';
import { isCredential, protectCredentials, type Finding } from '../../export/credentials.js';
import type { Matcher } from '../../config/glob.js';
import { readSecretValues, type SecretValues } from '../../export/secret-values.js';
import { tomlKey, tomlProblem, tomlString, tomlValue } from '../../export/toml.js';
import { compareText, credentialPolicy, listNames, type ExportFile, type ExportWarning } from '../../export/types.js';
import { unwrap } from '../../prefect/client.js';
import { pages } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import { defineExport } from '../../reconcile/kind.js';

export type Variable = components['schemas']['Variable'];

export interface ServerVariables {
  variables: Variable[];
  /** The secret blocks' values, to recognise them in variables; kept in memory, never written. */
  secrets: SecretValues;
}

export const variablesExport = defineExport({
  section: 'variables',
  read: async (api): Promise<ServerVariables> => ({
    variables: await pages((offset, limit) => unwrap(api.client.POST('/variables/filter', { body: { sort: 'NAME_ASC', limit, offset } }))),
    secrets: await readSecretValues(api),
  }),
  write({ variables, secrets }, context) {
    const { files, warnings, count } = exportVariables(variables, {
      matches: context.matches,
      env: context.env,
      secrets,
      allowPlainCredentials: credentialPolicy(context).allowPlainCredentials,
    });
    return { files, warnings, count, args: { variables: files.map((file) => file.path) }, envNames: variables.map((variable) => envName(variable.name)) };
  },
  // Adding the managed tag (and dropping an empty one) is the one change an export announces itself.
  current: ({ variables }) =>
    new Map(variables.map((variable) => [variable.name, { ...variable, tags: [...new Set([...(variable.tags ?? []).filter((tag) => tag !== ''), MANAGED_TAG])] }])),
});

export interface VariableGroup {
  /** The tags besides `openem-config`, sorted. */
  tags: string[];
  variables: Array<{ name: string; value: JsonValue }>;
}

export interface VariablesExport {
  files: ExportFile[];
  warnings: ExportWarning[];
  count: number;
}

/** The table that groups the keys: it only groups, the loader names each variable by its key. */
const GROUP = 'variables';
const MAX_FILE_STEM = 100;

export interface ExportVariablesOptions {
  matches: Matcher;
  env: Record<string, string | undefined>;
  /** The secret blocks' values; none when not given. */
  secrets?: SecretValues | undefined;
  /** Write a variable that holds a credential instead of leaving it out. */
  allowPlainCredentials?: boolean | undefined;
}

export function exportVariables(variables: readonly Variable[], options: ExportVariablesOptions): VariablesExport {
  const warnings: ExportWarning[] = [];
  const groups = new Map<string, VariableGroup>();
  const untagged: string[] = [];
  const overridden: string[] = [];
  const sorted = variables.filter((v) => options.matches(v.name)).sort((a, b) => compareText(a.name, b.name));
  for (const variable of sorted) {
    const subject = `variable "${variable.name}"`;
    const value = variable.value as JsonValue;
    const problem = value === undefined ? 'it has no value' : tomlProblem(value);
    if (problem) {
      warnings.push({ subject, message: `not exported: its value holds ${problem}; give it a value TOML can hold (e.g. "" or false) and export again, or declare it by hand` });
      continue;
    }
    const credentials = variableCredentials(variable.name, value as JsonValue, options.secrets ?? new Map());
    if (credentials.length > 0) {
      const warning = credentialWarning(subject, credentials, options.allowPlainCredentials ?? false);
      warnings.push(warning);
      if (!warning.credentials?.written) continue;
    }
    const tags = [...new Set(variable.tags ?? [])];
    if (!tags.includes(MANAGED_TAG)) untagged.push(variable.name);
    if (tags.includes('')) warnings.push({ subject, message: 'has an empty tag, which a vars file cannot declare; it is left out, and applying the export removes it' });
    const extra = tags.filter((tag) => tag !== MANAGED_TAG && tag !== '').sort(compareText);
    const id = JSON.stringify(extra);
    const group = groups.get(id) ?? { tags: extra, variables: [] };
    groups.set(id, group);
    group.variables.push({ name: variable.name, value });
    if (options.env[envName(variable.name)]) overridden.push(envName(variable.name));
  }
  if (untagged.length > 0) {
    warnings.push({
      subject: 'variables',
      message: `${untagged.length} variable${untagged.length === 1 ? ' has' : 's have'} no "${MANAGED_TAG}" tag (${listNames(untagged)}); openem-config tags every variable it writes, so the first apply of this export adds the tag to them and changes nothing else`,
    });
  }
  if (overridden.length > 0) {
    warnings.push({
      subject: 'variables',
      message: `the environment variable${overridden.length === 1 ? '' : 's'} ${listNames(overridden)} ${overridden.length === 1 ? 'is' : 'are'} set here: wherever openem-config applies these files with ${overridden.length === 1 ? 'it' : 'them'} set, ${overridden.length === 1 ? 'it replaces' : 'they replace'} the value in the file`,
    });
  }
  const files = nameGroups([...groups.values()]).map(({ path, group }) => ({
    path,
    content: renderVarsFile(group),
    summary: `${group.variables.length} variable${group.variables.length === 1 ? '' : 's'}${group.tags.length > 0 ? ` tagged ${group.tags.join(', ')}` : ''}`,
  }));
  return { files, warnings, count: [...groups.values()].reduce((sum, group) => sum + group.variables.length, 0) };
}

/** Where a variable's value holds a credential: all of it under a credential-like name, else a secret's value or a credential-like key inside. */
function variableCredentials(name: string, value: JsonValue, secrets: SecretValues): Finding[] {
  const empty = value === '' || value === null || typeof value === 'boolean';
  if (isCredential(name) && !empty) return [{ path: name, action: 'withheld' }];
  // Only the findings are wanted here: a vars file takes a variable whole or not at all.
  return protectCredentials(value, { path: name, secrets, referable: false, allowPlain: true }).findings;
}

function credentialWarning(subject: string, findings: readonly Finding[], allowPlain: boolean): ExportWarning {
  const paths = findings.map((f) => f.path);
  const shown = listNames(
    findings.map((f) => {
      if (f.block !== undefined) return `${f.path} (${f.within ? 'holds ' : ''}the value of secret block "${f.block}")`;
      return `${f.path} (${f.reason ?? 'a credential-like name or key'})`;
    }),
  );
  if (allowPlain) {
    return { subject, message: `holds a credential, written in plain text (--allow-plain-credentials): ${shown}; keep the vars file as secret as it`, credentials: { paths, written: true } };
  }
  return {
    subject,
    message:
      `not exported: it holds a credential (${shown}), and a vars file can only hold it in plain text. ` +
      'Keep it in a secret block and read that in the flow (Secret.load), or pass --allow-plain-credentials to write it',
    credentials: { paths, written: false },
  };
}

/** The vars file key of a variable, and the environment variable that overrides it when openem-config runs. */
export function envName(variableName: string): string {
  return variableName.toUpperCase();
}

/** `vars.toml` for the untagged group, `vars-<tag>+<tag>.toml` for the others; a clash gets `-2`, `-3`. */
function nameGroups(groups: VariableGroup[]): Array<{ path: string; group: VariableGroup }> {
  const named = groups.map((group) => {
    const stem = group.tags.map((tag) => tag.toLowerCase().replace(/[^a-z0-9_.-]+/g, '_')).join('+').slice(0, MAX_FILE_STEM);
    return { stem: group.tags.length === 0 ? 'vars' : `vars-${stem}`, group };
  });
  // Sorted by the tag sets themselves, so that which group gets a suffix does not depend on reading order.
  named.sort((a, b) => (a.group.tags.length === 0 ? -1 : b.group.tags.length === 0 ? 1 : compareText(a.stem, b.stem) || compareText(JSON.stringify(a.group.tags), JSON.stringify(b.group.tags))));
  const taken = new Set<string>();
  return named.map(({ stem, group }) => {
    let path = `${stem}.toml`;
    for (let n = 2; taken.has(path.toLowerCase()); n++) path = `${stem}-${n}.toml`;
    taken.add(path.toLowerCase());
    return { path, group };
  });
}

export function renderVarsFile(group: VariableGroup): string {
  const lines = ['# Prefect variables, exported by openem-config. Each key names a variable in lower case.'];
  lines.push('# An environment variable named like a key (in upper case) replaces its value when openem-config applies this file.');
  if (group.tags.length > 0) {
    lines.push('', '[openem-config]', `tags = [${group.tags.map(tomlString).join(', ')}]   # and "${MANAGED_TAG}", on every variable of this file`);
  }
  lines.push('', `[${GROUP}]`);
  for (const { name, value } of group.variables) lines.push(`${tomlKey(envName(name))} = ${tomlValue(value)}`);
  return `${lines.join('\n')}\n`;
}
