// Defaults built from literals, as pydantic writes them into the schema (to_jsonable_python); the
// expected texts are what Prefect's pydantic printed for the same calls. Whole flows with these
// defaults are compared with Prefect in test/real/python-parity.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeFlowSource } from '../../src/python/flow.js';
import { preparePythonReader } from '../../src/python/syntax.js';

beforeAll(preparePythonReader);

const HEADER = 'import datetime as dt\nfrom datetime import date, datetime, time, timedelta, timezone\nfrom decimal import Decimal\nfrom pathlib import Path\nfrom uuid import UUID\nfrom enum import Enum\n';

/** The default the schema gives `x = <expression>`; undefined when there is none (and a warning). */
function defaultOf(expression: string, prelude = ''): unknown {
  const result = analyzeFlowSource(`${HEADER}${prelude}\n@flow\ndef f(x=${expression}): pass\n`, 'f');
  if ('problem' in result) throw new Error(result.problem);
  const property = (result.parameterSchema.properties as Record<string, Record<string, unknown>>).x;
  return property?.default;
}

describe('defaults built from literals', () => {
  it('durations as ISO 8601, the sign in front and empty parts left out', () => {
    expect(defaultOf('timedelta(days=1)')).toBe('P1D');
    expect(defaultOf('timedelta(hours=1)')).toBe('PT1H');
    expect(defaultOf('timedelta(seconds=90)')).toBe('PT1M30S');
    expect(defaultOf('timedelta(microseconds=500000)')).toBe('PT0.5S');
    expect(defaultOf('timedelta(days=2, seconds=5)')).toBe('P2DT5S');
    expect(defaultOf('timedelta(days=-1)')).toBe('-P1D');
    expect(defaultOf('timedelta(seconds=-30)')).toBe('-PT30S');
    expect(defaultOf('timedelta(0)')).toBe('PT0S');
    expect(defaultOf('timedelta(microseconds=1)')).toBe('PT0.000001S');
    expect(defaultOf('dt.timedelta(1, 3600)')).toBe('P1DT1H');
    expect(defaultOf('timedelta(seconds=1, microseconds=500000)')).toBe('PT1.5S');
  });

  it('dates, times and datetimes, with their time zone', () => {
    expect(defaultOf('date(1, 1, 1)')).toBe('0001-01-01');
    expect(defaultOf('datetime(2022, 12, 1)')).toBe('2022-12-01T00:00:00');
    expect(defaultOf('datetime(2022, 12, 1, 10, 30, 5, 123)')).toBe('2022-12-01T10:30:05.000123');
    expect(defaultOf('datetime(2022, 1, 1, tzinfo=timezone(timedelta(hours=1)))')).toBe('2022-01-01T00:00:00+01:00');
    expect(defaultOf('datetime(2022, 1, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))')).toBe('2022-01-01T00:00:00-05:30');
    expect(defaultOf('time(10, 30, 5, 5000)')).toBe('10:30:05.005000');
    expect(defaultOf('time(1, 2, tzinfo=timezone.utc)')).toBe('01:02:00Z');
    // Python refuses these when the module is imported: no default is made up for them.
    expect(defaultOf('date(2023, 2, 29)')).toBeUndefined();
    expect(defaultOf('time(24, 0)')).toBeUndefined();
  });

  it('paths, decimals and UUIDs as their str()', () => {
    expect(defaultOf('Path("a//b/")')).toBe('a/b');
    expect(defaultOf('Path("/x/../y")')).toBe('/x/../y');
    expect(defaultOf('Path("")')).toBe('.');
    expect(defaultOf('Path("a", "/b", "c")')).toBe('/b/c');
    expect(defaultOf('Decimal("1.50")')).toBe('1.50');
    expect(defaultOf('Decimal("007.5")')).toBe('7.5');
    expect(defaultOf('Decimal(3)')).toBe('3');
    expect(defaultOf('Decimal("1e3")')).toBeUndefined();
    expect(defaultOf('Decimal(0.1)')).toBeUndefined();
    expect(defaultOf('UUID("urn:uuid:12345678123456781234567812345678")')).toBe('12345678-1234-5678-1234-567812345678');
  });

  it('Enum members by name and by value, their aliases too', () => {
    const prelude = 'class Color(Enum):\n    RED = "red"\n    CRIMSON = "red"\n    BLUE = 2\n';
    expect(defaultOf('Color.RED', prelude)).toBe('red');
    expect(defaultOf('Color.CRIMSON', prelude)).toBe('red');
    expect(defaultOf('Color(2)', prelude)).toBe(2);
    expect(defaultOf('Color.GREEN', prelude)).toBeUndefined();
    expect(defaultOf('Color(3)', prelude)).toBeUndefined();
  });
});
