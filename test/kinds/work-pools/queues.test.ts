// Work pool queues are read for all declared pools at once, matched to their pool by id; when that
// read cannot be paged safely, the pools are read one by one.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { DesiredWorkPool } from '../../../src/config/types.js';
import { workPoolsKind } from '../../../src/kinds/work-pools/reconcile.js';
import { createApi } from '../../../src/prefect/client.js';

interface Queue {
  id: string;
  name: string;
  work_pool_id: string;
  work_pool_name: string;
  priority: number;
}

/** A server with `poolCount` pools named p0, p1, ...; each has a `default` queue and `extraQueues` more. */
function poolServer(poolCount: number, extraQueues: string[] = []) {
  const pools = Array.from({ length: poolCount }, (_, index) => ({ id: `id-${index}`, name: `p${index}`, type: 'docker' }));
  const queues: Queue[] = pools.flatMap((pool, index) =>
    ['default', ...extraQueues].map((name, q) => ({ id: `q-${index}-${q}`, name, work_pool_id: pool.id, work_pool_name: pool.name, priority: index + 1 })),
  );
  const sent: string[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname.replace(/^\/api/, '');
    const reply = (value: unknown) => new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json' } });
    // The client's CSRF probe before its first filter POST: this server has no CSRF protection.
    if (request.method === 'GET' && path === '/csrf-token') return new Response(JSON.stringify({ detail: 'CSRF protection is disabled.' }), { status: 422 });
    sent.push(`${request.method} ${path}`);
    const body = (await request.json()) as { limit: number; offset: number; work_pools?: { name: { any_: string[] } }; work_queues?: { name: { any_: string[] } } };
    if (path === '/work_pools/filter') return reply(pools.filter((pool) => body.work_pools!.name.any_.includes(pool.name)).slice(body.offset, body.offset + body.limit));
    if (path === '/work_queues/filter') {
      const names = body.work_queues!.name.any_;
      return reply(queues.filter((queue) => names.includes(queue.name)).slice(body.offset, body.offset + body.limit));
    }
    const perPool = /^\/work_pools\/([^/]+)\/queues\/filter$/.exec(path);
    if (perPool) return reply(queues.filter((queue) => queue.work_pool_name === perPool[1]).slice(body.offset, body.offset + body.limit));
    return new Response('{"detail":"Not Found"}', { status: 404 });
  };
  return { fetch, sent };
}

const pool = (name: string, queues: string[]): DesiredWorkPool => ({
  name,
  type: 'docker',
  queues: queues.map((queue) => ({ name: queue, priority: 1, source: { file: 'pools.toml' } })),
  source: { file: 'pools.toml' },
});

const apiOn = (fetch: (request: Request) => Promise<Response>) =>
  createApi({ apiUrl: 'http://x/api', requestTimeoutMs: 1000, retries: 0, logger: pino({ level: 'silent' }), fetch });

describe('work pool queues read', () => {
  it('reads the declared queues of all pools with one request and gives each pool its own queue', async () => {
    const server = poolServer(30, ['slow']);
    const current = await workPoolsKind.read(apiOn(server.fetch), [pool('p1', ['default']), pool('p7', ['default', 'slow']), pool('missing', ['default'])]);
    expect(server.sent).toEqual(['POST /work_pools/filter', 'POST /work_queues/filter']);
    expect([...current.keys()].sort()).toEqual(['p1', 'p7']);
    // Thirty pools have a `default` queue: each declared pool gets the one with its own id.
    expect(current.get('p1')!.queues.get('default')).toMatchObject({ id: 'q-1-0', priority: 2 });
    expect(current.get('p7')!.queues.get('default')).toMatchObject({ id: 'q-7-0', priority: 8 });
    expect(current.get('p7')!.queues.get('slow')).toMatchObject({ id: 'q-7-1' });
    for (const [name, entry] of current) {
      for (const queue of entry.queues.values()) expect(queue.work_pool_id, `${name}'s queue ${queue.name}`).toBe(entry.pool.id);
    }
  });

  it('sends no queue read when no existing pool declares queues', async () => {
    const server = poolServer(3);
    const current = await workPoolsKind.read(apiOn(server.fetch), [pool('p0', []), pool('p1', [])]);
    expect(server.sent).toEqual(['POST /work_pools/filter']);
    expect(current.get('p0')!.queues.size).toBe(0);
  });

  it('falls back to one read per pool when the queues of those names fill a page', async () => {
    // 250 pools with a `default` queue: the name filter matches more than one page.
    const server = poolServer(250);
    const current = await workPoolsKind.read(apiOn(server.fetch), [pool('p3', ['default']), pool('p200', ['default'])]);
    expect(server.sent).toEqual([
      'POST /work_pools/filter',
      'POST /work_queues/filter',
      'POST /work_pools/p3/queues/filter',
      'POST /work_pools/p200/queues/filter',
    ]);
    expect(current.get('p3')!.queues.get('default')).toMatchObject({ id: 'q-3-0' });
    expect(current.get('p200')!.queues.get('default')).toMatchObject({ id: 'q-200-0' });
  });
});
