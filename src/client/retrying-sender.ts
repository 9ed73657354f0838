/**
 * The retry loop under every KvClient call, and leader discovery.
 *
 * Invariant: every attempt of one call sends the identical request (for a write, the same
 * clientId and seq), so repeating it is safe. Retried: no answer (refused, reset, timed out),
 * 502, 503 and 504; a 503 or 504 sends the next attempt to another node unless the answer
 * named a leader we can reach; a 503's Retry-After is waited out; backoff grows with jitter;
 * no attempt starts after the retry budget. Every other answer is final.
 */
import type { NodeStatusAnswer } from './admin-answers.js';
import type { EndpointBook } from './endpoints.js';
import { attemptHttp, type AttemptOutcome, type FetchLike, type HttpMethod } from './http-attempt.js';
import { KvError, NO_HTTP_STATUS } from './kv-error.js';
import { backoffMs, parseRetryAfterMs } from './retry-policy.js';

/** Status probes (leader discovery, `leader()`) give up sooner than requests: they are only hints. */
export const PROBE_TIMEOUT_MS = 1000;
/** Leader discovery probes unidentified endpoints at most this often. */
export const IDENTIFY_INTERVAL_MS = 5000;

/** Statuses after which the same request may be tried again. 502: a proxy lost the upstream. */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);
/** Statuses after which a write may have been applied. */
const OUTCOME_UNKNOWN_STATUSES = new Set([502, 504]);

export interface SenderConfig {
  readonly fetch: FetchLike;
  /** Monotonic, in ms. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** In [0, 1). */
  readonly random: () => number;
  readonly requestTimeoutMs: number;
  readonly retryBudgetMs: number;
  readonly token: string | undefined;
}

export interface SendRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly body?: unknown;
  /** A write: a lost answer leaves its outcome unknown. */
  readonly isWrite: boolean;
  /** Ask only this endpoint. */
  readonly endpoint?: string;
  /** False: a single attempt (probes, leadership transfer, which must not repeat). */
  readonly retry: boolean;
  /** Statuses answered as results rather than errors (404 for get). */
  readonly resultStatuses?: ReadonlySet<number>;
}

export interface SendAnswer {
  readonly status: number;
  readonly json: unknown;
  readonly endpoint: string;
}

export class RetryingSender {
  private lastIdentifyAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly book: EndpointBook,
    private readonly config: SenderConfig,
  ) {}

  /** One call: attempts until a final answer or the retry budget is spent. */
  async send(request: SendRequest): Promise<SendAnswer> {
    const deadlineMs = this.config.now() + this.config.retryBudgetMs;
    let attempts = 0;
    let backoffStep = 0;
    let unansweredInRow = 0;
    let maybeApplied = false;
    for (;;) {
      if (request.endpoint === undefined) await this.maybeIdentifyLeader();
      const endpoint = request.endpoint ?? this.book.pick();
      // AbortSignal.timeout takes whole milliseconds only.
      const timeoutMs = Math.max(1, Math.ceil(Math.min(this.config.requestTimeoutMs, deadlineMs - this.config.now())));
      attempts += 1;
      const outcome = await attemptHttp(this.config.fetch, endpoint, { method: request.method, path: request.path, body: request.body, token: this.config.token, timeoutMs });

      let error: KvError;
      let delayMs: number;
      if (outcome.kind === 'answer') {
        const leaderHeader = outcome.headers.get('x-raft-leader');
        if (leaderHeader !== null) this.book.noteLeader(leaderHeader);
        if ((outcome.status >= 200 && outcome.status < 300) || request.resultStatuses?.has(outcome.status)) {
          if (outcome.json === undefined || outcome.json === null) {
            // Not this API (a proxy page, a wrong port): final, and for a write its outcome is unknown.
            throw new KvError(outcome.status, 'bad_response', `${endpoint}: expected a JSON answer, got ${JSON.stringify(outcome.text.slice(0, 100))}`, {
              endpoint,
              attempts,
              outcomeUnknown: request.isWrite,
            });
          }
          return { status: outcome.status, json: outcome.json, endpoint };
        }
        error = answerError(outcome, endpoint);
        if (error.leaderId !== undefined) this.book.noteLeader(error.leaderId);
        if (request.isWrite && OUTCOME_UNKNOWN_STATUSES.has(outcome.status)) maybeApplied = true;
        if (!RETRYABLE_STATUSES.has(outcome.status) || !request.retry) {
          throw error.withDetails({ attempts, outcomeUnknown: maybeApplied });
        }
        unansweredInRow = 0;
        // A node that timed out may be cut off from the majority: the next attempt goes elsewhere,
        // unless this answer named a leader we can reach directly.
        const leaderEndpoint = this.book.leaderEndpoint();
        if (outcome.status !== 503 || leaderEndpoint === null || leaderEndpoint === endpoint) this.book.moveAwayFrom(endpoint);
        const retryAfterMs = parseRetryAfterMs(outcome.headers.get('retry-after'), Date.now()) ?? 0;
        delayMs = Math.max(retryAfterMs, backoffMs(backoffStep++, this.config.random));
      } else {
        error = new KvError(NO_HTTP_STATUS, outcome.error, `${endpoint}: ${outcome.message}`, { endpoint });
        if (request.isWrite && outcome.maybeSent) maybeApplied = true;
        if (!request.retry) throw error.withDetails({ attempts, outcomeUnknown: maybeApplied });
        this.book.moveAwayFrom(endpoint);
        unansweredInRow += 1;
        // Try every other endpoint at once; back off only when a whole round went unanswered.
        const wholeRoundFailed = request.endpoint !== undefined || unansweredInRow % this.book.endpoints.length === 0;
        delayMs = wholeRoundFailed ? backoffMs(backoffStep++, this.config.random) : 0;
      }
      if (this.config.now() + delayMs >= deadlineMs) {
        throw error.withDetails({ attempts, outcomeUnknown: maybeApplied });
      }
      if (delayMs > 0) await this.config.sleep(delayMs);
    }
  }

  /**
   * Leader discovery: a node named the leader, but which endpoint is it? Only an endpoint's own
   * `/admin/status` says for sure (a relayed answer carries the leader's X-Raft-Node), so ask
   * the endpoints not yet identified, at most every IDENTIFY_INTERVAL_MS.
   */
  private async maybeIdentifyLeader(): Promise<void> {
    if (this.book.leaderId === null || this.book.leaderEndpoint() !== null) return;
    const unidentified = this.book.unidentified();
    if (unidentified.length === 0 || this.config.now() - this.lastIdentifyAtMs < IDENTIFY_INTERVAL_MS) return;
    this.lastIdentifyAtMs = this.config.now();
    await this.probeAll(unidentified);
  }

  /** `GET /admin/status` of each endpoint at once, one short attempt each; notes who is who. */
  async probeAll(endpoints: readonly string[]): Promise<{ answers: NodeStatusAnswer[]; lastError: KvError | null }> {
    const answers: NodeStatusAnswer[] = [];
    let lastError: KvError | null = null;
    const timeoutMs = Math.min(PROBE_TIMEOUT_MS, this.config.requestTimeoutMs);
    await Promise.all(
      endpoints.map(async (endpoint) => {
        const outcome: AttemptOutcome = await attemptHttp(this.config.fetch, endpoint, { method: 'GET', path: '/admin/status', timeoutMs });
        if (outcome.kind === 'no-answer') {
          lastError = new KvError(NO_HTTP_STATUS, outcome.error, `${endpoint}: ${outcome.message}`, { endpoint });
          return;
        }
        const status = outcome.json as Partial<NodeStatusAnswer> | undefined;
        if (outcome.status !== 200 || typeof status?.id !== 'string' || typeof status.term !== 'number') {
          lastError = answerError(outcome, endpoint);
          return;
        }
        this.book.noteIdentity(endpoint, status.id);
        answers.push(status as NodeStatusAnswer);
      }),
    );
    return { answers, lastError };
  }
}

/** A non-2xx answer as a KvError, from SPEC 2's `{error, message, leaderId?}` when the body is one. */
function answerError(outcome: Extract<AttemptOutcome, { kind: 'answer' }>, endpoint: string): KvError {
  const body = outcome.json as { error?: unknown; message?: unknown; leaderId?: unknown } | undefined;
  if (typeof body?.error === 'string') {
    const message = typeof body.message === 'string' ? body.message : body.error;
    const leaderId = typeof body.leaderId === 'string' ? body.leaderId : body.leaderId === null ? null : undefined;
    return new KvError(outcome.status, body.error, message, { leaderId, endpoint });
  }
  const snippet = outcome.text.slice(0, 200).trim();
  return new KvError(outcome.status, `http_${outcome.status}`, snippet === '' ? `HTTP ${outcome.status}` : snippet, { endpoint });
}
