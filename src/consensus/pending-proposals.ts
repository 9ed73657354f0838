import type { KvApplyResult, KvWriteAnswer } from '../kv/commands.js';
import { CommitTimeoutError, StaleSequenceError, UnavailableError } from './kv-node.port.js';

interface Pending {
  readonly term: number;
  readonly deadlineMs: number;
  readonly resolve: (answer: KvWriteAnswer) => void;
  readonly reject: (error: Error) => void;
}

export type SettleOutcome = 'committed' | 'failed' | 'none';

/**
 * Client writes proposed on this leader, waiting for their entry to be applied: keyed by log
 * index, bounded (past `max`, a new write is refused with 503 rather than queued: STYLE 7).
 *
 * Invariant: insertion order is index order and deadline order (every write gets the same
 * timeout and indexes grow while one term lasts; a new term clears the table first), so the
 * expired ones are always at the front.
 */
export class PendingProposals {
  private readonly byIndex = new Map<number, Pending>();

  constructor(
    private readonly max: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.byIndex.size;
  }

  /** Throws UnavailableError when full; call before proposing, so a refused write is never proposed. */
  assertRoom(): void {
    if (this.byIndex.size >= this.max) {
      throw new UnavailableError('unavailable', `too many writes waiting for commit (${this.max}); retry shortly`);
    }
  }

  add(index: number, term: number, nowMs: number): Promise<KvWriteAnswer> {
    // A write of an earlier term at the same index lost its entry to this one (the log was
    // truncated there), before the host noticed the new term.
    const older = this.byIndex.get(index);
    if (older !== undefined) {
      this.byIndex.delete(index);
      older.reject(new CommitTimeoutError(`the entry at index ${index} was replaced by a new leader; the outcome is unknown: retry with the same clientId and seq`));
    }
    return new Promise<KvWriteAnswer>((resolve, reject) => {
      this.byIndex.set(index, { term, deadlineMs: nowMs + this.timeoutMs, resolve, reject });
    });
  }

  /**
   * The entry at `index` (of `term`) was applied with `result`. A waiting write of another term
   * was overwritten by a new leader's entry: it was not applied there, but it may still have been
   * appended elsewhere, so its outcome is reported unknown (504).
   */
  settle(index: number, term: number, result: KvApplyResult | undefined): SettleOutcome {
    const pending = this.byIndex.get(index);
    if (pending === undefined) return 'none';
    this.byIndex.delete(index);
    if (pending.term !== term || result === undefined) {
      pending.reject(new CommitTimeoutError(`the entry at index ${index} was replaced by a new leader; the outcome is unknown: retry with the same clientId and seq`));
      return 'failed';
    }
    if (!result.ok) {
      pending.reject(new StaleSequenceError(result.message, result.latestSeq));
      return 'committed';
    }
    pending.resolve(result.answer as KvWriteAnswer);
    return 'committed';
  }

  /** Rejects every write whose deadline passed; returns how many. */
  expire(nowMs: number): number {
    let expired = 0;
    for (const [index, pending] of this.byIndex) {
      if (pending.deadlineMs > nowMs) break;
      this.byIndex.delete(index);
      pending.reject(new CommitTimeoutError(`not committed within ${this.timeoutMs} ms; the outcome is unknown: retry with the same clientId and seq`));
      expired++;
    }
    return expired;
  }

  /** Rejects the writes proposed in another term than `keepTerm` (all of them when null). */
  rejectOtherTerms(keepTerm: number | null, reason: string): number {
    let rejected = 0;
    for (const [index, pending] of this.byIndex) {
      if (pending.term === keepTerm) continue;
      this.byIndex.delete(index);
      pending.reject(new CommitTimeoutError(`${reason}; the outcome is unknown: retry with the same clientId and seq`));
      rejected++;
    }
    return rejected;
  }

  /** Every write still waiting, for shutdown: the outcome is unknown. */
  rejectAll(error: Error): void {
    for (const pending of this.byIndex.values()) pending.reject(error);
    this.byIndex.clear();
  }

  /** Writes at or below `index` that a snapshot install skipped over (never expected on a leader). */
  dropUpTo(index: number, reason: string): void {
    for (const [i, pending] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      pending.reject(new CommitTimeoutError(`${reason}; the outcome is unknown: retry with the same clientId and seq`));
    }
  }
}
