import type { Entry, HardState, SnapshotMeta } from '../../src/consensus/core/messages.js';

/**
 * What a sim node has persisted: the only state that survives its crash. Behind an interface
 * so the real WAL and snapshot store, on a simulated disk with power-loss faults, can replace
 * the in-memory one without touching the node.
 *
 * Invariants: entries are contiguous, start right after the snapshot (snapshot.index + 1, or 1),
 * and every method is durable when it returns, or when the promise it returns resolves (the
 * simulated fsync has happened). A rejected write means the disk failed: the node must crash.
 * The readers (entry, term, lastIndex, snapshot) see only what was made durable.
 */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot?: StoredSnapshot;
  readonly entries: readonly Entry[];
}

export interface DurableStore {
  /** At every start: what the node restarts from (a disk-backed store runs recovery here). */
  load(): PersistedState | Promise<PersistedState>;
  /**
   * A snapshot received from the leader (Raft fig. 13): if the log holds the snapshot's last
   * entry, keeps the entries after it; otherwise discards the whole log.
   */
  installSnapshot(snapshot: StoredSnapshot): void | Promise<void>;
  /** The node's own snapshot of applied state: drops the entries it covers, keeps the rest. */
  compact(snapshot: StoredSnapshot): void | Promise<void>;
  /** Appends `entries`, first truncating any suffix from entries[0].index. */
  appendEntries(entries: readonly Entry[]): void | Promise<void>;
  saveHardState(hardState: HardState): void | Promise<void>;
  /** The persisted entry at `index`, or undefined if compacted away or beyond the end. */
  entry(index: number): Entry | undefined;
  /** Term of the entry at `index`, including the snapshot's last entry; undefined if unknown. */
  term(index: number): number | undefined;
  lastIndex(): number;
  /** The stored snapshot (the latest one), whose bytes a leader streams to a lagging follower. */
  snapshot(): StoredSnapshot | undefined;
}

export const INITIAL_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

export class MemoryDurableStore implements DurableStore {
  private hardState: HardState = INITIAL_HARD_STATE;
  private stored: StoredSnapshot | undefined;
  /** entries[i] holds index firstIndex() + i. */
  private entries: Entry[] = [];

  load(): PersistedState {
    return { hardState: this.hardState, snapshot: this.stored, entries: [...this.entries] };
  }

  installSnapshot(snapshot: StoredSnapshot): void {
    const { index, term } = snapshot.meta;
    const keepsLog = this.term(index) === term;
    this.entries = keepsLog ? this.entries.slice(index + 1 - this.firstIndex()) : [];
    this.stored = snapshot;
  }

  compact(snapshot: StoredSnapshot): void {
    const { index, term } = snapshot.meta;
    if (index > this.lastIndex() || this.term(index) !== term) {
      throw new Error(`store: compact to ${index}@${term} but the log has ${this.term(index)} there`);
    }
    if (this.stored !== undefined && index <= this.stored.meta.index) return;
    this.entries = this.entries.slice(index + 1 - this.firstIndex());
    this.stored = snapshot;
  }

  appendEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first < this.firstIndex() || first > this.lastIndex() + 1) {
      throw new Error(`store: append at ${first} outside ${this.firstIndex()}..${this.lastIndex() + 1}`);
    }
    entries.forEach((entry, i) => {
      if (entry.index !== first + i) throw new Error(`store: append not contiguous at ${entry.index}`);
    });
    this.entries = this.entries.slice(0, first - this.firstIndex()).concat(entries);
  }

  saveHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - this.firstIndex()];
  }

  term(index: number): number | undefined {
    if (this.stored !== undefined && index === this.stored.meta.index) return this.stored.meta.term;
    if (index === 0) return 0;
    return this.entry(index)?.term;
  }

  lastIndex(): number {
    return this.firstIndex() - 1 + this.entries.length;
  }

  snapshot(): StoredSnapshot | undefined {
    return this.stored;
  }

  private firstIndex(): number {
    return (this.stored?.meta.index ?? 0) + 1;
  }
}
