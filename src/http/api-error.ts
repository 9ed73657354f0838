/**
 * SPEC 2's error contract: every error answer is JSON `{error, message, leaderId?}`.
 * `ApiError` is what the HTTP layer throws for an outcome it has already classified; the
 * exception filter (api-exception.filter.ts) classifies everything else.
 */

/** The `error` codes of SPEC 2 and 3, plus the generic ones an HTTP server needs. */
export type ApiErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'not_found'
  | 'stale_sequence'
  | 'too_large'
  | 'no_leader'
  | 'unavailable'
  | 'timeout'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'internal';

/** The JSON body of every error answer. */
export interface ApiErrorBody {
  readonly error: ApiErrorCode | string;
  readonly message: string;
  /** The leader this node knows of, on answers where the client should go there or wait for it. */
  readonly leaderId?: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly options: {
      readonly leaderId?: string | null;
      /** Sets `Retry-After` (seconds); SPEC 2 requires it on every 503. */
      readonly retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
  }

  static badRequest(message: string): ApiError {
    return new ApiError(400, 'bad_request', message);
  }

  static tooLarge(message: string): ApiError {
    return new ApiError(413, 'too_large', message);
  }

  static notFound(message: string): ApiError {
    return new ApiError(404, 'not_found', message);
  }

  static noLeader(message: string, leaderId: string | null, retryAfterSeconds = 1): ApiError {
    return new ApiError(503, 'no_leader', message, { leaderId, retryAfterSeconds });
  }

  static unavailable(message: string, retryAfterSeconds = 1): ApiError {
    return new ApiError(503, 'unavailable', message, { retryAfterSeconds });
  }

  static timeout(message: string, leaderId?: string | null): ApiError {
    return new ApiError(504, 'timeout', message, { leaderId });
  }
}
