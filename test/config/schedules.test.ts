import { describe, expect, it } from 'vitest';
import { cronProblem, rruleProblem } from '../../src/config/schedules.js';
import { IssueList } from '../../src/errors.js';
import { loadDeployments } from '../../src/kinds/deployments/spec.js';
import { useTempDir } from './temp.js';

const temp = useTempDir();

const now = new Date(Date.UTC(2026, 11, 4));

describe('cron expressions (croner, with croniter rules)', () => {
  it.each(['0 3 * * *', '@daily', '@MIDNIGHT', '0 0 * * MON-FRI', '0 0 * * mon-fri', '0 0 * * FRI-MON', '0 0 * 12-2 *', '5/15 * * * *', '0 0 L * *', '0 0 * * L5', '0 0 * * FRI#2', '0 0 29 2 *', '* * * * * 15', '0 12 ? * 7'])(
    'accepts %s',
    (expression) => expect(cronProblem(expression, { now, dayOr: true })).toBeUndefined(),
  );

  it.each([
    ['0 0 31 2 *', 'never fires'],
    ['0 0 30,31 2 *', 'never fires'],
    ['0 0 31 4,6,9,11 *', 'never fires'],
    // croniter looks for the day of month alone and fails, though Mondays in February exist.
    ['0 0 31 2 MON', 'croniter, which Prefect uses, fails when the day of month `31` never matches'],
    ['0 0 15W * *', 'has no W'],
    ['0 0 * * 5L', 'L5 for the last Friday'],
    ['H 0 * * *', 'random and hashed'],
    ['0 0 * * 5#6', 'its week of the month, 1 to 5'],
    ['0 0 * * FRI#2,MON', 'does not mix nth or last weekdays'],
    ['0 0 1 * FRI#2', 'both a day of month and an nth or last weekday'],
  ])('refuses %s', (expression, fragment) => expect(cronProblem(expression, { now, dayOr: true })).toContain(fragment));

  it('checks without day_or only what fails whatever day_or says', () => {
    expect(cronProblem('0 0 1 * FRI#2', { now })).toBeUndefined();
    expect(cronProblem('0 0 31 2 *', { now })).toContain('never fires');
  });

  it('reads day_or: false as both days matching', () => {
    expect(cronProblem('0 0 29 2 MON', { now, dayOr: false })).toBeUndefined();
    expect(cronProblem('0 0 1 1 MON', { now, dayOr: false })).toBeUndefined();
    expect(cronProblem('0 0 1 1 MON#5', { now, dayOr: false })).toContain('with `day_or: false` the day of month and the day of week must both match');
  });

  it('decides from now: a year-long gap is fine, a date in the past is not', () => {
    expect(cronProblem('0 0 29 2 *', { now: new Date(Date.UTC(2028, 2, 1)) })).toBeUndefined();
  });
});

describe('recurrence rules (rrule, with dateutil rules)', () => {
  it.each([
    'FREQ=WEEKLY;BYDAY=MO,FR',
    'RRULE:FREQ=WEEKLY;BYDAY=MO,FR',
    'freq=daily;byhour=9',
    'FREQ=MONTHLY;BYDAY=+5FR',
    'FREQ=MONTHLY;BYDAY=-1FR',
    'FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO',
    'FREQ=YEARLY;BYEASTER=0',
    'FREQ=DAILY;COUNT=10',
    'FREQ=HOURLY;INTERVAL=5;BYHOUR=5,10',
    'FREQ=SECONDLY',
    'DTSTART:20250101T090000\nRRULE:FREQ=DAILY',
    'DTSTART;TZID=Europe/Zurich:20250101T090000\nRRULE:FREQ=DAILY;UNTIL=20300101T000000Z',
    'DTSTART:20250101T090000Z RRULE:FREQ=DAILY;UNTIL=20300101T000000Z',
    'RDATE:20300101T000000',
    'RRULE:FREQ=DAILY\nEXDATE:20250102T000000',
  ])('accepts %j', (rule) => expect(rruleProblem(rule)).toBeUndefined());

  it.each([
    ['FREQ=DAILY;INTERVAL=0', 'INTERVAL=0 never moves on'],
    ['FREQ=DAILY;INTERVAL=-1', '`-1` is not a whole number of 1 or more'],
    ['FREQ=DAILY;INTERVAL=1.5', '`1.5` is not a whole number of 1 or more'],
    ['FREQ=DAILY;COUNT=0', '`0` is not a whole number of 1 or more'],
    ['FREQ=DAILY;COUNT=3;UNTIL=20300101', 'has both COUNT and UNTIL'],
    ['FREQ=DAILY;UNTIL=20190101', 'has no occurrence at all from 2020-01-01'],
    ['FREQ=DAILY;UNTIL=20300101T000000Z', 'dateutil refuses the mix'],
    ['DTSTART:20250101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20300101T000000', 'write UNTIL in UTC'],
    ['FREQ=DAILY;UNTIL=2030-01-01', 'is not a date such as'],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', 'has no occurrence at all'],
    ['FREQ=DAILY;BYHOUR=25', '`25` is not 0 to 23'],
    ['FREQ=DAILY;BYMONTH=13', '`13` is not 1 to 12'],
    ['FREQ=WEEKLY;BYDAY=XX', '`XX` is not a weekday'],
    ['FREQ=MONTHLY;BYDAY=0FR', '`0FR` is not a weekday'],
    ['FREQ=FORTNIGHTLY', 'FREQ=FORTNIGHTLY is not one of'],
    ['INTERVAL=2', 'needs FREQ='],
    ['FREQ=DAILY;INTERVL=2', 'did you mean INTERVAL?'],
    ['FREQ=DAILY;FREQ=WEEKLY', 'is given twice'],
    ['EVERY DAY', 'must be an iCalendar recurrence rule'],
    ['EXRULE:FREQ=DAILY', 'has no RRULE and no RDATE'],
    ['DTSTART;TZID=Mars/Olympus:20250101T090000\nRRULE:FREQ=DAILY', 'is not an IANA time zone'],
    ['FREQ=HOURLY;INTERVAL=24;BYHOUR=1', 'no step lands on the BYHOUR given'],
    ['FREQ=MINUTELY;INTERVAL=60;BYMINUTE=5', 'no step lands on the BYMINUTE given'],
    ['FREQ=SECONDLY;INTERVAL=86400;BYSECOND=1', 'no step lands on the BYSECOND given'],
  ])('refuses %j', (rule, fragment) => expect(rruleProblem(rule)).toContain(fragment));

  it.each(['FREQ=DAILY;BYSETPOS=2', 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', 'FREQ=MINUTELY;BYMONTH=4;BYMONTHDAY=31', 'FREQ=SECONDLY;BYSETPOS=2', 'FREQ=MONTHLY;BYDAY=+6FR'])(
    'gives up on %j within its budget, in well under the time dateutil would spend',
    (rule) => {
      const started = performance.now();
      expect(rruleProblem(rule)).toMatch(/finds no occurrence in the first 20,000 periods|has no occurrence at all/);
      expect(performance.now() - started).toBeLessThan(5000);
    },
  );

  it('refuses a rule longer than Prefect takes', () => {
    expect(rruleProblem(`FREQ=DAILY\n${'EXDATE:20250101T000000\n'.repeat(300)}`)).toContain('more than the 6500 Prefect accepts');
  });
});

describe('schedules in a prefect.yaml', () => {
  it('reports each bad schedule at its line, day_or: false included', () => {
    const file = temp.write(
      'prefect.yaml',
      [
        'deployments:',
        '  - name: d1',
        '    flow_name: f1',
        '    entrypoint: flows.py:f1',
        '    schedules:',
        '      - cron: "0 3 * * MON-FRI"',
        '      - rrule: "FREQ=DAILY;INTERVAL=0"',
        '      - cron: "0 0 31 2 *"',
        '      - cron: "0 0 1 1 MON#5"',
        '        day_or: false',
        '      - cron: "0 0 13 * FRI"',
        '        day_or: false',
        '      - cron: "0 0 1 * FRI#2"',
        '',
      ].join('\n'),
    );
    const issues = new IssueList();
    loadDeployments([file], { env: {} }, issues);
    expect(issues.items.map(({ line, key, message }) => ({ line, key, message: message.slice(0, 40) }))).toEqual([
      { line: 7, key: 'deployments[0].schedules[1].rrule', message: 'INTERVAL=0 never moves on to the next pe' },
      { line: 8, key: 'deployments[0].schedules[2].cron', message: '`0 0 31 2 *` never fires: no date matche' },
      { line: 9, key: 'deployments[0].schedules[3].cron', message: '`0 0 1 1 MON#5` never fires: no date mat' },
      { line: 13, key: 'deployments[0].schedules[5].cron', message: '`0 0 1 * FRI#2`: croniter, which Prefect' },
    ]);
  });
});

describe('a rule that starts long ago with a fine FREQ', () => {
  it('is refused: the scheduler would step through every period since its DTSTART', async () => {
    const { rruleProblem } = await import('../../src/config/schedules.js');
    expect(rruleProblem('DTSTART:19000101T000000\nRRULE:FREQ=SECONDLY')).toMatch(/starts at 1900-01-01 with FREQ=SECONDLY: Prefect's scheduler would step through the [\d,]+ periods since then on every pass/);
    expect(rruleProblem('DTSTART:20200101T000000\nRRULE:FREQ=MINUTELY')).toMatch(/periods since then on every pass/);
    // Coarse enough, bounded, or without a DTSTART (Prefect starts such a rule recently itself): accepted.
    expect(rruleProblem('DTSTART:19000101T000000\nRRULE:FREQ=DAILY')).toBeUndefined();
    expect(rruleProblem('DTSTART:19000101T000000\nRRULE:FREQ=SECONDLY;COUNT=10')).toBeUndefined();
    expect(rruleProblem('FREQ=MINUTELY')).toBeUndefined();
  });
});
