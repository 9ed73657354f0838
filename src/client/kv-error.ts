/**
 * The one error type KvClient raises. A server answer keeps SPEC 2's `{error, message, leaderId?}`
 * and its HTTP status; a request that got no HTTP answer at all has `status` 0 and `error`
 * `unreachable` (refused, reset, unresolvable) or `timeout` (no answer within requestTimeoutMs).
 */

/** `status` of an error that carries no HTTP answer. */
export const NO_HTTP_STATUS = 0;

/** Error codes the client itself produces (the server's are SPEC 2's: bad_request, not_found, ...). */
export type ClientErrorCode = 'unreachable' | 'timeout' | 'bad_response' | 'client_busy';

export interface KvErrorDetails {
  readonly leaderId?: string | null;
  /**
   * A write for which some attempt may have been applied (a 504, a lost answer): it may or may
   * not have taken effect. Always false for reads and for answers that say "not applied" (503).
   */
  readonly outcomeUnknown?: boolean;
  /** How many HTTP attempts were made before giving up (1 when the error was final at once). */
  readonly attempts?: number;
  /** The endpoint that gave this answer, when there was one. */
  readonly endpoint?: string;
}

export class KvError extends Error {
  override readonly name = 'KvError';
  readonly leaderId?: string | null;
  readonly outcomeUnknown: boolean;
  readonly attempts: number;
  readonly endpoint?: string;

  constructor(
    /** HTTP status, or NO_HTTP_STATUS (0) when no answer came. */
    readonly status: number,
    /** SPEC 2's error code (`not_found`, `stale_sequence`, ...) or a ClientErrorCode. */
    readonly error: string,
    message: string,
    details: KvErrorDetails = {},
  ) {
    super(message);
    if (details.leaderId !== undefined) this.leaderId = details.leaderId;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
    this.attempts = details.attempts ?? 1;
    if (details.endpoint !== undefined) this.endpoint = details.endpoint;
  }

  /** True when no node gave an HTTP answer (kvctl exit code 4). */
  get unreachable(): boolean {
    return this.status === NO_HTTP_STATUS;
  }

  /** The same error, with what the retry loop learned added. */
  withDetails(details: KvErrorDetails): KvError {
    return new KvError(this.status, this.error, this.message, {
      leaderId: this.leaderId,
      outcomeUnknown: this.outcomeUnknown,
      attempts: this.attempts,
      endpoint: this.endpoint,
      ...details,
    });
  }
}
