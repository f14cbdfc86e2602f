// The typed Prefect client: openapi-fetch over the generated schema, sending through PrefectHttp.
// `unwrap` is where an HTTP status becomes a value, `undefined` (404 on a read) or an ApiError.
import createClient, { type Client } from 'openapi-fetch';
import { ApiError } from '../errors.js';
import { PrefectHttp, responseOrigins, type HttpOptions, type Interrupt } from './http.js';
import { createNodeTransport } from './transport.js';
import type { paths } from './schema.js';

export type PrefectClient = Client<paths>;

export interface Api {
  client: PrefectClient;
  http: PrefectHttp;
}

/** The client; requests go out through node:http (transport.ts) unless `options.fetch` is given. */
export function createApi(options: HttpOptions): Api {
  const http = new PrefectHttp({ ...options, fetch: options.fetch ?? createNodeTransport().fetch });
  const client = createClient<paths>({ baseUrl: http.apiUrl, fetch: http.fetch });
  return { client, http };
}

export interface ConnectOptions {
  waitTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryMinDelayMs?: number | undefined;
  interrupt?: Interrupt | undefined;
}

/**
 * The client for a server, once it is ready: waits for /health and /ready, checks the
 * credentials, and returns the server's release with the client.
 */
export async function connect(
  connection: { apiUrl: string; apiKey?: string | undefined; authString?: string | undefined },
  options: ConnectOptions,
  logger: HttpOptions['logger'],
  fetch?: HttpOptions['fetch'],
): Promise<{ api: Api; version: string }> {
  const api = createApi({
    apiUrl: connection.apiUrl,
    apiKey: connection.apiKey,
    authString: connection.authString,
    requestTimeoutMs: options.requestTimeoutMs,
    retries: options.retries,
    retryMinDelayMs: options.retryMinDelayMs,
    logger,
    fetch,
    interrupt: options.interrupt,
  });
  const version = await api.http.waitUntilReady(options.waitTimeoutMs);
  logger.info({ event: 'server.ready', url: connection.apiUrl, version }, `Prefect ${version} at ${connection.apiUrl} is ready`);
  return { api, version };
}

export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful response; throws ApiError with the server's detail otherwise. */
export async function unwrap<T>(result: FetchResult<T> | Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await result;
  if (response.ok) return data as T;
  throw toApiError(response, error);
}

/** Like unwrap, but a 404 is the answer "it does not exist". */
export async function unwrapOptional<T>(result: FetchResult<T> | Promise<FetchResult<T>>): Promise<T | undefined> {
  const { data, error, response } = await result;
  if (response.ok) return data as T;
  if (response.status === 404) return undefined;
  throw toApiError(response, error);
}

function toApiError(response: Response, error: unknown): ApiError {
  const origin = responseOrigins.get(response) ?? { method: 'request', path: new URL(response.url || 'http://unknown/').pathname };
  return new ApiError({ status: response.status, ...origin, detail: describeErrorBody(error) });
}

/**
 * The server's explanation, without ever echoing what we sent: Prefect's 422 bodies carry
 * `request_body` and each validation error's `input`, which can hold a secret value.
 */
export function describeErrorBody(error: unknown): string {
  if (error === undefined || error === null || error === '') return 'no detail';
  if (typeof error === 'string') return withoutQuotedValues(error).slice(0, 500);
  if (typeof error !== 'object') return String(error);
  const body = error as { detail?: unknown; exception_message?: unknown; exception_detail?: unknown };
  const parts: string[] = [];
  if (typeof body.detail === 'string') parts.push(withoutQuotedValues(body.detail));
  else if (Array.isArray(body.detail)) parts.push(...body.detail.map(describeValidationItem));
  if (typeof body.exception_message === 'string') parts.push(withoutQuotedValues(body.exception_message));
  if (Array.isArray(body.exception_detail)) parts.push(...body.exception_detail.map(describeValidationItem));
  return parts.length > 0 ? parts.join('; ').slice(0, 1000) : 'no detail';
}

/**
 * Prefect's messages repeat a rejected value in quotes ("Failure reason: 'hunter2' is not valid
 * under any of the given schemas", a job-variable error's repr): what follows "Failure reason:" is
 * dropped, and any other quoted text is shown as '…' unless it is the name after "field" or "key".
 */
function withoutQuotedValues(text: string): string {
  const reason = text.indexOf('Failure reason:');
  const kept = reason >= 0 ? `${text.slice(0, reason)}Failure reason: (not shown: it may quote the value sent)` : text;
  // A quoted name right after "field" or "key" is kept: it says where, not what.
  return kept.replace(/'[^']*'|"[^"]*"/g, (quoted, offset: number) =>
    /\b(field|key|parameter|variable)\s$/i.test(kept.slice(Math.max(0, offset - 12), offset)) && /^['"][A-Za-z0-9_.-]{1,64}['"]$/.test(quoted) ? quoted : `${quoted[0]}…${quoted[0]}`,
  );
}

function describeValidationItem(item: unknown): string {
  if (!item || typeof item !== 'object') return String(item);
  const { loc, msg } = item as { loc?: unknown; msg?: unknown };
  const where = Array.isArray(loc) ? loc.join('.') : '';
  return `${where ? `${where}: ` : ''}${typeof msg === 'string' ? msg : 'invalid'}`;
}
