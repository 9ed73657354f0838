/**
 * Turns every error into SPEC 2's JSON `{error, message, leaderId?}` with its status:
 * the node's own outcomes (NotLeaderError, UnavailableError, CommitTimeoutError,
 * StaleSequenceError), the HTTP layer's ApiError, Nest's HttpExceptions (validation,
 * unknown routes, malformed JSON, bodies over the parser limit, 401 from the token guard),
 * and anything unexpected (500, logged; the message does not leak internals).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import {
  CommitTimeoutError,
  NotLeaderError,
  StaleSequenceError,
  UnavailableError,
} from '../consensus/kv-node.port.js';
import { ApiError, type ApiErrorBody, type ApiErrorCode } from './api-error.js';
import { writeJson } from './json-answer.js';

const CODE_BY_STATUS: Readonly<Record<number, ApiErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'stale_sequence',
  413: 'too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
  504: 'timeout',
};

/** Classifies any thrown value as an ApiError. Exported for the forwarder and tests. */
export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof NotLeaderError) {
    return ApiError.noLeader(error.message, error.leaderId);
  }
  if (error instanceof UnavailableError) {
    return new ApiError(503, error.code, error.message, { retryAfterSeconds: error.retryAfterSeconds });
  }
  if (error instanceof CommitTimeoutError) {
    return ApiError.timeout(error.message || 'not committed in time: the outcome is unknown; retry with the same clientId and seq');
  }
  if (error instanceof StaleSequenceError) {
    return new ApiError(409, 'stale_sequence', error.message);
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = CODE_BY_STATUS[status] ?? snakeCase(STATUS_CODES[status] ?? 'error');
    return new ApiError(status, code as ApiErrorCode, httpExceptionMessage(error));
  }
  return null;
}

/**
 * As `toApiError`, but anything unexpected becomes 500 `internal`, logged with its stack; the
 * answer does not leak its text. The filter and the client hot path both classify through this.
 */
export function toApiErrorOrInternal(error: unknown, logger: Pick<Logger, 'error'>): ApiError {
  const apiError = toApiError(error);
  if (apiError !== null) return apiError;
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  logger.error(`event=internal_error ${JSON.stringify(detail)}`);
  return new ApiError(500, 'internal', 'internal error');
}

/** The message of a 400 for a body that is not JSON; `parserMessage` is JSON.parse's own. */
export function malformedJsonMessage(parserMessage: string): string {
  return `body: malformed JSON (${parserMessage})`;
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<ServerResponse>();
    sendApiError(res, toApiErrorOrInternal(exception, this.logger));
  }
}

export function sendApiError(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) {
    // A streamed (relayed) answer broke mid-way: the client must see a truncated body, not a
    // second status line.
    res.destroy();
    return;
  }
  const body: ApiErrorBody =
    error.options.leaderId !== undefined
      ? { error: error.code, message: error.message, leaderId: error.options.leaderId }
      : { error: error.code, message: error.message };
  if (error.options.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.options.retryAfterSeconds));
  else if (error.status === 503) res.setHeader('Retry-After', '1');
  if (error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  writeJson(res, error.status, body);
}

function httpExceptionMessage(error: HttpException): string {
  // Errors raised by express or body-parser before any route ran, mapped by Nest with a cause.
  // Matched by name and type, not instanceof: they may come from another realm.
  const cause = error.cause as { name?: string; type?: string; limit?: number; length?: number; message?: string } | undefined;
  if (cause?.type === 'entity.parse.failed' || cause?.name === 'SyntaxError') return malformedJsonMessage(String(cause.message));
  if (cause?.name === 'URIError') return `path: malformed percent-encoding (${cause.message})`;
  if (cause?.type === 'entity.too.large') return `body: ${cause.length ?? 'too many'} bytes, over the limit of ${cause.limit} bytes`;
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  if (typeof message === 'string') return message;
  return error.message;
}

function snakeCase(phrase: string): string {
  return phrase.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}
