// Schedule values checked as Prefect checks them (croniter, ISO 8601 durations, dateutil's rrule,
// zoneinfo), so that a bad schedule is reported with the file rather than refused by the server.
import { closest } from './suggest.js';

/** Prefect refuses longer rules (its own MAX_RRULE_LENGTH). */
const MAX_RRULE_LENGTH = 6500;

const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

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

/** Why `expression` is not a cron expression Prefect (croniter) accepts, or undefined. */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (text.startsWith('@')) {
    return CRON_MACROS.includes(text.toLowerCase()) ? undefined : `\`${text}\` is not a cron macro; use one of ${CRON_MACROS.join(', ')}`;
  }
  const fields = text.split(/\s+/);
  if (fields.length < 5 || fields.length > 6) {
    return `\`${text}\` has ${text === '' ? 0 : fields.length} fields; a cron expression has 5 (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`;
  }
  for (const [index, field] of fields.entries()) {
    const spec = CRON_FIELDS[index];
    const problem = spec && cronFieldProblem(field, spec);
    if (problem) return `\`${text}\`: ${problem} in the ${spec.name} field${problem.startsWith(`\`${field}\``) ? '' : ` \`${field}\``}`;
  }
  return undefined;
}

function cronFieldProblem(field: string, spec: CronField): string | undefined {
  const allowed = `${spec.min}-${spec.max}${spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : ''}`;
  const value = (text: string): string | undefined => {
    const upper = text.toUpperCase();
    const named = spec.names?.indexOf(upper) ?? -1;
    if (named >= 0) return undefined;
    return /^\d+$/.test(text) && Number(text) >= spec.min && Number(text) <= spec.max ? undefined : `\`${text}\` is not ${allowed}`;
  };
  for (const item of field.split(',')) {
    if (item === '') return 'an empty list item';
    const [range = '', step, ...more] = item.split('/');
    if (more.length > 0) return `\`${item}\` has more than one /`;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1)) return `the step \`/${step}\` must be a whole number of 1 or more`;
    if (range === '*' || (range === '?' && spec.kind !== undefined)) continue;
    if (spec.kind === 'day' && /^L$/i.test(range)) continue;
    if (spec.kind === 'weekday') {
      const special = /^(\w+)#[1-5]$/.exec(range) ?? /^(\w+)L$/i.exec(range) ?? /^L(\w+)$/i.exec(range);
      if (special) {
        const problem = value(special[1] ?? '');
        if (problem) return problem;
        continue;
      }
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

export function rruleProblem(rrule: string): string | undefined {
  const text = rrule.trim();
  if (text.length > MAX_RRULE_LENGTH) return `is ${text.length} characters long, more than the ${MAX_RRULE_LENGTH} Prefect accepts`;
  if (!/^(DTSTART|RRULE:|FREQ=|RDATE|EXDATE|EXRULE)/i.test(text)) {
    return 'must be an iCalendar recurrence rule starting with FREQ=, RRULE: or DTSTART, e.g. "FREQ=WEEKLY;BYDAY=MO,FR"';
  }
  if (!/FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)\b/i.test(text) && !/^RDATE/im.test(text)) {
    return 'needs FREQ=SECONDLY, MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY';
  }
  return undefined;
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
