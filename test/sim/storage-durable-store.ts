import type { Entry, HardState } from '../../src/consensus/core/messages.js';
import type { Prng } from '../../src/consensus/core/prng.js';
import type { RaftStorage } from '../../src/storage/raft-storage.js';
import { openSimStorage } from './disk/sim-storage.js';
import { SimulatedDisk } from './disk/simulated-disk.js';
import { MemoryDurableStore, type DurableStore, type PersistedState, type StoredSnapshot } from './durable-store.js';

const DATA_DIR = '/data';

/**
 * A sim node's durable state kept by THE REAL storage code (RaftStorage: WAL, hard-state store,
 * snapshot store) on its own simulated disk. Every write awaits the real save, which resolves
 * only after the simulated fsyncs; `load` runs the real recovery.
 *
 * The synchronous readers (entry, term, lastIndex, snapshot) answer from a mirror of what the
 * storage acknowledged since the last load, as a real host keeps its log in memory; the mirror
 * is rebuilt from the disk at every load, so whatever a power loss took is gone from it too
 * (and the safety checker, re-reading the log after a restart, sees any acknowledged entry lost).
 */
export class StorageDurableStore implements DurableStore {
  readonly disk = new SimulatedDisk();
  private storage: RaftStorage | null = null;
  private mirror = new MemoryDurableStore();
  /** Recovery reports (torn tails repaired, damaged snapshots skipped), for the trace. */
  readonly repairs: string[] = [];

  /** `random` draws what each power loss keeps. */
  constructor(private readonly random: Prng) {}

  /**
   * Recovery after a crash or a power loss. The previous process's storage is abandoned as a
   * dead process's would be: its pending work is drained and its open files closed (they fail
   * from now on). If the power failed under it, the disk loses what was not synced first.
   */
  async load(): Promise<PersistedState> {
    await drainPendingWork();
    this.storage = null;
    if (this.disk.hasPowerFailed) this.powerLoss();
    this.disk.processRestarted();
    const logger = { log: () => undefined, warn: (line: string) => void this.repairs.push(line) };
    const storage = await openSimStorage(this.disk, DATA_DIR, logger);
    const mirror = new MemoryDurableStore();
    const meta = storage.snapshot;
    if (meta !== null) mirror.installSnapshot({ meta, data: await storage.snapshots.readAll(meta) });
    const from = Math.max(storage.firstIndex, (meta?.index ?? 0) + 1);
    for await (const batch of storage.entries(from)) mirror.appendEntries(batch);
    mirror.saveHardState(storage.hardState);
    this.storage = storage;
    this.mirror = mirror;
    return mirror.load();
  }

  /** Power off now: everything not synced may be lost; the node must already be down. */
  powerLoss(): void {
    this.storage = null;
    this.disk.powerLoss(this.random);
  }

  async installSnapshot(snapshot: StoredSnapshot): Promise<void> {
    const storage = this.open();
    await this.writeSnapshotFile(storage, snapshot);
    await storage.save({ entries: [], snapshot: snapshot.meta });
    this.mirror.installSnapshot(snapshot);
  }

  async compact(snapshot: StoredSnapshot): Promise<void> {
    const storage = this.open();
    const held = this.mirror.snapshot();
    if (held !== undefined && snapshot.meta.index <= held.meta.index) return;
    await this.writeSnapshotFile(storage, snapshot);
    await storage.compact(snapshot.meta);
    this.mirror.compact(snapshot);
  }

  async appendEntries(entries: readonly Entry[]): Promise<void> {
    await this.open().save({ entries });
    this.mirror.appendEntries(entries);
  }

  async saveHardState(hardState: HardState): Promise<void> {
    await this.open().save({ entries: [], hardState });
    this.mirror.saveHardState(hardState);
  }

  entry(index: number): Entry | undefined {
    return this.mirror.entry(index);
  }

  term(index: number): number | undefined {
    return this.mirror.term(index);
  }

  lastIndex(): number {
    return this.mirror.lastIndex();
  }

  snapshot(): StoredSnapshot | undefined {
    return this.mirror.snapshot();
  }

  private open(): RaftStorage {
    if (this.storage === null) throw new Error('storage used while the node is down');
    return this.storage;
  }

  private async writeSnapshotFile(storage: RaftStorage, snapshot: StoredSnapshot): Promise<void> {
    if (storage.snapshots.find(snapshot.meta)) return;
    const writer = await storage.snapshots.beginWrite(snapshot.meta);
    await writer.write(snapshot.data);
    await writer.commit();
  }
}

/**
 * Lets whatever a failed save left queued (promise callbacks of the abandoned storage) run to its
 * end before the next process opens the directory. A macrotask runs after every pending promise
 * callback; the simulator has no timers or real I/O, so this is as deterministic as the rest.
 */
function drainPendingWork(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
