/**
 * The client-session table: exactly-once application of writes that carry clientId + seq
 * (SPEC 2, Raft thesis 6.3). It is replicated state: the KV state machine consults it inside
 * its apply, in log order, so every replica decides the same (STYLE habit 8), and it travels
 * in snapshots. Pure: no clock, no randomness, no I/O.
 *
 * Time is the log's: each applied entry carries the leader's `timeMs`, and the table keeps
 * `logTimeMs` = the largest seen so far. A new leader whose clock lags the old one's therefore
 * cannot move time backwards, and expiry never depends on a replica's own clock.
 *
 * Recency order is log order: a session touched by a later entry is more recent. This is a
 * total order that every replica sees alike, so no other tie-break is needed, and it lets an
 * insertion-ordered Map be the LRU list (touch = delete + set, O(1); oldest = first).
 * Invariant: in `sessions` iteration order, lastSeenMs never decreases.
 */

export interface SessionLimits {
  /** A session idle (by log time) for more than this is dropped. */
  readonly sessionTtlMs: number;
  /** At most this many sessions; a new client then evicts the least recently used. */
  readonly sessionsMax: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { sessionTtlMs: 60 * 60 * 1000, sessionsMax: 100_000 };

/** One client's session; replaced (never mutated) on update, so a snapshot can share records. */
export interface SessionRecord<A> {
  readonly clientId: string;
  /** The seq of the client's latest applied write. */
  readonly lastSeq: number;
  /** The answer that write got, returned again to a retry of it. */
  readonly answer: A;
  /** Log time of the client's latest write (applied, retried or stale). */
  readonly lastSeenMs: number;
}

/** What to do with a write carrying clientId + seq. */
export type SessionDecision<A> =
  | { readonly kind: 'apply' }
  /** A retry of the latest applied write: answer it with the first answer, apply nothing. */
  | { readonly kind: 'duplicate'; readonly answer: A }
  /** Older than the latest applied write (SPEC: 409 stale_sequence): apply nothing. */
  | { readonly kind: 'stale'; readonly latestSeq: number };

/** The table as plain data, for snapshots. `records` are in recency order, oldest first. */
export interface SessionTableState<A> {
  readonly limits: SessionLimits;
  readonly logTimeMs: number;
  readonly records: readonly SessionRecord<A>[];
}

export class SessionTable<A> {
  private readonly sessions = new Map<string, SessionRecord<A>>();
  private currentLimits: SessionLimits;
  private currentLogTimeMs = 0;

  constructor(limits: SessionLimits = DEFAULT_SESSION_LIMITS) {
    assertLimits(limits);
    this.currentLimits = limits;
  }

  static fromState<A>(state: SessionTableState<A>): SessionTable<A> {
    const table = new SessionTable<A>(state.limits);
    table.currentLogTimeMs = state.logTimeMs;
    let previousSeenMs = -Infinity;
    for (const record of state.records) {
      if (record.lastSeenMs < previousSeenMs || record.lastSeenMs > state.logTimeMs) {
        throw new Error(`session table state out of recency order at client ${JSON.stringify(record.clientId)}`);
      }
      if (table.sessions.has(record.clientId)) {
        throw new Error(`session table state has client ${JSON.stringify(record.clientId)} twice`);
      }
      previousSeenMs = record.lastSeenMs;
      table.sessions.set(record.clientId, record);
    }
    if (table.sessions.size > state.limits.sessionsMax) {
      throw new Error(`session table state has ${table.sessions.size} sessions, over its limit ${state.limits.sessionsMax}`);
    }
    return table;
  }

  /** A point-in-time copy; later updates do not change it (records are immutable). */
  toState(): SessionTableState<A> {
    return { limits: this.currentLimits, logTimeMs: this.currentLogTimeMs, records: Array.from(this.sessions.values()) };
  }

  get size(): number {
    return this.sessions.size;
  }

  get logTimeMs(): number {
    return this.currentLogTimeMs;
  }

  get limits(): SessionLimits {
    return this.currentLimits;
  }

  get(clientId: string): SessionRecord<A> | undefined {
    return this.sessions.get(clientId);
  }

  /** Sessions from least to most recently used. */
  records(): IterableIterator<SessionRecord<A>> {
    return this.sessions.values();
  }

  /**
   * Moves log time to `timeMs` if that is later, then drops the sessions idle for more than
   * the TTL. Call with every applied entry's stamp, before deciding on it. Returns how many expired.
   */
  advanceLogTime(timeMs: number): number {
    if (timeMs > this.currentLogTimeMs) this.currentLogTimeMs = timeMs;
    let expired = 0;
    // Oldest first, so the loop stops at the first live session (lastSeenMs is non-decreasing).
    for (const record of this.sessions.values()) {
      if (this.currentLogTimeMs - record.lastSeenMs <= this.currentLimits.sessionTtlMs) break;
      this.sessions.delete(record.clientId);
      expired++;
    }
    return expired;
  }

  /** Adopts replicated limits; evicts the least recently used sessions if now over the bound. */
  setLimits(limits: SessionLimits): number {
    assertLimits(limits);
    this.currentLimits = limits;
    return this.advanceLogTime(this.currentLogTimeMs) + this.evictOverLimit(0);
  }

  /**
   * Decides on a write carrying clientId + seq. A duplicate or stale write still counts as the
   * client being active, so it refreshes the session's recency.
   */
  decide(clientId: string, seq: number): SessionDecision<A> {
    const record = this.sessions.get(clientId);
    if (record === undefined || seq > record.lastSeq) return { kind: 'apply' };
    this.touch({ ...record, lastSeenMs: this.currentLogTimeMs });
    if (seq === record.lastSeq) return { kind: 'duplicate', answer: record.answer };
    return { kind: 'stale', latestSeq: record.lastSeq };
  }

  /** Stores the answer of an applied write (after `decide` said 'apply'). */
  record(clientId: string, seq: number, answer: A): void {
    const previous = this.sessions.get(clientId);
    if (previous !== undefined && seq <= previous.lastSeq) {
      throw new Error(`session ${JSON.stringify(clientId)}: record seq ${seq} not above ${previous.lastSeq}`);
    }
    // Make room before inserting, so the table never holds more than sessionsMax.
    if (previous === undefined) this.evictOverLimit(1);
    this.touch({ clientId, lastSeq: seq, answer, lastSeenMs: this.currentLogTimeMs });
  }

  private touch(record: SessionRecord<A>): void {
    // Delete first so set() appends: the Map's insertion order is the recency order.
    this.sessions.delete(record.clientId);
    this.sessions.set(record.clientId, record);
  }

  /** Evicts least recently used sessions until `room` more fit under the limit. */
  private evictOverLimit(room: number): number {
    let evicted = 0;
    for (const clientId of this.sessions.keys()) {
      if (this.sessions.size + room <= this.currentLimits.sessionsMax) break;
      this.sessions.delete(clientId);
      evicted++;
    }
    return evicted;
  }
}

function assertLimits(limits: SessionLimits): void {
  if (!Number.isSafeInteger(limits.sessionTtlMs) || limits.sessionTtlMs < 1) {
    throw new RangeError(`sessionTtlMs must be a positive integer, got ${limits.sessionTtlMs}`);
  }
  if (!Number.isSafeInteger(limits.sessionsMax) || limits.sessionsMax < 1) {
    throw new RangeError(`sessionsMax must be a positive integer, got ${limits.sessionsMax}`);
  }
}
