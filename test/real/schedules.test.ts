// Our schedule checks (croner, rrule and the rules around them) against the Python the server runs:
// for every expression of a corpus, Prefect 3.7.2's own schedule models, its vendored croniter and
// dateutil, in the test virtualenv, decide whether the server accepts it and can schedule it, and our
// verdict must be the same, except for the documented differences below. Then the two schedules of
// issue 14 are refused by the CLI against a real server: exit 3, no request, nothing changed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ensurePrefect, venvBin } from '../../scripts/prefect-env.js';
import { cronProblem, rruleProblem } from '../../src/config/schedules.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, exampleLimits, writeSecretFiles } from '../shared/example-cases.js';
import { clearServer, readState, type ServerState } from '../shared/server.js';

interface CronCase {
  kind: 'cron';
  expression: string;
  dayOr?: boolean;
}
interface RRuleCase {
  kind: 'rrule';
  expression: string;
}
type Case = CronCase | RRuleCase;

const cron = (expression: string, dayOr?: boolean): CronCase => ({ kind: 'cron', expression, ...(dayOr !== undefined && { dayOr }) });
const rrule = (expression: string): RRuleCase => ({ kind: 'rrule', expression });

const CORPUS: Case[] = [
  // Cron: fields, names, macros, steps, ranges.
  ...['0 3 * * *', ' 0 3 * * * ', '*/5 * * * *', '0 0 1,15 * *', '0 9 * JAN-MAR MON', '0 0 * * MON-FRI', '0 0 * * mon-fri', '0 0 * * SUN-SAT', '0 0 * * 7'].map((e) => cron(e)),
  ...['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly', '@HOURLY', '@reboot', '@every'].map((e) => cron(e)),
  ...['5/10 * * * *', '0 0 * * 1/2', '0 0 5/10 * *', '0-59/15 * * * *', '0 0 1-31/2 * *', '0 8-18/2 * * 1-5', '*/0 * * * *', '/5 * * * *', '1,,2 * * * *', '1-2-3 * * * *'].map((e) => cron(e)),
  // Wrapped ranges, which croniter reads from the start through the maximum and on from the minimum.
  ...['0 0 * * FRI-MON', '0 0 * * 5-1', '0 0 * 12-2 *', '0 22-2 * * *', '0 22-2/2 * * *', '50-10/5 * * * *'].map((e) => cron(e)),
  // Last days, nth weekdays, ?, seconds.
  ...['0 0 L * *', '0 0 * * L5', '0 0 * * 5L', '0 0 * * FRI#2', '0 0 * * 5#3', '0 0 * * 5#6', '0 0 LW * *', '0 0 15W * *', '0 0 L-2 * *', '0 0 * * 1,L', '0 12 ? * 7', '0 0 ? * *', '* * * * * 15', '0 0 * * * 30', '0 3 * * * *'].map((e) => cron(e)),
  // Out of range, unknown, hashed and random.
  ...['', '* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8', '? * * * *', 'x * * * *', '0 0 * * FUN', 'H 0 * * *', 'R 0 * * *'].map((e) => cron(e)),
  // Never fires, or fires rarely.
  ...['0 0 31 2 *', '0 0 30 2 *', '0 0 30,31 2 *', '0 0 31 4,6,9,11 *', '0 0 29 2 *', '0 0 31 2 MON', '0 0 1 1 MON#5'].map((e) => cron(e)),
  cron('0 0 31 2 MON', false),
  cron('0 0 29 2 MON', false),
  cron('0 0 1 1 MON#5', false),
  cron('0 0 1 * MON', false),
  // croniter and a day of month beside an nth or last weekday: it fails on most, so all are refused (see KNOWN_DIFFERENCES).
  ...['0 0 1 * FRI#2', '0 0 8 * MON#1', '0 0 1 * L5', '0 0 1,15 * FRI#2', '0 0 1 * MON#1', '0 0 9 * FRI#2'].map((e) => cron(e)),
  cron('0 0 8-14 * FRI#2', false),
  ...['0 0 * * FRI#2,MON', '0 0 * * L5,MON', '0 0 * * FRI#2,MON#1', '0 0 * * L5,L1', '0 0 * * MON-FRI#2'].map((e) => cron(e)),
  cron('*/15 8-18 L * 1-5,SAT', false),
  // Seven fields (a year): croniter reads them, we do not (see KNOWN_DIFFERENCES).
  cron('* * * * * * *'),
  cron('0 0 * * * 0 2030'),

  // Recurrence rules: the usual forms.
  ...[
    'FREQ=WEEKLY;BYDAY=MO,FR',
    'RRULE:FREQ=WEEKLY;BYDAY=MO,FR',
    'freq=daily;byhour=9',
    'FREQ=DAILY;BYHOUR=9;BYMINUTE=30;BYSECOND=0',
    'FREQ=MONTHLY;BYDAY=+5FR',
    'FREQ=MONTHLY;BYDAY=-1FR',
    'FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR',
    'FREQ=MONTHLY;BYMONTHDAY=-1',
    'FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO',
    'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29',
    'FREQ=YEARLY;BYEASTER=0',
    'FREQ=YEARLY;INTERVAL=100000',
    'FREQ=DAILY;BYYEARDAY=366',
    'FREQ=WEEKLY;WKST=SU;BYDAY=MO',
    'FREQ=DAILY;COUNT=10',
    'FREQ=HOURLY;INTERVAL=5;BYHOUR=5,10',
    'FREQ=MINUTELY;INTERVAL=15',
    'FREQ=SECONDLY',
    'DTSTART:20250101T090000\nRRULE:FREQ=DAILY',
    'DTSTART;TZID=Europe/Zurich:20250101T090000\nRRULE:FREQ=DAILY;UNTIL=20300101T000000Z',
    'DTSTART:20250101T090000Z RRULE:FREQ=DAILY;UNTIL=20300101T000000Z',
    'FREQ=DAILY;UNTIL=20300101T000000',
    'RDATE:20300101T000000',
    'RRULE:FREQ=DAILY\nEXDATE:20250102T000000',
  ].map(rrule),
  // Rules that never move on, never occur, or that dateutil cannot expand.
  ...[
    'FREQ=DAILY;INTERVAL=0',
    'FREQ=DAILY;INTERVAL=-1',
    'FREQ=DAILY;INTERVAL=1.5',
    'FREQ=DAILY;COUNT=0',
    'FREQ=DAILY;COUNT=-1',
    'FREQ=DAILY;UNTIL=20190101T000000',
    'FREQ=DAILY;UNTIL=20300101T000000Z',
    'DTSTART:20250101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20300101T000000',
    'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30',
    'FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4',
    'FREQ=DAILY;BYSETPOS=2',
    'FREQ=DAILY;BYSETPOS=0',
    'FREQ=DAILY;BYSETPOS=5;BYHOUR=1',
    'FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30',
    'FREQ=MONTHLY;BYDAY=+6FR',
    'FREQ=HOURLY;INTERVAL=24;BYHOUR=1',
    'FREQ=MINUTELY;INTERVAL=60;BYMINUTE=5',
    'FREQ=SECONDLY;INTERVAL=86400;BYSECOND=1',
    'FREQ=DAILY;BYHOUR=25',
    'FREQ=DAILY;BYMONTH=13',
    'FREQ=DAILY;BYMONTHDAY=32',
    'FREQ=DAILY;BYYEARDAY=367',
    'FREQ=WEEKLY;BYDAY=XX',
    'FREQ=WEEKLY;WKST=XX',
    'FREQ=FORTNIGHTLY',
    'FREQ=DAILY;FOO=1',
    'INTERVAL=2',
    'EVERY DAY',
    'EXRULE:FREQ=DAILY',
  ].map(rrule),
  // Forms dateutil reads and we refuse (see KNOWN_DIFFERENCES).
  ...['FREQ=DAILY;COUNT=3;UNTIL=20300101', 'FREQ=DAILY;UNTIL=2030-01-01', 'FREQ=DAILY;FREQ=WEEKLY', 'FREQ=MONTHLY;BYDAY=MO(+1)', 'DTSTART;TZID=Mars/Olympus:20250101T090000\nRRULE:FREQ=DAILY'].map(rrule),
];

/**
 * Where our verdict differs from the server's Python on purpose, each with the reason. The test
 * fails when one of these stops differing, so the list (and the README) stays true.
 */
const KNOWN_DIFFERENCES: ReadonlyArray<{ kind: Case['kind']; expression: string; dayOr?: boolean; why: string }> = [
  { kind: 'cron', expression: '* * * * * * *', why: 'croniter reads a seventh field (the year); openem-config keeps to five or six fields (seconds last), as Prefect documents' },
  { kind: 'cron', expression: '0 0 * * * 0 2030', why: 'the same: a year field' },
  { kind: 'cron', expression: '0 0 1 * MON#1', why: 'croniter finds dates for a day of month beside an nth weekday only when both fall in the same week of the month; openem-config refuses every such expression with day_or true rather than copy that rule' },
  { kind: 'cron', expression: '0 0 9 * FRI#2', why: 'the same' },
  { kind: 'cron', expression: '0 0 * * MON-FRI#2', why: 'croniter reads a range of nth weekdays; croner does not (write MON#2,TUE#2,...)' },
  { kind: 'rrule', expression: 'FREQ=DAILY;COUNT=3;UNTIL=20300101', why: 'RFC 5545 forbids COUNT with UNTIL; dateutil only warns (deprecated) and the server keeps the rule' },
  { kind: 'rrule', expression: 'FREQ=DAILY;UNTIL=2030-01-01', why: "dateutil's date parser reads any date format; rrule (and RFC 5545) only the basic form 20300101[T000000[Z]]" },
  { kind: 'rrule', expression: 'FREQ=DAILY;FREQ=WEEKLY', why: 'dateutil keeps the last of a repeated part; a repeated part is refused as a mistake' },
  { kind: 'rrule', expression: 'FREQ=MONTHLY;BYDAY=MO(+1)', why: 'dateutil also reads MO(+1); rrule only the RFC 5545 form +1MO' },
  { kind: 'rrule', expression: 'DTSTART;TZID=Mars/Olympus:20250101T090000\nRRULE:FREQ=DAILY', why: 'dateutil treats a time with an unknown TZID as local; openem-config asks for an IANA zone' },
];

/** Prefect's verdict for each case: "ok", or why the server refuses or cannot schedule it. */
const ORACLE = String.raw`
import datetime, json, signal, sys
from prefect._vendor.croniter import croniter
from prefect._internal.schemas.validators import normalize_rrule_string
from prefect.server.schemas.schedules import CronSchedule, RRuleSchedule

class Hang(Exception):
    pass

def on_alarm(*_):
    raise Hang()

signal.signal(signal.SIGALRM, on_alarm)
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
verdicts = []
for case in json.load(sys.stdin):
    expression = case["expression"]
    try:
        if case["kind"] == "cron":
            day_or = case.get("dayOr", True)
            try:
                CronSchedule(cron=expression, day_or=day_or)
            except Exception as error:
                verdicts.append("refused: " + str(error).splitlines()[-1][:200]); continue
            try:
                croniter(expression, now, day_or=day_or).get_next(datetime.datetime)
            except Exception as error:
                verdicts.append("never fires: %s: %s" % (type(error).__name__, error)); continue
            verdicts.append("ok")
        else:
            try:
                RRuleSchedule(rrule=expression, timezone="UTC")
            except Exception as error:
                verdicts.append("refused: " + str(error).splitlines()[-1][:200]); continue
            # What the server stores and expands: its normalised rule, from its anchor.
            rule = RRuleSchedule(rrule=normalize_rrule_string(expression), timezone="UTC").to_rrule()
            signal.alarm(5)
            try:
                first = next(iter(rule), None)
                # The scheduler's own question: the next run from now (none is fine for a rule that has ended).
                next(rule.xafter(now.replace(tzinfo=datetime.timezone.utc), count=None, inc=True), None)
            finally:
                signal.alarm(0)
            verdicts.append("ok" if first is not None else "no occurrence")
    except Hang:
        verdicts.append("expansion still running after 5 s")
    except Exception as error:
        verdicts.append("cannot expand: %s: %s" % (type(error).__name__, error))
print(json.dumps(verdicts))
`;

function pythonVerdicts(cases: Case[]): string[] {
  ensurePrefect();
  const home = mkdtempSync(join(tmpdir(), 'openem-config-prefect-home-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, PREFECT_HOME: home, PYTHONDONTWRITEBYTECODE: '1', PYTHONWARNINGS: 'ignore' };
    delete env.PREFECT_API_URL;
    const result = spawnSync(venvBin('python'), ['-c', ORACLE], { input: JSON.stringify(cases), encoding: 'utf8', env, maxBuffer: 16 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`the Python verdicts failed:\n${result.stderr}`);
    return JSON.parse(result.stdout) as string[];
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function ours(testCase: Case): string | undefined {
  // Prefect's default day_or is true.
  return testCase.kind === 'cron' ? cronProblem(testCase.expression, { dayOr: testCase.dayOr ?? true }) : rruleProblem(testCase.expression);
}

const label = (c: Case) => `${c.kind} ${JSON.stringify(c.expression)}${c.kind === 'cron' && c.dayOr !== undefined ? ` day_or=${c.dayOr}` : ''}`;

describe("schedule verdicts match the server's croniter and dateutil", () => {
  let python: string[] = [];
  beforeAll(() => {
    python = pythonVerdicts(CORPUS);
    expect(python).toHaveLength(CORPUS.length);
  }, 300_000);

  it('on every expression of the corpus, but for the known differences', () => {
    const mismatches: string[] = [];
    const differing: string[] = [];
    for (const [index, testCase] of CORPUS.entries()) {
      const server = python[index] ?? '';
      const problem = ours(testCase);
      const known = KNOWN_DIFFERENCES.some((d) => d.kind === testCase.kind && d.expression === testCase.expression && d.dayOr === (testCase.kind === 'cron' ? testCase.dayOr : undefined));
      const agree = (server === 'ok') === (problem === undefined);
      if (known) {
        if (agree) differing.push(`${label(testCase)} is listed as a known difference but agrees now (${server}); remove it from the list and the README`);
      } else if (!agree) {
        mismatches.push(`${label(testCase)}: Prefect says ${server}; openem-config says ${problem ?? 'ok'}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(differing).toEqual([]);
  });

  it('covers valid, refused and never-firing expressions of both kinds', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(140);
    const count = (kind: Case['kind'], ok: boolean) => CORPUS.filter((c, index) => c.kind === kind && (python[index] === 'ok') === ok).length;
    expect(count('cron', true)).toBeGreaterThan(20);
    expect(count('cron', false)).toBeGreaterThan(20);
    expect(count('rrule', true)).toBeGreaterThan(15);
    expect(count('rrule', false)).toBeGreaterThan(20);
    expect(python.filter((v) => v.startsWith('never fires'))).not.toHaveLength(0);
    expect(python.filter((v) => v.startsWith('expansion still running'))).not.toHaveLength(0);
  });
});

describe('the schedules of issue 14 are refused against a real server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openem-schedules-'));
  const apiUrl = () => inject('prefectApiUrl');
  const env = () => ({ PREFECT_API_URL: apiUrl(), ...writeSecretFiles(), ...EXAMPLE_ENV });
  let before: ServerState;

  beforeAll(async () => {
    await clearServer(apiUrl());
    const applied = await runCli(OLD_COMMAND_LINE, { env: env() });
    expect(applied.code).toBe(EXIT.ok);
    before = await readState(apiUrl());
  });

  it.each([
    ['an rrule with INTERVAL=0', '      - rrule: "FREQ=DAILY;INTERVAL=0"', 'INTERVAL=0 never moves on'],
    ['a cron that never fires', '      - cron: "0 0 31 2 *"', 'never fires'],
  ])('%s: exit 3, with the line, and no request', async (_name, schedule, fragment) => {
    const file = join(dir, `${fragment.replace(/\W+/g, '-')}.yaml`);
    // A valid schedule first, and valid limits beside: a half-valid run must not apply the valid half.
    writeFileSync(file, ['deployments:', '  - name: d1', '    flow_name: f1', '    entrypoint: flows.py:f1', '    schedules:', '      - cron: "0 3 * * *"', schedule, ''].join('\n'));
    const result = await runCli(['-d', file, '-l', exampleLimits], { env: env() });
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.requests).toEqual([]);
    expect(result.stderr).toContain(`${file}:7`);
    expect(result.stderr).toContain(fragment);
    expect(await readState(apiUrl())).toEqual(before);
  });
});
