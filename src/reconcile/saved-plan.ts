// `plan --out FILE` and `apply FILE`: a plan saved for review, then applied exactly, or refused when
// the inputs or the server changed since (a stale plan). The file holds the printable plan (no
// secret values, as in --output json), the options that name the inputs, and one salted scrypt
// digest of everything the inputs declare, secrets included, so that a changed input is noticed
// without the file holding or revealing a secret.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, basename } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import type { AnyKind, DesiredSet } from './kind.js';
import type { PlannedKind } from './driver.js';

export const PLAN_FORMAT = 'openem-config plan';
const PLAN_VERSION = 1;

/** The options of a run that name its inputs and what it does: what `apply FILE` runs again. */
export interface PlannedOptions {
  variables: string[];
  secrets: string[];
  secretsDirs: string[];
  secretPairs: string[];
  limits: string[];
  deployments: string[];
  flowsDir?: string | undefined;
  prefectVersion?: string | undefined;
  fromEnv: string[];
  stringValues: boolean;
  keepTrailingNewline: boolean;
  strict: boolean;
  stepOutputs: string[];
  prune: boolean;
  only: string[];
}

const planItem = z.object({
  kind: z.string(),
  key: z.string(),
  action: z.enum(['create', 'update', 'delete', 'noop']),
  changes: z.array(z.unknown()),
  problem: z.string().optional(),
});

const savedPlanSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  version: z.literal(PLAN_VERSION),
  createdBy: z.string(),
  createdAt: z.string(),
  /**
   * The current directory of `plan`: the input paths of the options are saved made absolute from
   * it, and the digest takes the places of the inputs from it. (A path an environment variable
   * gives, `-s NAME_FILE`, is read as the variable says where apply runs.)
   */
  cwd: z.string(),
  server: z.object({ url: z.string(), version: z.string() }),
  options: z.object({
    variables: z.array(z.string()),
    secrets: z.array(z.string()),
    secretsDirs: z.array(z.string()),
    secretPairs: z.array(z.string()),
    limits: z.array(z.string()),
    deployments: z.array(z.string()),
    flowsDir: z.string().optional(),
    prefectVersion: z.string().optional(),
    fromEnv: z.array(z.string()),
    stringValues: z.boolean(),
    keepTrailingNewline: z.boolean(),
    strict: z.boolean(),
    stepOutputs: z.array(z.string()),
    prune: z.boolean(),
    only: z.array(z.string()),
  }),
  inputs: z.object({ salt: z.string(), digest: z.string() }),
  kinds: z.array(z.object({ name: z.string(), items: z.array(planItem) })),
});

export type SavedPlan = z.infer<typeof savedPlanSchema>;

const PLACE_KEYS = new Set(['file', 'line', 'column', 'key']);

/** Where an input was written (a Source: file, line, column, key), in any field of a declared object. */
const isPlace = (item: unknown): item is { file: string } =>
  item !== null &&
  typeof item === 'object' &&
  !Array.isArray(item) &&
  typeof (item as { file?: unknown }).file === 'string' &&
  Object.keys(item).every((key) => PLACE_KEYS.has(key));

/**
 * JSON with object keys sorted, Maps and Sets as arrays: the same inputs give the same text. With
 * `placesFrom`, the file of every place is made absolute from that directory, as `apply FILE` reads
 * the inputs by the absolute paths the plan saved (an object of the inputs shaped like a place is
 * made absolute the same way at plan and at apply, so that a change to it still shows).
 */
function canonical(value: unknown, placesFrom?: string): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (placesFrom !== undefined && isPlace(item)) return sortedObject({ ...item, file: resolve(placesFrom, item.file) });
    if (typeof item === 'bigint') return `${item}n`;
    if (item instanceof Map) return [...item.entries()];
    if (item instanceof Set) return [...item];
    if (item && typeof item === 'object' && !Array.isArray(item)) return sortedObject(item as Record<string, unknown>);
    return item;
  });
}

function sortedObject(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * scrypt (N = 2^15) of every declared object of every kind, salted per plan: one digest for all,
 * slow to compute, so that guessing a secret of the inputs from a plan file is not practical.
 * `cwd`: the directory the plan was made in, which relative input paths are taken from.
 */
export function inputsDigest(desired: DesiredSet, kinds: readonly AnyKind[], salt: string, cwd: string): string {
  const text = canonical(
    kinds.map((kind) => [kind.name, desired.get(kind)]),
    cwd,
  );
  return scryptSync(text, Buffer.from(salt, 'base64'), 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64');
}

export function newSalt(): string {
  return randomBytes(16).toString('base64');
}

export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'base64');
  const right = Buffer.from(b, 'base64');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The printable plan as saved: what `apply FILE` must find again. A secret change carries no value
 * already; its from/to are dropped here too, so that no kind's slip can put one in the file.
 */
export function planItems(kinds: readonly PlannedKind[]): SavedPlan['kinds'] {
  const items = kinds.map((kind) => ({
    name: kind.name,
    items: kind.items.map(({ kind: itemKind, key, action, changes, problem }) => ({
      kind: itemKind,
      key,
      action,
      changes: changes.map((change) => (change.secret ? { field: change.field, secret: true } : change)),
      ...(problem === undefined ? {} : { problem }),
    })),
  }));
  // As JSON has it: the plan made now compares with the one read back from the file.
  return JSON.parse(JSON.stringify(items)) as SavedPlan['kinds'];
}

/** The input paths of the options made absolute: `apply FILE` reads the same files from anywhere. */
export function withAbsolutePaths(options: PlannedOptions, cwd: string): PlannedOptions {
  const at = (path: string) => resolve(cwd, path);
  return {
    ...options,
    variables: options.variables.map(at),
    secretsDirs: options.secretsDirs.map(at),
    // name=path: the path made absolute, the name kept.
    secretPairs: options.secretPairs.map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? pair : `${pair.slice(0, eq + 1)}${at(pair.slice(eq + 1))}`;
    }),
    limits: options.limits.map(at),
    deployments: options.deployments.map(at),
    flowsDir: options.flowsDir === undefined ? undefined : at(options.flowsDir),
  };
}

export interface SavedPlanParts {
  createdBy: string;
  cwd: string;
  server: { url: string; version: string };
  options: PlannedOptions;
  inputs: { salt: string; digest: string };
  kinds: readonly PlannedKind[];
}

/** Writes the plan file whole or not at all (a temporary file renamed over it). */
export function writeSavedPlan(path: string, parts: SavedPlanParts): void {
  const document: SavedPlan = {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    createdBy: parts.createdBy,
    createdAt: new Date().toISOString(),
    cwd: parts.cwd,
    server: parts.server,
    options: withAbsolutePaths(parts.options, parts.cwd),
    inputs: parts.inputs,
    kinds: planItems(parts.kinds),
  };
  const target = isAbsolute(path) ? path : resolve(parts.cwd, path);
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`);
  renameSync(temporary, target);
}

/** The objects whose planned change is not the saved one: added, gone or different. */
export function planDifferences(saved: SavedPlan['kinds'], now: SavedPlan['kinds']): string[] {
  const index = (kinds: SavedPlan['kinds']) => new Map(kinds.flatMap((kind) => kind.items.filter((item) => item.action !== 'noop').map((item) => [`${item.kind} ${item.key}`, canonical(item)] as const)));
  const before = index(saved);
  const after = index(now);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys.filter((key) => before.get(key) !== after.get(key));
}

/** A saved plan file, checked; what is wrong with it is a usage error naming the file. */
export function readSavedPlan(path: string): SavedPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the saved plan ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // `apply vars.toml`: an input given where apply takes a saved plan.
    throw new UsageError(`${path} is not a plan saved by \`openem-config plan --out\` (not JSON); inputs are given with options: -v FILE, -l FILE, -d FILE`);
  }
  const format = (data as { format?: unknown } | null)?.format;
  if (format !== PLAN_FORMAT) throw new UsageError(`${path} is not a plan saved by \`openem-config plan --out\``);
  const version = (data as { version?: unknown }).version;
  if (version !== PLAN_VERSION) throw new UsageError(`${path} is a plan of format version ${String(version)}; this openem-config reads version ${PLAN_VERSION}: run plan --out again`);
  const parsed = savedPlanSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${path} is not a well-formed saved plan (${issue.path.join('.') || '(top)'}: ${issue.message}); run plan --out again`);
  }
  return parsed.data;
}
