// HTTP/1.1 over node:http and node:https with keep-alive connections, behind the fetch signature
// that openapi-fetch and PrefectHttp use. Node's global fetch (undici) costs several times the
// memory and about twice the CPU per request (measured in BENCHMARKS.md, "The HTTP transport"); a
// large configuration sends thousands of requests, so that was the program's memory ceiling.
//
// What fetch does and this keeps: network failures reject with TypeError('fetch failed', { cause })
// (cause: the system error, e.g. ECONNREFUSED), an aborted signal rejects with the signal's reason,
// redirects are followed (at most 20; 303, and 301/302 after a POST, become a GET without body;
// credentials are not sent to another origin), gzip and deflate bodies are decoded, proxies from
// the environment are used only when NODE_USE_ENV_PROXY is set. What differs: the body is read
// whole before the promise resolves (every caller here reads it whole anyway).
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { createGunzip, createInflate, createBrotliDecompress } from 'node:zlib';
import type { Readable } from 'node:stream';

// Loaded with require(): an ES import of node:http builds its module namespace by reading every
// export, and one of them (WebSocket) loads all of undici, some 35 ms of every start.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof Http;
const https = require('node:https') as typeof Https;

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
/** Headers that carry credentials: never sent on to another origin after a redirect. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'prefect-csrf-token', 'prefect-csrf-client'];

export interface Transport {
  readonly fetch: (request: Request) => Promise<Response>;
  /** Closes the idle keep-alive connections. */
  close(): void;
}

interface Outgoing {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export function createNodeTransport(env: Record<string, string | undefined> = process.env): Transport {
  // Node >= 24.5 reads HTTP(S)_PROXY/NO_PROXY for an agent given proxyEnv, as fetch does under
  // NODE_USE_ENV_PROXY; older versions ignore the option.
  const proxyEnv = env.NODE_USE_ENV_PROXY && env.NODE_USE_ENV_PROXY !== '0' ? { proxyEnv: env } : {};
  const agents = {
    'http:': new http.Agent({ keepAlive: true, ...proxyEnv } as Http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, ...proxyEnv } as Https.AgentOptions),
  };

  async function send(request: Request): Promise<Response> {
    const signal = request.signal;
    signal.throwIfAborted();
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    let outgoing: Outgoing = {
      url: new URL(request.url),
      method: request.method,
      headers,
      body: request.body ? Buffer.from(await request.arrayBuffer()) : undefined,
    };
    for (let hops = 0; ; hops += 1) {
      const answer = await once(outgoing, signal);
      const location = answer.headers.location;
      if (!REDIRECT_STATUSES.has(answer.status) || typeof location !== 'string') return toResponse(answer);
      if (hops >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error(`more than ${MAX_REDIRECTS} redirects`) });
      outgoing = redirected(outgoing, answer.status, new URL(location, outgoing.url));
    }
  }

  function once(outgoing: Outgoing, signal: AbortSignal): Promise<Answer> {
    const agent = agents[outgoing.url.protocol as keyof typeof agents];
    if (!agent) return Promise.reject(new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${outgoing.url.protocol}`) }));
    const lib = outgoing.url.protocol === 'https:' ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, answer?: Answer): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (answer) resolve(answer);
        else reject(error);
      };
      const failed = (error: unknown): void => finish(new TypeError('fetch failed', { cause: error }));
      const onAbort = (): void => {
        finish(signal.reason);
        request.destroy();
      };
      const headers = { ...outgoing.headers };
      if (outgoing.body) headers['content-length'] = String(outgoing.body.length);
      const request = lib.request(outgoing.url, { method: outgoing.method, headers, agent }, (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let stream: Readable = response;
        const encoding = String(response.headers['content-encoding'] ?? '').trim().toLowerCase();
        const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
        // A connection cut in the middle of the body: Node reports "aborted" on the response, or
        // just closes it before it is complete.
        const cut = (): void => {
          if (!response.complete) failed(Object.assign(new Error('the connection closed in the middle of the answer'), { code: 'ECONNRESET' }));
        };
        response.on('error', (error) => (response.complete ? failed(error) : cut()));
        response.on('close', cut);
        if (decoder) {
          stream = response.pipe(decoder);
          stream.on('error', failed);
        }
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => finish(undefined, { status, statusText: response.statusMessage ?? '', headers: response.headers, body: Buffer.concat(chunks) }));
      });
      request.on('error', failed);
      signal.addEventListener('abort', onAbort, { once: true });
      request.end(outgoing.body);
    });
  }

  return {
    fetch: send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

interface Answer {
  status: number;
  statusText: string;
  headers: Http.IncomingHttpHeaders;
  body: Buffer;
}

function toResponse(answer: Answer): Response {
  if (answer.status < 200 || answer.status > 599) {
    throw new TypeError('fetch failed', { cause: new Error(`the server answered with status ${answer.status}`) });
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    // The body handed on is decoded: its encoding and length headers no longer describe it.
    if (name === 'content-encoding' || name === 'content-length') continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return new Response(NULL_BODY_STATUSES.has(answer.status) ? null : answer.body, { status: answer.status, statusText: answer.statusText, headers });
}

/** The request a redirect asks for, as fetch makes it. */
function redirected(previous: Outgoing, status: number, location: URL): Outgoing {
  const toGet = status === 303 ? previous.method !== 'HEAD' : (status === 301 || status === 302) && previous.method === 'POST';
  const headers = { ...previous.headers };
  if (toGet) {
    for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) delete headers[name];
  }
  if (location.origin !== previous.url.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name];
  return { url: location, method: toGet ? 'GET' : previous.method, headers, body: toGet ? undefined : previous.body };
}
