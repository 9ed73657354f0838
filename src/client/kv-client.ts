/**
 * A typed client for raft-kv's HTTP API (SPEC 2 and 3), depending on that contract only.
 *
 * Exactly-once writes: every write carries this client's `clientId` and the next `seq`, one
 * write at a time (WriteQueue). A write whose answer is lost (504, reset, no answer in time)
 * is retried with the SAME clientId+seq, to whichever node, until an answer or the retry
 * budget runs out; the server answers a repeated pair with the first answer and never applies
 * it twice. Reads are idempotent and retried the same way.
 *
 * What is final: any answer other than 502/503/504. In particular 409 `stale_sequence` cannot
 * come from a retry of our own pending write (SPEC 2: a retry with the same pair gets the first
 * answer back), so it means another writer shares this clientId or the session table was
 * rewound; retrying cannot fix either, and it is raised.
 *
 * After a failed write the next one still takes a new seq: the failed one may yet be applied
 * (its entry can commit late), and reusing its seq would then return its answer for a
 * different command.
 */
import { randomUUID } from 'node:crypto';
import type { CasAnswer, DeleteAnswer, GetAnswer, ListAnswer, PutAnswer } from '../kv/commands.js';
import {
  parseClusterAnswer,
  type ClusterAnswer,
  type LeaderInfo,
  type NodeStatusAnswer,
  type SnapshotAnswer,
  type TransferAnswer,
} from './admin-answers.js';
import { EndpointBook } from './endpoints.js';
import type { FetchLike, HttpMethod } from './http-attempt.js';
import { keyPath, keyProblem, textProblem } from './key-path.js';
import { KvError, NO_HTTP_STATUS } from './kv-error.js';
import { RetryingSender, type SendAnswer, type SendRequest } from './retrying-sender.js';
import { WriteQueue } from './write-queue.js';

export type Consistency = 'linearizable' | 'stale';

export interface KvClientOptions {
  /** Client API base URLs of some or all members, e.g. `http://127.0.0.1:7001`. */
  readonly endpoints: readonly string[];
  /** The exactly-once identity of this client's writes; a random UUID by default. */
  readonly clientId?: string;
  /**
   * The seq of the first write minus one (default 0: the first write has seq 1). Only for a
   * caller that resumes a `clientId` it used before and knows that client's latest seq.
   */
  readonly lastSeq?: number;
  /** One HTTP attempt gives up after this long. Above the server's own 5 s, so its 504 arrives first. */
  readonly requestTimeoutMs?: number;
  /** No new attempt starts after this long since the call began (attempts included). */
  readonly retryBudgetMs?: number;
  /** `--cluster-token`: sent as a bearer token (needed for POST /admin/*). */
  readonly token?: string;
  /** Writes waiting their turn beyond this are refused (`client_busy`). */
  readonly pendingWritesMax?: number;
  readonly fetch?: FetchLike;
  /** Injected for tests: a monotonic clock in ms, a sleep, a random source in [0, 1). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export const REQUEST_TIMEOUT_MS_DEFAULT = 6000;
export const RETRY_BUDGET_MS_DEFAULT = 15_000;
export const PENDING_WRITES_MAX_DEFAULT = 1024;
const NOT_FOUND_IS_RESULT: ReadonlySet<number> = new Set([404]);

export class KvClient {
  readonly clientId: string;
  private readonly book: EndpointBook;
  private readonly sender: RetryingSender;
  private readonly writes: WriteQueue;
  private seq: number;

  constructor(options: KvClientOptions) {
    this.book = new EndpointBook(options.endpoints);
    this.clientId = options.clientId ?? randomUUID();
    if (this.clientId === '') throw new RangeError('clientId must not be empty');
    this.seq = checkNonNegativeInteger('lastSeq', options.lastSeq ?? 0);
    this.writes = new WriteQueue(options.pendingWritesMax ?? PENDING_WRITES_MAX_DEFAULT);
    this.sender = new RetryingSender(this.book, {
      fetch: options.fetch ?? globalThis.fetch,
      now: options.now ?? (() => performance.now()),
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      requestTimeoutMs: checkPositiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT),
      retryBudgetMs: checkNonNegativeInteger('retryBudgetMs', options.retryBudgetMs ?? RETRY_BUDGET_MS_DEFAULT),
      token: options.token,
    });
  }

  get endpoints(): readonly string[] {
    return this.book.endpoints;
  }

  /** The seq of this client's latest write (sent, whatever its outcome). */
  get lastSeq(): number {
    return this.seq;
  }

  /** The leader as last reported by a node, or null. */
  get knownLeaderId(): string | null {
    return this.book.leaderId;
  }

  /** The value of `key`, or null when absent. Linearizable unless `consistency: 'stale'`. */
  async get(key: string, options: { consistency?: Consistency } = {}): Promise<GetAnswer | null> {
    rejectKey(key);
    const query = options.consistency === undefined ? '' : `?consistency=${options.consistency}`;
    const answer = await this.send({ method: 'GET', path: keyPath(key) + query, isWrite: false, retry: true, resultStatuses: NOT_FOUND_IS_RESULT });
    return answer.status === 404 ? null : (answer.json as GetAnswer);
  }

  async put(key: string, value: string): Promise<PutAnswer> {
    rejectKey(key);
    rejectText('value', value);
    return this.write<PutAnswer>('PUT', keyPath(key), { value });
  }

  /** Appends to the value (an absent key counts as ""); answers the whole new value. */
  async append(key: string, value: string): Promise<PutAnswer> {
    rejectKey(key);
    rejectText('value', value);
    return this.write<PutAnswer>('POST', keyPath(key, '/append'), { value });
  }

  async delete(key: string): Promise<DeleteAnswer> {
    rejectKey(key);
    return this.write<DeleteAnswer>('DELETE', keyPath(key), {});
  }

  /** Sets `value` only if the key holds `expected` (null: only if absent). */
  async cas(key: string, expected: string | null, value: string): Promise<CasAnswer> {
    rejectKey(key);
    if (expected !== null) rejectText('expected', expected);
    rejectText('value', value);
    return this.write<CasAnswer>('POST', keyPath(key, '/cas'), { expected, value });
  }

  /** Up to `limit` keys starting with `prefix`, sorted by key (server's maximum when no limit). */
  async list(prefix = '', limit?: number, options: { consistency?: Consistency } = {}): Promise<ListAnswer> {
    rejectText('prefix', prefix);
    const params = new URLSearchParams();
    if (prefix !== '') params.set('prefix', prefix);
    if (limit !== undefined) {
      if (!Number.isSafeInteger(limit) || limit < 0) throw badRequest(`limit must be a non-negative integer, got ${limit}`);
      params.set('limit', String(limit));
    }
    if (options.consistency !== undefined) params.set('consistency', options.consistency);
    const query = params.toString() === '' ? '' : `?${params.toString()}`;
    const answer = await this.send({ method: 'GET', path: `/kv${query}`, isWrite: false, retry: true });
    return answer.json as ListAnswer;
  }

  /** `GET /admin/status` of `endpoint` (one attempt), or of whichever endpoint answers. */
  async status(endpoint?: string): Promise<NodeStatusAnswer> {
    const pinned = endpoint === undefined ? undefined : this.knownEndpoint(endpoint);
    const answer = await this.send({ method: 'GET', path: '/admin/status', isWrite: false, endpoint: pinned, retry: pinned === undefined });
    const status = answer.json as NodeStatusAnswer;
    this.book.noteIdentity(answer.endpoint, status.id);
    return status;
  }

  /** `GET /admin/cluster`: every member's status as seen from the node that answers. */
  async cluster(): Promise<ClusterAnswer> {
    const answer = await this.send({ method: 'GET', path: '/admin/cluster', isWrite: false, retry: true });
    try {
      return parseClusterAnswer(answer.json);
    } catch (error) {
      throw new KvError(answer.status, 'bad_response', `unexpected /admin/cluster answer: ${(error as Error).message}`, { endpoint: answer.endpoint });
    }
  }

  /**
   * Asks every endpoint's `/admin/status` at once and returns the leader that the members with
   * the highest term name; null when none knows one. Raises KvError (unreachable) when no
   * endpoint answers.
   */
  async leader(): Promise<LeaderInfo | null> {
    const statuses = await this.sender.probeAll(this.book.endpoints);
    if (statuses.answers.length === 0) throw statuses.lastError ?? new KvError(NO_HTTP_STATUS, 'unreachable', 'no endpoint answered');
    const topTerm = Math.max(...statuses.answers.map((s) => s.term));
    const leaderId = statuses.answers.find((s) => s.term === topTerm && s.leaderId)?.leaderId ?? null;
    this.book.noteLeader(leaderId);
    return leaderId === null ? null : { leaderId, term: topTerm, endpoint: this.book.endpointOf(leaderId) };
  }

  /** `POST /admin/snapshot` on `endpoint`, or on whichever endpoint answers. */
  async snapshot(endpoint?: string): Promise<SnapshotAnswer> {
    const pinned = endpoint === undefined ? undefined : this.knownEndpoint(endpoint);
    // Taking a second snapshot is harmless, so a lost answer may be retried.
    const answer = await this.send({ method: 'POST', path: '/admin/snapshot', body: {}, isWrite: false, endpoint: pinned, retry: true });
    return answer.json as SnapshotAnswer;
  }

  /**
   * `POST /admin/transfer-leadership` to the leader, handing leadership to `to` (or the most
   * up-to-date follower). One attempt: a repeat after a lost answer would move leadership again.
   */
  async transferLeadership(to?: string): Promise<TransferAnswer> {
    const leader = await this.leader();
    const answer = await this.send({
      method: 'POST',
      path: '/admin/transfer-leadership',
      body: to === undefined ? {} : { to },
      isWrite: false,
      endpoint: leader?.endpoint ?? undefined,
      retry: false,
    });
    return answer.json as TransferAnswer;
  }

  /** The endpoint known to serve node `id` (after status(), leader() or discovery), or null. */
  endpointOf(id: string): string | null {
    return this.book.endpointOf(id);
  }

  private knownEndpoint(endpoint: string): string {
    const normalized = endpoint.replace(/\/+$/, '');
    if (!this.book.endpoints.includes(normalized)) throw badRequest(`${endpoint} is not one of this client's endpoints`);
    return normalized;
  }

  private write<T>(method: HttpMethod, path: string, fields: Record<string, unknown>): Promise<T> {
    const queued = this.writes.enqueue(async () => {
      // The seq is taken when the write's turn comes, so seqs go out in increasing order.
      this.seq += 1;
      const body = { ...fields, clientId: this.clientId, seq: this.seq };
      const answer = await this.send({ method, path, body, isWrite: true, retry: true });
      return answer.json as T;
    });
    if (queued === null) {
      return Promise.reject(new KvError(NO_HTTP_STATUS, 'client_busy', `${this.writes.size} writes are already waiting; not queueing more`, { attempts: 0 }));
    }
    return queued;
  }

  private send(request: SendRequest): Promise<SendAnswer> {
    return this.sender.send(request);
  }
}

function badRequest(message: string): KvError {
  return new KvError(400, 'bad_request', message, { attempts: 0 });
}

function rejectKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== null) throw badRequest(problem);
}

function rejectText(field: string, text: string): void {
  const problem = textProblem(field, text);
  if (problem !== null) throw badRequest(problem);
}

function checkPositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function checkNonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}
