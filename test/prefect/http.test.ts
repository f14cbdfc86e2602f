import { describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { ApiError, ConnectionError, InterruptedError } from '../../src/errors.js';
import { createApi, describeErrorBody, unwrap, unwrapOptional } from '../../src/prefect/client.js';
import { isWrite, parseRetryAfter, PrefectHttp, responseOrigins } from '../../src/prefect/http.js';

function capture() {
  let text = '';
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _e, done) {
        text += chunk.toString();
        done();
      },
    }),
  );
  return { logger, text: () => text };
}

/** A scripted server: each call takes the next answer; records what was sent. */
function scripted(answers: Array<Response | Error | (() => Promise<Response>)>) {
  const seen: Array<{ method: string; url: string; headers: Headers; body: string }> = [];
  const fetch = async (request: Request): Promise<Response> => {
    seen.push({ method: request.method, url: request.url, headers: request.headers, body: request.body ? await request.text() : '' });
    const next = answers.shift();
    if (!next) throw new Error('unexpected request');
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return next();
    return next;
  };
  return { fetch, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** What a server without CSRF protection answers to GET /csrf-token. */
const csrfOff = () => json(422, { detail: 'CSRF protection is disabled.' });

const base = { apiUrl: 'http://prefect.test/api', requestTimeoutMs: 1000, retries: 3, retryMinDelayMs: 1 };

describe('isWrite', () => {
  it('treats filter, count and paginate POSTs as reads', () => {
    expect(isWrite('POST', '/variables/filter')).toBe(false);
    expect(isWrite('POST', '/variables/count')).toBe(false);
    expect(isWrite('POST', '/deployments/paginate')).toBe(false);
    expect(isWrite('GET', '/variables/name/x')).toBe(false);
    expect(isWrite('POST', '/variables/')).toBe(true);
    expect(isWrite('PATCH', '/variables/name/x')).toBe(true);
    expect(isWrite('DELETE', '/block_documents/1')).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and caps hostile values', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 5000)).toBe(5000);
    expect(parseRetryAfter('999999')).toBe(120_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('PrefectHttp', () => {
  it('retries 503 and honours Retry-After, logging each retry at warn', async () => {
    const { logger, text } = capture();
    const server = scripted([csrfOff(), json(503, {}, { 'retry-after': '0.05' }), json(502, {}), json(200, [])]);
    const api = createApi({ ...base, logger, fetch: server.fetch });
    const data = await unwrap(api.client.POST('/variables/filter', { body: { limit: 1, offset: 0, sort: 'NAME_ASC' } }));
    expect(data).toEqual([]);
    expect(server.seen).toHaveLength(4);
    // The server's Retry-After is the wait the retry announces.
    expect(text()).toContain('"retryAfterMs":50');
    expect(text()).toContain('"event":"http.retry"');
    expect(text()).toContain('"level":40');
    expect(server.seen.slice(1).every((s) => s.body === server.seen[1]!.body)).toBe(true);
  });

  it('retries network errors and gives up with a ConnectionError', async () => {
    const { logger } = capture();
    const reset = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET', message: 'socket hang up' } });
    const server = scripted([reset, reset, reset, reset]);
    const api = createApi({ ...base, logger, fetch: server.fetch });
    await expect(unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'x' } } }))).rejects.toThrow(ConnectionError);
    expect(server.seen).toHaveLength(4);
  });

  it('never retries other 4xx and reports the server detail', async () => {
    const { logger } = capture();
    const server = scripted([
      json(404, { detail: 'Not Found' }),
      json(422, {
        exception_message: 'Invalid request received.',
        exception_detail: [{ loc: ['body', 'name'], msg: 'String should match pattern', input: 'SECRET-INPUT' }],
        request_body: { value: 'SECRET-BODY' },
      }),
    ]);
    const api = createApi({ ...base, logger, fetch: server.fetch });
    const error = await unwrap(api.client.POST('/variables/', { body: { name: 'X', value: 1 } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    expect((error as ApiError).message).toBe(
      'POST /variables/ answered 422: Invalid request received.; body.name: String should match pattern',
    );
    expect((error as ApiError).message).not.toContain('SECRET');
    expect(server.seen).toHaveLength(2);
  });

  it('turns a 404 on a read into undefined', async () => {
    const { logger } = capture();
    const server = scripted([json(404, { detail: 'Variable not found.' })]);
    const api = createApi({ ...base, logger, fetch: server.fetch });
    expect(await unwrapOptional(api.client.GET('/variables/name/{name}', { params: { path: { name: 'x' } } }))).toBeUndefined();
  });

  it('times out a slow response and retries it', async () => {
    const { logger } = capture();
    const server = scripted([
      csrfOff(),
      async () => {
        await new Promise((done) => setTimeout(done, 200));
        return json(200, []);
      },
      json(200, ['ok']),
    ]);
    const api = createApi({ ...base, requestTimeoutMs: 50, logger, fetch: (request) => {
      // The first answer comes after the timeout; AbortSignal must cut it short.
      return Promise.race([server.fetch(request), new Promise<Response>((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)))]);
    } });
    expect(await unwrap(api.client.POST('/variables/filter', { body: { offset: 0, sort: 'NAME_ASC' } }))).toEqual(['ok']);
  });

  it('sends basic auth and bearer credentials', async () => {
    const { logger } = capture();
    const basic = scripted([csrfOff(), json(200, [])]);
    await unwrap(createApi({ ...base, authString: 'u:p', logger, fetch: basic.fetch }).client.POST('/variables/filter', { body: { offset: 0, sort: 'NAME_ASC' } }));
    expect(basic.seen[1]!.headers.get('authorization')).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    const bearer = scripted([csrfOff(), json(200, [])]);
    await unwrap(createApi({ ...base, apiKey: 'pnu_key', logger, fetch: bearer.fetch }).client.POST('/variables/filter', { body: { offset: 0, sort: 'NAME_ASC' } }));
    expect(bearer.seen[1]!.headers.get('authorization')).toBe('Bearer pnu_key');
  });

  it('fetches a CSRF token before the first write, and a new one when it is rejected', async () => {
    const { logger } = capture();
    const token = (t: string) => json(200, { token: t, client: 'c', expiration: new Date(Date.now() + 3600_000).toISOString() });
    const server = scripted([
      token('t1'),
      json(201, { name: 'a' }),
      json(403, { detail: 'Invalid CSRF token or client identifier.' }),
      token('t2'),
      json(201, { name: 'b' }),
    ]);
    const api = createApi({ ...base, logger, fetch: server.fetch });
    await unwrap(api.client.POST('/variables/', { body: { name: 'a', value: 1 } }));
    await unwrap(api.client.POST('/variables/', { body: { name: 'b', value: 1 } }));
    expect(server.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([
      'GET /api/csrf-token',
      'POST /api/variables/',
      'POST /api/variables/',
      'GET /api/csrf-token',
      'POST /api/variables/',
    ]);
    expect(server.seen[1]!.headers.get('prefect-csrf-token')).toBe('t1');
    expect(server.seen[4]!.headers.get('prefect-csrf-token')).toBe('t2');
  });

  it('fetches a new CSRF token and sends the request again even with --retries 0', async () => {
    const { logger, text } = capture();
    const token = (t: string) => json(200, { token: t, client: 'c', expiration: new Date(Date.now() + 3600_000).toISOString() });
    const server = scripted([token('t1'), json(403, { detail: 'Invalid CSRF token or client identifier.' }), token('t2'), json(201, { name: 'a' })]);
    const api = createApi({ ...base, retries: 0, logger, fetch: server.fetch });
    expect(await unwrap(api.client.POST('/variables/', { body: { name: 'a', value: 1 } }))).toEqual({ name: 'a' });
    expect(server.seen.map((s) => `${s.method} ${new URL(s.url).pathname} ${s.headers.get('prefect-csrf-token') ?? '-'}`)).toEqual([
      'GET /api/csrf-token -',
      'POST /api/variables/ t1',
      'GET /api/csrf-token -',
      'POST /api/variables/ t2',
    ]);
    expect(server.seen[3]!.body).toBe(server.seen[1]!.body);
    expect(text()).toContain('CSRF token rejected; fetching a new one');
  });

  it('fetches a new CSRF token once per request: a second rejection is the answer, not refused credentials', async () => {
    const { logger } = capture();
    const token = (t: string) => json(200, { token: t, client: 'c', expiration: new Date(Date.now() + 3600_000).toISOString() });
    const rejected = () => json(403, { detail: 'Invalid CSRF token or client identifier.' });
    const server = scripted([json(200, true), json(200, { message: 'OK' }), json(200, '3.7.2'), token('t1'), rejected(), token('t2'), rejected()]);
    const api = createApi({ ...base, authString: 'u:p', logger, fetch: server.fetch });
    await api.http.waitUntilReady(1000, 5);
    const error = await unwrap(api.client.POST('/variables/', { body: { name: 'a', value: 1 } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect(server.seen).toHaveLength(7);
    expect(api.http.stopped.aborted).toBe(false);
  });

  it('treats a 422 from /csrf-token as protection off and asks only once', async () => {
    const { logger } = capture();
    const server = scripted([json(422, { detail: 'CSRF protection is disabled.' }), json(201, {}), json(201, {})]);
    const api = createApi({ ...base, logger, fetch: server.fetch });
    await unwrap(api.client.POST('/variables/', { body: { name: 'a', value: 1 } }));
    await unwrap(api.client.POST('/variables/', { body: { name: 'b', value: 1 } }));
    expect(server.seen).toHaveLength(3);
    expect(server.seen[1]!.headers.get('prefect-csrf-token')).toBeNull();
  });

  it('waits for /health and /ready, then checks credentials', async () => {
    const { logger } = capture();
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const server = scripted([refused, json(200, true), json(503, { message: 'Database is not available' }), json(200, { message: 'OK' }), json(200, '3.7.2')]);
    const http = new PrefectHttp({ ...base, logger, fetch: server.fetch });
    expect(await http.waitUntilReady(5000, 5)).toBe('3.7.2');
  });

  it('names the URL and the last answer when the server never becomes ready', async () => {
    const { logger } = capture();
    const server = { fetch: async () => json(503, { message: 'Database is not available' }) };
    const http = new PrefectHttp({ ...base, logger, fetch: server.fetch });
    const error = await http.waitUntilReady(50, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('not-ready');
    expect((error as Error).message).toContain('http://prefect.test/api');
    expect((error as Error).message).toContain('Database is not available');
  });

  it('reports refused credentials as unauthorized', async () => {
    const { logger } = capture();
    const server = scripted([json(200, true), json(200, { message: 'OK' }), json(401, { exception_message: 'Unauthorized' })]);
    const http = new PrefectHttp({ ...base, authString: 'u:wrong', logger, fetch: server.fetch });
    const error = await http.waitUntilReady(1000, 5).catch((e: unknown) => e);
    expect((error as ConnectionError).reason).toBe('unauthorized');
    expect((error as Error).message).toBe(
      'http://prefect.test/api answered 401: the credentials were refused: check PREFECT_API_AUTH_STRING (user:password) or PREFECT_API_KEY',
    );
    expect((error as Error).message).not.toContain('u:wrong');
    expect(server.seen).toHaveLength(3);
  });
});

describe('credentials refused mid-run', () => {
  /** A server that accepted the credentials at the start: /health, /ready, /admin/version, then `answers`. */
  async function accepted(answers: Parameters<typeof scripted>[0], options: { authString?: string } = { authString: 'u:p' }) {
    const { logger } = capture();
    const server = scripted([json(200, true), json(200, { message: 'OK' }), json(200, '3.7.2'), ...answers]);
    const api = createApi({ ...base, ...options, logger, fetch: server.fetch });
    expect(await api.http.waitUntilReady(1000, 5)).toBe('3.7.2');
    return { api, server };
  }

  it('stops at a 401: not retried, the run is told, and no later request is sent', async () => {
    const { api, server } = await accepted([csrfOff(), json(401, { exception_message: 'Unauthorized' })]);
    const error = await unwrap(api.client.POST('/variables/', { body: { name: 'a', value: 1 } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('unauthorized');
    expect((error as Error).message).toMatch(
      /^POST http:\/\/prefect\.test\/api\/variables\/ answered 401: the credentials were refused mid-run \(the server had accepted them at the start: .*Check PREFECT_API_AUTH_STRING/,
    );
    expect((error as Error).message).not.toContain('u:p');
    expect(server.seen).toHaveLength(5);
    expect(api.http.stopped.aborted).toBe(true);
    expect(api.http.stopped.reason).toBe(error);
    expect(api.http.requests.at(-1)).toMatchObject({ method: 'POST', path: '/variables/', status: 401, attempts: 1 });

    const later = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'b' } } })).catch((e: unknown) => e);
    expect(later).toBe(error);
    expect(server.seen).toHaveLength(5);
  });

  it('treats a 403 that is not about CSRF as refused credentials, e.g. from a proxy', async () => {
    const { api, server } = await accepted([new Response('<html>403 Forbidden</html>', { status: 403, headers: { 'content-type': 'text/html' } })]);
    const error = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } })).catch((e: unknown) => e);
    expect((error as ConnectionError).reason).toBe('unauthorized');
    expect((error as Error).message).toMatch(/^GET http:\/\/prefect\.test\/api\/variables\/name\/a answered 403: the credentials were refused mid-run/);
    expect(server.seen).toHaveLength(4);
    expect(api.http.stopped.aborted).toBe(true);
  });

  it('stops when the CSRF token request itself is refused', async () => {
    const { api, server } = await accepted([json(401, { exception_message: 'Unauthorized' })]);
    const error = await unwrap(api.client.POST('/variables/', { body: { name: 'a', value: 1 } })).catch((e: unknown) => e);
    expect((error as ConnectionError).reason).toBe('unauthorized');
    expect((error as Error).message).toMatch(/^GET http:\/\/prefect\.test\/api\/csrf-token answered 401: the credentials were refused mid-run/);
    expect(server.seen.map((s) => new URL(s.url).pathname)).toEqual(['/api/health', '/api/ready', '/api/admin/version', '/api/csrf-token']);
    expect(api.http.stopped.aborted).toBe(true);
  });

  it('says to set credentials when the server asks for them only mid-run', async () => {
    const { api } = await accepted([json(401, { exception_message: 'Unauthorized' })], {});
    const error = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } })).catch((e: unknown) => e);
    expect((error as Error).message).toContain('answered 401: the credentials were refused mid-run (none are set');
    expect((error as Error).message).toContain('Set PREFECT_API_AUTH_STRING');
  });
});

describe('describeErrorBody', () => {
  it('keeps the detail and drops inputs', () => {
    expect(describeErrorBody({ detail: 'Variable not found.' })).toBe('Variable not found.');
    expect(describeErrorBody({ detail: [{ loc: ['body', 'x'], msg: 'bad', input: 'hidden' }] })).toBe('body.x: bad');
    expect(describeErrorBody(undefined)).toBe('no detail');
  });

  it('never repeats a value the server quotes back', () => {
    const prefect = "Error updating deployment: Validation failed for field 'n'. Failure reason: 'hunter2' is not valid under any of the given schemas";
    expect(describeErrorBody({ detail: prefect })).toBe("Error updating deployment: Validation failed for field 'n'. Failure reason: (not shown: it may quote the value sent)");
    expect(describeErrorBody({ detail: "Invalid job variables: ValidationError(\"'hunter2' is not of type 'integer'\")" })).not.toContain('hunter2');
    expect(describeErrorBody("value 'hunter2' rejected")).toBe("value '…' rejected");
  });
});

describe('waiting for the server', () => {
  const refused = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });

  it('waits the whole --wait-timeout: the last probe comes at the deadline', async () => {
    // On a fake clock: the schedule of the probes is the behaviour, whatever the machine's load.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    try {
      const { logger } = capture();
      const probes: number[] = [];
      const started = Date.now();
      const http = new PrefectHttp({
        ...base,
        logger,
        fetch: async () => {
          probes.push(Date.now() - started);
          throw refused();
        },
      });
      const waiting = http.waitUntilReady(350, 100).catch((e: unknown) => e);
      await vi.runAllTimersAsync();
      const error = await waiting;
      expect(Date.now() - started).toBe(350);
      expect((error as Error).message).toContain('was not ready within 0.35 s (GET /health: ECONNREFUSED');
      // Every poll interval, and the last probe 100 ms before the deadline.
      expect(probes).toEqual([0, 100, 200, 250]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never lets a probe outlast the wait', async () => {
    const { logger } = capture();
    const hanging = (request: Request) =>
      new Promise<Response>((_resolve, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true }));
    const http = new PrefectHttp({ ...base, requestTimeoutMs: 10_000, logger, fetch: hanging });
    const error = await http.waitUntilReady(300, 1000).catch((e: unknown) => e);
    // The probe was given what was left of the 0.3 s wait, not the 10 s request timeout.
    expect((error as Error).message).toContain('was not ready within 0.3 s (GET /health: no response within 0.3 s)');
  });
});

describe('a server gone mid-run', () => {
  const reset = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET', message: 'socket hang up' } });
  const refusedConnection = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });

  async function ready(answers: Parameters<typeof scripted>[0], retries = 2) {
    const { logger } = capture();
    const server = scripted([json(200, true), json(200, { message: 'OK' }), json(200, '3.7.2'), ...answers]);
    const api = createApi({ ...base, retries, logger, fetch: server.fetch });
    await api.http.waitUntilReady(1000, 5);
    return { api, server };
  }

  it('stops the run when one request gets no answer for its whole retry budget; nothing is sent after it', async () => {
    const { api, server } = await ready([refusedConnection(), reset(), refusedConnection()]);
    const error = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('unreachable');
    expect((error as Error).message).toBe('GET http://prefect.test/api/variables/name/a failed after 3 attempts: ECONNREFUSED');
    expect(api.http.stopped.aborted).toBe(true);
    expect(api.http.stopped.reason).toBe(error);
    const later = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'b' } } })).catch((e: unknown) => e);
    expect(later).toBe(error);
    expect(server.seen).toHaveLength(6);
  });

  it('does not stop for a server that answers, even with 503 for a whole retry budget', async () => {
    const { api } = await ready([json(503, {}), json(503, {}), json(503, {})]);
    const error = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } })).catch((e: unknown) => e);
    expect((error as Error).message).toContain('failed after 3 attempts: HTTP 503');
    expect(api.http.stopped.aborted).toBe(false);
  });

  const page = (status: number, body: string, type = 'text/html') => new Response(body, { status, headers: { 'content-type': type } });
  it.each([
    ['502 from nginx', () => page(502, '<html><head><title>502 Bad Gateway</title></head></html>'), 'HTTP 502'],
    ['504 with a JSON body', () => json(504, { message: 'upstream request timeout' }), 'HTTP 504'],
    ['503 HTML page', () => page(503, '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>'), 'HTTP 503'],
    ['503 text from Envoy', () => page(503, 'no healthy upstream', 'text/plain'), 'HTTP 503'],
    ['503 with no body', () => new Response(null, { status: 503 }), 'HTTP 503'],
    ['503 with a JSON string', () => json(503, 'unavailable'), 'HTTP 503'],
  ])('stops the run when a proxy answers for a gone server for the whole retry budget: %s', async (_name, answer, status) => {
    const { api, server } = await ready([answer(), answer(), answer()]);
    const error = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } })).catch((e: unknown) => e);
    expect((error as ConnectionError).reason).toBe('unreachable');
    expect((error as Error).message).toBe(
      `GET http://prefect.test/api/variables/name/a failed after 3 attempts: ${status} (answered by a proxy or load balancer, not by Prefect: the server behind it is not answering)`,
    );
    expect(api.http.stopped.reason).toBe(error);
    await expect(unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'b' } } }))).rejects.toBe(error);
    expect(server.seen).toHaveLength(6);
  });

  it('stops on what the last attempt met: resets then a proxy, but not a proxy then Prefect\'s own 503', async () => {
    const gone = await ready([reset(), reset(), page(502, 'Bad Gateway', 'text/plain')]);
    await unwrap(gone.api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } })).catch(() => undefined);
    expect(gone.api.http.stopped.aborted).toBe(true);

    const busy = await ready([page(502, 'Bad Gateway', 'text/plain'), reset(), json(503, { exception_message: 'Service Unavailable' })]);
    const error = await unwrap(busy.api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } })).catch((e: unknown) => e);
    expect((error as Error).message).toBe('GET http://prefect.test/api/variables/name/a failed after 3 attempts: HTTP 503');
    expect(busy.api.http.stopped.aborted).toBe(false);
  });

  it('marks an answer after a proxy\'s 502 as one whose request may have reached the server', async () => {
    const { api } = await ready([csrfOff(), page(502, 'Bad Gateway', 'text/plain'), json(409, { detail: 'exists' })]);
    const created = await api.client.POST('/variables/', { body: { name: 'a', value: 1 } });
    expect(responseOrigins.get(created.response)).toMatchObject({ path: '/variables/', repeated: true });
  });

  it('does not stop while connecting: that is the wait for the server, with its own error', async () => {
    const { logger } = capture();
    const server = scripted([json(200, true), json(200, { message: 'OK' }), reset(), reset(), reset()]);
    const http = new PrefectHttp({ ...base, retries: 2, logger, fetch: server.fetch });
    await expect(http.waitUntilReady(1000, 5)).rejects.toThrow('GET http://prefect.test/api/admin/version failed after 3 attempts: ECONNRESET');
    expect(http.stopped.aborted).toBe(false);
  });

  it('ends the backoff of the other requests in flight at once, without sending them again', async () => {
    // One request waits out a long Retry-After while another runs out of attempts.
    const { api, server } = await ready([json(503, {}, { 'retry-after': '100' }), reset(), reset(), reset()]);
    // A Retry-After of 100 s: the test ends within its timeout only if the backoff is cut.
    const waiting = unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'slow' } } })).catch((e: unknown) => e);
    await new Promise((done) => setTimeout(done, 20));
    const gone = await unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'gone' } } })).catch((e: unknown) => e);
    expect(await waiting).toBe(gone);
    expect(server.seen).toHaveLength(7);
  });

  it('marks an answer that follows an attempt which may have reached the server', async () => {
    const { api } = await ready([csrfOff(), reset(), json(409, { detail: 'exists' }), refusedConnection(), json(409, { detail: 'exists' })]);
    const first = await api.client.POST('/variables/', { body: { name: 'a', value: 1 } });
    expect(responseOrigins.get(first.response)).toMatchObject({ path: '/variables/', repeated: true });
    // A refused connection never reached the server.
    const second = await api.client.POST('/variables/', { body: { name: 'b', value: 1 } });
    expect(responseOrigins.get(second.response)?.repeated).toBeUndefined();
  });
});

describe('an interrupt (SIGTERM, SIGINT)', () => {
  it('ends the wait for the server at once', async () => {
    const { logger } = capture();
    const requested = new AbortController();
    const http = new PrefectHttp({
      ...base,
      logger,
      interrupt: { requested: requested.signal, cut: new AbortController().signal, end: new AbortController().signal },
      fetch: async () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      },
    });
    setTimeout(() => requested.abort(new InterruptedError('SIGTERM')), 50);
    // Waited out, the 10 s wait would end in the server's error, not the interrupt's.
    const error = await http.waitUntilReady(10_000, 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
  });

  it('lets a request in flight finish, stops the run, and cuts what is still in flight when told', async () => {
    const { logger } = capture();
    const requested = new AbortController();
    const cut = new AbortController();
    let release: (() => void) | undefined;
    const answers = [json(200, true), json(200, { message: 'OK' }), json(200, '3.7.2')];
    const seen: string[] = [];
    const fetch = async (request: Request): Promise<Response> => {
      seen.push(new URL(request.url).pathname);
      const next = answers.shift();
      if (next) return next;
      // Held until released, or until the request's signal aborts.
      return new Promise<Response>((resolve, reject) => {
        release = () => resolve(json(200, { name: 'a', value: 1 }));
        request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
      });
    };
    const api = createApi({ ...base, logger, fetch, interrupt: { requested: requested.signal, cut: cut.signal, end: new AbortController().signal } });
    await api.http.waitUntilReady(1000, 5);
    const inFlight = unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } }));
    await new Promise((done) => setTimeout(done, 10));
    requested.abort(new InterruptedError('SIGINT'));
    expect(api.http.stopped.aborted).toBe(true);
    release!();
    expect(await inFlight).toEqual({ name: 'a', value: 1 });

    const cutShort = unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'b' } } })).catch((e: unknown) => e);
    await new Promise((done) => setTimeout(done, 10));
    cut.abort(requested.signal.reason);
    const error = await cutShort;
    expect(error).toBeInstanceOf(InterruptedError);
    // Not retried, and nothing sent after the cut.
    const sent = seen.length;
    await expect(unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'c' } } }))).rejects.toBeInstanceOf(InterruptedError);
    expect(seen).toHaveLength(sent);
    expect(seen.filter((path) => path === '/api/variables/name/b')).toHaveLength(1);
  });

  it('sends the last write (the ownership record) after the objects\' grace period, until the end of its own', async () => {
    const { logger } = capture();
    const [requested, cut, end] = [new AbortController(), new AbortController(), new AbortController()];
    const answers = [json(200, true), json(200, { message: 'OK' }), json(200, '3.7.2'), csrfOff(), json(200, { id: 'doc' })];
    const seen: string[] = [];
    const fetch = async (request: Request): Promise<Response> => {
      seen.push(`${request.method} ${new URL(request.url).pathname}`);
      const next = answers.shift();
      if (next) return next;
      return new Promise<Response>((_resolve, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true }));
    };
    const api = createApi({ ...base, logger, fetch, interrupt: { requested: requested.signal, cut: cut.signal, end: end.signal } });
    await api.http.waitUntilReady(1000, 5);
    const reason = new InterruptedError('SIGTERM');
    requested.abort(reason);
    cut.abort(reason);
    // The grace period of the objects is over: nothing is sent for them.
    await expect(unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'a' } } }))).rejects.toBe(reason);
    expect(api.http.halted).toBe(false);

    api.http.finishing();
    const written = await unwrap(api.client.PATCH('/block_documents/{id}', { params: { path: { id: 'doc' } }, body: { data: {}, merge_existing_data: false } }));
    expect(written).toEqual({ id: 'doc' });
    // Held by the server until the end of the record's own time: then cut, and nothing more is sent.
    const held = unwrap(api.client.PATCH('/block_documents/{id}', { params: { path: { id: 'doc' } }, body: { data: {}, merge_existing_data: false } })).catch((e: unknown) => e);
    await new Promise((done) => setTimeout(done, 10));
    end.abort(reason);
    expect(await held).toBe(reason);
    await expect(unwrap(api.client.GET('/variables/name/{name}', { params: { path: { name: 'b' } } }))).rejects.toBe(reason);
    expect(seen.filter((line) => !line.includes('/health') && !line.includes('/ready') && !line.includes('/admin/version'))).toEqual([
      'GET /api/csrf-token',
      'PATCH /api/block_documents/doc',
      'PATCH /api/block_documents/doc',
    ]);
  });
});
