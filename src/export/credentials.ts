// Keeps credentials out of exported files. A value equal to a secret block's value is written as a
// reference to that block where Prefect resolves references at run time; a value under a
// credential-like key that matches no block is left out (or, when the operator allows it, written
// with a warning). Findings name key paths, never values.
import type { JsonValue } from '../config/types.js';
import type { SecretValues } from './secret-values.js';

/** Prefect's block names as a placeholder can name them. */
const REFERABLE_NAME = /^[a-z0-9-]+$/;

/** Key parts that make a key a credential's: `GITHUB_TOKEN`, `db-password`, `apiKey`, `credentials`, `MYSQL_PWD`. */
const CREDENTIAL_PARTS = new Set(['password', 'passwords', 'passwd', 'passphrase', 'pwd', 'token', 'secret', 'credential', 'credentials', 'apikey', 'authorization']);
/**
 * Words that make a credential's name when another word is glued in front of them, as environment
 * variables are often written: `PGPASSWORD`, `githubtoken`, `clientsecret`, `dbpwd`. Not a word that
 * only starts so: `tokenizer`, `secretary`, `passenger`.
 */
const CREDENTIAL_SUFFIXES = ['password', 'passwd', 'passphrase', 'token', 'secret', 'pwd', 'apikey'];
/** Adjacent key parts that do the same: `api_key`, `access_key`, `private_key`, `PREFECT_API_AUTH_STRING`. */
const CREDENTIAL_PAIRS = new Set(['api key', 'access key', 'private key', 'secret key', 'client secret', 'auth string']);
/**
 * A key ending so names where a credential is, or what it is, not the credential itself:
 * `secret_name`, `token_file`, `password_path`, `access_key_id`, `token_url`.
 */
const POINTER_ENDINGS = new Set(['name', 'names', 'file', 'path', 'dir', 'id', 'url', 'uri', 'ref', 'type', 'env', 'header']);
/** The shell's working directories (`PWD`, `OLDPWD`), set in every environment: no password. */
const SHELL_DIRECTORIES = new Set(['PWD', 'OLDPWD']);

/** `GITHUB_TOKEN` -> [github, token]; `apiKey` -> [api, key]; `APIToken` -> [api, token]; `private-key.pem` -> [private, key, pem]. */
export function keyParts(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** A part that names a credential, alone (`token`) or with a word glued in front (`pgpassword`). */
function credentialPart(part: string): boolean {
  return CREDENTIAL_PARTS.has(part) || CREDENTIAL_SUFFIXES.some((suffix) => part.length > suffix.length && part.endsWith(suffix));
}

/**
 * Whether the value of this key is a credential, whatever it holds: a part of the key names one
 * (`password`, `GITHUB_TOKEN`, `apiKey`, `registry_credentials`, `db_pwd`, `PGPASSWORD`) and its
 * end does not say that it only names where one is (`secret_name`, `token_file`). The one rule for
 * what export leaves out and what the plan shows as "(hidden)".
 */
export function isCredential(key: string): boolean {
  if (SHELL_DIRECTORIES.has(key)) return false;
  const parts = keyParts(key);
  if (POINTER_ENDINGS.has(parts.at(-1) ?? '')) return false;
  return parts.some((part, index) => credentialPart(part) || CREDENTIAL_PAIRS.has(`${part} ${parts[index + 1] ?? ''}`));
}

export type FindingAction =
  /** Replaced by `{{ prefect.blocks.secret.<block> }}` (or a key path into a JSON secret). */
  | 'referenced'
  /** Left out of the files. */
  | 'withheld'
  /** Written as it is: --allow-plain-credentials. */
  | 'written';

export interface Finding {
  /** Key path, e.g. `work_pool.job_variables.env.GITHUB_TOKEN`, `pull[0]...access_token`. */
  path: string;
  action: FindingAction;
  /** The secret block whose value it was, or held (`referenced`, or `withheld` where no reference can stand). */
  block?: string | undefined;
  /** The placeholder written instead of the value (`referenced`). */
  reference?: string | undefined;
  /** The block's value is only part of it (`https://user:TOKEN@host`): the reference stands for that part. */
  within?: boolean | undefined;
  /** Why it was not replaced by a reference, when it matched a block. */
  reason?: string | undefined;
}

export interface ProtectOptions {
  /** The path of `value` in the exported entry, e.g. `work_pool.job_variables`. */
  path: string;
  /** The key `value` itself sits under, when that key says what it is (a parameter's name for its default). */
  key?: string | undefined;
  /** The secret blocks' values, read in memory. */
  secrets: SecretValues;
  /**
   * Whether Prefect resolves `{{ prefect.blocks.* }}` here at run time: job variables (the worker)
   * and pull steps (the steps runner) do; parameters reach the flow as written.
   */
  referable: boolean;
  allowPlain: boolean;
}

/** Where a secret value is on the server: a block, and the place in a JSON secret's value. */
export interface SecretPlace {
  block: string;
  /**
   * For a string inside a JSON secret (an object or a list): Prefect's key path to it (`value.db.password`,
   * `value.hosts[1]`), or null when a placeholder cannot spell it (a key with `.`, a space, only digits).
   * Absent for a secret whose value is the string itself.
   */
  keyPath?: string | null | undefined;
}

/** The keys a placeholder can spell, as Prefect's key paths split them (`.`, `[n]`; digits alone would be an index). */
const KEY_PATH_PART = /^(?!\d+$)[A-Za-z0-9_-]+$/;

/** Every string of a JSON secret's value, with Prefect's key path to it (null where none can be spelled). */
function leaves(value: JsonValue, path: string | null, out: Array<[string, string | null]>): void {
  if (typeof value === 'string') out.push([value, path]);
  else if (Array.isArray(value)) value.forEach((item, index) => leaves(item, path === null ? null : `${path}[${index}]`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) leaves(item, path !== null && KEY_PATH_PART.test(key) ? `${path}.${key}` : null, out);
  }
}

/**
 * Finds secret values by value: each string secret, then each string inside a JSON secret (a
 * secret block whose value is an object or a list), the first block by name for each value.
 */
export function secretIndex(secrets: SecretValues): Map<string, SecretPlace> {
  const byValue = new Map<string, SecretPlace>();
  const names = [...secrets.keys()].sort();
  for (const name of names) {
    const value = secrets.get(name);
    if (typeof value === 'string' && value !== '' && !byValue.has(value)) byValue.set(value, { block: name });
  }
  for (const name of names) {
    const value = secrets.get(name);
    if (value === null || typeof value !== 'object') continue;
    const found: Array<[string, string | null]> = [];
    leaves(value, 'value', found);
    for (const [leaf, keyPath] of found) if (leaf !== '' && !byValue.has(leaf)) byValue.set(leaf, { block: name, keyPath });
  }
  return byValue;
}

/**
 * Secret values shorter than this are found only as whole values, not inside other text: a short
 * one (`admin`, `prod`, `1234`) turns up in ordinary values by chance. A URL's password is found
 * whatever its length by URL_WITH_PASSWORD.
 */
export const MIN_CONTAINED_LENGTH = 8;

/** A string that is only a placeholder refers to a value; it holds none. */
export const ONLY_PLACEHOLDER = /^\{\{\s*[\w.\-[\]$]+\s*\}\}$/;

/**
 * A value as a plan shows it: everything under a credential-like key is "(hidden)", whatever its
 * shape, unless it is exactly one `{{ ... }}` placeholder (what it names, not a value).
 */
export function withCredentialsHidden(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withCredentialsHidden);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, isCredential(key) && !(typeof item === 'string' && ONLY_PLACEHOLDER.test(item)) ? '(hidden)' : withCredentialsHidden(item)]),
  );
}

/** A value that names a block's data (`{{ prefect.blocks.secret.token }}`): resolved, it may be a secret. */
const BLOCK_PLACEHOLDER = /\{\{\s*prefect\.blocks\./;

/**
 * The server's value as a plan shows it next to the declared one: where the inputs place a block
 * placeholder, the server may hold what `prefect deploy` resolved it to (a password under any key,
 * `username` too), so its value there is "(hidden)" unless it is the same placeholder.
 */
export function withResolvedBlocksHidden(current: unknown, desired: unknown): unknown {
  if (typeof desired === 'string') return BLOCK_PLACEHOLDER.test(desired) && current !== desired && current !== null && current !== undefined ? '(hidden)' : current;
  if (Array.isArray(desired) && Array.isArray(current)) return current.map((item, index) => withResolvedBlocksHidden(item, desired[index]));
  if (desired && typeof desired === 'object' && !Array.isArray(desired) && current && typeof current === 'object' && !Array.isArray(current)) {
    const wanted = desired as Record<string, unknown>;
    return Object.fromEntries(Object.entries(current).map(([key, item]) => [key, key in wanted ? withResolvedBlocksHidden(item, wanted[key]) : item]));
  }
  return current;
}

const REMOVED = Symbol('removed');

/** `scheme://user:password@host...`: the password is in the text. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:[^/@\s]+@/i;

/**
 * `value` with every credential found replaced by a reference, or removed (an object's key, an
 * array's item), and what was done where. `value` itself is not changed.
 */
export function protectCredentials(value: JsonValue, options: ProtectOptions): { value: JsonValue; findings: Finding[] } {
  const byValue = secretIndex(options.secrets);
  // A value that equals a block's value but for the final newline (typed by hand where the block kept
  // the file's newline) is still that secret; a reference would add the newline, so it is left out.
  const trimmed = new Map<string, string>();
  for (const [secret, place] of byValue) {
    const without = secret.replace(/\r?\n$/, '');
    if (place.keyPath === undefined && without !== secret && without !== '' && !byValue.has(without) && !trimmed.has(without)) trimmed.set(without, place.block);
  }
  // What is looked for inside other text: each secret value long enough, without its final newline
  // (then no placeholder can stand for it there: Prefect would put the newline in), longest first.
  const contained: Array<{ needle: string; place: SecretPlace; newline: boolean }> = [];
  for (const [secret, place] of byValue) {
    const without = secret.replace(/\r?\n$/, '');
    if (without.length >= MIN_CONTAINED_LENGTH && !contained.some(({ needle }) => needle === without)) contained.push({ needle: without, place, newline: without !== secret });
  }
  contained.sort((a, b) => b.needle.length - a.needle.length);
  const referenceTo = ({ block, keyPath }: SecretPlace) => `{{ prefect.blocks.secret.${block}${keyPath ? `.${keyPath}` : ''} }}`;
  const findings: Finding[] = [];
  /** A credential no reference can stand for: removed, or kept as it is when the operator allows it. */
  const plain = (item: JsonValue, path: string, match: { block?: string; reason?: string; within?: boolean } = {}): JsonValue | typeof REMOVED => {
    findings.push({ path, action: options.allowPlain ? 'written' : 'withheld', block: match.block, reason: match.reason, ...(match.within && { within: true }) });
    return options.allowPlain ? item : REMOVED;
  };

  // `key` is the nearest object key above `item` (an array's items share their array's key).
  const walk = (item: JsonValue, path: string, key: string | undefined): JsonValue | typeof REMOVED => {
    if (Array.isArray(item)) {
      // A list under a credential key (`password: [...]`) is one credential: taking out some items
      // would change what the deployment holds on the next apply.
      const loose = (element: JsonValue) =>
        (typeof element === 'string' && element !== '' && !ONLY_PLACEHOLDER.test(element) && !byValue.has(element)) || typeof element === 'number';
      if (key !== undefined && isCredential(key) && item.some(loose)) return plain(item, path);
      const out: JsonValue[] = [];
      item.forEach((element, index) => {
        const kept = walk(element, `${path}[${index}]`, key);
        if (kept !== REMOVED) out.push(kept);
      });
      return out;
    }
    if (item !== null && typeof item === 'object') {
      const out: { [key: string]: JsonValue } = {};
      for (const [childKey, child] of Object.entries(item)) {
        const kept = walk(child, path ? `${path}.${childKey}` : childKey, childKey);
        // defineProperty keeps a key such as `__proto__` as data.
        if (kept !== REMOVED) Object.defineProperty(out, childKey, { value: kept, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    if (typeof item === 'string') {
      const place = byValue.get(item);
      if (place !== undefined) {
        const { block, keyPath } = place;
        if (!options.referable) return plain(item, path, { block, reason: 'Prefect passes parameters to the flow as written, so a reference would not be resolved' });
        if (!REFERABLE_NAME.test(block)) return plain(item, path, { block, reason: `a placeholder cannot name block "${block}" (lower case letters, digits and - only)` });
        if (keyPath === null) return plain(item, path, { block, reason: 'a placeholder cannot spell the key path to it in the block\'s JSON value (a key with other characters than letters, digits, _ and -)' });
        const reference = referenceTo(place);
        findings.push({ path, action: 'referenced', block, reference });
        return reference;
      }
      const near = trimmed.get(item);
      if (near !== undefined) return plain(item, path, { block: near, reason: 'the block holds it with a final newline, which a reference would add' });
      if (item === '' || ONLY_PLACEHOLDER.test(item)) return item;
      const holders = contained.filter(({ needle }) => item.includes(needle));
      if (holders.length > 0) {
        // Prefect substitutes a block placeholder inside other text (the worker, the pull step runner).
        const withheld = holders.find(({ place, newline }) => !options.referable || newline || place.keyPath === null || !REFERABLE_NAME.test(place.block));
        if (withheld) {
          const { place, newline } = withheld;
          const reason = !options.referable
            ? 'Prefect passes parameters to the flow as written, so a reference would not be resolved'
            : newline
              ? 'the block holds it with a final newline, which a reference within the text would add'
              : place.keyPath === null
                ? "a placeholder cannot spell the key path to it in the block's JSON value"
                : `a placeholder cannot name block "${place.block}"`;
          return plain(item, path, { block: place.block, within: true, reason });
        }
        let text = item;
        for (const { needle, place } of holders) {
          if (!text.includes(needle)) continue;
          text = text.split(needle).join(referenceTo(place));
          findings.push({ path, action: 'referenced', block: place.block, reference: referenceTo(place), within: true });
        }
        return text;
      }
      if (URL_WITH_PASSWORD.test(item)) return plain(item, path, { reason: 'a URL with a password in it' });
    }
    if (key !== undefined && isCredential(key) && (typeof item === 'string' || typeof item === 'number')) return plain(item, path);
    return item;
  };

  const result = walk(value, options.path, options.key);
  return { value: result === REMOVED ? null : result, findings };
}
