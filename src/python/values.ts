// Values of defaults as pydantic writes them into the schema (to_jsonable_python): literals (tuples
// become lists), module constants, and the standard values a flow builds from literals: dates and
// times, durations, paths, decimals, UUIDs, Enum members and model instances. Anything else (a call,
// arithmetic, `datetime.now()`) is undefined: only running the code would tell.
import type { JsonValue } from '../config/types.js';
import { qualifiedName } from './names.js';
import type { Expr } from './expressions.js';
import type { ClassInfo, Scope } from './module.js';

/** What values need of the module's classes (classes.ts): Enum members and model instances. */
export interface ClassValues {
  /** `Color.RED`: the member's value. */
  enumValue(info: ClassInfo, member: string): { value: JsonValue } | undefined;
  /** `Color("red")`: the value, when a member has it. */
  enumValueOf(info: ClassInfo, value: JsonValue): { value: JsonValue } | undefined;
  instance(info: ClassInfo, call: Extract<Expr, { kind: 'call' }>, context: ValueContext): { value: JsonValue } | undefined;
}

export interface ValueContext {
  scope: Scope;
  classes: ClassValues | undefined;
  depth?: number;
}

/** Literal values only: what a decorator's `name=` or an Enum member may be. */
export function literalValue(expr: Expr, scope: Scope): { value: JsonValue } | undefined {
  return serializedValue(expr, { scope, classes: undefined }, { constructors: false });
}

export function serializedValue(expr: Expr, context: ValueContext, options: { constructors: boolean } = { constructors: true }): { value: JsonValue } | undefined {
  const depth = context.depth ?? 0;
  if (depth > 20) return undefined;
  const inner = (item: Expr) => serializedValue(item, { ...context, depth: depth + 1 }, options);
  switch (expr.kind) {
    case 'constant':
      if (expr.type === 'bytes') {
        // pydantic writes bytes as UTF-8 text; keep to ASCII, where that is unambiguous.
        return /^[\x00-\x7f]*$/.test(expr.value as string) ? { value: expr.value } : undefined;
      }
      return { value: expr.value };
    case 'unary': {
      const operand = inner(expr.operand);
      if (typeof operand?.value !== 'number') return undefined;
      return { value: expr.op === '-' ? -operand.value : operand.value };
    }
    case 'tuple':
    case 'list': {
      const items: JsonValue[] = [];
      for (const item of expr.items) {
        const value = inner(item);
        if (value === undefined) return undefined;
        items.push(value.value);
      }
      return { value: items };
    }
    case 'dict': {
      const object: { [key: string]: JsonValue } = {};
      for (const entry of expr.entries) {
        const key = inner(entry.key);
        const value = inner(entry.value);
        // Python writes an int key as its decimal text; other non-string keys have no safe JSON form.
        const isIntKey = entry.key.kind === 'constant' && entry.key.type === 'int';
        if (key === undefined || value === undefined || !(typeof key.value === 'string' || isIntKey)) return undefined;
        object[String(key.value)] = value.value;
      }
      return { value: object };
    }
    case 'name': {
      const binding = context.scope.get(expr.id);
      return binding?.kind === 'value' ? inner(binding.expr) : undefined;
    }
    case 'attribute': {
      if (!options.constructors || expr.value.kind !== 'name') return undefined;
      const binding = context.scope.get(expr.value.id);
      return binding?.kind === 'class' ? context.classes?.enumValue(binding.info, expr.attr) : undefined;
    }
    case 'call':
      return options.constructors ? constructed(expr, { ...context, depth: depth + 1 }) : undefined;
    default:
      // Sets have no order Python guarantees; arithmetic and the rest need the interpreter.
      return undefined;
  }
}

/** A standard value built from literals, an Enum member by value, or a model instance. */
function constructed(call: Extract<Expr, { kind: 'call' }>, context: ValueContext): { value: JsonValue } | undefined {
  if (call.func.kind === 'name') {
    const binding = context.scope.get(call.func.id);
    if (binding?.kind === 'class') {
      if (call.args.length === 1 && call.keywords.length === 0) {
        // `Color("red")`: the member whose value that is.
        const value = serializedValue(call.args[0] as Expr, context);
        const member = value === undefined ? undefined : context.classes?.enumValueOf(binding.info, value.value);
        if (member) return member;
      }
      return context.classes?.instance(binding.info, call, context);
    }
  }
  const path = qualifiedName(call.func, { scope: context.scope, forwardReference: false });
  const args = arguments_(call, context);
  if (!args) return undefined;
  switch (path) {
    case 'datetime.date':
      return dateValue(args);
    case 'datetime.datetime':
      return dateTimeValue(args, call, context);
    case 'datetime.time':
      return timeValue(args, call, context);
    case 'datetime.timedelta':
      return durationValue(args);
    case 'pathlib.Path':
    case 'pathlib.PurePath':
    case 'pathlib.PosixPath':
    case 'pathlib.PurePosixPath':
      return pathValue(args);
    case 'decimal.Decimal':
      return decimalValue(args);
    case 'uuid.UUID':
      return uuidValue(args);
    default:
      return undefined;
  }
}

interface Arguments {
  positional: JsonValue[];
  named: Map<string, JsonValue>;
}

/** The literal arguments of a call; tzinfo stays out (timezones are read apart). */
function arguments_(call: Extract<Expr, { kind: 'call' }>, context: ValueContext): Arguments | undefined {
  const positional: JsonValue[] = [];
  const named = new Map<string, JsonValue>();
  for (const arg of call.args) {
    const value = serializedValue(arg, { ...context, classes: undefined }, { constructors: false });
    if (value === undefined) return undefined;
    positional.push(value.value);
  }
  for (const keyword of call.keywords) {
    if (keyword.name === undefined) return undefined;
    if (keyword.name === 'tzinfo') continue;
    const value = serializedValue(keyword.value, { ...context, classes: undefined }, { constructors: false });
    if (value === undefined) return undefined;
    named.set(keyword.name, value.value);
  }
  return { positional, named };
}

/** The integer arguments by name, positional ones in `order`; undefined when one is missing, not an int or unknown. */
function integers(args: Arguments, order: string[], required: number): Map<string, number> | undefined {
  if (args.positional.length > order.length) return undefined;
  const values = new Map<string, number>();
  args.positional.forEach((value, i) => values.set(order[i] as string, value as number));
  for (const [name, value] of args.named) {
    if (!order.includes(name) || values.has(name)) return undefined;
    values.set(name, value as number);
  }
  for (const [, value] of values) if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
  if (order.slice(0, required).some((name) => !values.has(name))) return undefined;
  return values;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(year: number, month: number, day: number): boolean {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number));
}

function dateText(values: Map<string, number>): string | undefined {
  const year = values.get('year') ?? 0;
  const month = values.get('month') ?? 0;
  const day = values.get('day') ?? 0;
  return validDate(year, month, day) ? `${pad(year, 4)}-${pad(month)}-${pad(day)}` : undefined;
}

function timeText(values: Map<string, number>): string | undefined {
  const [hour, minute, second, microsecond] = ['hour', 'minute', 'second', 'microsecond'].map((name) => values.get(name) ?? 0) as [number, number, number, number];
  if (hour > 23 || minute > 59 || second > 59 || microsecond > 999999 || Math.min(hour, minute, second, microsecond) < 0) return undefined;
  return `${pad(hour)}:${pad(minute)}:${pad(second)}${microsecond > 0 ? `.${pad(microsecond, 6)}` : ''}`;
}

/** `tzinfo=`: none, `timezone.utc` (Z) or `timezone(timedelta(...))` (+HH:MM); undefined when it is something else. */
function zoneText(call: Extract<Expr, { kind: 'call' }>, positional: Expr | undefined, context: ValueContext): string | undefined {
  const zone = positional ?? call.keywords.find((keyword) => keyword.name === 'tzinfo')?.value;
  if (zone === undefined || (zone.kind === 'constant' && zone.type === 'none')) return '';
  const path = qualifiedName(zone, { scope: context.scope, forwardReference: false });
  if (path === 'datetime.timezone.utc' || path === 'datetime.UTC') return 'Z';
  if (zone.kind !== 'call' || qualifiedName(zone.func, { scope: context.scope, forwardReference: false }) !== 'datetime.timezone' || zone.args.length !== 1) return undefined;
  const offset = zone.args[0] as Expr;
  const duration = offset.kind === 'call' && qualifiedName(offset.func, { scope: context.scope, forwardReference: false }) === 'datetime.timedelta' ? arguments_(offset, context) : undefined;
  const micros = duration ? totalMicroseconds(duration) : undefined;
  if (micros === undefined || micros % 60_000_000 !== 0 || Math.abs(micros) >= 86_400_000_000) return undefined;
  if (micros === 0) return 'Z';
  const minutes = Math.abs(micros) / 60_000_000;
  return `${micros < 0 ? '-' : '+'}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

function dateValue(args: Arguments): { value: JsonValue } | undefined {
  const values = integers(args, ['year', 'month', 'day'], 3);
  const text = values && dateText(values);
  return text === undefined ? undefined : { value: text };
}

function dateTimeValue(args: Arguments, call: Extract<Expr, { kind: 'call' }>, context: ValueContext): { value: JsonValue } | undefined {
  const order = ['year', 'month', 'day', 'hour', 'minute', 'second', 'microsecond'];
  const tzPositional = call.args.length > order.length ? call.args[order.length] : undefined;
  const values = integers({ positional: args.positional.slice(0, order.length), named: args.named }, order, 3);
  const date = values && dateText(values);
  const time = values && timeText(values);
  const zone = zoneText(call, tzPositional, context);
  return date === undefined || time === undefined || zone === undefined ? undefined : { value: `${date}T${time}${zone}` };
}

function timeValue(args: Arguments, call: Extract<Expr, { kind: 'call' }>, context: ValueContext): { value: JsonValue } | undefined {
  const order = ['hour', 'minute', 'second', 'microsecond'];
  const tzPositional = call.args.length > order.length ? call.args[order.length] : undefined;
  const values = integers({ positional: args.positional.slice(0, order.length), named: args.named }, order, 0);
  const time = values && timeText(values);
  const zone = zoneText(call, tzPositional, context);
  return time === undefined || zone === undefined ? undefined : { value: `${time}${zone}` };
}

const DURATION_UNITS: Array<[string, number]> = [
  ['days', 86_400_000_000],
  ['seconds', 1_000_000],
  ['microseconds', 1],
  ['milliseconds', 1000],
  ['minutes', 60_000_000],
  ['hours', 3_600_000_000],
  ['weeks', 604_800_000_000],
];

/** timedelta's arguments (its positional order) as microseconds, rounded as Python rounds them. */
function totalMicroseconds(args: Arguments): number | undefined {
  if (args.positional.length > DURATION_UNITS.length) return undefined;
  let total = 0;
  const seen = new Set<string>();
  const add = (name: string, value: JsonValue): boolean => {
    const unit = DURATION_UNITS.find(([unitName]) => unitName === name)?.[1];
    if (unit === undefined || typeof value !== 'number' || seen.has(name)) return false;
    seen.add(name);
    total += value * unit;
    return true;
  };
  for (const [i, value] of args.positional.entries()) if (!add((DURATION_UNITS[i] as [string, number])[0], value)) return undefined;
  for (const [name, value] of args.named) if (!add(name, value)) return undefined;
  const rounded = Math.round(total);
  return Number.isSafeInteger(rounded) && Math.abs(rounded - total) < 1e-6 ? rounded : undefined;
}

/** pydantic's ISO 8601 duration: `P1DT1H30M0.5S`, the sign in front, empty parts left out. */
function durationValue(args: Arguments): { value: JsonValue } | undefined {
  const micros = totalMicroseconds(args);
  if (micros === undefined) return undefined;
  const magnitude = Math.abs(micros);
  const days = Math.floor(magnitude / 86_400_000_000);
  const rest = magnitude - days * 86_400_000_000;
  const hours = Math.floor(rest / 3_600_000_000);
  const minutes = Math.floor((rest % 3_600_000_000) / 60_000_000);
  const secondsMicros = rest % 60_000_000;
  const seconds = secondsMicros % 1_000_000 === 0 ? String(secondsMicros / 1_000_000) : `${Math.floor(secondsMicros / 1_000_000)}.${pad(secondsMicros % 1_000_000, 6).replace(/0+$/, '')}`;
  let time = '';
  if (hours > 0) time += `${hours}H`;
  if (minutes > 0) time += `${minutes}M`;
  if (secondsMicros > 0) time += `${seconds}S`;
  let text = `P${days > 0 ? `${days}D` : ''}${time ? `T${time}` : ''}`;
  if (text === 'P') text = 'PT0S';
  return { value: `${micros < 0 ? '-' : ''}${text}` };
}

/** str(PurePosixPath(*parts)): repeated and trailing slashes and `.` parts dropped. */
function pathValue(args: Arguments): { value: JsonValue } | undefined {
  if (args.named.size > 0 || args.positional.some((part) => typeof part !== 'string')) return undefined;
  let path = '';
  for (const part of args.positional as string[]) path = part.startsWith('/') ? part : path === '' ? part : `${path}/${part}`;
  const absolute = path.startsWith('/');
  // POSIX keeps exactly two leading slashes; this reader leaves that corner alone.
  if (path.startsWith('//') && !path.startsWith('///')) return undefined;
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  const text = `${absolute ? '/' : ''}${parts.join('/')}`;
  return { value: text === '' ? '.' : text };
}

/** str(Decimal(...)) for a plain decimal string or an int: leading zeros of the integer part dropped. */
function decimalValue(args: Arguments): { value: JsonValue } | undefined {
  const [arg] = args.positional;
  if (args.positional.length !== 1 || args.named.size > 0) return undefined;
  if (typeof arg === 'number' && Number.isInteger(arg)) return { value: String(arg) };
  if (typeof arg !== 'string') return undefined;
  const match = /^\s*([+-]?)(\d+)(\.\d+)?\s*$/.exec(arg.replaceAll('_', ''));
  if (!match || arg.includes('__')) return undefined;
  const digits = (match[2] as string).replace(/^0+(?=\d)/, '');
  return { value: `${match[1] === '-' ? '-' : ''}${digits}${match[3] ?? ''}` };
}

/** str(UUID(hex)): lowercase, hyphenated; braces, `urn:uuid:` and hyphens accepted around the 32 digits. */
function uuidValue(args: Arguments): { value: JsonValue } | undefined {
  const [arg] = args.positional;
  if (args.positional.length !== 1 || args.named.size > 0 || typeof arg !== 'string') return undefined;
  const hex = arg.replace(/^urn:uuid:/i, '').replace(/^\{|\}$/g, '').replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const lower = hex.toLowerCase();
  return { value: `${lower.slice(0, 8)}-${lower.slice(8, 12)}-${lower.slice(12, 16)}-${lower.slice(16, 20)}-${lower.slice(20)}` };
}

// ---------------------------------------------------------------------------------------------
// pydantic.Field(...) as a default.

export interface FieldSpec {
  /** The serialized default; undefined when the field has none (required, or a factory). */
  default: JsonValue | undefined;
  /** A default_factory: not required, and no default in the schema. */
  factory: 'list' | 'dict' | 'set' | 'tuple' | undefined;
  alias?: string;
  description?: string;
  title?: string;
  examples?: JsonValue;
  /** Constraints pydantic writes into the type's schema (ge, max_length, pattern, ...). */
  constraints: Map<string, JsonValue>;
}

export const CONSTRAINTS = new Set(['ge', 'gt', 'le', 'lt', 'multiple_of', 'min_length', 'max_length', 'pattern']);
const FIELD_TEXTS = new Set(['alias', 'description', 'title']);
const FACTORIES: Record<string, FieldSpec['factory']> = { 'builtins.list': 'list', 'builtins.dict': 'dict', 'builtins.set': 'set', 'builtins.tuple': 'tuple' };

export function isFieldCall(expr: Expr | undefined, scope: Scope): expr is Extract<Expr, { kind: 'call' }> {
  if (expr?.kind !== 'call') return false;
  const path = qualifiedName(expr.func, { scope, forwardReference: false });
  return path === 'pydantic.Field' || path === 'pydantic.fields.Field';
}

/** What `= value` or `= Field(...)` makes of a field; undefined for what this reader does not model. */
export function fieldSpec(expr: Expr | undefined, context: ValueContext): FieldSpec | undefined {
  const spec: FieldSpec = { default: undefined, factory: undefined, constraints: new Map() };
  if (expr === undefined) return spec;
  if (!isFieldCall(expr, context.scope)) {
    const value = serializedValue(expr, context);
    if (value === undefined) return undefined;
    return { ...spec, default: value.value };
  }
  if (expr.args.length > 1) return undefined;
  const defaultExpr = expr.args[0] ?? expr.keywords.find((keyword) => keyword.name === 'default')?.value;
  if (defaultExpr !== undefined && defaultExpr.kind !== 'ellipsis') {
    const value = serializedValue(defaultExpr, context);
    if (value === undefined) return undefined;
    spec.default = value.value;
  }
  for (const keyword of expr.keywords) {
    if (keyword.name === 'default') continue;
    if (keyword.name === 'default_factory') {
      const factory = FACTORIES[qualifiedName(keyword.value, { scope: context.scope, forwardReference: false }) ?? ''];
      if (factory === undefined || spec.default !== undefined) return undefined;
      spec.factory = factory;
      continue;
    }
    if (keyword.name === undefined) return undefined;
    const value = serializedValue(keyword.value, { ...context, classes: undefined }, { constructors: false });
    if (value === undefined) return undefined;
    if (CONSTRAINTS.has(keyword.name)) spec.constraints.set(keyword.name, value.value);
    else if (FIELD_TEXTS.has(keyword.name) && typeof value.value === 'string') spec[keyword.name as 'alias' | 'description' | 'title'] = value.value;
    else if (keyword.name === 'examples' && Array.isArray(value.value)) spec.examples = value.value;
    else return undefined;
  }
  return spec;
}
