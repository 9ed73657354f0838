import { join } from 'node:path';
import type { Entry, HardState, SnapshotMeta } from '../consensus/core/messages.js';
import { DataDirLock, type DataDirLockOptions } from './data-dir-lock.js';
import type { FileSystem } from './fs/file-system.js';
import { NodeFileSystem } from './fs/node-file-system.js';
import { HardStateStore } from './hard-state-store.js';
import { SnapshotStore } from './snapshot-store.js';
import { consoleStorageLogger, type StorageLogger } from './storage-logger.js';
import { Wal } from './wal/wal.js';

export interface RaftStorageOptions {
  /** Default: the real disk. A simulator passes its own. */
  readonly fs?: FileSystem;
  /** false only for `--unsafe-no-fsync`. Default true. */
  readonly fsync?: boolean;
  /** WAL segment size. Default 64 MiB. */
  readonly segmentBytesMax?: number;
  /** Zeros the WAL writes ahead of its append position per step (see WalOptions). Default 4 MiB; 0: off. */
  readonly zeroFillStepBytes?: number;
  readonly logger?: StorageLogger;
  /** Take the data-dir LOCK (default true). A simulator with its own disk passes false. */
  readonly lock?: boolean | DataDirLockOptions;
  /**
   * Passed to the WAL (see WalOptions.schedule). Default: at once, inside save(). The WAL's one
   * appender is the host's Ready loop, one save at a time and already a group of every proposal
   * and message that arrived together, so waiting for more appenders only adds latency; and the
   * write starts before the host applies and answers what the same Ready committed.
   */
  readonly schedule?: (run: () => void) => void;
}

/** What a node restarts from. Entries [firstIndex, lastIndex] are read with readEntries/entries. */
export interface RecoveredState {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta | null;
  /** First index the WAL can serve; at most snapshot.index + 1 (entries the snapshot covers may remain). */
  readonly firstIndex: number;
  readonly lastIndex: number;
}

/** One Ready's worth of persistence (STYLE: persist before you speak). */
export interface StorageUpdate {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, already committed to `snapshots` by the transport. */
  readonly snapshot?: SnapshotMeta;
}

export interface StorageStatus {
  readonly wal: { readonly segments: number; readonly bytes: number; readonly firstIndex: number; readonly lastIndex: number };
  readonly snapshot: { readonly index: number; readonly term: number; readonly bytes: number } | null;
}

const WAL_DIR = 'wal';
const SNAPSHOTS_DIR = 'snapshots';

/**
 * A node's durable state in its data directory (SPEC 5): the hard state (`state`), the log
 * (`wal/`), snapshots (`snapshots/`), all under the `LOCK`. The host calls `save` for each Ready
 * and sends that Ready's messages only once it resolves.
 */
export class RaftStorage {
  private hardStateChain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dataDir: string,
    readonly recovered: RecoveredState,
    readonly wal: Wal,
    readonly snapshots: SnapshotStore,
    private readonly hardStates: HardStateStore,
    private readonly lock: DataDirLock | null,
  ) {}

  /**
   * Locks the directory, loads the hard state and the newest valid snapshot, replays the WAL
   * (repairing a torn tail), and reconciles log and snapshot. Throws, naming file and offset,
   * on damage it must not repair.
   */
  static async open(dataDir: string, options: RaftStorageOptions = {}): Promise<RaftStorage> {
    const fs = options.fs ?? new NodeFileSystem();
    const fsync = options.fsync ?? true;
    const logger = options.logger ?? consoleStorageLogger;
    await fs.mkdir(dataDir);
    const lockOptions = options.lock ?? true;
    const lock = lockOptions === false ? null : await DataDirLock.acquire(dataDir, lockOptions === true ? {} : lockOptions);
    try {
      const hardStates = await HardStateStore.open(fs, dataDir, { fsync });
      const snapshots = await SnapshotStore.open(fs, join(dataDir, SNAPSHOTS_DIR), { fsync, logger });
      const snapshot = snapshots.latest()?.meta ?? null;
      const wal = await Wal.open(fs, join(dataDir, WAL_DIR), {
        fsync,
        logger,
        segmentBytesMax: options.segmentBytesMax,
        zeroFillStepBytes: options.zeroFillStepBytes,
        emptyFirstIndex: snapshot ? snapshot.index + 1 : 1,
        schedule: options.schedule ?? runNow,
      });
      try {
        // The entries `wal/` and `snapshots/` in the data directory may have just been created:
        // make them durable before anything in them is relied on (a lost directory entry loses
        // every file under it). The hard-state store synced this directory before they existed.
        if (fsync) await fs.syncDir(dataDir);
        await reconcile(wal, snapshot, logger);
        const hardState = hardStates.current;
        const known = Math.max(wal.lastIndex, snapshot?.index ?? 0);
        if (hardState.commit > known) {
          throw new Error(
            `${join(dataDir, 'state')} says index ${hardState.commit} is committed, but the log and snapshot end at ${known}: ` +
              `acknowledged entries are missing; refusing to start`,
          );
        }
        const recovered = { hardState, snapshot, firstIndex: wal.firstIndex, lastIndex: wal.lastIndex };
        return new RaftStorage(dataDir, recovered, wal, snapshots, hardStates, lock);
      } catch (error) {
        await wal.close();
        throw error;
      }
    } catch (error) {
      await lock?.release();
      throw error;
    }
  }

  get hardState(): HardState {
    return this.hardStates.current;
  }

  get firstIndex(): number {
    return this.wal.firstIndex;
  }

  get lastIndex(): number {
    return this.wal.lastIndex;
  }

  /** The newest snapshot in the store. */
  get snapshot(): SnapshotMeta | null {
    return this.snapshots.latest()?.meta ?? null;
  }

  /** Term of a stored entry, or of the snapshot's last entry; 0 for index 0; undefined if unknown. */
  term(index: number): number | undefined {
    if (index === 0) return 0;
    const fromLog = this.wal.term(index);
    if (fromLog !== undefined) return fromLog;
    const snapshot = this.snapshot;
    return snapshot && snapshot.index === index ? snapshot.term : undefined;
  }

  /** Entries [lo, hi), stopping early (after one at least) past `bytesMax` of data. */
  readEntries(lo: number, hi: number, bytesMax?: number): Promise<Entry[]> {
    return this.wal.read(lo, hi, bytesMax);
  }

  /** Entries from `lo` to lastIndex in batches of about `batchBytes`, e.g. to load the log at startup. */
  async *entries(lo: number, batchBytes = 4 * 1024 * 1024): AsyncGenerator<Entry[]> {
    for (let next = lo; next <= this.wal.lastIndex; ) {
      const batch = await this.wal.read(next, this.wal.lastIndex + 1, batchBytes);
      if (batch.length === 0) return;
      yield batch;
      next = batch[batch.length - 1].index + 1;
    }
  }

  /**
   * Persists one Ready: the snapshot's effect on the log, then the entries (replacing any
   * suffix from entries[0].index), then the hard state. Resolves when all of it is durable.
   * The hard state goes last because its commit index may point into these entries: a commit
   * must never reach disk ahead of the entries it covers. WAL operations are queued before this
   * returns, so concurrent saves keep their call order and share fsyncs (group commit).
   */
  save(update: StorageUpdate): Promise<void> {
    if (this.closed) return Promise.reject(new Error('RaftStorage is closed'));
    const logWork: Promise<void>[] = [];
    if (update.snapshot) {
      const { index, term } = update.snapshot;
      if (!this.snapshots.find(update.snapshot)) {
        return Promise.reject(new Error(`save: snapshot term ${term} index ${index} was not committed to the snapshot store first`));
      }
      logWork.push(this.wal.installSnapshot(index, term));
    }
    if (update.entries.length > 0) logWork.push(this.wal.append(update.entries));
    const logDone = Promise.all(logWork);
    const hardState = update.hardState;
    if (!hardState) return logDone.then(() => undefined);
    const previous = this.hardStateChain;
    const run = Promise.all([logDone, previous]).then(() => this.hardStates.save(hardState));
    this.hardStateChain = run.catch(() => undefined);
    return run;
  }

  /** After the host committed a snapshot of its own state: drop the log segments it covers. */
  async compact(meta: SnapshotMeta): Promise<void> {
    if (!this.snapshots.find(meta)) throw new Error(`compact: snapshot term ${meta.term} index ${meta.index} is not in the store`);
    await this.wal.compact(meta.index);
  }

  status(): StorageStatus {
    const latest = this.snapshots.latest();
    return {
      wal: this.wal.stats(),
      snapshot: latest ? { index: latest.meta.index, term: latest.meta.term, bytes: latest.dataBytes } : null,
    };
  }

  /** Waits for pending writes, closes the files, releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.hardStateChain;
      await this.wal.close();
    } finally {
      await this.lock?.release();
    }
  }
}

/**
 * Makes the log fit the snapshot, as a restart right after the snapshot's install would:
 * the log continues the snapshot if it holds the snapshot's last entry (same term) or starts
 * right after it; otherwise it is stale (a crash interrupted the install) and is discarded.
 * A log that starts past snapshot.index + 1 is missing entries: that is refused.
 */
async function reconcile(wal: Wal, snapshot: SnapshotMeta | null, logger: StorageLogger): Promise<void> {
  if (!snapshot) {
    if (wal.firstIndex > 1) {
      throw new Error(`${wal.dir}: the log starts at index ${wal.firstIndex} but there is no usable snapshot: entries 1..${wal.firstIndex - 1} are missing`);
    }
    return;
  }
  const { index, term } = snapshot;
  if (wal.firstIndex > index + 1) {
    throw new Error(
      `${wal.dir}: the log starts at index ${wal.firstIndex} but the newest usable snapshot ends at ${index}: ` +
        `entries ${index + 1}..${wal.firstIndex - 1} are missing (was a newer snapshot damaged?)`,
    );
  }
  if (wal.lastIndex < index || (wal.firstIndex <= index && wal.term(index) !== term)) {
    logger.warn(`${wal.dir}: the log does not continue the snapshot at term ${term} index ${index}; discarding it`);
    await wal.reset(index + 1);
  }
}

function runNow(run: () => void): void {
  run();
}
