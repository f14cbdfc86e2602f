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
import zlib from 'node:zlib';

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

export function createNodeTransport(env: Record<string, string | undefined> = process.env, execArgv: readonly string[] = process.execArgv): Transport {
  // Node >= 24.5 reads HTTP(S)_PROXY/NO_PROXY for an agent given proxyEnv, as fetch does under
  // NODE_USE_ENV_PROXY; older versions ignore the option.
  // The opt-in is NODE_USE_ENV_PROXY=1 or --use-env-proxy (on the command line or in NODE_OPTIONS).
  const optedIn =
    (env.NODE_USE_ENV_PROXY !== undefined && env.NODE_USE_ENV_PROXY !== '' && env.NODE_USE_ENV_PROXY !== '0') ||
    execArgv.includes('--use-env-proxy') ||
    /(^|\s)--use-env-proxy(\s|$)/.test(env.NODE_OPTIONS ?? '');
  const proxyEnv = optedIn ? { proxyEnv: env } : {};
  const agents = {
    // An idle connection is closed after 4 s, before the server's keep-alive timeout (uvicorn: 5 s)
    // can close it under a request that was just sent on it.
    'http:': new http.Agent({ keepAlive: true, timeout: 4000, ...proxyEnv } as Http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, timeout: 4000, ...proxyEnv } as Https.AgentOptions),
  };

  async function send(request: Request): Promise<Response> {
    const signal = request.signal;
    signal.throwIfAborted();
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    headers['user-agent'] ??= 'openem-config';
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
    if (signal.aborted) return Promise.reject(signal.reason);
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
        request?.destroy();
      };
      const headers = { ...outgoing.headers };
      if (outgoing.body) headers['content-length'] = String(outgoing.body.length);
      let request: Http.ClientRequest;
      try {
        request = lib.request(outgoing.url, { method: outgoing.method, headers, agent }, (response) => {
          const chunks: Buffer[] = [];
          // A connection cut in the middle of the body: Node reports "aborted" on the response, or
          // just closes it before it is complete.
          const cut = (): void => {
            if (!response.complete) failed(Object.assign(new Error('the connection closed in the middle of the answer'), { code: 'ECONNRESET' }));
          };
          response.on('error', (error) => (response.complete ? failed(error) : cut()));
          response.on('close', cut);
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            try {
              finish(undefined, decoded(outgoing.method, response, Buffer.concat(chunks)));
            } catch (error) {
              failed(error);
            }
          });
        });
      } catch (error) {
        // An invalid header value or the like, refused before anything is sent.
        failed(error);
        return;
      }
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

/** Decompressed bodies larger than this are refused: no Prefect answer comes near it. */
const MAX_DECODED_BYTES = 256 * 1024 * 1024;

/**
 * The answer with its body decoded from the content-encoding, as fetch does: not for HEAD, for
 * statuses without a body or for an empty body; a truncated gzip or deflate stream gives what it
 * holds; deflate with or without its zlib header. An encoding it does not know stays as it came.
 */
function decoded(method: string, response: Http.IncomingMessage, raw: Buffer): Answer {
  const status = response.statusCode ?? 0;
  const headers = { ...response.headers };
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  let body = raw;
  const decode = raw.length > 0 && method !== 'HEAD' && !NULL_BODY_STATUSES.has(status) && !REDIRECT_STATUSES.has(status);
  if (decode && ['gzip', 'x-gzip', 'deflate', 'br'].includes(encoding)) {
    const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_DECODED_BYTES };
    if (encoding === 'br') body = zlib.brotliDecompressSync(raw, { maxOutputLength: MAX_DECODED_BYTES });
    else if (encoding === 'deflate') body = (raw[0]! & 0x0f) === 0x08 ? zlib.inflateSync(raw, options) : zlib.inflateRawSync(raw, options);
    else body = zlib.gunzipSync(raw, options);
    // The body handed on is decoded: its encoding and length headers no longer describe it.
    delete headers['content-encoding'];
    delete headers['content-length'];
  }
  return { status, statusText: response.statusMessage ?? '', headers, body };
}

function toResponse(answer: Answer): Response {
  if (answer.status < 200 || answer.status > 599) {
    throw new TypeError('fetch failed', { cause: new Error(`the server answered with status ${answer.status}`) });
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
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
