/**
 * One HTTP exchange with one endpoint, classified for the retry loop: an answer (any status,
 * body read whole so the keep-alive socket is reusable), or no answer, with whether the
 * request may have reached the server (which decides if a write's outcome is unknown).
 */

export type FetchLike = typeof globalThis.fetch;

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export type AttemptOutcome =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers: Headers;
      /** The parsed JSON body; undefined when the body was empty or not JSON. */
      readonly json: unknown;
      readonly text: string;
    }
  | {
      readonly kind: 'no-answer';
      readonly error: 'unreachable' | 'timeout';
      /** False only when the connection was never made: the server cannot have seen the request. */
      readonly maybeSent: boolean;
      readonly message: string;
    };

/** Socket errors raised before a connection exists: nothing was sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

export interface AttemptRequest {
  readonly method: HttpMethod;
  /** Path and query, starting with "/". */
  readonly path: string;
  readonly body?: unknown;
  readonly token?: string;
  readonly timeoutMs: number;
}

export async function attemptHttp(fetchFn: FetchLike, endpoint: string, request: AttemptRequest): Promise<AttemptOutcome> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  try {
    const response = await fetchFn(endpoint + request.path, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    // Read the whole body even when unused: an unread body pins the keep-alive socket.
    const text = await response.text();
    return { kind: 'answer', status: response.status, headers: response.headers, json: parseJson(text), text };
  } catch (error) {
    return classifyFailure(error, request.timeoutMs);
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Duck-typed: errors may come from another realm (a vm context), where `instanceof Error` fails. */
interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly cause?: { readonly code?: unknown; readonly message?: unknown; readonly errors?: unknown };
}

function classifyFailure(error: unknown, timeoutMs: number): AttemptOutcome {
  const err: ErrorLike = typeof error === 'object' && error !== null ? (error as ErrorLike) : { message: String(error) };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') {
    return { kind: 'no-answer', error: 'timeout', maybeSent: true, message: `no answer within ${timeoutMs} ms` };
  }
  // fetch reports every socket failure as TypeError("fetch failed"); the cause says which.
  const cause = err.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const detail = code ?? (typeof cause?.message === 'string' && cause.message !== '' ? cause.message : String(err.message));
  return { kind: 'no-answer', error: 'unreachable', maybeSent: code === undefined || !NOT_SENT_CODES.has(code), message: detail };
}
