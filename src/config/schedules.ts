// Schedule values checked as Prefect's server will use them, so that a bad schedule is reported with
// its file and line instead of being refused by the server, or accepted and then failing on every
// scheduling pass. Cron expressions are read and run by croner, recurrence rules by rrule: both do
// the calendar arithmetic better than hand-written code. Around them, a few rules of the server's
// Python (croniter, dateutil) that these libraries do not share; README "How schedules are checked"
// lists where the verdicts may still differ.
import { Cron } from 'croner';
import * as rruleModule from 'rrule';
import type { Options as RRuleOptions, RRule as RRuleType } from 'rrule';
import { closest } from './suggest.js';

// rrule's package.json gives Node its CommonJS build, whose names an ES module finds under `default`,
// and bundlers its ES build, whose names are the module's own.
const rrule = (rruleModule as unknown as { default?: typeof rruleModule }).default ?? rruleModule;
const { RRule, RRuleSet } = rrule;

/** Prefect refuses longer rules (its own MAX_RRULE_LENGTH). */
const MAX_RRULE_LENGTH = 6500;

/** croniter's macros, as the five fields they stand for. */
const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** croniter gives up when two runs are further apart than this (its max_years_between_matches). */
const CRON_HORIZON_YEARS = 50;

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names standing for min, min + 1, ... */
  names?: readonly string[];
  kind?: 'day' | 'weekday';
}

/** croniter's order; the optional sixth field is seconds. */
const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, kind: 'day' },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS, kind: 'weekday' },
  { name: 'second', min: 0, max: 59 },
];

export interface CronOptions {
  /**
   * Prefect's `day_or`: a day of month OR a day of week (true, Prefect's default) or both (false),
   * when both are restricted. Undefined checks only what fails whatever `day_or` says.
   */
  dayOr?: boolean | undefined;
  /** Where "never fires" is decided from; now unless given (tests). */
  now?: Date;
}

/** Why `expression` is not a cron expression Prefect (croniter) accepts and can schedule, or undefined. */
export function cronProblem(expression: string, options: CronOptions = {}): string | undefined {
  const text = expression.trim();
  let fields: string[];
  if (text.startsWith('@')) {
    const macro = CRON_MACROS[text.toLowerCase()];
    if (macro === undefined) return `\`${text}\` is not a cron macro; use one of ${Object.keys(CRON_MACROS).join(', ')}`;
    fields = macro.split(' ');
  } else {
    fields = text.split(/\s+/);
    if (fields.length < 5 || fields.length > 6) {
      return `\`${text}\` has ${text === '' ? 0 : fields.length} fields; a cron expression has 5 (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`;
    }
  }
  for (const [index, field] of fields.entries()) {
    const spec = CRON_FIELDS[index];
    const problem = spec && cronFieldProblem(field, spec);
    if (problem) return `\`${text}\`: ${problem} in the ${spec.name} field${problem.startsWith(`\`${field}\``) ? '' : ` \`${field}\``}`;
  }
  const normalized = fields.map((field, index) => croniterToCroner(field, CRON_FIELDS[index] ?? { name: '', min: 0, max: 0 }));
  const [minute = '*', hour = '*', day = '*', month = '*', weekday = '*', second = '0'] = normalized;
  const pattern = (dom: string, dow: string) => [second, minute, hour, dom, month, dow].join(' ');
  const dayOr = options.dayOr;
  const now = options.now ?? new Date();
  const fires = (dom: string, dow: string): boolean | string => {
    let job: Cron | undefined;
    try {
      job = new Cron(pattern(dom, dow), { paused: true, mode: '6-part', domAndDow: dayOr === false, timezone: 'UTC' });
      const next = job.nextRun(now);
      return next !== null && next.getTime() - now.getTime() <= CRON_HORIZON_YEARS * 366 * 86_400_000;
    } catch (error) {
      return error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    } finally {
      job?.stop();
    }
  };
  const verdict = fires(day, weekday);
  if (typeof verdict === 'string') return `\`${text}\`: ${verdict}; e.g. "0 3 * * *"`;
  const never = `\`${text}\` never fires: no date matches it in the next ${CRON_HORIZON_YEARS} years, and Prefect's scheduler would fail on it on every pass`;
  if (!verdict) return `${never}${dayOr !== false || isWildcard(day) || isWildcard(weekday) ? '' : ' (with `day_or: false` the day of month and the day of week must both match)'}; check the day and month fields`;
  // croniter looks for the day of month and the day of week separately and fails when either never matches.
  if (dayOr === true && !isWildcard(day) && !isWildcard(weekday)) {
    if (/#|^L|,L/i.test(fields[4] ?? '')) {
      return `\`${text}\`: croniter, which Prefect uses, fails to find dates for most expressions with both a day of month and an nth or last weekday (\`${fields[4]}\`); write \`*\` for the day of month, or add \`day_or: false\` to ask for days that are both`;
    }
    if (fires(day, '*') === false) return `${never}: croniter, which Prefect uses, fails when the day of month \`${fields[2]}\` never matches in month \`${fields[3]}\`, even with a day of week; fix the day of month`;
    if (fires('*', weekday) === false) return `${never}: croniter, which Prefect uses, fails when the day of week \`${fields[4]}\` never matches in month \`${fields[3]}\`, even with a day of month; fix the day of week`;
  }
  return undefined;
}

function isWildcard(field: string): boolean {
  return field === '*' || field === '?';
}

/** croniter's spelling of one field as croner reads it: `?` is any value, `L5` (last Friday) is `5L`, ranges may wrap (`FRI-MON`). */
function croniterToCroner(field: string, spec: CronField): string {
  if (field === '?') return '*';
  return field
    .split(',')
    .map((item) => {
      const last = /^L(\w+)$/i.exec(item);
      if (spec.kind === 'weekday' && last) return `${last[1]}L`;
      const range = /^(\w+)-(\w+)(?:\/(\d+))?$/.exec(item);
      // croniter reads 5/15 as 5-59/15 (a day of week up to 6: its 7 is Sunday again).
      if (!range) return /^\d+\/\d+$/.test(item) ? `${item.split('/')[0]}-${spec.kind === 'weekday' ? 6 : spec.max}/${item.split('/')[1]}` : item;
      const [, from = '', to = '', step = '1'] = range;
      const low = cronValue(from, spec);
      const high = cronValue(to, spec);
      if (low === undefined || high === undefined || low <= high) return item;
      // croniter walks a wrapped range from its start through the maximum and on from the minimum.
      const values: number[] = [];
      for (let value = low; value <= spec.max; value++) values.push(value);
      for (let value = spec.min; value <= high; value++) values.push(value);
      return values.filter((_, position) => position % Number(step) === 0).join(',');
    })
    .join(',');
}

function cronValue(text: string, spec: CronField): number | undefined {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return spec.min + named;
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

function cronFieldProblem(field: string, spec: CronField): string | undefined {
  const allowed = `${spec.min}-${spec.max}${spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : ''}`;
  const value = (text: string): string | undefined => {
    if (/^[HR]$/i.test(text)) return `\`${field}\`: Prefect refuses croniter's random and hashed values (H, R); write the value`;
    const number = cronValue(text, spec);
    return number !== undefined && number >= spec.min && number <= spec.max ? undefined : `\`${text}\` is not ${allowed}`;
  };
  const items = field.split(',');
  if (spec.kind === 'weekday' && items.some((item) => /#|^L./i.test(item)) && items.some((item) => !/#|^L./i.test(item))) {
    return `\`${field}\`: croniter, which Prefect uses, does not mix nth or last weekdays (FRI#2, L5) with plain days in one field; write one kind`;
  }
  for (const item of items) {
    if (item === '') return 'an empty list item';
    const [range = '', step, ...more] = item.split('/');
    if (more.length > 0) return `\`${item}\` has more than one /`;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1)) return `the step \`/${step}\` must be a whole number of 1 or more`;
    if (range === '*' || (range === '?' && spec.kind !== undefined)) continue;
    if (spec.kind === 'day' && /^L$/i.test(range)) continue;
    if (/W$/i.test(range) && spec.kind === 'day') return `\`${range}\`: croniter, which Prefect uses, has no W (nearest weekday); list the days instead`;
    if (spec.kind === 'weekday') {
      if (/^\w+L$/i.test(range)) return `\`${range}\`: croniter, which Prefect uses, writes the last weekday of a month as L and the day, e.g. L5 for the last Friday`;
      const special = /^(\w+)#([1-5])$/.exec(range) ?? /^L(\w+)$/i.exec(range);
      if (special) {
        const problem = value(special[1] ?? '');
        if (problem) return problem;
        continue;
      }
      if (/#/.test(range)) return `\`${range}\`: write one weekday before # and its week of the month, 1 to 5, after it, e.g. FRI#2 for the second Friday (a list for several: MON#2,TUE#2)`;
    }
    const bounds = range.split('-');
    if (bounds.length > 2 || bounds.some((bound) => bound === '')) return `\`${range}\` is not a value or a range such as 1-5`;
    for (const bound of bounds) {
      const problem = value(bound);
      if (problem) return problem;
    }
  }
  return undefined;
}

const DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/** Seconds of a number or an ISO 8601 duration (weeks, days, hours, minutes, seconds), or undefined. */
export function intervalSeconds(interval: number | string): number | undefined {
  if (typeof interval === 'number') return Number.isFinite(interval) && interval > 0 ? interval : undefined;
  const match = DURATION.exec(interval.trim());
  if (!match || interval.trim().toUpperCase().endsWith('T') || match.slice(1).every((part) => part === undefined)) return undefined;
  const [weeks = 0, days = 0, hours = 0, minutes = 0, seconds = 0] = match.slice(1).map((part) => Number(part ?? 0));
  const total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds;
  return total > 0 ? total : undefined;
}

export function intervalProblem(interval: number | string): string | undefined {
  if (intervalSeconds(interval) !== undefined) return undefined;
  if (typeof interval === 'number') return `must be more than 0 seconds, found ${interval}`;
  if (/^P(\d+Y|\d+M|.*\d+Y)/i.test(interval.trim())) return `\`${interval}\` counts years or months, which have no fixed length; use weeks, days, hours, minutes or seconds, e.g. P30D`;
  return `\`${interval}\` is neither a number of seconds nor an ISO 8601 duration such as PT1H, P1D or PT30M`;
}

// ---- Recurrence rules ----

const FREQUENCIES = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY', 'HOURLY', 'MINUTELY', 'SECONDLY'] as const;
const RRULE_WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
/** The parts of a rule dateutil reads, with the range RFC 5545 gives each number. */
const RRULE_NUMBERS: Readonly<Record<string, { ranges: ReadonlyArray<readonly [number, number]>; what: string }>> = {
  INTERVAL: { ranges: [[1, Number.MAX_SAFE_INTEGER]], what: 'a whole number of 1 or more' },
  COUNT: { ranges: [[1, Number.MAX_SAFE_INTEGER]], what: 'a whole number of 1 or more' },
  BYSETPOS: { ranges: [[-366, -1], [1, 366]], what: '1 to 366 or -366 to -1' },
  BYMONTH: { ranges: [[1, 12]], what: '1 to 12' },
  BYMONTHDAY: { ranges: [[-31, -1], [1, 31]], what: '1 to 31 or -31 to -1' },
  BYYEARDAY: { ranges: [[-366, -1], [1, 366]], what: '1 to 366 or -366 to -1' },
  BYWEEKNO: { ranges: [[-53, -1], [1, 53]], what: '1 to 53 or -53 to -1' },
  BYHOUR: { ranges: [[0, 23]], what: '0 to 23' },
  BYMINUTE: { ranges: [[0, 59]], what: '0 to 59' },
  BYSECOND: { ranges: [[0, 59]], what: '0 to 59' },
  BYEASTER: { ranges: [[-366, 366]], what: 'a number of days from Easter, -366 to 366' },
};
const RRULE_PARTS = ['FREQ', 'UNTIL', 'WKST', 'BYDAY', 'BYWEEKDAY', ...Object.keys(RRULE_NUMBERS)];
/** A date or date-time in RFC 5545's basic form, the one form both rrule and dateutil read. */
const RFC_DATE = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/;

/** Where Prefect starts a rule that has no DTSTART (its DEFAULT_ANCHOR_DATE), as a floating time. */
const PREFECT_ANCHOR = new Date(Date.UTC(2020, 0, 1));

/**
 * How many periods (days of a DAILY rule, hours of an HOURLY one, ...) the search for a rule's first
 * occurrence may step through. A rule that needs more makes the server search as long on every
 * scheduling pass, or for ever (dateutil stops only at the year 9999); 20,000 periods take the rrule
 * library about half a second at worst.
 */
const RRULE_PERIOD_BUDGET = 20_000;

interface ParsedDate {
  date: Date;
  /** UTC (Z) or a TZID: dateutil compares this between DTSTART and UNTIL. */
  aware: boolean;
}

interface RuleLine {
  kind: 'RRULE' | 'EXRULE';
  parts: Map<string, string>;
}

/** Why `rrule` is not a recurrence rule that Prefect's server accepts and can expand, or undefined. */
export function rruleProblem(rrule: string): string | undefined {
  const text = rrule.trim();
  if (text.length > MAX_RRULE_LENGTH) return `is ${text.length} characters long, more than the ${MAX_RRULE_LENGTH} Prefect accepts`;
  if (!text.includes('=') && !text.includes(':')) return 'must be an iCalendar recurrence rule starting with FREQ=, RRULE: or DTSTART, e.g. "FREQ=WEEKLY;BYDAY=MO,FR"';
  const upper = rrule.toUpperCase();
  const zoneNames = new Map([...rrule.matchAll(/TZID=([^:;]+)[:;]/gi)].map((match) => [(match[1] ?? '').toUpperCase(), match[1] ?? '']));
  // dateutil splits on any whitespace unless told to unfold lines.
  const lines = upper.split(/\s+/).filter((line) => line !== '');
  const rules: RuleLine[] = [];
  const dates: Date[] = [];
  let start: ParsedDate | undefined;
  let tzid: string | undefined;
  for (const line of lines) {
    const colon = line.indexOf(':');
    const [name = '', ...parms] = (colon === -1 ? 'RRULE' : line.slice(0, colon)).split(';');
    const value = colon === -1 ? line : line.slice(colon + 1);
    if (name === 'RRULE' || name === 'EXRULE') {
      if (parms.length > 0) return `\`${name};${parms.join(';')}\`: ${name} takes no parameters; write \`${name}:FREQ=...\``;
      const parsed = ruleParts(value);
      if (typeof parsed === 'string') return parsed;
      rules.push({ kind: name, parts: parsed });
    } else if (name === 'DTSTART' || name === 'RDATE' || name === 'EXDATE') {
      let zone: string | undefined;
      for (const parm of parms) {
        if (parm.startsWith('TZID=') && name !== 'RDATE') {
          zone = zoneNames.get(parm.slice(5)) ?? parm.slice(5);
          const problem = timezoneProblem(zone);
          if (problem) return `${name}: ${problem}`;
        } else if (parm !== 'VALUE=DATE-TIME' && !(parm === 'VALUE=DATE' && name !== 'RDATE')) {
          return `${name}: the parameter \`${parm}\` is not one dateutil reads; use TZID=<zone> or nothing`;
        }
      }
      const values = value.split(',');
      if (name === 'DTSTART' && (start !== undefined || values.length !== 1)) return 'has more than one DTSTART; give one';
      for (const item of values) {
        const parsed = rfcDate(item);
        if (parsed === undefined) return `${name}: \`${item}\` is not a date such as 20250101T090000 (local to the schedule's timezone) or 20250101T080000Z (UTC)`;
        if (zone !== undefined && parsed.aware) return `${name}: \`${item}\` has both a TZID and a Z; keep one`;
        if (name === 'DTSTART') {
          start = { date: parsed.date, aware: parsed.aware || zone !== undefined };
          tzid = zone;
        } else if (name === 'RDATE') dates.push(parsed.date);
      }
    } else {
      const suggestion = closest(name, ['RRULE', 'EXRULE', 'RDATE', 'EXDATE', 'DTSTART']);
      return `\`${name}\` is not a property of a recurrence rule${suggestion ? `; did you mean ${suggestion}?` : ''} (RRULE, EXRULE, RDATE, EXDATE, DTSTART)`;
    }
  }
  if (!rules.some((rule) => rule.kind === 'RRULE') && dates.length === 0) return 'has no RRULE and no RDATE, so it never fires; add e.g. "FREQ=WEEKLY;BYDAY=MO,FR"';

  const dtstart = start?.date ?? PREFECT_ANCHOR;
  const built: Array<{ kind: RuleLine['kind']; rule: RRuleType }> = [];
  for (const { kind, parts } of rules) {
    const problem = ruleProblem(parts, start);
    if (problem) return `${kind === 'EXRULE' ? 'EXRULE: ' : ''}${problem}`;
    let rule: RRuleType;
    try {
      const options: Partial<RRuleOptions> = { ...RRule.parseString([...parts].map(([key, value]) => `${key}=${value}`).join(';')), dtstart, tzid: tzid ?? null };
      rule = new RRule(options, true);
    } catch (error) {
      return `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    }
    built.push({ kind, rule });
  }
  return occurrenceProblem(built, dates, start === undefined);
}

/** The NAME=VALUE parts of one RRULE or EXRULE line, or why they cannot be read. */
function ruleParts(value: string): Map<string, string> | string {
  const parts = new Map<string, string>();
  for (const pair of value.split(';')) {
    const [name = '', part, ...more] = pair.split('=');
    if (part === undefined || more.length > 0 || name === '') return `\`${pair}\` is not a NAME=VALUE part; parts are separated by ";", e.g. "FREQ=WEEKLY;BYDAY=MO,FR"`;
    if (!RRULE_PARTS.includes(name)) {
      const suggestion = closest(name, RRULE_PARTS);
      return `\`${name}\` is not a part of a recurrence rule${suggestion ? `; did you mean ${suggestion}?` : ''}`;
    }
    // BYWEEKDAY is dateutil's other name of BYDAY. dateutil keeps the last of a repeated part; a repeated part is a mistake either way.
    const key = name === 'BYWEEKDAY' ? 'BYDAY' : name;
    if (parts.has(key)) return `\`${name}\` is given twice; give it once`;
    parts.set(key, part);
  }
  return parts;
}

/** The checks of one rule's parts that neither rrule nor dateutil makes when reading it. */
function ruleProblem(parts: Map<string, string>, start: ParsedDate | undefined): string | undefined {
  const freq = parts.get('FREQ');
  if (freq === undefined) return `needs FREQ=${FREQUENCIES.join(', ')}, e.g. "FREQ=WEEKLY;BYDAY=MO,FR"`;
  if (!(FREQUENCIES as readonly string[]).includes(freq)) return `FREQ=${freq} is not one of ${FREQUENCIES.join(', ')}`;
  if (parts.get('INTERVAL') === '0') return 'INTERVAL=0 never moves on to the next period: Prefect\'s server would loop for ever on it; use INTERVAL=1 or more';
  for (const [name, { ranges, what }] of Object.entries(RRULE_NUMBERS)) {
    const value = parts.get(name);
    if (value === undefined) continue;
    for (const item of name === 'INTERVAL' || name === 'COUNT' ? [value] : value.split(',')) {
      const number = /^[+-]?\d+$/.test(item) ? Number(item) : Number.NaN;
      if (!ranges.some(([low, high]) => number >= low && number <= high)) return `${name}=${value}: \`${item}\` is not ${what}`;
    }
  }
  const wkst = parts.get('WKST');
  if (wkst !== undefined && !RRULE_WEEKDAYS.includes(wkst)) return `WKST=${wkst} is not one of ${RRULE_WEEKDAYS.join(', ')}`;
  const byday = parts.get('BYDAY');
  for (const day of byday?.split(',') ?? []) {
    // dateutil also reads MO(+1); rrule does not, so the RFC 5545 form +1MO is asked for.
    const match = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(day);
    const n = match?.[1];
    if (!match || !RRULE_WEEKDAYS.includes(match[2] ?? '') || (n !== undefined && (Number(n) === 0 || Math.abs(Number(n)) > 53))) {
      return `BYDAY=${byday}: \`${day}\` is not a weekday (${RRULE_WEEKDAYS.join(', ')}), optionally with its place in the month or year, e.g. 1MO or -1FR`;
    }
  }
  if (parts.has('COUNT') && parts.has('UNTIL')) return 'has both COUNT and UNTIL, which RFC 5545 forbids (dateutil deprecates it); keep one';
  const untilText = parts.get('UNTIL');
  if (untilText !== undefined) {
    const until = rfcDate(untilText);
    if (until === undefined) return `UNTIL=${untilText} is not a date such as 20301231T235959 (or 20301231T235959Z when DTSTART is in UTC or has a TZID)`;
    if (until.aware !== (start?.aware ?? false)) {
      return until.aware
        ? `UNTIL=${untilText} is in UTC but the rule's start is a local time: dateutil refuses the mix; drop the Z, or give DTSTART in UTC`
        : `UNTIL=${untilText} is a local time but DTSTART is in UTC or has a TZID: dateutil refuses the mix; write UNTIL in UTC, with a Z`;
    }
  }
  return stepsProblem(freq, parts, start?.date ?? PREFECT_ANCHOR) ?? catchUpProblem(freq, parts, start);
}

/** A period of each FREQ in seconds (months and years at their shortest: an upper bound of periods). */
const FREQ_SECONDS: Record<string, number> = { SECONDLY: 1, MINUTELY: 60, HOURLY: 3600, DAILY: 86_400, WEEKLY: 604_800, MONTHLY: 2_419_200, YEARLY: 31_536_000 };

/** How many periods since its DTSTART a rule may have before the server's every pass is too long. */
const CATCH_UP_BUDGET = 1_000_000;

/**
 * Prefect's scheduler expands a rule from its DTSTART up to now on every pass: a DTSTART long ago
 * with a fine FREQ (DTSTART:19000101 with FREQ=SECONDLY) makes each pass step through millions of
 * periods. Without a DTSTART, Prefect gives fine rules a recent start itself.
 */
function catchUpProblem(freq: string, parts: Map<string, string>, start: ParsedDate | undefined, now = Date.now()): string | undefined {
  if (!start || parts.has('COUNT') || parts.has('UNTIL')) return undefined;
  const interval = Number(parts.get('INTERVAL') ?? 1);
  const periods = Math.floor((now - start.date.getTime()) / 1000 / ((FREQ_SECONDS[freq] ?? 86_400) * interval));
  if (periods <= CATCH_UP_BUDGET) return undefined;
  return `starts at ${start.date.toISOString().slice(0, 10)} with FREQ=${freq}: Prefect's scheduler would step through the ${periods.toLocaleString('en')} periods since then on every pass; give a DTSTART close to now, or a coarser FREQ or INTERVAL`;
}

/**
 * dateutil steps HOURLY, MINUTELY and SECONDLY rules through the day by INTERVAL and fails ("byxxx
 * generates an empty set") when no step lands on an allowed BYHOUR/BYMINUTE/BYSECOND; rrule would
 * loop for ever on such a rule, so it is decided here, the way dateutil does.
 */
function stepsProblem(freq: string, parts: Map<string, string>, dtstart: Date): string | undefined {
  const unit = freq === 'HOURLY' ? 3600 : freq === 'MINUTELY' ? 60 : freq === 'SECONDLY' ? 1 : undefined;
  if (unit === undefined) return undefined;
  const list = (name: string) => parts.get(name)?.split(',').map(Number);
  const [hours, minutes, seconds] = [list('BYHOUR'), list('BYMINUTE'), list('BYSECOND')];
  if (!hours && !(unit <= 60 && minutes) && !(unit === 1 && seconds)) return undefined;
  const day = 86_400 / unit;
  const interval = Number(parts.get('INTERVAL') ?? 1);
  const first = (dtstart.getUTCHours() * 3600 + dtstart.getUTCMinutes() * 60 + dtstart.getUTCSeconds()) / unit;
  const matches = (step: number) => {
    const at = (step * unit) % 86_400;
    return (
      (!hours || hours.includes(Math.floor(at / 3600))) && (unit > 60 || !minutes || minutes.includes(Math.floor(at / 60) % 60)) && (unit > 1 || !seconds || seconds.includes(at % 60))
    );
  };
  for (let count = 0, step = Math.floor(first); count < day; count++, step = (step + (interval % day)) % day) if (matches(step)) return undefined;
  return `with FREQ=${freq};INTERVAL=${interval} from the start time ${dtstart.toISOString().slice(11, 19)} no step lands on the ${[hours && 'BYHOUR', unit <= 60 && minutes && 'BYMINUTE', unit === 1 && seconds && 'BYSECOND'].filter(Boolean).join('/')} given, so the rule never fires and Prefect's scheduler would fail on it; change INTERVAL or the BY parts`;
}

/** The budget ran out: the rule needs too many periods to find its first occurrence. */
class PeriodBudgetSpent extends Error {}

/**
 * Whether the rules and dates have a first occurrence, found by rrule within RRULE_PERIOD_BUDGET
 * periods. rrule reads a rule's INTERVAL twice per period it steps through (rrule 2.8; a unit test
 * shows the budget still stops a rule with no occurrence), which is where the periods are counted.
 */
function occurrenceProblem(rules: Array<{ kind: 'RRULE' | 'EXRULE'; rule: RRuleType }>, dates: Date[], anchored: boolean): string | undefined {
  let reads = 0;
  const set = new RRuleSet(true);
  for (const { kind, rule } of rules) {
    const interval = rule.options.interval;
    Object.defineProperty(rule.options, 'interval', {
      get: () => {
        reads += 1;
        if (reads > 2 * RRULE_PERIOD_BUDGET) throw new PeriodBudgetSpent();
        return interval;
      },
    });
    if (kind === 'RRULE') set.rrule(rule);
    else set.exrule(rule);
  }
  for (const date of dates) set.rdate(date);
  const from = rules.map(({ rule }) => rule.options.dtstart).find(Boolean) ?? PREFECT_ANCHOR;
  const startsAt = anchored ? ` from ${from.toISOString().slice(0, 10)} (Prefect starts a rule without DTSTART there)` : ' from its DTSTART';
  try {
    if (set.after(new Date(Math.min(from.getTime(), ...dates.map((date) => date.getTime()))), true) !== null) return undefined;
    return `has no occurrence at all${startsAt}: check COUNT, UNTIL and the BY parts (e.g. BYMONTHDAY=30 with BYMONTH=2)`;
  } catch (error) {
    if (!(error instanceof PeriodBudgetSpent)) throw error;
    return `finds no occurrence in the first ${RRULE_PERIOD_BUDGET.toLocaleString('en')} periods of its FREQ${startsAt}; Prefect's server would search as long on every scheduling pass, or until the year 9999: check the BY parts (e.g. BYSETPOS, BYMONTHDAY=31 with BYMONTH=4)`;
  }
}

function rfcDate(text: string): ParsedDate | undefined {
  const match = RFC_DATE.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour = '0', minute = '0', second = '0', zone] = match;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  const roundTrip = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()];
  if (roundTrip.join() !== [year, month, day, hour, minute, second].map(Number).join()) return undefined;
  return { date, aware: zone === 'Z' };
}

let timeZones: string[] | undefined;

/** Why `zone` is not an IANA time zone, or undefined. Offsets such as +01:00 are refused: Prefect wants a zone name. */
export function timezoneProblem(zone: string): string | undefined {
  let resolved: string | undefined;
  if (!/^[+-]/.test(zone) && zone.trim() === zone) {
    try {
      resolved = new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
    } catch {
      resolved = undefined;
    }
  }
  if (resolved !== undefined) {
    // Intl ignores case; Prefect's zoneinfo on Linux does not.
    return resolved !== zone && resolved.toLowerCase() === zone.toLowerCase() ? `write the time zone as \`${resolved}\`` : undefined;
  }
  timeZones ??= [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  const suggestion = closest(zone, timeZones);
  return `\`${zone}\` is not an IANA time zone${suggestion ? `; did you mean \`${suggestion}\`?` : ''} (e.g. Europe/Zurich, UTC)`;
}

export function anchorDateProblem(date: string): string | undefined {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
  return iso.test(date.trim()) && !Number.isNaN(Date.parse(date.trim())) ? undefined : `\`${date}\` is not an ISO 8601 date and time such as 2024-01-01T00:00:00Z`;
}
