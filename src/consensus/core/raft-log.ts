import type { Entry, SnapshotMeta } from './messages.js';
import { EntryArena } from './entry-arena.js';
import { invariant } from './invariant.js';

/** Bytes an entry counts for in batching limits: its payload plus a fixed framing allowance. */
export const ENTRY_OVERHEAD_BYTES = 16;

export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** The answer to "where do our logs diverge?": the largest index <= a bound whose term <= a term. */
export interface TermHint {
  readonly index: number;
  readonly term: number;
}

/**
 * The in-memory window of the log after the last snapshot. Everything here is also on the host's
 * disk except the unstable tail (entries at or after `unstableFrom`) and a pending snapshot, which
 * the next Ready hands out for persisting.
 *
 * Invariants:
 *   snapshot.index <= applied <= committed <= lastIndex (applied may lag snapshot.index only
 *     while a received snapshot is pending: the host restores it and advance() catches up);
 *   entries[k].index === snapshot.index + 1 + k;
 *   snapshot.index + 1 <= unstableFrom <= lastIndex + 1;
 *   entries at or below `committed` are never truncated.
 */
export class RaftLog {
  private snapshot: SnapshotMeta;
  private entries: Entry[];
  /** The first index not yet reported persisted by the host. */
  private unstableFrom: number;
  /** A snapshot received from the leader, not yet persisted by the host. */
  private pendingSnapshot: SnapshotMeta | undefined;
  private committedIndex: number;
  private appliedIndex: number;
  /** Entries kept here hold copies of their data in this arena, not views pinning larger buffers. */
  private readonly arena = new EntryArena();

  /** `stableEntries`: contiguous entries following `snapshot`, already on disk. */
  constructor(snapshot: SnapshotMeta, stableEntries: readonly Entry[], committed: number, applied: number) {
    this.snapshot = snapshot;
    this.entries = [];
    for (const e of stableEntries) {
      if (e.index <= snapshot.index) continue; // the WAL may still hold entries the snapshot covers
      invariant(e.index === snapshot.index + 1 + this.entries.length, () =>
        `restored entries are not contiguous: expected index ${snapshot.index + 1 + this.entries.length}, got ${e.index}`,
      );
      this.entries.push(this.arena.pack(e));
    }
    this.unstableFrom = this.lastIndex() + 1;
    invariant(committed >= snapshot.index && committed <= this.lastIndex(), () =>
      `restored commit ${committed} outside [snapshot ${snapshot.index}, last ${this.lastIndex()}]: was the log truncated or lost?`,
    );
    invariant(applied >= snapshot.index && applied <= committed, () =>
      `restored applied ${applied} outside [snapshot ${snapshot.index}, commit ${committed}]`,
    );
    this.committedIndex = committed;
    this.appliedIndex = applied;
  }

  get committed(): number {
    return this.committedIndex;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  snapshotMeta(): SnapshotMeta {
    return this.snapshot;
  }

  firstIndex(): number {
    return this.snapshot.index + 1;
  }

  lastIndex(): number {
    return this.snapshot.index + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) as number;
  }

  /** The last index the host has persisted (the leader counts itself in the quorum only up to here). */
  stableLastIndex(): number {
    return this.unstableFrom - 1;
  }

  /** The term of the entry at `index`, or undefined if it is compacted away or not yet in the log. */
  term(index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index < this.snapshot.index) return undefined;
    return this.entries[index - this.snapshot.index - 1]?.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi). Invariant: firstIndex <= lo <= hi <= lastIndex + 1. */
  slice(lo: number, hi: number): Entry[] {
    invariant(lo >= this.firstIndex() && lo <= hi && hi <= this.lastIndex() + 1, () =>
      `slice [${lo}, ${hi}) outside the log window [${this.firstIndex()}, ${this.lastIndex() + 1})`,
    );
    const base = this.snapshot.index + 1;
    return this.entries.slice(lo - base, hi - base);
  }

  /**
   * Entries from `lo`, at most `maxCount` of them and `maxBytes` in all, but always at least one
   * if any exists (a single entry larger than the byte budget must still make progress).
   */
  entriesFrom(lo: number, maxCount: number, maxBytes: number): Entry[] {
    const hi = Math.min(this.lastIndex() + 1, lo + maxCount);
    if (lo >= hi) return [];
    return limitBytes(this.slice(lo, hi), maxBytes);
  }

  /** Appends entries, truncating any conflicting uncommitted suffix first. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    invariant(first > this.committedIndex, () => `truncating committed entries: append at ${first} <= commit ${this.committedIndex}`);
    invariant(first > this.snapshot.index && first <= this.lastIndex() + 1, () =>
      `append at ${first} leaves a gap or overlaps the snapshot (window [${this.firstIndex()}, ${this.lastIndex() + 1}])`,
    );
    this.entries.length = first - this.snapshot.index - 1;
    for (const e of entries) {
      invariant(e.index === this.lastIndex() + 1, () => `appended entries are not contiguous at ${e.index}`);
      this.entries.push(this.arena.pack(e));
    }
    this.unstableFrom = Math.min(this.unstableFrom, first);
  }

  /**
   * The follower's side of AppendEntries (Raft fig. 2): if our log holds prevIndex/prevTerm,
   * append what is new, truncating a conflicting suffix, and return the last index known to match
   * the leader. Otherwise null: the leader must back off.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNewIndex = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      invariant(conflict > this.committedIndex, () =>
        `entry ${conflict} conflicts with the leader's but is committed (commit ${this.committedIndex})`,
      );
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  /** The first entry whose term differs from ours (or that we lack); 0 if we hold them all. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (fast backtracking, as etcd-raft does):
   * every entry above it has a newer term than the other side's, so cannot match. Below the
   * snapshot the term is unknown and the answer is that index with term 0.
   */
  findConflictByTerm(index: number, term: number): TermHint {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  commitTo(index: number): boolean {
    if (index <= this.committedIndex) return false;
    invariant(index <= this.lastIndex(), () =>
      `commit ${index} is beyond the last index ${this.lastIndex()}: was the log truncated or lost?`,
    );
    this.committedIndex = index;
    return true;
  }

  appliedTo(index: number): void {
    if (index <= this.appliedIndex) return;
    invariant(index <= this.committedIndex, () => `applied ${index} beyond commit ${this.committedIndex}`);
    this.appliedIndex = index;
  }

  unstableEntries(): Entry[] {
    return this.unstableFrom > this.lastIndex() ? [] : this.slice(this.unstableFrom, this.lastIndex() + 1);
  }

  pendingSnapshotMeta(): SnapshotMeta | undefined {
    return this.pendingSnapshot;
  }

  /** The host persisted entries up to `index` with `term`; ignored if the log changed since. */
  stableTo(index: number, term: number): void {
    if (index >= this.unstableFrom && this.matchTerm(index, term)) this.unstableFrom = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.pendingSnapshot?.index === index) this.pendingSnapshot = undefined;
  }

  /**
   * Committed entries that are persisted and not yet handed out for applying. If a snapshot is
   * pending, they start after it (the host restores the snapshot first).
   */
  nextCommittedEntries(maxCount: number, maxBytes: number): Entry[] {
    const lo = Math.max(this.appliedIndex, this.snapshot.index) + 1;
    const hi = Math.min(this.committedIndex, this.stableLastIndex()) + 1;
    if (lo >= hi) return [];
    return limitBytes(this.slice(lo, Math.min(hi, lo + maxCount)), maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return Math.max(this.appliedIndex, this.snapshot.index) < Math.min(this.committedIndex, this.stableLastIndex());
  }

  /**
   * A follower installs a leader's snapshot: the log becomes that snapshot, to be persisted by the
   * host. Only called when the snapshot is past our commit and does not match our log.
   */
  restore(snapshot: SnapshotMeta): void {
    invariant(snapshot.index > this.committedIndex, () =>
      `restoring snapshot ${snapshot.index} at or below commit ${this.committedIndex}`,
    );
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.entries = [];
    this.unstableFrom = snapshot.index + 1;
    this.committedIndex = snapshot.index;
  }

  /**
   * The host took a snapshot at `snapshot.index` (applied, persisted): drop the entries it covers.
   * Returns false for a stale snapshot (not newer than the current one).
   */
  compact(snapshot: SnapshotMeta): boolean {
    if (snapshot.index <= this.snapshot.index) return false;
    invariant(snapshot.index <= this.appliedIndex, () =>
      `compacting to ${snapshot.index} beyond applied ${this.appliedIndex}`,
    );
    invariant(snapshot.index < this.unstableFrom, () => `compacting to ${snapshot.index}, not yet persisted`);
    invariant(this.term(snapshot.index) === snapshot.term, () =>
      `snapshot ${snapshot.index}/${snapshot.term} does not match the log's term ${this.term(snapshot.index)}`,
    );
    this.entries = this.entries.slice(snapshot.index - this.snapshot.index);
    this.snapshot = snapshot;
    return true;
  }
}

function limitBytes(entries: Entry[], maxBytes: number): Entry[] {
  let bytes = 0;
  for (let k = 0; k < entries.length; k++) {
    bytes += entryBytes(entries[k] as Entry);
    if (bytes > maxBytes && k > 0) return entries.slice(0, k);
  }
  return entries;
}
