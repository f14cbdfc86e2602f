// Automations as the `automations:` list of a file of their own (applied with -d), in the shape
// the loader reads: objects by name instead of ids, defaults left out. An automation that only runs
// one deployment is that deployment's trigger and goes with it into prefect.yaml (see
// deployment-triggers/export.ts). Each entry is read back through the loader and compared with the
// server before it is kept: what the file cannot say is warned about, not written.
import { isObject, type JsonObject } from '../../config/json.js';
import type { JsonValue } from '../../config/types.js';
import { IssueList } from '../../errors.js';
import { describeDiff, describeIssue } from '../../export/describe.js';
import { protectCredentials, type Finding } from '../../export/credentials.js';
import { readSecretValues, type SecretValues } from '../../export/secret-values.js';
import { compareText, credentialPolicy, listNames, type ExportWarning } from '../../export/types.js';
import { renderYaml } from '../../export/yaml.js';
import { defineExport, type ExportContext } from '../../reconcile/kind.js';
import type { Api } from '../../prefect/client.js';
import { automationsKind, type CurrentAutomation } from './reconcile.js';
import { readAllAutomations, readNames, triggerOf, type Automation, type NamesById } from './server.js';
import { ACTION_LISTS, actionKeys, loadAutomations, REFERENCE_KINDS, type ReferenceKind } from './spec.js';

export const AUTOMATIONS_FILE = 'automations.yaml';

/** Every automation of the server with the names its actions point at. */
export interface ServerAutomations {
  automations: Automation[];
  names: NamesById;
  /** The secret blocks' values, in memory only, to find them in what an automation would write. */
  secrets?: SecretValues | undefined;
}

/** Read once per export: the automations part and the deployments' triggers share it. */
const ofExport = new WeakMap<Api, Promise<ServerAutomations>>();
export function readServerAutomations(api: Api): Promise<ServerAutomations> {
  let server = ofExport.get(api);
  if (!server) {
    server = readAllAutomations(api).then(async (automations) => ({ automations, names: await readNames(api, automations) }));
    ofExport.set(api, server);
    server.catch(() => ofExport.delete(api));
  }
  return server;
}

/** What a field holds when the file leaves it out: such fields are not written. */
const TRIGGER_DEFAULTS: JsonObject = { match: {}, match_related: {}, after: [], expect: [], for_each: [], threshold: 1, within: 0 };
const ACTION_DEFAULTS: Record<string, JsonObject> = {
  'run-deployment': { parameters: null, job_variables: null, schedule_after: 0 },
  'change-flow-run-state': { name: null, message: null, force: false },
  'send-notification': { subject: 'Prefect automated notification' },
  'call-webhook': { payload: '' },
};

const isDefault = (value: JsonValue | undefined, fallback: JsonValue | undefined): boolean =>
  fallback !== undefined && JSON.stringify(value) === JSON.stringify(fallback);

/** The server's trigger as a file writes it, or why it cannot be written. */
export function fileTrigger(trigger: unknown): JsonObject | string {
  if (!isObject(trigger)) return 'its trigger is not an object';
  const type = trigger.type;
  if (type === 'event') {
    const entry: JsonObject = { type };
    for (const [key, value] of Object.entries(trigger)) {
      if (key === 'id' || key === 'type' || !(key in TRIGGER_DEFAULTS || key === 'posture')) continue;
      if (key === 'match_related' && Array.isArray(value) && value.length === 0) continue;
      if (!isDefault(value, TRIGGER_DEFAULTS[key])) entry[key] = value;
    }
    return entry;
  }
  if (type === 'compound' || type === 'sequence') {
    const children = (Array.isArray(trigger.triggers) ? trigger.triggers : []).map(fileTrigger);
    const problem = children.find((child): child is string => typeof child === 'string');
    if (problem) return problem;
    return { type, ...(type === 'compound' && { require: trigger.require ?? 'all' }), within: trigger.within ?? null, triggers: children as JsonObject[] };
  }
  return `its trigger is of type ${JSON.stringify(type)}, which a self-hosted Prefect server does not evaluate and openem-config does not declare`;
}

/** The server's action as a file writes it (objects by name), or why it cannot be written. */
export function fileAction(action: unknown, names: NamesById): JsonObject | string {
  if (!isObject(action) || typeof action.type !== 'string') return 'one of its actions has no type';
  const keys = actionKeys(action.type);
  if (!keys) return `its action type ${JSON.stringify(action.type)} is one openem-config does not declare`;
  const entry: JsonObject = { type: action.type };
  const defaults = ACTION_DEFAULTS[action.type] ?? {};
  const kind = (Object.keys(REFERENCE_KINDS) as ReferenceKind[]).find((k) => keys.includes(k));
  for (const key of keys) {
    if (key === 'type' || key === kind || (kind && key === REFERENCE_KINDS[kind].idKey)) continue;
    const value = action[key];
    if (value === undefined || (key === 'source' && value === 'selected') || isDefault(value, defaults[key])) continue;
    entry[key] = value;
  }
  if (kind && action.source !== 'inferred') {
    const { idKey, what } = REFERENCE_KINDS[kind];
    const id = action[idKey];
    const name = typeof id === 'string' ? names.get(kind)?.get(id) : undefined;
    if (name === undefined) return `its ${action.type} action points at a ${what} the server does not have (${String(id)})`;
    entry[kind] = name;
  }
  return entry;
}

/** The `automations:` entry of one automation, or why it cannot be written. */
export function automationEntry(automation: Automation, names: NamesById): JsonObject | string {
  const trigger = fileTrigger(automation.trigger);
  if (typeof trigger === 'string') return trigger;
  const entry: JsonObject = { name: automation.name };
  if (automation.description) entry.description = automation.description;
  if (automation.enabled === false) entry.enabled = false;
  if ((automation.tags ?? []).length > 0) entry.tags = [...(automation.tags ?? [])];
  entry.trigger = trigger;
  for (const [, key] of ACTION_LISTS) {
    const actions = ((automation[key] ?? []) as unknown[]).map((action) => fileAction(action, names));
    const problem = actions.find((action): action is string => typeof action === 'string');
    if (problem) return problem;
    // `actions` is always written: the loader wants the key.
    if (key === 'actions' || actions.length > 0) entry[key] = actions as JsonObject[];
  }
  // The export declares what the server holds: applied back to it, each entry takes its automation
  // over in place (openem-config does not own it yet) instead of stopping at the name.
  entry.adopt = true;
  return entry;
}

export function renderAutomationsFile(entries: JsonObject[]): string {
  return renderYaml(
    { automations: entries },
    'Automations, exported by openem-config: apply them with -d, beside prefect.yaml.\n' +
      'adopt: true takes an automation of the same name over in place; remove it to refuse one openem-config did not make.',
  );
}

/** Loads one entry as a file of its own and diffs it with the server's automation: why it cannot stand for it, or undefined. */
function checkEntry(entry: JsonObject, current: CurrentAutomation, context: Pick<ExportContext, 'scratchFile'>): string | undefined {
  const file = context.scratchFile(AUTOMATIONS_FILE, renderAutomationsFile([entry]));
  const issues = new IssueList();
  const [desired] = loadAutomations([file], {}, issues).automations;
  if (issues.errors.length > 0 || !desired) return `the file cannot hold it as it is: ${issues.errors.map((issue) => describeIssue(issue)).join('; ') || 'the loader refused it'}`;
  const diff = automationsKind.diff(desired, current);
  return diff.action === 'noop' ? undefined : `applying the written entry would change it: ${describeDiff(diff)}`;
}

export interface AutomationsExport {
  entries: JsonObject[];
  warnings: ExportWarning[];
  /** The exported automations, by name, as the diff sees them. */
  written: Map<string, CurrentAutomation>;
}

/** The top-level automations (every one that is no deployment's trigger) the export can write. */
export function exportAutomations(server: ServerAutomations, context: Pick<ExportContext, 'matches' | 'scratchFile'> & { allowPlainCredentials?: boolean }): AutomationsExport {
  const { allowPlainCredentials } = credentialPolicy(context);
  const { automations, names } = server;
  const warnings: ExportWarning[] = [];
  const entries: JsonObject[] = [];
  const written = new Map<string, CurrentAutomation>();
  const held = new Map<string, number>();
  for (const automation of automations) held.set(automation.name, (held.get(automation.name) ?? 0) + 1);
  const own = automations.filter((automation) => triggerOf(automation, names) === undefined && context.matches(automation.name));
  for (const automation of [...own].sort((a, b) => compareText(a.name, b.name) || compareText(a.id, b.id))) {
    const subject = `automation "${automation.name}"`;
    const count = held.get(automation.name) ?? 0;
    if (count > 1) {
      warnings.push({ subject, message: `not exported: ${count} automations on the server have this name, and openem-config matches automations by name; rename all but one on the server, then export again` });
      continue;
    }
    const entry = automationEntry(automation, names);
    const current: CurrentAutomation = { automation, names };
    const problem = typeof entry === 'string' ? entry : checkEntry(entry, current, context);
    if (problem !== undefined) {
      warnings.push({ subject, message: `not exported: ${problem}` });
      continue;
    }
    // No placeholder is resolved in an automation (its templates see the event, not blocks): a
    // credential in it, under a credential-like key or a secret block's value, is written only when allowed.
    const findings = protectCredentials(entry as JsonObject, { path: '', secrets: server.secrets ?? new Map(), referable: false, allowPlain: true }).findings;
    if (findings.length > 0) {
      warnings.push(credentialWarning(subject, findings, allowPlainCredentials));
      if (!allowPlainCredentials) continue;
    }
    entries.push(entry as JsonObject);
    written.set(automation.name, current);
  }
  return { entries, warnings, written };
}

/** An automation holding a credential: left out, or written as it is with --allow-plain-credentials. Paths only, never values. */
function credentialWarning(subject: string, findings: readonly Finding[], allowPlain: boolean): ExportWarning {
  const paths = findings.map((f) => f.path);
  const shown = listNames(findings.map((f) => (f.block === undefined ? `${f.path} (a credential-like key)` : `${f.path} (${f.within ? 'holds ' : ''}the value of secret block "${f.block}")`)));
  if (allowPlain) return { subject, message: `holds a credential, written in plain text (--allow-plain-credentials): ${shown}; keep automations.yaml as secret as it`, credentials: { paths, written: true } };
  return {
    subject,
    message:
      `not exported: it holds a credential (${shown}), which an automation can only hold in plain text (Prefect resolves no block placeholder in it). ` +
      'Keep it in a block the action names (a webhook or notification block), or pass --allow-plain-credentials to write it',
    credentials: { paths, written: false },
  };
}

export const automationsExport = defineExport({
  section: 'automations',
  // A copy of the shared read, to carry what this part wrote.
  read: async (api): Promise<ServerAutomations & { written?: Map<string, CurrentAutomation> }> => {
    const server = await readServerAutomations(api);
    // The secret blocks are read only when there is an automation to look at.
    return { ...server, ...(server.automations.length > 0 && { secrets: await readSecretValues(api) }) };
  },
  write(server, context) {
    const result = exportAutomations(server, context);
    server.written = result.written;
    const files =
      result.entries.length === 0
        ? []
        : [{ path: AUTOMATIONS_FILE, content: renderAutomationsFile(result.entries), summary: `${result.entries.length} automation${result.entries.length === 1 ? '' : 's'}` }];
    return { files, warnings: result.warnings, count: result.entries.length, args: { deployments: files.map((file) => file.path) } };
  },
  current: (server) => server.written ?? new Map(),
});
