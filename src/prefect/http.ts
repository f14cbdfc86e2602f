// The one seam between the program and the network: authentication, CSRF tokens, timeouts,
// retries with backoff, and the request log. Every API call goes through `PrefectHttp.fetch`.
import { randomUUID } from 'node:crypto';
import pRetry, { AbortError } from 'p-retry';
import { ConnectionError } from '../errors.js';
import type { Logger } from '../log.js';

export interface HttpOptions {
  /** PREFECT_API_URL, e.g. http://127.0.0.1:4200/api (no trailing slash needed). */
  apiUrl: string;
  /** Prefect Cloud key: `Authorization: Bearer`. */
  apiKey?: string | undefined;
  /** Self-hosted basic auth `user:password`: `Authorization: Basic`. */
  authString?: string | undefined;
  requestTimeoutMs: number;
  /** Attempts after the first for a retryable failure. */
  retries: number;
  /** Smallest backoff; doubled each attempt, with jitter. */
  retryMinDelayMs?: number;
  logger: Logger;
  /** Where requests really go; the global fetch unless a test observes them. */
  fetch?: (request: Request) => Promise<Response>;
  /** A stop asked for from outside (SIGTERM, SIGINT); see `Interrupt`. */
  interrupt?: Interrupt | undefined;
}

/**
 * A stop asked for from outside the run. Once `requested` is aborted (with an InterruptedError), the
 * wait for the server ends and no new object is started, while requests in flight go on; once `cut`
 * is aborted (the grace period is over, or a second signal came), they are aborted and none is sent.
 * Then the run's last write, the ownership record of what it applied, may be sent (after
 * `PrefectHttp.finishing`) until `end` is aborted: a short while after `cut`, or with it at a second signal.
 */
export interface Interrupt {
  requested: AbortSignal;
  cut: AbortSignal;
  end: AbortSignal;
}

export interface RequestRecord {
  method: string;
  /** Path below the API URL, without the query string. */
  path: string;
  status: number | 'error';
  write: boolean;
  attempts: number;
  ms: number;
}

/**
 * Which request produced a response, so an error about it can name the request; `repeated` when an
 * earlier attempt of it may have reached the server without its answer reaching us (a create that
 * then meets 409 most likely met its own object).
 */
export const responseOrigins = new WeakMap<Response, { method: string; path: string; repeated?: boolean }>();

const RETRY_STATUSES = new Set([408, 429, 502, 503, 504]);
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
/** Lists, counts, and the check of a template (`/templates/validate` renders nothing and stores nothing). */
const READ_ONLY_POST = /\/(filter|count|paginate|templates\/validate)$/;

/** True when the request may change the server: any non-GET except Prefect's read-only POST routes. */
export function isWrite(method: string, path: string): boolean {
  const upper = method.toUpperCase();
  if (upper === 'GET' || upper === 'HEAD' || upper === 'OPTIONS') return false;
  return !(upper === 'POST' && READ_ONLY_POST.test(path));
}

class RetryableError extends Error {
  readonly retryAfterMs: number | undefined;
  /**
   * The Prefect server itself answered (its own 503, say); false for a refused, reset or timed-out
   * connection, and for a proxy or load balancer answering for a server behind it that it cannot reach.
   */
  readonly answered: boolean;
  /** The request may have reached the server (a reset or a timeout; not a refused connection). */
  readonly maybeSent: boolean;
  /** A proxy or load balancer answered instead of Prefect (see `fromGateway`). */
  readonly gateway: boolean;
  constructor(message: string, options: { retryAfterMs?: number | undefined; answered: boolean; maybeSent?: boolean; gateway?: boolean }) {
    super(message);
    this.retryAfterMs = options.retryAfterMs;
    this.answered = options.answered;
    this.maybeSent = options.maybeSent ?? options.answered;
    this.gateway = options.gateway ?? false;
  }
}

/**
 * Whether a retryable status came from a proxy or load balancer in front of the server rather than
 * from Prefect: 502 and 504, which Prefect never sends, and a 503 without Prefect's JSON body (its
 * 503s are JSON objects, `{"exception_message": "Service Unavailable"}`; nginx, HAProxy, Envoy and
 * Kubernetes ingresses answer with an HTML or text page, or nothing). Reads the body of a 503.
 */
async function fromGateway(response: Response): Promise<boolean> {
  if (response.status === 502 || response.status === 504) return true;
  if (response.status !== 503) return false;
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    return true;
  }
  return body === null || typeof body !== 'object' || Array.isArray(body);
}

/** What the error of a request says when a proxy answered its last attempt. */
const GATEWAY_NOTE = 'answered by a proxy or load balancer, not by Prefect: the server behind it is not answering';

/** A network failure: no HTTP answer. Only a refused connection says for sure the request never arrived. */
function noAnswer(error: unknown, timeoutMs: number): RetryableError {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return new RetryableError(describeNetworkError(error, timeoutMs), { answered: false, maybeSent: code !== 'ECONNREFUSED' && code !== 'ENOTFOUND' });
}

/** Retry-After as seconds or an HTTP date, in milliseconds; capped so a hostile header cannot stall us for hours. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), 120_000);
}

export class PrefectHttp {
  readonly apiUrl: string;
  readonly requests: RequestRecord[] = [];
  private readonly options: HttpOptions;
  private readonly send: (request: Request) => Promise<Response>;
  private csrf: { enabled: boolean; token?: string; renewAt?: number } | undefined;
  /** Set once /admin/version answered with the credentials accepted: a refusal after that is one mid-run. */
  private credentialsAccepted = false;
  /** Aborted when the server refuses the credentials mid-run, or is gone: nothing more is sent. */
  private readonly halt = new AbortController();
  /** The halt, or the end of an interrupt's grace period: no request of an object is sent any more. */
  private readonly blockedForObjects: AbortSignal;
  /** The halt, or the end of the time an interrupted run's last write has (see `finishing`). */
  private readonly blockedForRecord: AbortSignal;
  /** Set by `finishing`: the objects of an interrupted run are done, its last write goes on. */
  private lastWrite = false;
  /** What the run stops at: the halt, or an interrupt as soon as it is requested. */
  readonly stopped: AbortSignal;
  /** The token fetch in flight: the server keeps one token per client, so parallel fetches would invalidate each other's. */
  private csrfPending: Promise<Record<string, string>> | undefined;
  private readonly csrfClient = randomUUID();

  constructor(options: HttpOptions) {
    this.options = options;
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.send = options.fetch ?? ((request) => globalThis.fetch(request));
    const interrupt = options.interrupt;
    this.blockedForObjects = interrupt ? AbortSignal.any([this.halt.signal, interrupt.cut]) : this.halt.signal;
    this.blockedForRecord = interrupt ? AbortSignal.any([this.halt.signal, interrupt.end]) : this.halt.signal;
    this.stopped = interrupt ? AbortSignal.any([this.halt.signal, interrupt.requested]) : this.halt.signal;
  }

  /** No request is sent any more once this is aborted; requests in flight are cut. */
  private get blocked(): AbortSignal {
    return this.lastWrite ? this.blockedForRecord : this.blockedForObjects;
  }

  /** What cuts a request in flight: the interrupt's cut, or its end for the last write. */
  private get cut(): AbortSignal | undefined {
    const interrupt = this.options.interrupt;
    return interrupt && (this.lastWrite ? interrupt.end : interrupt.cut);
  }

  /** True once the run stopped at refused credentials or a server gone: nothing can be sent any more. */
  get halted(): boolean {
    return this.halt.signal.aborted;
  }

  /**
   * An interrupted run has finished its objects (applyPlan returned) and sends its last write, the
   * ownership record of what it applied: from now on requests may be sent, even after the grace
   * period of the objects, until the interrupt's `end`.
   */
  finishing(): void {
    this.lastWrite = true;
  }

  get writes(): number {
    return this.requests.filter((r) => r.write).length;
  }

  get reads(): number {
    return this.requests.filter((r) => !r.write).length;
  }

  /**
   * Stops the run: no request is sent any more. `reason` is the ConnectionError of the request that
   * showed the run cannot go on: the credentials refused mid-run, or the server gone (no answer for
   * a whole retry budget). Every later request fails with it unsent; the first reason stays.
   */
  private stop(reason: ConnectionError): void {
    this.halt.abort(reason);
  }

  private authHeaders(): Record<string, string> {
    if (this.options.apiKey) return { Authorization: `Bearer ${this.options.apiKey}` };
    if (this.options.authString) {
      return { Authorization: `Basic ${Buffer.from(this.options.authString, 'utf8').toString('base64')}` };
    }
    return {};
  }

  /** The fetch handed to openapi-fetch: adds credentials and CSRF headers, retries, logs. */
  readonly fetch = async (request: Request): Promise<Response> => {
    this.blocked.throwIfAborted();
    const url = new URL(request.url);
    const path = url.pathname.startsWith(new URL(this.apiUrl).pathname)
      ? url.pathname.slice(new URL(this.apiUrl).pathname.length) || '/'
      : url.pathname;
    const write = isWrite(request.method, path);
    const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(request.method.toUpperCase());
    const body = request.body ? await request.arrayBuffer() : undefined;
    const started = Date.now();
    let attempts = 0;
    let csrfRefreshed = false;
    let refusedWith: number | undefined;
    let maybeSentBefore = false;
    const log = this.options.logger;
    const cut = this.cut;

    const sendOnce = async (): Promise<{ response: Response; csrfToken: string | null }> => {
      // A retry that waited out its backoff while the run was stopped is not sent.
      this.blocked.throwIfAborted();
      attempts += 1;
      const headers = new Headers(request.headers);
      for (const [name, value] of Object.entries(this.authHeaders())) headers.set(name, value);
      if (!headers.has('content-type') && body) headers.set('content-type', 'application/json');
      // Prefect's CSRF middleware guards every non-GET method, read-only filter POSTs included.
      if (unsafe) {
        for (const [name, value] of Object.entries(await this.csrfHeaders())) headers.set(name, value);
      }
      try {
        const response = await this.send(
          new Request(request.url, {
            method: request.method,
            headers,
            body: body ?? null,
            signal: cut ? AbortSignal.any([AbortSignal.timeout(this.options.requestTimeoutMs), cut]) : AbortSignal.timeout(this.options.requestTimeoutMs),
          }),
        );
        return { response, csrfToken: headers.get('prefect-csrf-token') };
      } catch (error) {
        // Cut by an interrupt: not a fault of the server, and not retried.
        if (this.blocked.aborted) throw new AbortError(asError(this.blocked.reason));
        const failure = noAnswer(error, this.options.requestTimeoutMs);
        maybeSentBefore ||= failure.maybeSent;
        throw failure;
      }
    };

    const attempt = async (): Promise<Response> => {
      let { response, csrfToken } = await sendOnce();
      // An expired token is fetched again and the request sent again at once, whatever --retries
      // says: that is not a retry of a fault. Once per request, so a server that keeps refusing
      // tokens cannot loop us.
      if (csrfToken !== null && !csrfRefreshed && (await isCsrfRejection(response))) {
        csrfRefreshed = true;
        // Only when no other request has fetched a newer token meanwhile: fetching again would invalidate that one.
        if (this.csrf?.token === csrfToken) this.csrf = undefined;
        await response.body?.cancel();
        log.warn(
          { event: 'http.retry', method: request.method, path, attempt: attempts, reason: CSRF_REJECTED },
          `retrying ${request.method} ${path} after ${CSRF_REJECTED}`,
        );
        ({ response, csrfToken } = await sendOnce());
      }
      if ((response.status === 401 || response.status === 403) && !(await isCsrfRejection(response))) {
        await response.body?.cancel();
        refusedWith = response.status;
        throw new AbortError(this.refusedCredentials(response.status, `${request.method} ${this.apiUrl}${path}`));
      }
      if (RETRY_STATUSES.has(response.status)) {
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
        const gateway = await fromGateway(response);
        if (!response.bodyUsed) await response.body?.cancel();
        // A proxy may have passed the request on before the server behind it failed.
        if (gateway) maybeSentBefore = true;
        throw new RetryableError(`HTTP ${response.status}`, { retryAfterMs: retryAfter, answered: !gateway, gateway });
      }
      // The body is read here, inside the attempt: a connection cut in the middle of it is retried like any network error.
      let bytes: ArrayBuffer;
      try {
        bytes = await response.arrayBuffer();
      } catch (error) {
        maybeSentBefore = true;
        throw noAnswer(error, this.options.requestTimeoutMs);
      }
      return new Response(NULL_BODY_STATUSES.has(response.status) ? null : bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    };

    try {
      const minDelay = this.options.retryMinDelayMs ?? 500;
      const response = await pRetry(attempt, {
        retries: this.options.retries,
        // The backoff is waited here, in onFailedAttempt, where a stop ends it: p-retry's own signal
        // would also throw away an answer that arrives after the stop.
        minTimeout: 0,
        maxTimeout: 0,
        shouldRetry: ({ error }) => error instanceof RetryableError,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (!(error instanceof RetryableError) || retriesLeft === 0) return;
          const retryAfter = error.retryAfterMs;
          log.warn(
            { event: 'http.retry', method: request.method, path, attempt: attemptNumber, reason: error.message, retryAfterMs: retryAfter },
            `retrying ${request.method} ${path} after ${error.message}`,
          );
          // Doubled each attempt from --retry-min-delay, with jitter, at most 30 s; longer when Retry-After asks.
          const backoff = Math.min(Math.round((1 + Math.random()) * Math.max(minDelay, 1) * 2 ** (attemptNumber - 1)), 30_000);
          await sleep(Math.max(backoff, retryAfter ?? 0), this.blocked);
        },
      });
      this.record({ method: request.method, path, status: response.status, write, attempts, ms: Date.now() - started });
      responseOrigins.set(response, maybeSentBefore ? { method: request.method, path, repeated: true } : { method: request.method, path });
      return response;
    } catch (error) {
      this.record({ method: request.method, path, status: refusedWith ?? 'error', write, attempts, ms: Date.now() - started });
      if (error instanceof RetryableError) {
        const failure = new ConnectionError(
          'unreachable',
          `${request.method} ${this.apiUrl}${path} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error.message}${error.gateway ? ` (${GATEWAY_NOTE})` : ''}`,
        );
        // No answer from Prefect after a whole retry budget, neither directly nor through the proxy
        // in front of it: the server is gone (killed, restarting, or the network to it down). Every
        // later object would spend the same budget for nothing, so the run stops here. A server that
        // answers, even with errors (its own 503s), is not gone.
        if (!error.answered && this.credentialsAccepted) {
          this.stop(failure);
          log.error({ event: 'run.stopping', method: request.method, path, reason: error.message }, `the server stopped answering: ${failure.message}`);
        }
        throw failure;
      }
      throw error instanceof AbortError ? error.originalError : error;
    }
  };

  /**
   * The error for a 401, or a 403 that is not about a CSRF token. Before the credentials were
   * accepted it says what to set; after, the credentials were refused mid-run (revoked, rotated,
   * or a proxy refusing): it stops the run, and every later request fails with it unsent.
   */
  private refusedCredentials(status: number, request: string): ConnectionError {
    const configured = Boolean(this.options.apiKey || this.options.authString);
    if (!this.credentialsAccepted) {
      const hint = configured
        ? 'the credentials were refused: check PREFECT_API_AUTH_STRING (user:password) or PREFECT_API_KEY'
        : 'the server requires credentials: set PREFECT_API_AUTH_STRING (user:password, or PREFECT_API_AUTH_STRING_FILE) or PREFECT_API_KEY';
      return new ConnectionError('unauthorized', `${this.apiUrl} answered ${status}: ${hint}`);
    }
    const hint = configured
      ? 'the server had accepted them at the start: were they revoked or rotated, or does a proxy in front of the server refuse the request? Check PREFECT_API_AUTH_STRING (user:password) or PREFECT_API_KEY'
      : 'none are set, and the server had answered without them at the start: was authentication turned on, or does a proxy in front of the server refuse the request? Set PREFECT_API_AUTH_STRING (user:password, or PREFECT_API_AUTH_STRING_FILE) or PREFECT_API_KEY';
    const error = new ConnectionError('unauthorized', `${request} answered ${status}: the credentials were refused mid-run (${hint})`);
    // The first refusal is the reason the run stopped; requests in flight meanwhile may add their own.
    this.stop(error);
    return error;
  }

  private record(entry: RequestRecord): void {
    this.requests.push(entry);
    this.options.logger.debug({ event: 'http', ...entry }, `${entry.method} ${entry.path} ${entry.status}`);
  }

  /**
   * CSRF protection is off by default in Prefect; when it is on, every write needs a token.
   * The first write asks for one; 404/422 mean the server does not use CSRF.
   */
  private async csrfHeaders(): Promise<Record<string, string>> {
    if (this.csrf && (!this.csrf.enabled || (this.csrf.renewAt ?? Infinity) > Date.now())) {
      return this.csrf.enabled && this.csrf.token
        ? { 'Prefect-Csrf-Token': this.csrf.token, 'Prefect-Csrf-Client': this.csrfClient }
        : {};
    }
    this.csrfPending ??= this.fetchCsrfToken().finally(() => {
      this.csrfPending = undefined;
    });
    return this.csrfPending;
  }

  private async fetchCsrfToken(): Promise<Record<string, string>> {
    const url = `${this.apiUrl}/csrf-token?client=${encodeURIComponent(this.csrfClient)}`;
    let response: Response;
    try {
      const cut = this.cut;
      const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
      response = await this.send(new Request(url, { headers: this.authHeaders(), signal: cut ? AbortSignal.any([timeout, cut]) : timeout }));
    } catch (error) {
      if (this.blocked.aborted) throw new AbortError(asError(this.blocked.reason));
      throw noAnswer(error, this.options.requestTimeoutMs);
    }
    this.record({ method: 'GET', path: '/csrf-token', status: response.status, write: false, attempts: 1, ms: 0 });
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw this.refusedCredentials(response.status, `GET ${this.apiUrl}/csrf-token`);
    }
    if (response.status === 404 || response.status === 422) {
      await response.body?.cancel();
      this.csrf = { enabled: false };
      return {};
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new RetryableError(`HTTP ${response.status} from /csrf-token`, { answered: true });
    }
    const token = (await response.json()) as { token: string; created?: string; expiration?: string };
    // The lifetime by the server's clock (a skewed local clock does not matter); renewed 30 s before it
    // ends, or half-way for a short one, so that requests in flight at once share one token.
    const created = Date.parse(token.created ?? '');
    const lifetime = Date.parse(token.expiration ?? '') - (Number.isFinite(created) ? created : Date.now());
    const renewAt = Number.isFinite(lifetime) ? Date.now() + lifetime - Math.min(30_000, lifetime / 2) : undefined;
    this.csrf = { enabled: true, token: token.token, renewAt };
    this.options.logger.debug({ event: 'csrf.token' }, 'CSRF protection is on; obtained a token');
    return { 'Prefect-Csrf-Token': token.token, 'Prefect-Csrf-Client': this.csrfClient };
  }

  /**
   * Polls /health, then /ready, until both answer OK or the timeout expires, then checks that
   * the credentials are accepted. Returns the server's release (from /admin/version).
   */
  async waitUntilReady(timeoutMs: number, pollMs = 1000): Promise<string> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    const requested = this.options.interrupt?.requested;
    let last = 'no answer yet';
    for (const probe of ['/health', '/ready']) {
      for (;;) {
        // Nothing is written yet: an interrupt ends the wait at once.
        requested?.throwIfAborted();
        // The wait lasts exactly --wait-timeout: a probe may take what is left of it and no more
        // (one probe, of the request timeout up to 10 s, when there is no wait at all).
        const left = deadline - Date.now();
        const probeMs = timeoutMs === 0 ? Math.min(this.options.requestTimeoutMs, 10_000) : Math.max(Math.min(this.options.requestTimeoutMs, 10_000, left), 1);
        try {
          const response = await this.send(
            new Request(`${this.apiUrl}${probe}`, {
              headers: this.authHeaders(),
              signal: requested ? AbortSignal.any([AbortSignal.timeout(probeMs), requested]) : AbortSignal.timeout(probeMs),
            }),
          );
          const text = (await response.text()).slice(0, 200);
          this.record({ method: 'GET', path: probe, status: response.status, write: false, attempts: 1, ms: 0 });
          if (response.ok) break;
          last = `HTTP ${response.status} ${text}`;
        } catch (error) {
          requested?.throwIfAborted();
          last = describeNetworkError(error, probeMs);
        }
        const notReady = (): ConnectionError =>
          new ConnectionError(
            last.startsWith('HTTP') ? 'not-ready' : 'unreachable',
            `the Prefect API at ${this.apiUrl} was not ready within ${seconds(timeoutMs)} s ` +
              `(GET ${probe}: ${last}). Check PREFECT_API_URL (it ends in /api) and that the server is running.`,
          );
        if (Date.now() >= deadline) throw notReady();
        // The next probe a poll interval later, or the last one just before the deadline; with less
        // time left than a probe needs, the rest of the wait is waited out: it lasts what it says.
        const next = Math.min(Date.now() + pollMs, deadline - LAST_PROBE_MS);
        if (next <= Date.now()) {
          await sleep(deadline - Date.now(), requested);
          requested?.throwIfAborted();
          throw notReady();
        }
        // Quiet while a server is starting; a wait that drags on is worth a warning (the default level).
        const waited = Date.now() - started;
        const level = waited > 10_000 && Math.floor(waited / 15_000) !== Math.floor((waited - pollMs) / 15_000) ? 'warn' : 'info';
        this.options.logger[level]({ event: 'wait', probe, last }, `waiting for ${this.apiUrl}${probe}: ${last}`);
        await sleep(next - Date.now(), requested);
      }
    }
    // A 401 or 403 here throws the unauthorized ConnectionError that says what to set.
    const response = await this.fetch(new Request(`${this.apiUrl}/admin/version`));
    const body = await response.text();
    let version: unknown;
    try {
      version = JSON.parse(body);
    } catch {
      // The Prefect UI answers any path with its HTML page: a URL without /api lands there.
    }
    if (!response.ok || typeof version !== 'string') {
      throw new ConnectionError(
        'not-ready',
        `GET ${this.apiUrl}/admin/version answered ${response.status} ${response.ok ? 'with something other than a Prefect version' : ''}; ` +
          'is PREFECT_API_URL the Prefect API (it ends in /api, e.g. http://prefect-server:4200/api)?',
      );
    }
    this.credentialsAccepted = true;
    return version;
  }
}

const CSRF_REJECTED = 'CSRF token rejected; fetching a new one';

/** The least time a probe of the wait is given: the last one starts this long before the deadline. */
const LAST_PROBE_MS = 100;

/** Waits `ms`, or less when `signal` is aborted meanwhile (the caller checks it). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** A 403 from Prefect's CSRF middleware (an expired or unknown token): never a refusal of the credentials. */
async function isCsrfRejection(response: Response): Promise<boolean> {
  if (response.status !== 403) return false;
  try {
    return /csrf/i.test(await response.clone().text());
  } catch {
    return false;
  }
}

/** Seconds as a person writes them: 3, 0.25, 1.5 (to the millisecond, or rounded to `digits`). */
function seconds(ms: number, digits = 3): string {
  return String(Number((ms / 1000).toFixed(digits)) || Number((ms / 1000).toFixed(3)));
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return `no response within ${seconds(timeoutMs, 1)} s`;
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}${tlsHint(cause.code)}`;
    if (cause?.message) return `${error.message}: ${cause.message}`;
    return error.message;
  }
  return String(error);
}

const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** What to do about a certificate error; verification itself is never turned off. */
function tlsHint(code: string): string {
  if (UNTRUSTED_CERTIFICATE.has(code)) return '; the server certificate is not signed by a trusted CA: for a private CA, set NODE_EXTRA_CA_CERTS=/path/ca.pem';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return '; the certificate is not issued for this host: use the host name it names in PREFECT_API_URL';
  return '';
}
