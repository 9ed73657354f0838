/**
 * The replicated key-value state machine. Every replica feeds it the same committed entries
 * in log order and so reaches the same state and the same answers (Raft fig. 3, state machine
 * safety). Pure and deterministic: no clock (time comes stamped in each command), no
 * randomness, no I/O; exactly-once is decided here, inside apply (STYLE habit 8).
 *
 * Storage is a sorted map of records in small off-heap pages (record-pages/), in code point order:
 *  - Memory: a key costs its UTF-8 bytes plus 8 bytes of lengths and a small share of its page;
 *    the V8 heap holds a few thousand page objects, not two strings per key, so neither the heap
 *    nor the GC's work grows with the number of keys.
 *  - `list(prefix, limit)` finds the prefix's page by binary search and walks at most `limit`
 *    records.
 *  - `snapshot()` freezes the pages (copy-on-write, one pointer per page), so the snapshot is
 *    streamed while apply goes on and still shows exactly the state at its index; the pages are
 *    already in the snapshot's record layout and are written as they are.
 * The service is expected to check key and value sizes before proposing (see
 * command-validation.ts); apply does not, since a replica's own limits may differ.
 */
import { SessionTable, type SessionLimits, DEFAULT_SESSION_LIMITS } from '../sessions/session-table.js';
import type {
  CasAnswer,
  DeleteAnswer,
  GetAnswer,
  KvApplyResult,
  KvCommand,
  KvWriteAnswer,
  KvWriteCommand,
  ListAnswer,
  PutAnswer,
} from './commands.js';
import { PagedSortedMap } from './record-pages/paged-sorted-map.js';
import {
  encodeKvSnapshot,
  KvSnapshotDecoder,
  type DecodedKvSnapshot,
  type EncodeKvSnapshotOptions,
  SNAPSHOT_CHUNK_BYTES_DEFAULT,
} from './kv-snapshot.js';

export interface KvStateMachineOptions {
  /**
   * Session limits in force until the first replicated SessionsCommand (or a restored
   * snapshot) sets the cluster's; they should be equal on every node.
   */
  readonly sessionLimits?: SessionLimits;
}

/** A point-in-time snapshot; its chunks can be read later, while apply goes on. */
export interface KvSnapshot {
  /** The state includes every entry up to here. */
  readonly index: number;
  readonly keyCount: number;
  readonly sessionCount: number;
  /** The snapshot stream, in chunks of about `chunkBytes`; may be iterated more than once. */
  chunks(chunkBytes?: number): Generator<Uint8Array>;
  /**
   * The same bytes, encoded for streaming to a file: into two reused buffers (each chunk is valid
   * only until the next one is asked for) and in short chunks whenever `shouldYield` says so.
   */
  stream(chunkBytes: number, shouldYield?: () => boolean): Generator<Uint8Array>;
  /** The whole stream as one array (for small states and tests). */
  toBytes(): Uint8Array;
  /**
   * Done with this snapshot: apply may change the state's pages in place again instead of
   * copying them. Nothing may be read from it afterwards.
   */
  release(): void;
}

/** Feeds a snapshot stream in; the state machine changes only when `finish()` succeeds. */
export interface KvRestore {
  write(chunk: Uint8Array): void;
  finish(): void;
}

export class KvStateMachine {
  private state = new PagedSortedMap();
  private sessions: SessionTable<KvWriteAnswer>;
  private applied = 0;

  constructor(options: KvStateMachineOptions = {}) {
    this.sessions = new SessionTable<KvWriteAnswer>(options.sessionLimits ?? DEFAULT_SESSION_LIMITS);
  }

  /** The index of the last entry applied (or restored from a snapshot). */
  get appliedIndex(): number {
    return this.applied;
  }

  get keyCount(): number {
    return this.state.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The largest leader time stamp applied so far, in ms since the epoch. */
  get logTimeMs(): number {
    return this.sessions.logTimeMs;
  }

  get sessionLimits(): SessionLimits {
    return this.sessions.limits;
  }

  /**
   * Applies the committed command at log `index`. Indexes must increase; gaps are the
   * entries without a command (a leader's noop), which the host reports via `skip`.
   */
  apply(index: number, command: KvCommand): KvApplyResult {
    this.assertNext(index);
    const expired = this.sessions.advanceLogTime(command.timeMs);
    if (command.op === 'sessions') {
      const evicted = this.sessions.setLimits({ sessionTtlMs: command.sessionTtlMs, sessionsMax: command.sessionsMax });
      this.applied = index;
      return { ok: true, answer: { index, sessions: this.sessions.size, expired: expired + evicted }, duplicate: false };
    }
    const { clientId, seq } = command;
    if (clientId === undefined || seq === undefined) {
      this.applied = index;
      return { ok: true, answer: this.execute(index, command), duplicate: false };
    }
    const decision = this.sessions.decide(clientId, seq);
    this.applied = index;
    switch (decision.kind) {
      case 'duplicate':
        return { ok: true, answer: decision.answer, duplicate: true };
      case 'stale':
        return {
          ok: false,
          error: 'stale_sequence',
          message: `seq ${seq} of client ${JSON.stringify(clientId)} is older than its latest applied seq ${decision.latestSeq}`,
          latestSeq: decision.latestSeq,
        };
      case 'apply': {
        const answer = this.execute(index, command);
        this.sessions.record(clientId, seq, answer);
        return { ok: true, answer, duplicate: false };
      }
    }
  }

  /** Records that the entry at `index` was applied without touching the state (noop, config). */
  skip(index: number): void {
    this.assertNext(index);
    this.applied = index;
  }

  get(key: string): GetAnswer | null {
    const value = this.state.get(key);
    return value === undefined ? null : { key, value, index: this.applied };
  }

  /** Up to `limit` keys starting with `prefix`, in key order (code point = UTF-8 byte order). */
  list(prefix: string, limit: number): ListAnswer {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`list limit must be a non-negative integer, got ${limit}`);
    const items: { key: string; value: string }[] = [];
    if (limit > 0) {
      for (const [key, value] of this.state.entries(prefix)) {
        if (!key.startsWith(prefix)) break;
        items.push({ key, value });
        if (items.length >= limit) break;
      }
    }
    return { items, index: this.applied };
  }

  snapshot(): KvSnapshot {
    // Copy-on-write: later applies copy the pages they change, this view stays frozen.
    const frozen = this.state.freeze();
    const view = {
      appliedIndex: this.applied,
      sessions: this.sessions.toState(),
      keyCount: frozen.size,
      records: () => frozen.runs(),
    };
    return {
      index: view.appliedIndex,
      keyCount: view.keyCount,
      sessionCount: view.sessions.records.length,
      chunks: (chunkBytes = SNAPSHOT_CHUNK_BYTES_DEFAULT) => encodeKvSnapshot(view, chunkBytes),
      stream: (chunkBytes: number, shouldYield?: () => boolean) => {
        const options: EncodeKvSnapshotOptions = shouldYield === undefined ? { reuseBuffers: true } : { reuseBuffers: true, shouldYield };
        return encodeKvSnapshot(view, chunkBytes, options);
      },
      toBytes: () => concat(Array.from(encodeKvSnapshot(view))),
      release: () => frozen.release(),
    };
  }

  beginRestore(): KvRestore {
    const decoder = new KvSnapshotDecoder();
    return {
      write: (chunk) => decoder.write(chunk),
      finish: () => this.install(decoder.finish()),
    };
  }

  /** Replaces the whole state with a snapshot's (bytes, or chunks in order). */
  restore(snapshot: Uint8Array | Iterable<Uint8Array>): void {
    const restore = this.beginRestore();
    if (snapshot instanceof Uint8Array) restore.write(snapshot);
    else for (const chunk of snapshot) restore.write(chunk);
    restore.finish();
  }

  private install(decoded: DecodedKvSnapshot): void {
    // Build everything first, then swap: a failure leaves the current state untouched.
    const sessions = SessionTable.fromState(decoded.sessions);
    this.state = decoded.state;
    this.sessions = sessions;
    this.applied = decoded.appliedIndex;
  }

  private execute(index: number, command: KvWriteCommand): KvWriteAnswer {
    const { key } = command;
    switch (command.op) {
      case 'put': {
        this.state.set(key, command.value);
        return { key, value: command.value, index } satisfies PutAnswer;
      }
      case 'append': {
        const value = (this.state.get(key) ?? '') + command.value;
        this.state.set(key, value);
        return { key, value, index } satisfies PutAnswer;
      }
      case 'delete':
        return { key, deleted: this.state.delete(key), index } satisfies DeleteAnswer;
      case 'cas': {
        const current = this.state.get(key);
        const matches = command.expected === null ? current === undefined : current === command.expected;
        if (!matches) return { key, succeeded: false, value: current ?? null, index } satisfies CasAnswer;
        this.state.set(key, command.value);
        return { key, succeeded: true, value: command.value, index } satisfies CasAnswer;
      }
    }
  }

  private assertNext(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new Error(`apply out of order: index ${index} after applied index ${this.applied}`);
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
