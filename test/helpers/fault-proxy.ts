// A loopback HTTP(S) proxy in front of a real Prefect server that injects faults on chosen requests:
// statuses the server would not send on demand (502, 503, 504, 500, 401), connections reset after
// the server has applied a write, responses slower than the client's timeout, rewritten bodies.
// Requests no rule matches pass through unchanged. Every request is recorded with what happened to it.
import { request as httpRequest, createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** What happens to a matched request. */
export type Fault =
  /** Answered by the proxy; the server never sees the request. A function body is made from the request (to echo it). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  /** The connection is closed before the request is forwarded: the server never sees it. */
  | { kind: 'reset-before-forward' }
  /** Forwarded and answered by the server (a write is applied), then the connection is closed before any byte of the answer. */
  | { kind: 'reset-after-apply' }
  /** Forwarded and answered; the status line, the headers and half of the body are sent, then the connection is closed. */
  | { kind: 'reset-mid-body' }
  /** Forwarded at once (a write is applied), the answer is held back this long. */
  | { kind: 'delay'; ms: number }
  /** Forwarded; the server's answer body (as text) is rewritten. */
  | { kind: 'rewrite'; body: (text: string) => string };

export interface FaultRule {
  /** Upper-case method; any when absent. */
  method?: string;
  /** Path below /api without the query: exact when a string, tested when a RegExp. */
  path?: string | RegExp;
  /** Tested against the request body. */
  body?: RegExp;
  /** Matching requests to let through untouched before the fault applies. */
  skip?: number;
  /** How many matching requests get the fault (after `skip`); 1 when absent. */
  times?: number;
  fault: Fault;
}

export interface ProxiedRequest {
  method: string;
  /** Path below /api, without the query. */
  path: string;
  /** The query string, with its `?`, or ''. */
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
  /** The server's status, when the request reached it. */
  upstreamStatus?: number;
  /** The status the client was sent, when it got one. */
  clientStatus?: number;
}

export interface FaultProxy {
  /** The API URL through the proxy: http(s)://127.0.0.1:<port>/api */
  apiUrl: string;
  port: number;
  /** Every request the proxy received, in arrival order. */
  requests: ProxiedRequest[];
  /** Adds rules; earlier rules win when several match. */
  inject(...rules: FaultRule[]): void;
  /** Removes every rule and forgets the recorded requests. */
  reset(): void;
  /** Starts listening when created with `listen: false`. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The real server's API URL, e.g. http://127.0.0.1:4200/api */
  target: string;
  /** A fixed port; a free one when absent. */
  port?: number;
  /** false: reserve nothing and listen only when `listen()` is called (a server that comes up late). */
  listen?: boolean;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

interface ActiveRule extends FaultRule {
  seen: number;
  applied: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.hostname !== '127.0.0.1' || target.protocol !== 'http:') throw new Error(`the fault proxy only forwards to http://127.0.0.1, not ${options.target}`);
  const basePath = target.pathname.replace(/\/+$/, '');
  let rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const choose = (entry: ProxiedRequest): Fault | undefined => {
    for (const rule of rules) {
      if (rule.method && rule.method !== entry.method) continue;
      if (typeof rule.path === 'string' && rule.path !== entry.path) continue;
      if (rule.path instanceof RegExp && !rule.path.test(entry.path)) continue;
      if (rule.body && !rule.body.test(entry.body)) continue;
      rule.seen += 1;
      if (rule.seen <= (rule.skip ?? 0)) continue;
      if (rule.applied >= (rule.times ?? 1)) continue;
      rule.applied += 1;
      return rule.fault;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const path = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) || '/' : url.pathname;
    const entry: ProxiedRequest = { method: req.method ?? 'GET', path, query: url.search, headers: req.headers, body: body.toString('utf8') };
    requests.push(entry);
    const fault = choose(entry);
    entry.fault = fault?.kind;

    if (fault?.kind === 'status') {
      const made: unknown = typeof fault.body === 'function' ? (fault.body as (request: ProxiedRequest) => unknown)(entry) : fault.body;
      const payload = made === undefined ? '' : typeof made === 'string' ? made : JSON.stringify(made);
      entry.clientStatus = fault.status;
      res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...fault.headers });
      res.end(payload);
      return;
    }
    if (fault?.kind === 'reset-before-forward') {
      req.socket.destroy();
      return;
    }

    const upstream = await forward(target, { method: entry.method, path: `${url.pathname}${url.search}`, headers: req.headers, body });
    entry.upstreamStatus = upstream.status;
    let answer = upstream.body;
    if (fault?.kind === 'rewrite') answer = Buffer.from(fault.body(answer.toString('utf8')));
    const responseHeaders: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'content-length') responseHeaders[name] = value;
    }
    responseHeaders['content-length'] = String(answer.length);

    if (fault?.kind === 'reset-after-apply') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'reset-mid-body') {
      entry.clientStatus = upstream.status;
      res.writeHead(upstream.status, responseHeaders);
      res.write(answer.subarray(0, Math.max(1, Math.floor(answer.length / 2))));
      // Let the partial answer leave before the socket goes.
      await new Promise((done) => setTimeout(done, 20));
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') {
      await new Promise<void>((done) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          done();
        }, fault.ms);
        timers.add(timer);
      });
      if (res.destroyed || req.socket.destroyed) return;
    }
    entry.clientStatus = upstream.status;
    res.writeHead(upstream.status, responseHeaders);
    res.end(answer);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) {
        req.socket.destroy();
        return;
      }
      // The server itself was unreachable: answer as a gateway would.
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: ${error instanceof Error ? error.message : String(error)}`);
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) : createHttpServer(onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A TLS handshake the client aborts (it does not trust the certificate) is expected, not an error.
  server.on('tlsClientError', () => {});

  const port = options.port ?? 0;
  let listening = false;
  const listen = async (): Promise<void> => {
    if (listening) return;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', fail);
        done();
      });
    });
    listening = true;
  };
  if (options.listen !== false) await listen();
  const actualPort = listening ? (server.address() as AddressInfo).port : port;
  if (actualPort === 0) throw new Error('a proxy that listens later needs a fixed port');
  const scheme = options.tls ? 'https' : 'http';

  return {
    apiUrl: `${scheme}://127.0.0.1:${actualPort}${basePath}`,
    port: actualPort,
    requests,
    inject(...added) {
      rules.push(...added.map((rule) => ({ ...rule, seen: 0, applied: 0 })));
    },
    reset() {
      rules = [];
      requests.length = 0;
    },
    listen,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (!listening) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
      listening = false;
    },
  };
}

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one request to the real server on a fresh connection and reads the whole answer. */
function forward(target: URL, request: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer }): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    headers.host = target.host;
    headers['content-length'] = String(request.body.length);
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, method: request.method, path: request.path, headers, agent: false, timeout: 120_000 },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 502, headers: incoming.headers, body: Buffer.concat(chunks) }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('the server did not answer within 120 s')));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}
