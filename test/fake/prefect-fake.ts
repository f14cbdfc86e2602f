// A stateful in-memory stand-in for the Prefect 3.7 REST API, served through msw.
//
// The same test cases run against this fake and against a real server, so every route here copies
// what a real Prefect 3.7.2 server answers, quirks included: status codes, error bodies, the order
// of the checks (CSRF, then basic auth, then routing, then the API-version header, then the body),
// FastAPI's 307 for a missing or extra trailing slash, pydantic's 422 details, and the places where
// the server answers 409 or 500 instead of a cleaner error. Each quirk was observed on a real
// 3.7.2 server and is named where it is implemented.
import { randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { delay, http, HttpResponse, type RequestHandler } from 'msw';
import type { components } from '../../src/prefect/schema.js';

type Schemas = components['schemas'];
export type Variable = Schemas['Variable'];
export type BlockDocument = Schemas['BlockDocument'];
export type BlockType = Schemas['BlockType'];
export type BlockSchema = Schemas['BlockSchema'];
export type ConcurrencyLimitV2 = Schemas['ConcurrencyLimitV2'];
type ConcurrencyLimitV1 = Schemas['ConcurrencyLimit'];
type GlobalConcurrencyLimitResponse = Schemas['GlobalConcurrencyLimitResponse'];
type CsrfToken = Schemas['CsrfToken'];

export interface FakeOptions {
  /** Default 'http://prefect.fake/api'. */
  baseUrl?: string;
  /** When set ('user:pass'), basic auth is required like PREFECT_SERVER_API_AUTH_STRING, except GET /health and GET /ready. */
  authString?: string;
  /** CSRF protection on, like PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED. */
  csrf?: boolean;
  /** Lifetime of a CSRF token (PREFECT_SERVER_API_CSRF_TOKEN_EXPIRATION); default one hour. */
  csrfTokenTtlMs?: number;
}

export interface RecordedRequest {
  method: string;
  /** Relative to baseUrl and still percent-encoded as sent, e.g. '/variables/name/a%20b'; no query. */
  path: string;
  /** The query string without its '?', '' when there is none. */
  query: string;
  /** The parsed JSON body, the raw text when it is not JSON, undefined when there is none. */
  body: unknown;
  /** Lower-case names. */
  headers: Record<string, string>;
}

export interface Fault {
  /** Any method when omitted; case-insensitive. */
  method?: string;
  /** A string matches the recorded (percent-encoded) path exactly; a RegExp is tested against it. */
  path: RegExp | string;
  /** How many matching requests get the fault; default 1. */
  times?: number;
  /** Answer with this status. Without `status` and `networkError` the request is only delayed, then served normally. */
  status?: number;
  /** JSON body; defaults to what the real server (or a proxy in front of it) sends with that status. */
  body?: unknown;
  /** A body that is not JSON, sent as it is (a proxy's HTML page); with `status`, instead of `body`. */
  text?: string;
  headers?: Record<string, string>;
  networkError?: boolean;
  delayMs?: number;
}

export interface FakeState {
  /** By name. */
  variables: Map<string, Variable>;
  /** By id; `data` holds the secrets in clear. */
  blockDocuments: Map<string, BlockDocument>;
  /** Every v2 limit by name, including the `tag:<tag>` rows behind the v1 routes. */
  concurrencyLimits: Map<string, ConcurrencyLimitV2>;
  /** By id; seeded with the protected `secret` type. */
  blockTypes: Map<string, BlockType>;
  /** By id; seeded with the schema of `secret`. */
  blockSchemas: Map<string, BlockSchema>;
}

export interface PrefectFake {
  baseUrl: string;
  /** Pass to setupServer(...). */
  handlers: RequestHandler[];
  /** Every request received, in order, including those answered by an injected fault. */
  requests: RecordedRequest[];
  /** The requests that may change state: every POST/PUT/PATCH/DELETE except the read-only POST …/filter, …/count and …/paginate. */
  writes(): RecordedRequest[];
  /** Clears the state, the log, the CSRF tokens and the pending faults, and re-seeds the system block types. */
  reset(): void;
  state: FakeState;
  /** The next `times` requests matching method and path get this response (or a network error), before anything else. */
  inject(fault: Fault): void;
}

const DEFAULT_BASE_URL = 'http://prefect.fake/api';
const API_SCHEMA_VERSION = '0.8.4';
const MIN_CLIENT_API_VERSION: [number, number, number] = [0, 8, 0];
const SERVER_VERSION = '3.7.2';
const DEFAULT_LIMIT = 200;
const MAX_VARIABLE_VALUE_BYTES = 5000;
const MAX_VARIABLE_NAME_LENGTH = 255;
const OBFUSCATED = '********';
const BANNED_NAME_PATTERN = '^[^/%&><]+$';
const INTEGRITY_CONFLICT =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';

// --- The `secret` block type and schema exactly as a 3.7.2 server registers them -------------------

const SECRET_DESCRIPTION =
  'A block that represents a secret value. The value stored in this block will be obfuscated when this block is viewed or edited in the UI.';

function secretBlockType(now: string): BlockType {
  return {
    id: randomUUID(),
    created: now,
    updated: now,
    name: 'Secret',
    slug: 'secret',
    logo_url: 'https://cdn.sanity.io/images/3ugk85nk/production/c6f20e556dd16effda9df16551feecfb5822092b-48x48.png',
    documentation_url: 'https://docs.prefect.io/latest/develop/blocks',
    description: SECRET_DESCRIPTION,
    code_example:
      '```python\nfrom prefect.blocks.system import Secret\n\nSecret(value="sk-1234567890").save("BLOCK_NAME", overwrite=True)\n\nsecret_block = Secret.load("BLOCK_NAME")\n\n# Access the stored secret\nsecret_block.get()\n```',
    is_protected: true,
  };
}

function secretBlockSchema(blockTypeId: string, now: string): BlockSchema {
  return {
    id: randomUUID(),
    created: now,
    updated: now,
    checksum: 'sha256:c078ed9c1e813e224c0b353d7ad4564a11d51d3198d9ac0686478165a1911c78',
    fields: {
      block_type_slug: 'secret',
      description: SECRET_DESCRIPTION,
      properties: {
        value: {
          anyOf: [
            { format: 'password', type: 'string', writeOnly: true },
            { title: 'string', type: 'string' },
            { $ref: '#/definitions/JsonValue', title: 'JSON' },
          ],
          description: 'A value that should be kept secret.',
          examples: ['sk-1234567890', { password: 's3cr3t', username: 'johndoe' }],
          format: 'password',
          title: 'Value',
          writeOnly: true,
          position: 0,
        },
      },
      required: ['value'],
      // Listed twice by the real server too (SecretStr and Secret[T] both mark it).
      secret_fields: ['value', 'value'],
      title: 'Secret',
      type: 'object',
      block_schema_references: {},
    },
    block_type_id: blockTypeId,
    capabilities: [],
    version: SERVER_VERSION,
  };
}

// --- pydantic-shaped validation ---------------------------------------------------------------------

type Loc = (string | number)[];
interface Issue {
  type: string;
  loc: Loc;
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}
const INVALID: unique symbol = Symbol('invalid');
type Checked<T> = T | typeof INVALID;
type Validator<T> = (input: unknown, loc: Loc, issues: Issue[]) => Checked<T>;
type Fields = Record<string, unknown>;

function fail(issues: Issue[], issue: Issue): typeof INVALID {
  issues.push(issue);
  return INVALID;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str =
  (): Validator<string> =>
  (input, loc, issues) =>
    typeof input === 'string' ? input : fail(issues, { type: 'string_type', loc, msg: 'Input should be a valid string', input });

function valueError(loc: Loc, input: unknown, message: string): Issue {
  return { type: 'value_error', loc, msg: `Value error, ${message}`, input, ctx: { error: {} } };
}

function matchesPattern(pattern: string): Validator<string> {
  const regex = new RegExp(pattern, 'u');
  return (input, loc, issues) => {
    const value = str()(input, loc, issues);
    if (value === INVALID) return value;
    return regex.test(value)
      ? value
      : fail(issues, { type: 'string_pattern_mismatch', loc, msg: `String should match pattern '${pattern}'`, input, ctx: { pattern } });
  };
}

const variableName: Validator<string> = (input, loc, issues) => {
  const value = str()(input, loc, issues);
  if (value === INVALID) return value;
  const length = [...value].length;
  if (length > MAX_VARIABLE_NAME_LENGTH) {
    return fail(issues, {
      type: 'too_long',
      loc,
      msg: `Value should have at most ${MAX_VARIABLE_NAME_LENGTH} items after validation, not ${length}`,
      input,
      ctx: { field_type: 'Value', max_length: MAX_VARIABLE_NAME_LENGTH, actual_length: length },
    });
  }
  if (!/^[a-z0-9_-]*$/.test(value)) {
    return fail(issues, valueError(loc, input, 'Variable name must only contain lowercase letters, numbers, and dashes or underscores.'));
  }
  return value;
};

const blockDocumentName: Validator<string> = (input, loc, issues) => {
  const value = matchesPattern(BANNED_NAME_PATTERN)(input, loc, issues);
  if (value === INVALID) return value;
  return /^[a-z0-9-]*$/.test(value)
    ? value
    : fail(issues, valueError(loc, input, 'Block document name must only contain lowercase letters, numbers, and dashes.'));
};

// orjson's compact encoding, measured in bytes, is what the server limits.
const variableValue: Validator<unknown> = (input, loc, issues) =>
  input !== null && Buffer.byteLength(JSON.stringify(input) ?? '') > MAX_VARIABLE_VALUE_BYTES
    ? fail(issues, valueError(loc, input, `Variable value must be less than ${MAX_VARIABLE_VALUE_BYTES} characters`))
    : input;

function greaterOrEqual(loc: Loc, input: unknown, ge: number): Issue {
  return { type: 'greater_than_equal', loc, msg: `Input should be greater than or equal to ${ge}`, input, ctx: { ge } };
}

function int(options: { ge?: number } = {}): Validator<number> {
  return (input, loc, issues) => {
    let value: number;
    if (typeof input === 'boolean') value = input ? 1 : 0;
    else if (typeof input === 'number') {
      if (!Number.isInteger(input)) {
        return fail(issues, { type: 'int_from_float', loc, msg: 'Input should be a valid integer, got a number with a fractional part', input });
      }
      value = input;
    } else if (typeof input === 'string') {
      if (!/^\s*[+-]?\d+\s*$/.test(input)) {
        return fail(issues, { type: 'int_parsing', loc, msg: 'Input should be a valid integer, unable to parse string as an integer', input });
      }
      value = Number.parseInt(input, 10);
    } else return fail(issues, { type: 'int_type', loc, msg: 'Input should be a valid integer', input });
    if (options.ge !== undefined && value < options.ge) return fail(issues, greaterOrEqual(loc, input, options.ge));
    return value;
  };
}

function float(options: { ge?: number } = {}): Validator<number> {
  return (input, loc, issues) => {
    let value: number;
    if (typeof input === 'boolean') value = input ? 1 : 0;
    else if (typeof input === 'number') value = input;
    else if (typeof input === 'string') {
      value = input.trim() === '' ? Number.NaN : Number(input);
      if (Number.isNaN(value)) {
        return fail(issues, { type: 'float_parsing', loc, msg: 'Input should be a valid number, unable to parse string as a number', input });
      }
    } else return fail(issues, { type: 'float_type', loc, msg: 'Input should be a valid number', input });
    if (options.ge !== undefined && value < options.ge) return fail(issues, greaterOrEqual(loc, input, options.ge));
    return value;
  };
}

const TRUE_STRINGS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_STRINGS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

function parseBool(input: unknown, loc: Loc, issues: Issue[]): Checked<boolean> {
  if (typeof input === 'boolean') return input;
  const unable = (): typeof INVALID =>
    fail(issues, { type: 'bool_parsing', loc, msg: 'Input should be a valid boolean, unable to interpret input', input });
  if (typeof input === 'number') return input === 1 ? true : input === 0 ? false : unable();
  if (typeof input === 'string') {
    const lowered = input.toLowerCase();
    return TRUE_STRINGS.has(lowered) ? true : FALSE_STRINGS.has(lowered) ? false : unable();
  }
  return fail(issues, { type: 'bool_type', loc, msg: 'Input should be a valid boolean', input });
}
const bool = (): Validator<boolean> => parseBool;

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Python's uuid.UUID(str) parsing: braces, 'urn:uuid:' and hyphens anywhere are tolerated. */
function parseUuid(text: string): string | undefined {
  const hex = text.replace('urn:', '').replace('uuid:', '').replace(/^\{+|\}+$/g, '').replaceAll('-', '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const uuid =
  (): Validator<string> =>
  (input, loc, issues) => {
    if (typeof input !== 'string') {
      return fail(issues, { type: 'uuid_type', loc, msg: 'UUID input should be a string, bytes or UUID object', input });
    }
    const parsed = parseUuid(input);
    if (parsed) return parsed;
    const badIndex = [...input].findIndex((char) => !/[0-9a-fA-F-]/.test(char));
    const error =
      badIndex >= 0
        ? `invalid character: found \`${[...input][badIndex]}\` at ${badIndex + 1}`
        : `invalid length: expected length 32 for simple format, found ${input.replaceAll('-', '').length}`;
    return fail(issues, { type: 'uuid_parsing', loc, msg: `Input should be a valid UUID, ${error}`, input, ctx: { error } });
  };

function list<T>(item: Validator<T>): Validator<T[]> {
  return (input, loc, issues) => {
    if (!Array.isArray(input)) return fail(issues, { type: 'list_type', loc, msg: 'Input should be a valid list', input });
    const out: T[] = [];
    let ok = true;
    input.forEach((element, index) => {
      const value = item(element, [...loc, index], issues);
      if (value === INVALID) ok = false;
      else out.push(value);
    });
    return ok ? out : INVALID;
  };
}

const dict =
  (): Validator<Record<string, unknown>> =>
  (input, loc, issues) =>
    isPlainObject(input) ? input : fail(issues, { type: 'dict_type', loc, msg: 'Input should be a valid dictionary', input });

const anyValue: Validator<unknown> = (input) => input;

function nullable<T>(inner: Validator<T>): Validator<T | null> {
  return (input, loc, issues) => (input === null ? null : inner(input, loc, issues));
}

function oneOf<T extends string>(values: readonly T[]): Validator<T> {
  const quoted = values.map((value) => `'${value}'`);
  const expected = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '');
  return (input, loc, issues) =>
    typeof input === 'string' && (values as readonly string[]).includes(input)
      ? (input as T)
      : fail(issues, { type: 'enum', loc, msg: `Input should be ${expected}`, input, ctx: { expected } });
}

interface ModelSpec {
  name: string;
  fields: Record<string, Validator<unknown>>;
  required?: string[];
  /** pydantic's model_validator(mode="before"): a message here is the only error reported. */
  before?: (input: Record<string, unknown>) => string | undefined;
}

/**
 * An `extra="forbid"` model. Returns only the keys that were sent (pydantic's exclude_unset).
 * FastAPI validates request bodies "from attributes", so a non-object is model_attributes_type at any depth.
 */
function model(spec: ModelSpec): Validator<Fields> {
  return (input, loc, issues) => {
    if (!isPlainObject(input)) {
      return fail(issues, { type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input });
    }
    const message = spec.before?.(input);
    if (message) return fail(issues, valueError(loc, input, message));
    const out: Fields = {};
    let ok = true;
    for (const [key, validate] of Object.entries(spec.fields)) {
      if (!(key in input)) {
        if (spec.required?.includes(key)) {
          issues.push({ type: 'missing', loc: [...loc, key], msg: 'Field required', input });
          ok = false;
        }
        continue;
      }
      const value = validate(input[key], [...loc, key], issues);
      if (value === INVALID) ok = false;
      else out[key] = value;
    }
    for (const [key, value] of Object.entries(input)) {
      if (!(key in spec.fields)) {
        issues.push({ type: 'extra_forbidden', loc: [...loc, key], msg: 'Extra inputs are not permitted', input: value });
        ok = false;
      }
    }
    return ok ? out : INVALID;
  };
}

// --- request schemas (src/prefect/server/schemas/actions.py and filters.py) ------------------------

const operator = oneOf(['and_', 'or_'] as const);

const VariableCreate = model(
  { name: 'VariableCreate', fields: { name: variableName, value: variableValue, tags: list(str()) }, required: ['name', 'value'] },
);
const VariableUpdate = model(
  { name: 'VariableUpdate', fields: { name: nullable(variableName), value: variableValue, tags: nullable(list(str())) } },
);
const VariableFilter = nullable(
  model({
    name: 'VariableFilter',
    fields: {
      operator,
      id: nullable(model({ name: 'VariableFilterId', fields: { any_: nullable(list(uuid())) } })),
      name: nullable(model({ name: 'VariableFilterName', fields: { any_: nullable(list(str())), like_: nullable(str()) } })),
      tags: nullable(
        model({ name: 'VariableFilterTags', fields: { operator, all_: nullable(list(str())), is_null_: nullable(bool()) } }),
      ),
    },
  }),
);
const VariableSort = oneOf(['CREATED_DESC', 'UPDATED_DESC', 'NAME_DESC', 'NAME_ASC'] as const);

const BlockTypeFilter = nullable(
  model({
    name: 'BlockTypeFilter',
    fields: {
      name: nullable(model({ name: 'BlockTypeFilterName', fields: { like_: nullable(str()) } })),
      slug: nullable(model({ name: 'BlockTypeFilterSlug', fields: { any_: nullable(list(str())) } })),
    },
  }),
);
const BlockSchemaFilter = nullable(
  model({
    name: 'BlockSchemaFilter',
    fields: {
      operator,
      block_type_id: nullable(model({ name: 'BlockSchemaFilterBlockTypeId', fields: { any_: nullable(list(uuid())) } })),
      block_capabilities: nullable(model({ name: 'BlockSchemaFilterCapabilities', fields: { all_: nullable(list(str())) } })),
      id: nullable(model({ name: 'BlockSchemaFilterId', fields: { any_: nullable(list(uuid())) } })),
      version: nullable(model({ name: 'BlockSchemaFilterVersion', fields: { any_: nullable(list(str())) } })),
    },
  }),
);
const BlockDocumentFilter = nullable(
  model({
    name: 'BlockDocumentFilter',
    fields: {
      operator,
      id: nullable(model({ name: 'BlockDocumentFilterId', fields: { any_: nullable(list(uuid())) } })),
      is_anonymous: nullable(model({ name: 'BlockDocumentFilterIsAnonymous', fields: { eq_: nullable(bool()) } })),
      block_type_id: nullable(model({ name: 'BlockDocumentFilterBlockTypeId', fields: { any_: nullable(list(uuid())) } })),
      name: nullable(model({ name: 'BlockDocumentFilterName', fields: { any_: nullable(list(str())), like_: nullable(str()) } })),
    },
  }),
);
const BlockTypeCreate = model({
  name: 'BlockTypeCreate',
  fields: {
    name: str(),
    slug: str(),
    logo_url: nullable(str()),
    documentation_url: nullable(str()),
    description: nullable(str()),
    code_example: nullable(str()),
  },
  required: ['name', 'slug'],
});
const BlockSchemaCreate = model({
  name: 'BlockSchemaCreate',
  fields: { fields: dict(), block_type_id: uuid(), capabilities: list(str()), version: str() },
  required: ['block_type_id'],
});
const BlockDocumentSort = nullable(oneOf(['NAME_DESC', 'NAME_ASC', 'BLOCK_TYPE_AND_NAME_ASC'] as const));

const BlockDocumentCreate = model(
  {
    name: 'BlockDocumentCreate',
    fields: {
      name: nullable(blockDocumentName),
      data: dict(),
      block_schema_id: uuid(),
      block_type_id: uuid(),
      is_anonymous: bool(),
    },
    required: ['block_schema_id', 'block_type_id'],
    // Checked on the raw input, before any field: a truthy is_anonymous or a non-empty name.
    before: (input) => (!input.is_anonymous && !input.name ? 'Names must be provided for block documents.' : undefined),
  },
);
const BlockDocumentUpdate = model(
  { name: 'BlockDocumentUpdate', fields: { block_schema_id: nullable(uuid()), data: dict(), merge_existing_data: bool() } },
);

const ConcurrencyLimitCreate = model(
  { name: 'ConcurrencyLimitCreate', fields: { tag: str(), concurrency_limit: int() }, required: ['tag', 'concurrency_limit'] },
);
const ConcurrencyLimitV2Create = model(
  {
    name: 'ConcurrencyLimitV2Create',
    fields: {
      active: bool(),
      name: matchesPattern(BANNED_NAME_PATTERN),
      limit: int({ ge: 0 }),
      active_slots: int({ ge: 0 }),
      denied_slots: int({ ge: 0 }),
      slot_decay_per_second: float({ ge: 0 }),
    },
    required: ['name', 'limit'],
  },
);
const ConcurrencyLimitV2Update = model(
  {
    name: 'ConcurrencyLimitV2Update',
    fields: {
      active: nullable(bool()),
      name: nullable(matchesPattern(BANNED_NAME_PATTERN)),
      limit: nullable(int({ ge: 0 })),
      active_slots: nullable(int({ ge: 0 })),
      denied_slots: nullable(int({ ge: 0 })),
      slot_decay_per_second: nullable(float({ ge: 0 })),
    },
  },
);

// --- helpers ----------------------------------------------------------------------------------------

/** SQLite's default BINARY collation: byte order of the UTF-8 text. */
function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** SQL `x ILIKE '%<pattern>%'` as the filters build it: `%` and `_` are wildcards, no escape character. */
function ilikeContains(value: string, pattern: string): boolean {
  const body = [...pattern]
    .map((char) => (char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^.*${body}.*$`, 'isu').test(value);
}

function combine(results: boolean[], op: unknown): boolean {
  if (results.length === 0) return true;
  return op === 'or_' ? results.some(Boolean) : results.every(Boolean);
}

function field<T>(fields: Fields | null | undefined, key: string): T | undefined {
  return fields ? (fields[key] as T | undefined) : undefined;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

// dict_to_flatdict / flatdict_to_dict (prefect.utilities.collections): only non-empty dicts are walked.
type FlatEntry = { key: string[]; value: unknown };
function flatten(data: Record<string, unknown>, parent: string[] = [], out = new Map<string, FlatEntry>()): Map<string, FlatEntry> {
  for (const [k, v] of Object.entries(data)) {
    const key = [...parent, k];
    if (isPlainObject(v) && Object.keys(v).length > 0) flatten(v, key, out);
    else out.set(JSON.stringify(key), { key, value: v });
  }
  return out;
}
function unflatten(flat: Map<string, FlatEntry>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of flat.values()) {
    let node = out;
    key.forEach((part, index) => {
      if (index === key.length - 1) node[part] = value;
      else {
        const next = node[part];
        if (!isPlainObject(next)) node[part] = {};
        node = node[part] as Record<string, unknown>;
      }
    });
  }
  return out;
}
function samePrefix(a: string[], b: string[], length: number): boolean {
  const x = a.slice(0, length);
  const y = b.slice(0, length);
  return x.length === y.length && x.every((part, index) => part === y[index]);
}

function secretFieldsOf(schema: BlockSchema | undefined): string[] {
  const fields = schema?.fields?.secret_fields;
  return Array.isArray(fields) ? fields.filter((f): f is string => typeof f === 'string') : [];
}

/**
 * BlockDocument.from_orm_model: obfuscates the schema's secret fields. A secret whose value is a
 * non-empty object is flattened away from its key and so comes back in clear, as on the real server.
 */
function obfuscateSecrets(data: Record<string, unknown>, secretFields: string[]): Record<string, unknown> {
  const flat = flatten(data);
  for (const secretField of secretFields) {
    const secretKey = secretField.split('.');
    const entry = flat.get(JSON.stringify(secretKey));
    if (entry && entry.value !== null && entry.value !== undefined) entry.value = OBFUSCATED;
    else if (secretKey.includes('*')) {
      const wildcard = secretKey.indexOf('*');
      for (const other of flat.values()) if (samePrefix(secretKey, other.key, wildcard)) other.value = OBFUSCATED;
    }
  }
  return unflatten(flat);
}

class InternalServerError extends Error {}

/** update_block_document: a secret sent back as its obfuscated form keeps the stored value. */
function keepObfuscatedSecrets(update: Record<string, unknown>, current: Record<string, unknown>, secretFields: string[]): Record<string, unknown> {
  const flatUpdate = flatten(update);
  const flatCurrent = flatten(current);
  for (const secretField of secretFields) {
    const secretKey = secretField.split('.');
    const id = JSON.stringify(secretKey);
    const currentSecret = flatCurrent.get(id)?.value;
    if (currentSecret !== null && currentSecret !== undefined) {
      const sent = flatUpdate.get(id);
      if (sent && sent.value === OBFUSCATED) sent.value = currentSecret;
    } else if (secretKey.includes('*')) {
      const wildcard = secretKey.indexOf('*');
      for (const [dataId, entry] of flatUpdate) {
        if (samePrefix(secretKey, entry.key, wildcard) && entry.value === OBFUSCATED) {
          // The server indexes the current data without a default: a KeyError, so a 500.
          const stored = flatCurrent.get(dataId);
          if (!stored) throw new InternalServerError();
          entry.value = stored.value;
        }
      }
    }
  }
  return unflatten(flatUpdate);
}

function defaultFaultBody(status: number): unknown {
  switch (status) {
    case 401:
      return { exception_message: 'Unauthorized' };
    case 409:
      return { detail: INTEGRITY_CONFLICT };
    case 500:
      return { exception_message: 'Internal Server Error' };
    case 503:
      return { exception_message: 'Service Unavailable' };
    default:
      return { detail: STATUS_CODES[status] ?? 'Error' };
  }
}

/** Python's repr and type name of a JSON value, as pydantic prints them in a ValidationError. */
function pythonRepr(value: unknown): string {
  if (typeof value === 'string') return value.includes("'") && !value.includes('"') ? `"${value}"` : `'${value.replaceAll("'", "\\'")}'`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null) return 'None';
  return JSON.stringify(value);
}
function pythonTypeName(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value)) return 'list';
  return value === null ? 'NoneType' : 'dict';
}

/** `str(ValidationError)` for BlockDocumentReferenceCreate's reference id, which the API turns into a 400 detail. */
function referenceIdError(value: unknown): string | undefined {
  const issues: Issue[] = [];
  if (uuid()(value, [], issues) !== INVALID) return undefined;
  const issue = issues[0];
  if (!issue) return undefined;
  return (
    `1 validation error for BlockDocumentReferenceCreate\nreference_block_document_id\n` +
    `  ${issue.msg} [type=${issue.type}, input_value=${pythonRepr(value)}, input_type=${pythonTypeName(value)}]\n` +
    `    For further information visit https://errors.pydantic.dev/2.13/v/${issue.type}`
  );
}

interface Reference {
  name: string;
  childId: string;
}

/**
 * _separate_block_references_from_data: top-level `{"$ref": {"block_document_id": …}}` values become
 * references. A `$ref` that is not an object fails with an AttributeError (500); one without an id, 400.
 */
function separateReferences(data: Record<string, unknown>): { data: Record<string, unknown>; references: Array<[string, unknown]> } | Response {
  const plain: Record<string, unknown> = {};
  const references: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(data)) {
    if (isPlainObject(value) && '$ref' in value) {
      const ref = value.$ref;
      if (!isPlainObject(ref)) return internalError();
      const id = ref.block_document_id;
      if (id === null || id === undefined) return detail(400, `Received block reference without a block_document_id in key ${key}`);
      references.push([key, id]);
    } else plain[key] = value;
  }
  return { data: plain, references };
}

// --- routing ----------------------------------------------------------------------------------------

type BodyInfo =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; text: string }
  | { kind: 'invalid'; text: string }
  /** A body sent with a non-JSON content type: FastAPI does not parse it. */
  | { kind: 'raw'; text: string };

interface Call {
  method: string;
  url: URL;
  /** Percent-decoded, relative to the base path, as Starlette routes it. */
  path: string;
  headers: Headers;
  body: BodyInfo;
}

type Params = Record<string, string>;
type Handler = (call: Call, params: Params) => Response;

interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  /** Routes of the API routers carry the X-PREFECT-API-VERSION check; /health and /version do not. */
  versioned: boolean;
  handle: Handler;
}

const UUID_SEGMENT = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

function compileRoute(method: string, template: string, handle: Handler, versioned = true): Route {
  const names: string[] = [];
  const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(?::(\w+))?\}/g, (_match, name: string, kind?: string) => {
    names.push(name);
    return kind === 'uuid' ? `(${UUID_SEGMENT})` : '([^/]+)';
  });
  return { method, regex: new RegExp(`^${source}$`), names, versioned, handle };
}

function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return HttpResponse.json(body as never, { status, headers });
}
function noContent(): Response {
  return new HttpResponse(null, { status: 204 });
}
function detail(status: number, message: string): Response {
  return json(status, { detail: message });
}
function internalError(): Response {
  return json(500, { exception_message: 'Internal Server Error' });
}
function integrityConflict(): Response {
  return detail(409, INTEGRITY_CONFLICT);
}

function requestBodyForError(body: BodyInfo): unknown {
  switch (body.kind) {
    case 'json':
      return body.value;
    case 'none':
      return null;
    default:
      return body.text;
  }
}

function validationError(call: Call, issues: Issue[]): Response {
  return json(422, { exception_message: 'Invalid request received.', exception_detail: issues, request_body: requestBodyForError(call.body) });
}

function jsonInvalid(call: Call): Response {
  return validationError(call, [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: 'Expecting value' } }]);
}

/** A route whose whole body is one model (FastAPI's single, non-embedded body parameter). */
function parseModelBody(call: Call, validate: Validator<Fields>): Fields | Response {
  const body = call.body;
  if (body.kind === 'invalid') return jsonInvalid(call);
  if (body.kind === 'none' || (body.kind === 'json' && body.value === null)) {
    return validationError(call, [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
  }
  const input = body.kind === 'json' ? body.value : body.text;
  const issues: Issue[] = [];
  const value = validate(input, ['body'], issues);
  return value === INVALID ? validationError(call, issues) : value;
}

/**
 * A route with several body parameters, each a key of the JSON object. FastAPI ignores unknown keys
 * here, treats null as absent, and runs the LimitBody dependency (limit ≤ 200) before the others.
 */
function parseEmbeddedBody(call: Call, params: Record<string, Validator<unknown>>, options: { limit?: boolean } = {}): Fields | Response {
  const body = call.body;
  if (body.kind === 'invalid') return jsonInvalid(call);
  const names = [...(options.limit ? ['limit'] : []), ...Object.keys(params)];
  let input: Record<string, unknown> = {};
  if (body.kind === 'json' && body.value !== null) {
    if (!isPlainObject(body.value)) {
      return validationError(
        call,
        names.map((name) => ({ type: 'missing', loc: ['body', name], msg: 'Field required', input: null })),
      );
    }
    input = body.value;
  }
  const issues: Issue[] = [];
  const out: Fields = {};
  if (options.limit) {
    const raw = input.limit;
    let limit = DEFAULT_LIMIT;
    if (raw !== null && raw !== undefined) {
      const parsed = int()(raw, ['body', 'limit'], issues);
      if (parsed !== INVALID) limit = parsed;
    }
    if (issues.length === 0) {
      if (limit < 0) return detail(422, 'Invalid limit: must be greater than or equal to 0.');
      if (limit > DEFAULT_LIMIT) return detail(422, `Invalid limit: must be less than or equal to ${DEFAULT_LIMIT}.`);
    }
    out.limit = limit;
  }
  for (const [name, validate] of Object.entries(params)) {
    const raw = input[name];
    if (raw === null || raw === undefined) continue;
    const value = validate(raw, ['body', name], issues);
    if (value !== INVALID) out[name] = value;
  }
  return issues.length > 0 ? validationError(call, issues) : out;
}

function queryBool(call: Call, name: string): boolean | Response {
  const raw = call.url.searchParams.get(name);
  if (raw === null) return false;
  const issues: Issue[] = [];
  const value = parseBool(raw, ['query', name], issues);
  return value === INVALID ? validationError(call, issues) : value;
}

function page<T>(rows: T[], fields: Fields): T[] {
  const offset = (fields.offset as number | undefined) ?? 0;
  const limit = (fields.limit as number | undefined) ?? DEFAULT_LIMIT;
  return rows.slice(offset, offset + limit);
}

function checkApiVersion(headers: Headers): Response | undefined {
  const header = headers.get('x-prefect-api-version');
  if (!header) return undefined;
  const parts = header.split('.');
  const numbers = parts.map((part) => (/^\s*[+-]?\d+\s*$/.test(part) ? Number.parseInt(part, 10) : Number.NaN));
  if (numbers.length !== 3 || numbers.some(Number.isNaN)) {
    return detail(400, `Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received ${header}`);
  }
  for (let i = 0; i < 3; i++) {
    const [have, need] = [numbers[i] as number, MIN_CLIENT_API_VERSION[i] as number];
    if (have > need) break;
    if (have < need) {
      return detail(
        400,
        `The request specified API version ${header} but this server requires version ${MIN_CLIENT_API_VERSION.join('.')} or higher.`,
      );
    }
  }
  return undefined;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const READ_ONLY_POST = /\/(filter|count|paginate)\/?$/;

// --- the fake ---------------------------------------------------------------------------------------

export function createPrefectFake(options: FakeOptions = {}): PrefectFake {
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const csrfTtlMs = options.csrfTokenTtlMs ?? 60 * 60 * 1000;

  const state: FakeState = {
    variables: new Map(),
    blockDocuments: new Map(),
    concurrencyLimits: new Map(),
    blockTypes: new Map(),
    blockSchemas: new Map(),
  };
  const requests: RecordedRequest[] = [];
  const faults: Array<Fault & { remaining: number }> = [];
  const csrfTokens = new Map<string, CsrfToken & { expiresAt: number }>();
  /** block_document_reference rows: parent id -> the documents nested in it, by key. */
  const references = new Map<string, Reference[]>();

  // Timestamps as the server writes them (microseconds, 'Z'), strictly increasing so that sorting
  // by created/updated is deterministic even within one millisecond.
  let lastMicros = 0;
  const timestamp = (offsetMs = 0): string => {
    const micros = Math.max(Date.now() * 1000, lastMicros + 1);
    lastMicros = micros;
    const shifted = micros + offsetMs * 1000;
    const iso = new Date(Math.floor(shifted / 1000)).toISOString();
    return `${iso.slice(0, 19)}.${String(shifted % 1_000_000).padStart(6, '0')}Z`;
  };

  function seed(): void {
    const now = timestamp();
    const type = secretBlockType(now);
    const schema = secretBlockSchema(type.id, timestamp());
    state.blockTypes.set(type.id, type);
    state.blockSchemas.set(schema.id, schema);
  }

  function reset(): void {
    state.variables.clear();
    state.blockDocuments.clear();
    state.concurrencyLimits.clear();
    state.blockTypes.clear();
    state.blockSchemas.clear();
    requests.length = 0;
    faults.length = 0;
    csrfTokens.clear();
    references.clear();
    seed();
  }

  // --- lookups ---

  const blockTypeBySlug = (slug: string): BlockType | undefined => [...state.blockTypes.values()].find((t) => t.slug === slug);
  const variableById = (id: string): Variable | undefined => [...state.variables.values()].find((v) => v.id === id);
  const limitById = (id: string): ConcurrencyLimitV2 | undefined => [...state.concurrencyLimits.values()].find((l) => l.id === id);
  const limitByIdOrName = (idOrName: string): ConcurrencyLimitV2 | undefined => {
    const id = parseUuid(idOrName);
    return id ? limitById(id) : state.concurrencyLimits.get(idOrName);
  };

  function schemaResponse(schema: BlockSchema): BlockSchema {
    const type = schema.block_type_id ? state.blockTypes.get(schema.block_type_id) : undefined;
    return { ...clone(schema), block_type: type ? clone(type) : null };
  }

  /** A document as the API returns it: secrets obfuscated unless asked for, nested documents inlined. */
  function documentResponse(doc: BlockDocument, includeSecrets: boolean): BlockDocument {
    const schema = state.blockSchemas.get(doc.block_schema_id);
    const type = state.blockTypes.get(doc.block_type_id);
    const stored = clone(doc.data ?? {});
    const data = includeSecrets ? stored : obfuscateSecrets(stored, secretFieldsOf(schema));
    const nested: Record<string, Record<string, unknown>> = {};
    const children = (references.get(doc.id) ?? [])
      .map((ref) => ({ ref, child: state.blockDocuments.get(ref.childId) }))
      .filter((entry): entry is { ref: Reference; child: BlockDocument } => entry.child !== undefined)
      .sort((a, b) => byteCompare(a.child.name ?? '', b.child.name ?? ''));
    for (const { ref, child } of children) {
      const full = documentResponse(child, includeSecrets);
      data[ref.name] = full.data;
      nested[ref.name] = {
        block_document: {
          id: full.id,
          name: full.name,
          block_type: full.block_type,
          is_anonymous: full.is_anonymous,
          block_document_references: full.block_document_references,
        },
      };
    }
    return {
      id: doc.id,
      created: doc.created,
      updated: doc.updated,
      name: doc.name ?? null,
      data,
      block_schema_id: doc.block_schema_id,
      block_schema: schema ? schemaResponse(schema) : null,
      block_type_id: doc.block_type_id,
      block_type_name: doc.block_type_name ?? type?.name ?? null,
      block_type: type ? clone(type) : null,
      block_document_references: nested,
      is_anonymous: doc.is_anonymous ?? false,
    };
  }

  /**
   * create_block_document_reference for each reference, in order: the id must be a UUID (400), must
   * not close a cycle (400) and must name an existing document (the foreign key: 409).
   */
  function resolveReferences(parentId: string, wanted: Array<[string, unknown]>, existing: Reference[]): Reference[] | Response {
    const resolved: Reference[] = [];
    const edges = (id: string): Reference[] => (id === parentId ? [...existing, ...resolved] : (references.get(id) ?? []));
    for (const [name, rawId] of wanted) {
      const invalid = referenceIdError(rawId);
      if (invalid) return detail(400, invalid);
      const childId = parseUuid(rawId as string) as string;
      const seen = new Set<string>();
      const stack = [childId];
      let cycle = false;
      while (stack.length > 0 && !cycle) {
        const current = stack.pop() as string;
        if (seen.has(current)) continue;
        seen.add(current);
        if (current === parentId) cycle = true;
        else for (const edge of edges(current)) stack.push(edge.childId);
      }
      if (cycle) {
        return detail(
          400,
          `Cannot create block document reference: it would introduce a cycle into the block_document_reference graph (parent=${parentId}, reference=${childId}).`,
        );
      }
      if (!state.blockDocuments.has(childId)) return integrityConflict();
      resolved.push({ name, childId });
    }
    return resolved;
  }

  function deleteBlockDocument(id: string): void {
    state.blockDocuments.delete(id);
    references.delete(id);
    for (const [parentId, refs] of references) references.set(parentId, refs.filter((ref) => ref.childId !== id));
  }

  // --- filters (schemas/filters.py) ---

  function variableMatches(v: Variable, filter: Fields | null | undefined): boolean {
    if (!filter) return true;
    const checks: boolean[] = [];
    const id = field<Fields | null>(filter, 'id');
    if (id) {
      const any = field<string[] | null>(id, 'any_');
      checks.push(any == null || any.includes(v.id));
    }
    const name = field<Fields | null>(filter, 'name');
    if (name) {
      const parts: boolean[] = [];
      const any = field<string[] | null>(name, 'any_');
      if (any != null) parts.push(any.includes(v.name));
      const like = field<string | null>(name, 'like_');
      if (like) parts.push(ilikeContains(v.name, like));
      checks.push(parts.every(Boolean));
    }
    const tags = field<Fields | null>(filter, 'tags');
    if (tags) {
      const parts: boolean[] = [];
      const all = field<string[] | null>(tags, 'all_');
      const have = v.tags ?? [];
      if (all && all.length > 0) parts.push(all.every((tag) => have.includes(tag)));
      const isNull = field<boolean | null>(tags, 'is_null_');
      if (isNull != null) parts.push(isNull ? have.length === 0 : have.length > 0);
      checks.push(combine(parts, tags.operator));
    }
    return combine(checks, filter.operator);
  }

  function blockTypeMatches(type: BlockType | undefined, filter: Fields | null | undefined): boolean {
    if (filter == null) return true;
    if (!type) return false;
    const checks: boolean[] = [];
    const like = field<string | null>(field<Fields | null>(filter, 'name'), 'like_');
    if (like) checks.push(ilikeContains(type.name, like));
    const slugs = field<string[] | null>(field<Fields | null>(filter, 'slug'), 'any_');
    if (slugs != null) checks.push(slugs.includes(type.slug));
    return checks.every(Boolean);
  }

  function blockSchemaMatches(schema: BlockSchema | undefined, filter: Fields | null | undefined): boolean {
    if (filter == null) return true;
    if (!schema) return false;
    const checks: boolean[] = [];
    const typeIds = field<string[] | null>(field<Fields | null>(filter, 'block_type_id'), 'any_');
    if (typeIds != null) checks.push(schema.block_type_id != null && typeIds.includes(schema.block_type_id));
    const capabilities = field<string[] | null>(field<Fields | null>(filter, 'block_capabilities'), 'all_');
    if (capabilities && capabilities.length > 0) checks.push(capabilities.every((c) => (schema.capabilities ?? []).includes(c)));
    const ids = field<string[] | null>(field<Fields | null>(filter, 'id'), 'any_');
    if (ids != null) checks.push(ids.includes(schema.id));
    const versions = field<string[] | null>(field<Fields | null>(filter, 'version'), 'any_');
    if (versions != null) checks.push(versions.includes(schema.version ?? 'non-versioned'));
    return combine(checks, filter.operator);
  }

  /** An absent block_documents filter, or one without is_anonymous, hides anonymous documents. */
  function blockDocumentMatches(doc: BlockDocument, filter: Fields | undefined): boolean {
    const effective: Fields = filter ?? {};
    const checks: boolean[] = [];
    const ids = field<string[] | null>(field<Fields | null>(effective, 'id'), 'any_');
    if (ids != null) checks.push(ids.includes(doc.id));
    const anonymous = 'is_anonymous' in effective ? field<Fields | null>(effective, 'is_anonymous') : { eq_: false };
    const eq = field<boolean | null>(anonymous, 'eq_');
    if (eq != null) checks.push((doc.is_anonymous ?? false) === eq);
    const typeIds = field<string[] | null>(field<Fields | null>(effective, 'block_type_id'), 'any_');
    if (typeIds != null) checks.push(typeIds.includes(doc.block_type_id));
    const name = field<Fields | null>(effective, 'name');
    if (name) {
      const any = field<string[] | null>(name, 'any_');
      if (any != null) checks.push(doc.name != null && any.includes(doc.name));
      const like = field<string | null>(name, 'like_');
      if (like) checks.push(doc.name != null && ilikeContains(doc.name, like));
    }
    return combine(checks, effective.operator);
  }

  function selectBlockDocuments(fields: Fields): BlockDocument[] {
    const docFilter = field<Fields>(fields, 'block_documents');
    const typeFilter = field<Fields>(fields, 'block_types');
    const schemaFilter = field<Fields>(fields, 'block_schemas');
    return [...state.blockDocuments.values()].filter(
      (doc) =>
        blockDocumentMatches(doc, docFilter) &&
        blockTypeMatches(state.blockTypes.get(doc.block_type_id), typeFilter) &&
        blockSchemaMatches(state.blockSchemas.get(doc.block_schema_id), schemaFilter),
    );
  }

  // --- concurrency-limit shapes ---

  // Rows seeded straight into the state may leave out the columns that have defaults.
  const v2Full = (row: ConcurrencyLimitV2): Required<ConcurrencyLimitV2> => ({
    id: row.id,
    created: row.created,
    updated: row.updated,
    active: row.active ?? true,
    name: row.name,
    limit: row.limit,
    active_slots: row.active_slots ?? 0,
    denied_slots: row.denied_slots ?? 0,
    slot_decay_per_second: row.slot_decay_per_second ?? 0,
    avg_slot_occupancy_seconds: row.avg_slot_occupancy_seconds ?? 2,
  });
  const v2Response = (row: ConcurrencyLimitV2): GlobalConcurrencyLimitResponse => {
    const full = v2Full(row);
    return {
      id: full.id,
      created: full.created,
      updated: full.updated,
      active: full.active,
      name: full.name,
      limit: full.limit,
      active_slots: full.active_slots,
      slot_decay_per_second: full.slot_decay_per_second,
    };
  };
  const v1Response = (row: ConcurrencyLimitV2): ConcurrencyLimitV1 => ({
    id: row.id,
    created: row.created,
    updated: row.updated,
    tag: row.name.slice('tag:'.length),
    concurrency_limit: row.limit,
    active_slots: [],
  });

  // --- routes, in the order FastAPI registers them where it matters ---

  const routes: Route[] = [];
  const add = (method: string, template: string, handle: Handler, versioned = true): void => {
    routes.push(compileRoute(method, template, handle, versioned));
  };

  add('GET', '/health', () => json(200, true), false);
  add('GET', '/version', () => json(200, API_SCHEMA_VERSION), false);
  add('GET', '/ready', () => json(200, { message: 'OK' }));
  add('GET', '/hello', () => json(200, '👋'));
  add('GET', '/admin/version', () => json(200, SERVER_VERSION));

  add('GET', '/csrf-token', (call) => {
    const client = call.url.searchParams.get('client');
    if (client === null) {
      return validationError(call, [{ type: 'missing', loc: ['query', 'client'], msg: 'Field required', input: null }]);
    }
    if (!options.csrf) return detail(422, 'CSRF protection is disabled.');
    const existing = csrfTokens.get(client);
    const created = existing?.created ?? timestamp();
    const expiresAt = Date.now() + csrfTtlMs;
    const token = {
      id: existing?.id ?? randomUUID(),
      created,
      updated: existing?.updated ?? created,
      token: randomBytes(32).toString('hex'),
      client,
      expiration: timestamp(csrfTtlMs),
      expiresAt,
    };
    csrfTokens.set(client, token);
    const { expiresAt: _hidden, ...body } = token;
    return json(200, body);
  });

  // Variables (api/variables.py)
  add('POST', '/variables/', (call) => {
    const body = parseModelBody(call, VariableCreate);
    if (body instanceof Response) return body;
    const name = body.name as string;
    if (state.variables.has(name)) return detail(409, `A variable with the name '${name}' already exists.`);
    const created = timestamp();
    const variable: Variable = {
      id: randomUUID(),
      created,
      updated: timestamp(),
      name,
      value: clone(body.value) as Variable['value'],
      tags: (body.tags as string[] | undefined) ?? [],
    };
    state.variables.set(name, variable);
    return json(201, clone(variable));
  });

  const readVariable = (v: Variable | undefined): Response => (v ? json(200, clone(v)) : detail(404, 'Variable not found.'));
  const updateVariable = (call: Call, current: Variable | undefined): Response => {
    const body = parseModelBody(call, VariableUpdate);
    if (body instanceof Response) return body;
    if (!current) return detail(404, 'Variable not found.');
    // Explicit nulls for NOT NULL columns and renames onto a taken name fail in the database.
    if (body.name === null || body.tags === null) return integrityConflict();
    const newName = (body.name as string | undefined) ?? current.name;
    if (newName !== current.name && state.variables.has(newName)) return integrityConflict();
    const next: Variable = {
      ...current,
      name: newName,
      ...('value' in body ? { value: clone(body.value) as Variable['value'] } : {}),
      ...('tags' in body ? { tags: body.tags as string[] } : {}),
      updated: timestamp(),
    };
    state.variables.delete(current.name);
    state.variables.set(next.name, next);
    return noContent();
  };
  const deleteVariable = (current: Variable | undefined): Response => {
    if (!current) return detail(404, 'Variable not found.');
    state.variables.delete(current.name);
    return noContent();
  };

  add('GET', '/variables/{id:uuid}', (_call, p) => readVariable(variableById(parseUuid(p.id ?? '') ?? '')));
  add('GET', '/variables/name/{name}', (_call, p) => readVariable(state.variables.get(p.name ?? '')));

  add('POST', '/variables/filter', (call) => {
    const fields = parseEmbeddedBody(call, { offset: int({ ge: 0 }), variables: VariableFilter, sort: VariableSort }, { limit: true });
    if (fields instanceof Response) return fields;
    const sort = (fields.sort as string | undefined) ?? 'NAME_ASC';
    const rows = [...state.variables.values()].filter((v) => variableMatches(v, field<Fields>(fields, 'variables')));
    const by = (key: 'created' | 'updated') => (a: Variable, b: Variable) => byteCompare(b[key] ?? '', a[key] ?? '');
    rows.sort(
      sort === 'NAME_DESC'
        ? (a, b) => byteCompare(b.name, a.name)
        : sort === 'CREATED_DESC'
          ? by('created')
          : sort === 'UPDATED_DESC'
            ? by('updated')
            : (a, b) => byteCompare(a.name, b.name),
    );
    return json(200, clone(page(rows, fields)));
  });

  add('POST', '/variables/count', (call) => {
    const fields = parseEmbeddedBody(call, { variables: VariableFilter });
    if (fields instanceof Response) return fields;
    return json(200, [...state.variables.values()].filter((v) => variableMatches(v, field<Fields>(fields, 'variables'))).length);
  });

  add('PATCH', '/variables/{id:uuid}', (call, p) => updateVariable(call, variableById(parseUuid(p.id ?? '') ?? '')));
  add('PATCH', '/variables/name/{name}', (call, p) => updateVariable(call, state.variables.get(p.name ?? '')));
  add('DELETE', '/variables/{id:uuid}', (_call, p) => deleteVariable(variableById(parseUuid(p.id ?? '') ?? '')));
  add('DELETE', '/variables/name/{name}', (_call, p) => deleteVariable(state.variables.get(p.name ?? '')));

  // Block types and schemas (api/block_types.py, api/block_schemas.py)
  add('GET', '/block_types/{id:uuid}', (_call, p) => {
    const type = state.blockTypes.get(parseUuid(p.id ?? '') ?? '');
    return type ? json(200, clone(type)) : detail(404, 'Block type not found');
  });
  add('GET', '/block_types/slug/{slug}', (_call, p) => {
    const type = blockTypeBySlug(p.slug ?? '');
    return type ? json(200, clone(type)) : detail(404, 'Block type not found');
  });
  add('POST', '/block_types/filter', (call) => {
    const fields = parseEmbeddedBody(call, { block_types: BlockTypeFilter, block_schemas: BlockSchemaFilter, offset: int({ ge: 0 }) }, { limit: true });
    if (fields instanceof Response) return fields;
    const schemaFilter = field<Fields>(fields, 'block_schemas');
    const rows = [...state.blockTypes.values()]
      .filter((type) => blockTypeMatches(type, field<Fields>(fields, 'block_types')))
      .filter((type) => schemaFilter == null || [...state.blockSchemas.values()].some((s) => s.block_type_id === type.id && blockSchemaMatches(s, schemaFilter)))
      .sort((a, b) => byteCompare(a.name, b.name));
    return json(200, clone(page(rows, fields)));
  });
  // Creating types and schemas, as a client registering its own block type does.
  add('POST', '/block_types/', (call) => {
    const body = parseModelBody(call, BlockTypeCreate);
    if (body instanceof Response) return body;
    const name = body.name as string;
    if (name.toLowerCase().startsWith('prefect')) return detail(403, 'Block type names beginning with "Prefect" are reserved.');
    if (blockTypeBySlug(body.slug as string)) return detail(409, 'Block type already exists');
    const now = new Date().toISOString();
    const type: BlockType = {
      id: randomUUID(),
      created: now,
      updated: now,
      name,
      slug: body.slug as string,
      logo_url: (body.logo_url as string | null | undefined) ?? null,
      documentation_url: (body.documentation_url as string | null | undefined) ?? null,
      description: (body.description as string | null | undefined) ?? null,
      code_example: (body.code_example as string | null | undefined) ?? null,
      is_protected: false,
    };
    state.blockTypes.set(type.id, type);
    return json(201, clone(type));
  });
  add('POST', '/block_schemas/', (call) => {
    const body = parseModelBody(call, BlockSchemaCreate);
    if (body instanceof Response) return body;
    const typeId = body.block_type_id as string;
    if (!state.blockTypes.has(typeId)) return detail(404, 'Block type not found');
    const fields = (body.fields as BlockSchema['fields'] | undefined) ?? {};
    // The server answers an identical schema (same checksum) with the existing one.
    const existing = [...state.blockSchemas.values()].find((schema) => schema.block_type_id === typeId && JSON.stringify(schema.fields) === JSON.stringify(fields));
    if (existing) return json(200, schemaResponse(existing));
    const now = new Date().toISOString();
    const schema: BlockSchema = {
      id: randomUUID(),
      created: now,
      updated: now,
      checksum: `sha256:${randomUUID().replace(/-/g, '')}`,
      fields,
      block_type_id: typeId,
      capabilities: (body.capabilities as string[] | undefined) ?? [],
      version: (body.version as string | undefined) ?? 'non-versioned',
    };
    state.blockSchemas.set(schema.id, schema);
    return json(201, schemaResponse(schema));
  });
  add('GET', '/block_types/slug/{slug}/block_documents', (call, p) => {
    const includeSecrets = queryBool(call, 'include_secrets');
    if (includeSecrets instanceof Response) return includeSecrets;
    const type = blockTypeBySlug(p.slug ?? '');
    if (!type) return detail(404, 'Block type not found');
    const rows = [...state.blockDocuments.values()]
      .filter((doc) => doc.block_type_id === type.id && !doc.is_anonymous)
      .sort((a, b) => byteCompare(a.name ?? '', b.name ?? ''));
    return json(
      200,
      rows.map((doc) => documentResponse(doc, includeSecrets)),
    );
  });
  add('GET', '/block_types/slug/{slug}/block_documents/name/{name}', (call, p) => {
    const includeSecrets = queryBool(call, 'include_secrets');
    if (includeSecrets instanceof Response) return includeSecrets;
    const type = blockTypeBySlug(p.slug ?? '');
    const doc = type && [...state.blockDocuments.values()].find((d) => d.block_type_id === type.id && d.name === p.name);
    return doc ? json(200, documentResponse(doc, includeSecrets)) : detail(404, 'Block document not found');
  });

  add('POST', '/block_schemas/filter', (call) => {
    const fields = parseEmbeddedBody(call, { block_schemas: BlockSchemaFilter, offset: int({ ge: 0 }) }, { limit: true });
    if (fields instanceof Response) return fields;
    const rows = [...state.blockSchemas.values()]
      .filter((schema) => blockSchemaMatches(schema, field<Fields>(fields, 'block_schemas')))
      .sort((a, b) => byteCompare(b.created ?? '', a.created ?? ''));
    return json(200, page(rows, fields).map(schemaResponse));
  });
  add('GET', '/block_schemas/{id:uuid}', (_call, p) => {
    const schema = state.blockSchemas.get(parseUuid(p.id ?? '') ?? '');
    return schema ? json(200, schemaResponse(schema)) : detail(404, 'Block schema not found');
  });

  // Block documents (api/block_documents.py, models/block_documents.py)
  add('POST', '/block_documents/', (call) => {
    const body = parseModelBody(call, BlockDocumentCreate);
    if (body instanceof Response) return body;
    const typeId = body.block_type_id as string;
    const schemaId = body.block_schema_id as string;
    const isAnonymous = (body.is_anonymous as boolean | undefined) ?? false;
    let name = body.name as string | null | undefined;
    if (name != null && [...state.blockDocuments.values()].some((d) => d.block_type_id === typeId && d.name === name)) {
      return detail(409, 'Block already exists');
    }
    const type = state.blockTypes.get(typeId);
    if (!type) return internalError(); // an assert in create_block_document
    const separated = separateReferences((body.data as Record<string, unknown> | undefined) ?? {});
    if (separated instanceof Response) return separated;
    if (!state.blockSchemas.has(schemaId)) return integrityConflict(); // the foreign key
    if (isAnonymous && !name) name = `anonymous-${randomUUID()}`;
    const id = randomUUID();
    const resolved = resolveReferences(id, separated.references, []);
    if (resolved instanceof Response) return resolved;
    const created = timestamp();
    const doc: BlockDocument = {
      id,
      created,
      updated: timestamp(),
      name: name ?? null,
      data: clone(separated.data),
      block_schema_id: schemaId,
      block_type_id: typeId,
      block_type_name: type.name,
      block_document_references: {},
      is_anonymous: isAnonymous,
    };
    if (resolved.length > 0) references.set(id, resolved);
    state.blockDocuments.set(doc.id, doc);
    return json(201, documentResponse(doc, false));
  });

  add('POST', '/block_documents/filter', (call) => {
    const fields = parseEmbeddedBody(
      call,
      {
        block_documents: BlockDocumentFilter,
        block_types: BlockTypeFilter,
        block_schemas: BlockSchemaFilter,
        include_secrets: bool(),
        sort: BlockDocumentSort,
        offset: int({ ge: 0 }),
      },
      { limit: true },
    );
    if (fields instanceof Response) return fields;
    const sort = (fields.sort as string | undefined) ?? 'NAME_ASC';
    const rows = selectBlockDocuments(fields).sort((a, b) => {
      if (sort === 'NAME_DESC') return byteCompare(b.name ?? '', a.name ?? '');
      if (sort === 'BLOCK_TYPE_AND_NAME_ASC') {
        return byteCompare(a.block_type_name ?? '', b.block_type_name ?? '') || byteCompare(a.name ?? '', b.name ?? '');
      }
      return byteCompare(a.name ?? '', b.name ?? '');
    });
    const includeSecrets = (fields.include_secrets as boolean | undefined) ?? false;
    return json(200, page(rows, fields).map((doc) => documentResponse(doc, includeSecrets)));
  });

  add('POST', '/block_documents/count', (call) => {
    const fields = parseEmbeddedBody(call, { block_documents: BlockDocumentFilter, block_types: BlockTypeFilter, block_schemas: BlockSchemaFilter });
    if (fields instanceof Response) return fields;
    return json(200, selectBlockDocuments(fields).length);
  });

  add('GET', '/block_documents/{id:uuid}', (call, p) => {
    const includeSecrets = queryBool(call, 'include_secrets');
    if (includeSecrets instanceof Response) return includeSecrets;
    const doc = state.blockDocuments.get(parseUuid(p.id ?? '') ?? '');
    return doc ? json(200, documentResponse(doc, includeSecrets)) : detail(404, 'Block document not found');
  });

  add('DELETE', '/block_documents/{id:uuid}', (_call, p) => {
    const id = parseUuid(p.id ?? '') ?? '';
    if (!state.blockDocuments.has(id)) return detail(404, 'Block document not found');
    deleteBlockDocument(id);
    return noContent();
  });

  add('PATCH', '/block_documents/{id:uuid}', (call, p) => {
    const body = parseModelBody(call, BlockDocumentUpdate);
    if (body instanceof Response) return body;
    const doc = state.blockDocuments.get(parseUuid(p.id ?? '') ?? '');
    if (!doc) return detail(404, 'Block document not found');
    const merge = (body.merge_existing_data as boolean | undefined) ?? true;
    // With merge_existing_data false every field counts as sent, so an absent `data` replaces with {}.
    const sentData = merge ? (body.data as Record<string, unknown> | undefined) : ((body.data as Record<string, unknown> | undefined) ?? {});
    const proposedSchemaId = body.block_schema_id as string | null | undefined;
    if (sentData === undefined) return noContent();

    const current = clone(doc.data ?? {});
    let update: Record<string, unknown>;
    try {
      update = keepObfuscatedSecrets(clone(sentData), current, secretFieldsOf(state.blockSchemas.get(doc.block_schema_id)));
    } catch (error) {
      if (error instanceof InternalServerError) return internalError();
      throw error;
    }
    // The stored data holds no references, so a merge drops every reference not sent again.
    const separated = separateReferences(merge ? { ...current, ...update } : update);
    if (separated instanceof Response) return separated;
    let nextSchemaId = doc.block_schema_id;
    if (proposedSchemaId != null && proposedSchemaId !== doc.block_schema_id) {
      const proposed = state.blockSchemas.get(proposedSchemaId);
      if (!proposed) return internalError(); // an assert in update_block_document
      if (proposed.block_type_id !== doc.block_type_id) {
        return detail(400, 'Must migrate block document to a block schema of the same block type.');
      }
      nextSchemaId = proposedSchemaId;
    }
    const resolved = resolveReferences(doc.id, separated.references, references.get(doc.id) ?? []);
    if (resolved instanceof Response) return resolved;
    if (resolved.length > 0) references.set(doc.id, resolved);
    else references.delete(doc.id);
    const nextData = separated.data;
    state.blockDocuments.set(doc.id, { ...doc, data: nextData, block_schema_id: nextSchemaId, updated: timestamp() });
    return noContent();
  });

  // v1 tag limits: an adapter over the v2 rows named `tag:<tag>` (api/concurrency_limits.py, ≥ 3.4.19)
  add('POST', '/concurrency_limits/', (call) => {
    const body = parseModelBody(call, ConcurrencyLimitCreate);
    if (body instanceof Response) return body;
    const tag = body.tag as string;
    const limit = body.concurrency_limit as number;
    const name = `tag:${tag}`;
    const existing = state.concurrencyLimits.get(name);
    if (existing) {
      // The update goes through ConcurrencyLimitV2Update (limit ≥ 0); its ValidationError is a 500.
      if (limit < 0) return internalError();
      const next = { ...existing, limit, updated: timestamp() };
      state.concurrencyLimits.set(name, next);
      return json(200, v1Response(next));
    }
    // The create goes through core.ConcurrencyLimitV2: no bound on the limit, but the name pattern.
    if (!new RegExp(BANNED_NAME_PATTERN, 'u').test(name)) return internalError();
    const created = timestamp();
    const row: ConcurrencyLimitV2 = {
      id: randomUUID(),
      created,
      updated: timestamp(),
      active: true,
      name,
      limit,
      active_slots: 0,
      denied_slots: 0,
      slot_decay_per_second: 0,
      avg_slot_occupancy_seconds: 2,
    };
    state.concurrencyLimits.set(name, row);
    return json(201, v1Response(row));
  });

  const tagRow = (tag: string): ConcurrencyLimitV2 | undefined => state.concurrencyLimits.get(`tag:${tag}`);
  const v1NotFound = (): Response => detail(404, 'Concurrency limit not found');

  add('GET', '/concurrency_limits/{id:uuid}', (_call, p) => {
    const row = limitById(parseUuid(p.id ?? '') ?? '');
    return row && row.name.startsWith('tag:') ? json(200, v1Response(row)) : v1NotFound();
  });
  add('GET', '/concurrency_limits/tag/{tag}', (_call, p) => {
    const row = tagRow(p.tag ?? '');
    return row ? json(200, v1Response(row)) : v1NotFound();
  });
  add('POST', '/concurrency_limits/filter', (call) => {
    const fields = parseEmbeddedBody(call, { offset: int({ ge: 0 }) }, { limit: true });
    if (fields instanceof Response) return fields;
    const offset = (fields.offset as number | undefined) ?? 0;
    const limit = fields.limit as number;
    // The server reads the first limit+offset v2 rows of ALL names, keeps the tag:* ones, then slices:
    // a page can come back short or empty while later tag rows exist.
    const window = [...state.concurrencyLimits.values()].sort((a, b) => byteCompare(a.name, b.name)).slice(0, limit + offset);
    const tagRows = window.filter((row) => row.name.startsWith('tag:')).map(v1Response);
    return json(200, tagRows.slice(offset, offset + limit));
  });
  add('POST', '/concurrency_limits/tag/{tag}/reset', (call, p) => {
    const fields = parseEmbeddedBody(call, { slot_override: nullable(list(uuid())) });
    if (fields instanceof Response) return fields;
    return tagRow(p.tag ?? '') ? json(200, null) : v1NotFound();
  });
  add('DELETE', '/concurrency_limits/{id:uuid}', (_call, p) => {
    // Deletes any v2 row with that id, tag:* or not.
    const row = limitById(parseUuid(p.id ?? '') ?? '');
    if (!row) return v1NotFound();
    state.concurrencyLimits.delete(row.name);
    return json(200, null);
  });
  add('DELETE', '/concurrency_limits/tag/{tag}', (_call, p) => {
    const row = tagRow(p.tag ?? '');
    if (!row) return v1NotFound();
    state.concurrencyLimits.delete(row.name);
    return json(200, null);
  });

  // v2 global limits (api/concurrency_limits_v2.py)
  const v2NotFound = (): Response => detail(404, 'Concurrency Limit not found');
  add('POST', '/v2/concurrency_limits/', (call) => {
    const body = parseModelBody(call, ConcurrencyLimitV2Create);
    if (body instanceof Response) return body;
    const name = body.name as string;
    if (state.concurrencyLimits.has(name)) return integrityConflict();
    const created = timestamp();
    const row: ConcurrencyLimitV2 = {
      id: randomUUID(),
      created,
      updated: timestamp(),
      active: (body.active as boolean | undefined) ?? true,
      name,
      limit: body.limit as number,
      active_slots: (body.active_slots as number | undefined) ?? 0,
      denied_slots: (body.denied_slots as number | undefined) ?? 0,
      slot_decay_per_second: (body.slot_decay_per_second as number | undefined) ?? 0,
      avg_slot_occupancy_seconds: 2,
    };
    state.concurrencyLimits.set(name, row);
    return json(201, v2Full(row));
  });
  add('GET', '/v2/concurrency_limits/{id_or_name}', (_call, p) => {
    const row = limitByIdOrName(p.id_or_name ?? '');
    return row ? json(200, v2Response(row)) : v2NotFound();
  });
  add('POST', '/v2/concurrency_limits/filter', (call) => {
    const fields = parseEmbeddedBody(call, { offset: int({ ge: 0 }) }, { limit: true });
    if (fields instanceof Response) return fields;
    const rows = [...state.concurrencyLimits.values()].sort((a, b) => byteCompare(a.name, b.name));
    return json(200, page(rows, fields).map(v2Response));
  });
  add('PATCH', '/v2/concurrency_limits/{id_or_name}', (call, p) => {
    const body = parseModelBody(call, ConcurrencyLimitV2Update);
    if (body instanceof Response) return body;
    const row = limitByIdOrName(p.id_or_name ?? '');
    if (!row) return v2NotFound();
    if (Object.values(body).some((value) => value === null)) return integrityConflict(); // NOT NULL columns
    const newName = (body.name as string | undefined) ?? row.name;
    if (newName !== row.name && state.concurrencyLimits.has(newName)) return integrityConflict();
    const next: ConcurrencyLimitV2 = { ...row, ...(body as Partial<ConcurrencyLimitV2>), name: newName, updated: timestamp() };
    state.concurrencyLimits.delete(row.name);
    state.concurrencyLimits.set(newName, next);
    return noContent();
  });
  add('DELETE', '/v2/concurrency_limits/{id_or_name}', (_call, p) => {
    const row = limitByIdOrName(p.id_or_name ?? '');
    if (!row) return v2NotFound();
    state.concurrencyLimits.delete(row.name);
    return noContent();
  });

  // --- the request pipeline ---

  function route(call: Call): Response {
    // Starlette: the first full match wins; a path that matches with another method is a 405.
    const method = call.method === 'HEAD' ? 'GET' : call.method;
    let pathMatched = false;
    for (const candidate of routes) {
      const match = candidate.regex.exec(call.path);
      if (!match) continue;
      if (candidate.method !== method) {
        pathMatched = true;
        continue;
      }
      // FastAPI reads a route's JSON body before it runs the version-check dependency.
      if (call.body.kind === 'invalid' && (method === 'POST' || method === 'PATCH')) return jsonInvalid(call);
      if (candidate.versioned) {
        const rejected = checkApiVersion(call.headers);
        if (rejected) return rejected;
      }
      const params: Params = {};
      candidate.names.forEach((name, index) => (params[name] = match[index + 1] ?? ''));
      return candidate.handle(call, params);
    }
    if (pathMatched) return detail(405, 'Method Not Allowed');
    // redirect_slashes: the same path with the trailing slash toggled.
    if (call.path !== '/') {
      const toggled = call.path.endsWith('/') ? call.path.replace(/\/+$/, '') : `${call.path}/`;
      if (routes.some((candidate) => candidate.regex.test(toggled))) {
        const location = new URL(call.url);
        location.pathname = location.pathname.endsWith('/') ? location.pathname.replace(/\/+$/, '') : `${location.pathname}/`;
        return new HttpResponse(null, { status: 307, headers: { location: location.href } });
      }
    }
    return detail(404, 'Not Found');
  }

  function csrfRejection(call: Call): Response | undefined {
    if (!options.csrf || !WRITE_METHODS.has(call.method)) return undefined;
    const token = call.headers.get('prefect-csrf-token');
    const client = call.headers.get('prefect-csrf-client');
    if (token === null) return detail(403, 'Missing CSRF token.');
    if (client === null) return detail(403, 'Missing client identifier.');
    const stored = csrfTokens.get(client);
    if (!stored || stored.expiresAt <= Date.now() || stored.token !== token) {
      return json(403, { detail: 'Invalid CSRF token or client identifier.' }, { 'access-control-allow-origin': '*' });
    }
    return undefined;
  }

  function authRejection(call: Call): Response | undefined {
    if (options.authString === undefined) return undefined;
    if (call.method === 'GET' && (call.path === '/health' || call.path === '/ready')) return undefined;
    const unauthorized = json(401, { exception_message: 'Unauthorized' });
    const header = call.headers.get('authorization');
    if (header === null) return unauthorized;
    const parts = header.trim().split(/\s+/);
    if (parts.length !== 2 || parts[0] !== 'Basic') return unauthorized;
    const decoded = Buffer.from(parts[1] ?? '', 'base64').toString('utf8');
    return decoded === options.authString ? undefined : unauthorized;
  }

  async function serve(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const rawPath = url.pathname.slice(basePath.length);
    const text = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
    const contentType = request.headers.get('content-type');
    let body: BodyInfo = { kind: 'none' };
    if (text !== '') {
      if (contentType !== null && !/^application\/(.+\+)?json\b/i.test(contentType.trim())) body = { kind: 'raw', text };
      else {
        try {
          body = { kind: 'json', value: JSON.parse(text) as unknown, text };
        } catch {
          body = { kind: 'invalid', text };
        }
      }
    }
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => (headers[key] = value));
    requests.push({
      method: request.method,
      path: rawPath,
      query: url.search.replace(/^\?/, ''),
      body: body.kind === 'json' ? body.value : body.kind === 'none' ? undefined : body.text,
      headers,
    });

    const faultIndex = faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === request.method) &&
        (typeof f.path === 'string' ? f.path === rawPath : f.path.test(rawPath)),
    );
    const fault = faultIndex >= 0 ? faults[faultIndex] : undefined;
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) faults.splice(faultIndex, 1);
      if (fault.delayMs !== undefined) await delay(fault.delayMs);
      if (fault.networkError) return HttpResponse.error();
      if (fault.status !== undefined) {
        const status = fault.status;
        if (status === 204 || status === 304) return new HttpResponse(null, { status, headers: fault.headers });
        if (fault.text !== undefined) return new HttpResponse(fault.text, { status, headers: { 'content-type': 'text/html', ...fault.headers } });
        return json(status, fault.body === undefined ? defaultFaultBody(status) : fault.body, fault.headers);
      }
    }

    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      path = rawPath;
    }
    const call: Call = { method: request.method, url, path, headers: request.headers, body };
    const response = csrfRejection(call) ?? authRejection(call) ?? route(call);
    return request.method === 'HEAD' ? new HttpResponse(null, { status: response.status, headers: response.headers }) : response;
  }

  const handler = http.all(
    ({ request }) => {
      const url = new URL(request.url);
      return url.origin === base.origin && (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`));
    },
    ({ request }) => serve(request),
  );

  seed();

  return {
    baseUrl,
    handlers: [handler],
    requests,
    writes: () => requests.filter((r) => WRITE_METHODS.has(r.method) && !(r.method === 'POST' && READ_ONLY_POST.test(r.path))),
    reset,
    state,
    inject(fault: Fault): void {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
  };
}
