// The driver and the report without HTTP: a kind made of plain functions over an in-memory map.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { applyPlan, planKinds, summarize, type KindInput } from '../../src/reconcile/driver.js';
import { jsonEqual, sameTags, chunks } from '../../src/reconcile/json.js';
import type { Kind } from '../../src/reconcile/types.js';
import { renderPlan, renderResults, renderStopped, stopCounts } from '../../src/report.js';
import { ConnectionError, InterruptedError } from '../../src/errors.js';
import type { Api } from '../../src/prefect/client.js';

const logger = pino({ level: 'silent' });
const api = {} as Api;

interface Item {
  name: string;
  value: number;
}

function memoryKind(server: Map<string, number>, options: { failOn?: string; readError?: string } = {}) {
  let inFlight = 0;
  let maxInFlight = 0;
  const kind: Kind<Item, number> = {
    name: 'thing',
    key: (item) => item.name,
    async read() {
      if (options.readError) throw new Error(options.readError);
      return new Map(server);
    },
    diff(desired, current) {
      if (current === undefined) return { action: 'create', changes: [{ field: 'value', to: desired.value }] };
      if (current === desired.value) return { action: 'noop', changes: [] };
      return { action: 'update', changes: [{ field: 'value', from: current, to: desired.value }] };
    },
    async apply(_api, item, desired) {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((done) => setTimeout(done, 2));
      inFlight -= 1;
      if (item.key === options.failOn) throw new Error('server said no');
      server.set(desired.name, desired.value);
    },
  };
  return { kind, maxInFlight: () => maxInFlight };
}

const desired: Item[] = [
  { name: 'a', value: 1 },
  { name: 'b', value: 2 },
  { name: 'c', value: 3 },
  { name: 'd', value: 4 },
];

describe('planKinds and applyPlan', () => {
  it('plans create, update and noop, and a second pass plans only noop', async () => {
    const server = new Map([
      ['a', 1],
      ['b', 20],
    ]);
    const { kind } = memoryKind(server);
    const inputs = [{ kind, desired } as KindInput];
    const plan = await planKinds(api, inputs, logger);
    expect(plan.kinds[0]!.items.map((i) => [i.key, i.action])).toEqual([
      ['a', 'noop'],
      ['b', 'update'],
      ['c', 'create'],
      ['d', 'create'],
    ]);
    const results = await applyPlan(api, plan, { concurrency: 2, logger });
    expect(results.map((r) => r.outcome)).toEqual(['unchanged', 'updated', 'created', 'created']);
    const again = await planKinds(api, inputs, logger);
    expect(again.kinds[0]!.items.every((i) => i.action === 'noop')).toBe(true);
  });

  it('keeps going after a failure and reports it per object', async () => {
    const server = new Map<string, number>();
    const { kind } = memoryKind(server, { failOn: 'b' });
    const plan = await planKinds(api, [{ kind, desired } as KindInput], logger);
    const results = await applyPlan(api, plan, { concurrency: 1, logger });
    expect(results.find((r) => r.key === 'b')).toMatchObject({ outcome: 'failed', error: 'server said no' });
    expect([...server.keys()].sort()).toEqual(['a', 'c', 'd']);
    expect(summarize(results).get('thing')).toEqual({ created: 3, updated: 0, deleted: 0, unchanged: 0, failed: 1 });
    expect(renderResults(results, summarize(results), plan.kinds)).toContain('! thing b: server said no');
  });

  it('never has more writes in flight than the concurrency allows', async () => {
    const { kind, maxInFlight } = memoryKind(new Map());
    const many = Array.from({ length: 20 }, (_, index) => ({ name: `n${index}`, value: index }));
    const plan = await planKinds(api, [{ kind, desired: many } as KindInput], logger);
    const progress: number[] = [];
    await applyPlan(api, plan, { concurrency: 3, logger, onProgress: (done) => progress.push(done) });
    expect(maxInFlight()).toBe(3);
    expect(progress).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
  });

  it('records a kind whose state cannot be read, and plans nothing for it', async () => {
    const { kind } = memoryKind(new Map(), { readError: 'filter answered 500' });
    const plan = await planKinds(api, [{ kind, desired } as KindInput], logger);
    expect(plan.kinds[0]).toMatchObject({ name: 'thing', items: [], error: 'filter answered 500' });
    expect(renderPlan(plan.kinds)).toContain('! things could not be read: filter answered 500');
  });
});

describe('a run that stops', () => {
  const reasons: Array<[string, unknown, string]> = [
    ['refused credentials', new ConnectionError('unauthorized', 'refused'), 'not done: the run stopped when the server refused the credentials'],
    ['a server gone', new ConnectionError('unreachable', 'gone'), 'not done: the run stopped when the server stopped answering'],
    ['SIGTERM', new InterruptedError('SIGTERM'), 'not done: the run was stopped by SIGTERM'],
  ];
  for (const [name, reason, message] of reasons) {
    it(`starts no object after ${name}, and lists each one not done`, async () => {
      const stop = new AbortController();
      const server = new Map<string, number>();
      const { kind } = memoryKind(server);
      const stopping: Kind<Item, number> = {
        ...kind,
        async apply(api, item, desired, current) {
          await kind.apply(api, item, desired, current);
          if (item.key === 'b') stop.abort(reason);
        },
      };
      const plan = await planKinds(api, [{ kind: stopping, desired } as KindInput], logger);
      const results = await applyPlan(api, plan, { concurrency: 1, logger, stop: stop.signal });
      expect(results.map((r) => [r.key, r.outcome, r.error, r.notDone])).toEqual([
        ['a', 'created', undefined, undefined],
        ['b', 'created', undefined, undefined],
        ['c', 'failed', message, true],
        ['d', 'failed', message, true],
      ]);
      expect([...server.keys()]).toEqual(['a', 'b']);
      expect(stopCounts(results)).toEqual({ applied: 2, failed: 0, notDone: 2 });
      const text = renderResults(results, summarize(results), plan.kinds);
      expect(text).toContain('things: 2 created, 0 updated, 0 unchanged, 2 failed (2 not done)');
      expect(renderStopped(results)).toBe('Stopped before the end: 2 applied, 0 failed, 2 not done.\n');
    });
  }

  it('says an object cut by an interrupt was not finished', async () => {
    const { kind } = memoryKind(new Map());
    const cut: Kind<Item, number> = {
      ...kind,
      async apply() {
        throw new InterruptedError('SIGINT');
      },
    };
    const plan = await planKinds(api, [{ kind: cut, desired: desired.slice(0, 1) } as KindInput], logger);
    const [result] = await applyPlan(api, plan, { concurrency: 1, logger });
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/^interrupted by SIGINT before this object was finished/) });
    expect(result!.notDone).toBeUndefined();
  });
});

describe('an object created meanwhile by another run', () => {
  it('is reported as found (unchanged or updated, with a note), not as created by this run', async () => {
    const { kind } = memoryKind(new Map());
    const found: Kind<Item, number> = {
      ...kind,
      async apply(_api, item) {
        if (item.key === 'a') return 'found-unchanged';
        if (item.key === 'b') return 'found-updated';
        return undefined;
      },
    };
    const plan = await planKinds(api, [{ kind: found, desired: desired.slice(0, 3) } as KindInput], logger);
    const results = await applyPlan(api, plan, { concurrency: 1, logger });
    expect(results.map((r) => [r.key, r.action, r.outcome, r.note])).toEqual([
      ['a', 'create', 'unchanged', 'created meanwhile by someone else (another run?); found as declared'],
      ['b', 'create', 'updated', 'created meanwhile by someone else (another run?); found and updated to the declared state'],
      ['c', 'create', 'created', undefined],
    ]);
    expect(summarize(results).get('thing')).toEqual({ created: 1, updated: 1, deleted: 0, unchanged: 1, failed: 0 });
    expect(renderResults(results, summarize(results), plan.kinds)).toBe(
      [
        '= thing a: created meanwhile by someone else (another run?); found as declared',
        '~ thing b: created meanwhile by someone else (another run?); found and updated to the declared state',
        '+ thing c: value = 3',
        'things: 1 created, 1 updated, 1 unchanged, 0 failed',
        '',
      ].join('\n'),
    );
  });
});

describe('renderPlan', () => {
  it('prints one line per change, hides secrets, and counts', () => {
    const text = renderPlan([
      {
        name: 'variable',
        items: [
          { kind: 'variable', key: 'x', action: 'update', changes: [{ field: 'value', from: 'old', to: 'new' }] },
          { kind: 'variable', key: 'y', action: 'noop', changes: [] },
        ],
      },
      {
        name: 'secret',
        items: [{ kind: 'secret', key: 's3-user', action: 'create', changes: [{ field: 'value', secret: true }] }],
      },
    ]);
    expect(text).toBe(
      '~ variable x: value: "old" -> "new"\n+ secret s3-user: value (hidden)\nPlan: 1 to create, 1 to update, 1 unchanged.\n',
    );
  });
});

describe('json helpers', () => {
  it('compares JSON values regardless of key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual(1, '1')).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });

  it('compares tags as sets and chunks lists', () => {
    expect(sameTags(['b', 'a'], ['a', 'b'])).toBe(true);
    expect(sameTags(['a'], ['a', 'b'])).toBe(false);
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
