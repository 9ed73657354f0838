import { performance } from 'node:perf_hooks';
import type { SnapshotMeta } from './core/messages.js';
import type { KvSnapshot } from '../kv/kv-state-machine.js';
import type { HostLog, HostMetrics, HostStorage } from './host-ports.js';
import { kv } from './host-ports.js';
import type { SnapshotClaims } from './snapshot-claims.js';

/**
 * Longest the snapshot encoder runs before it hands out what it has and awaits the file write, so
 * the Ready loop and the HTTP server get the event loop at least this often while a state of
 * millions of keys is written.
 */
export const SNAPSHOT_ENCODE_SLICE_MS = 8;

/**
 * Whether an automatic snapshot is due at `applied`: it reached the first point of this node's
 * grid (`phase + k * every`) past the last snapshot. Each node so snapshots every `every` applied
 * entries (SPEC 1), but the members of a cluster sit at different phases (see snapshotPhase), so
 * they do not all spend CPU and disk on a snapshot of the whole state at the same moment: a commit
 * needs a majority free to persist and acknowledge, and at 1M keys a snapshot is 100+ MiB.
 */
export function snapshotDue(applied: number, lastSnapshotIndex: number, every: number, phase: number): boolean {
  const nextGridPoint = phase + (Math.floor((lastSnapshotIndex - phase) / every) + 1) * every;
  return applied >= nextGridPoint;
}

/** A member's place on the snapshot grid: its rank among the sorted voters, spread over `every`. */
export function snapshotPhase(nodeId: string, voters: readonly string[], every: number): number {
  const rank = [...voters].sort().indexOf(nodeId);
  return rank <= 0 ? 0 : Math.floor((rank * every) / voters.length);
}

export interface SnapshotResult {
  readonly index: number;
  readonly term: number;
  readonly bytes: number;
}

export interface SnapshotterDeps {
  readonly storage: HostStorage;
  readonly metrics: HostMetrics;
  readonly log: HostLog;
  readonly chunkBytes: number;
  /** Shared with the snapshot receiver: one writer per snapshot file. */
  readonly claims: SnapshotClaims;
  /** Drops the core's in-memory log up to a stored snapshot (Raft.compact). */
  readonly compactCore: (meta: SnapshotMeta) => void;
  /** A monotonic clock in ms, to slice the encoding (SNAPSHOT_ENCODE_SLICE_MS). Default performance.now. */
  readonly nowMs?: () => number;
}

/**
 * Takes snapshots of the state machine into the SnapshotStore and compacts the log behind them.
 *
 * The state machine's snapshot is a copy-on-write view (O(1) to take), streamed to disk chunk by
 * chunk with an await per chunk, so the Ready loop keeps running while a large state is written:
 * the encoder hands out a chunk at least every SNAPSHOT_ENCODE_SLICE_MS, and encodes into two
 * reused buffers (each chunk's write is awaited before the next is encoded), so a snapshot of
 * 100+ MiB allocates 2 chunks, not 100+ of them for the GC.
 *
 * Compaction: the WAL drops the segments the new snapshot covers (SPEC 5), but the core's
 * in-memory log is compacted only up to the *previous* snapshot. The leader so keeps about
 * `snapshotEntries` entries to catch up a follower that is a little behind (one that just
 * dropped a message, or restarted) with AppendEntries instead of a whole InstallSnapshot; the
 * previous snapshot stays in the store (it keeps two), so the core can still name it.
 */
export class Snapshotter {
  /** The newest snapshot the node's state is at or beyond: taken here or installed from a leader. */
  private last: SnapshotMeta | null;
  private current: Promise<SnapshotResult> | null = null;

  constructor(
    private readonly deps: SnapshotterDeps,
    initial: SnapshotMeta | null,
  ) {
    this.last = initial;
  }

  get lastIndex(): number {
    return this.last?.index ?? 0;
  }

  get inProgress(): boolean {
    return this.current !== null;
  }

  /** The snapshot being written, if any. */
  get running(): Promise<SnapshotResult> | null {
    return this.current;
  }

  /** A snapshot from the leader was installed: count from it. */
  installed(meta: SnapshotMeta): void {
    if (meta.index > this.lastIndex) this.last = meta;
  }

  /**
   * Writes `view` (the state at meta.index) to the store, then compacts. One at a time: a caller
   * arriving meanwhile gets the running one's result. Rejects on a storage failure (fatal).
   */
  take(meta: SnapshotMeta, view: KvSnapshot): Promise<SnapshotResult> {
    if (this.current !== null) {
      view.release();
      return this.current;
    }
    const run = this.write(meta, view).finally(() => {
      view.release();
      this.current = null;
    });
    this.current = run;
    return run;
  }

  /** The latest snapshot in the store, as POST /admin/snapshot answers when nothing new was applied. */
  latestResult(): SnapshotResult {
    const latest = this.deps.storage.snapshots.latest();
    return latest === null ? { index: 0, term: 0, bytes: 0 } : { index: latest.meta.index, term: latest.meta.term, bytes: latest.dataBytes };
  }

  private async write(meta: SnapshotMeta, view: KvSnapshot): Promise<SnapshotResult> {
    const { storage, log, metrics } = this.deps;
    const startedMs = Date.now();
    let bytes: number;
    const stored = storage.snapshots.find(meta);
    if (stored !== null) {
      // The same snapshot (same index and term, hence the same state) arrived from the leader.
      bytes = stored.dataBytes;
    } else if (!this.deps.claims.claim(meta)) {
      // ... or is arriving right now: it will be stored by the receiver, so compact after it next time.
      return this.latestResult();
    } else {
      try {
        bytes = await this.writeFile(meta, view);
      } finally {
        this.deps.claims.release(meta);
      }
      metrics.incSnapshots('taken');
    }
    const previous = this.last;
    if (meta.index > this.lastIndex) this.last = meta;
    // Keep a catch-up margin in memory (see the class comment); the previous snapshot must
    // still be in the store for the core to name it.
    if (previous !== null && previous.index < meta.index && storage.snapshots.find(previous) !== null) {
      this.deps.compactCore(previous);
    }
    // A newer snapshot received from a leader may have pruned this one already.
    if (storage.snapshots.find(meta) !== null) await storage.compact(meta);
    const wal = storage.status().wal;
    log.log(
      `event=snapshot_taken ${kv({
        index: meta.index,
        term: meta.term,
        bytes,
        keys: view.keyCount,
        sessions: view.sessionCount,
        ms: Date.now() - startedMs,
        wal_first_index: wal.firstIndex,
        wal_segments: wal.segments,
      })}`,
    );
    return { index: meta.index, term: meta.term, bytes };
  }

  private async writeFile(meta: SnapshotMeta, view: KvSnapshot): Promise<number> {
    const writer = await this.deps.storage.snapshots.beginWrite(meta);
    try {
      const nowMs = this.deps.nowMs ?? (() => performance.now());
      let sliceStartMs = nowMs();
      const sliceOver = () => nowMs() - sliceStartMs >= SNAPSHOT_ENCODE_SLICE_MS;
      for (const chunk of view.stream(this.deps.chunkBytes, sliceOver)) {
        // Awaited before the next chunk is encoded: the stream reuses this chunk's buffer.
        await writer.write(chunk);
        sliceStartMs = nowMs();
      }
      return (await writer.commit()).dataBytes;
    } catch (error) {
      await writer.abort().catch(() => undefined);
      throw error;
    }
  }
}
