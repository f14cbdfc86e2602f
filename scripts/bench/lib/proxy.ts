// A counting HTTP proxy on 127.0.0.1: every tool under test is pointed at it instead of the
// Prefect server, and it forwards each request unchanged to the server (also on 127.0.0.1),
// counting requests by method and route and noting when each arrived. Reads and writes are told
// apart exactly as openem-config's request log does (src/prefect/http.ts `isWrite`): any method
// but GET/HEAD/OPTIONS is a write, except Prefect's read-only POST routes (…/filter, /count, /paginate).
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isWrite } from '../../../src/prefect/http.js';

export interface RouteCount {
  method: string;
  route: string;
  write: boolean;
  count: number;
}

export interface Counts {
  reads: number;
  writes: number;
  routes: RouteCount[];
  /** performance.now() when the first and the last request arrived. */
  firstAt?: number;
  lastAt?: number;
}

export interface CountingProxy {
  /** PREFECT_API_URL that goes through the proxy. */
  apiUrl: string;
  /** The counts since the last take, then starts a new count. */
  take(): Counts;
  stop(): Promise<void>;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A path with names and ids replaced by placeholders, so that counts group by route. */
export function routeOf(path: string): string {
  let route = path.replace(/\?.*$/, '').replace(UUID, '{id}');
  route = route
    .replace(/^\/variables\/name\/[^/]+/, '/variables/name/{name}')
    .replace(/^\/block_types\/slug\/[^/]+\/block_documents\/name\/[^/]+/, '/block_types/slug/{slug}/block_documents/name/{name}')
    .replace(/^\/block_types\/slug\/[^/]+$/, '/block_types/slug/{slug}')
    .replace(/^\/concurrency_limits\/tag\/[^/]+/, '/concurrency_limits/tag/{tag}')
    .replace(/^\/v2\/concurrency_limits\/(?!filter$)[^/]+$/, '/v2/concurrency_limits/{name}')
    .replace(/^\/flows\/name\/[^/]+$/, '/flows/name/{name}')
    .replace(/^\/deployments\/name\/[^/]+\/[^/]+$/, '/deployments/name/{flow}/{name}')
    .replace(/^\/block_schemas\/checksum\/[^/]+$/, '/block_schemas/checksum/{checksum}')
    .replace(/^\/work_pools\/(?!filter$)[^/]+\/workers\/filter$/, '/work_pools/{pool}/workers/filter')
    .replace(/^\/work_pools\/(?!filter$)[^/]+\/queues\/(?!filter$)[^/]+$/, '/work_pools/{pool}/queues/{name}')
    .replace(/^\/work_pools\/(?!filter$)[^/]+\/queues(\/filter)?$/, '/work_pools/{pool}/queues$1')
    .replace(/^\/work_pools\/(?!filter$)[^/]+$/, '/work_pools/{name}');
  return route;
}

export async function startCountingProxy(targetApiUrl: string): Promise<CountingProxy> {
  const target = new URL(targetApiUrl);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') {
    throw new Error(`the counting proxy forwards only to the loopback interface, not ${target.hostname}`);
  }
  const basePath = target.pathname.replace(/\/+$/, '');
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let counts = new Map<string, RouteCount>();
  let firstAt: number | undefined;
  let lastAt: number | undefined;

  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const now = performance.now();
    firstAt ??= now;
    lastAt = now;
    const rawPath = incoming.url ?? '/';
    const apiPath = rawPath.startsWith(basePath) ? rawPath.slice(basePath.length) || '/' : rawPath;
    const method = (incoming.method ?? 'GET').toUpperCase();
    const route = routeOf(apiPath);
    const key = `${method} ${route}`;
    const entry = counts.get(key) ?? { method, route, write: isWrite(method, route), count: 0 };
    entry.count += 1;
    counts.set(key, entry);

    const headers = { ...incoming.headers, host: target.host };
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method, path: rawPath, headers, agent },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on('error', (error) => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
      outgoing.end(`counting proxy: ${error.message}`);
    });
    incoming.pipe(upstream);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}${basePath}`,
    take(): Counts {
      const routes = [...counts.values()].sort((a, b) => b.count - a.count || a.route.localeCompare(b.route));
      const taken: Counts = {
        reads: routes.filter((r) => !r.write).reduce((sum, r) => sum + r.count, 0),
        writes: routes.filter((r) => r.write).reduce((sum, r) => sum + r.count, 0),
        routes,
      };
      if (firstAt !== undefined) taken.firstAt = firstAt;
      if (lastAt !== undefined) taken.lastAt = lastAt;
      counts = new Map();
      firstAt = undefined;
      lastAt = undefined;
      return taken;
    },
    async stop(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      agent.destroy();
    },
  };
}
