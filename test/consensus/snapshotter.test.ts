/**
 * The Snapshotter against a real SnapshotStore on disk: a snapshot of a large state is written
 * while apply goes on (the view is a copy-on-write clone, streamed chunk by chunk with an await
 * per chunk), it still holds exactly the state at its index, and the log is compacted only once
 * the file is durable (tmp, fsync, rename, fsync dir: STYLE habit 5).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { SnapshotMeta } from '../../src/consensus/core/messages.js';
import type { HostStorage } from '../../src/consensus/host-ports.js';
import { SnapshotClaims } from '../../src/consensus/snapshot-claims.js';
import { SNAPSHOT_ENCODE_SLICE_MS, snapshotDue, snapshotPhase, Snapshotter } from '../../src/consensus/snapshotter.js';
import type { KvCommand } from '../../src/kv/commands.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';
import { PAGE_BYTES_MAX } from '../../src/kv/record-pages/paged-sorted-map.js';
import { snapshotFileName } from '../../src/storage/snapshot-format.js';
import { SnapshotStore } from '../../src/storage/snapshot-store.js';
import { silentLogger } from '../storage/helpers/entries.js';
import { RecordingFileSystem } from '../storage/helpers/recording-fs.js';
import { makeTempDir, removeDir } from '../storage/helpers/temp-dir.js';

const T0 = 1_700_000_000_000;
const VOTERS = ['n1', 'n2', 'n3'];

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('snapshotter');
});
afterEach(async () => {
  await removeDir(dir);
});

/** Keys, values and sessions of a machine, as comparable data. */
function contents(sm: KvStateMachine): unknown {
  return { index: sm.appliedIndex, keys: sm.list('', 1_000_000).items, sessions: sm.sessionCount, time: sm.logTimeMs };
}

function populated(keys: number): KvStateMachine {
  const sm = new KvStateMachine({ sessionLimits: { sessionTtlMs: 60_000_000, sessionsMax: 1000 } });
  for (let i = 0; i < keys; i++) {
    const command: KvCommand = i % 10 === 0
      ? { op: 'put', key: `key/${i}`, value: `v${i}`, clientId: `client-${i % 300}`, seq: i + 1, timeMs: T0 + i }
      : { op: 'put', key: `key/${i}`, value: `v${i}-${'x'.repeat(i % 40)}`, timeMs: T0 + i };
    sm.apply(i + 1, command);
  }
  return sm;
}

interface Harness {
  readonly snapshotter: Snapshotter;
  readonly store: SnapshotStore;
  readonly fs: RecordingFileSystem;
  /** Markers of compaction calls, in the same timeline as the file-system events. */
  readonly compactions: { core: number[]; wal: number[] };
}

async function harness(chunkBytes: number, nowMs?: () => number): Promise<Harness> {
  const fs = new RecordingFileSystem();
  const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
  const compactions = { core: [] as number[], wal: [] as number[] };
  const storage: HostStorage = {
    save: () => Promise.reject(new Error('not used')),
    compact: (meta) => {
      compactions.wal.push(meta.index);
      fs.record({ op: 'mkdir', path: `compact-wal ${meta.index}` });
      return Promise.resolve();
    },
    status: () => ({ wal: { segments: 1, bytes: 0, firstIndex: 1, lastIndex: 0 }, snapshot: null }),
    snapshots: store,
    close: () => Promise.resolve(),
  };
  const snapshotter = new Snapshotter(
    {
      storage,
      metrics: { observeFsyncSeconds: () => {}, observeEntriesPerFsync: () => {}, incProposals: () => {}, incSnapshots: () => {}, incLeaderChanges: () => {} },
      log: { log: () => {}, warn: () => {}, error: () => {} },
      chunkBytes,
      claims: new SnapshotClaims(),
      compactCore: (meta) => {
        compactions.core.push(meta.index);
        fs.record({ op: 'mkdir', path: `compact-core ${meta.index}` });
      },
      ...(nowMs !== undefined ? { nowMs } : {}),
    },
    null,
  );
  return { snapshotter, store, fs, compactions };
}

function metaOf(sm: KvStateMachine): SnapshotMeta {
  return { index: sm.appliedIndex, term: 1, config: { voters: VOTERS } };
}

async function restoredFrom(store: SnapshotStore, meta: SnapshotMeta): Promise<KvStateMachine> {
  const copy = new KvStateMachine();
  const restore = copy.beginRestore();
  for await (const chunk of store.openRead(meta)) restore.write(chunk);
  restore.finish();
  return copy;
}

describe('Snapshotter: snapshots that do not stop writes', () => {
  it('writes continue between the chunks; the stored snapshot is exactly the state at its index (Raft §7)', async () => {
    const sm = populated(20_000);
    const atSnapshot = contents(sm);
    const { snapshotter, store } = await harness(4096);
    const meta = metaOf(sm);
    const taking = snapshotter.take(meta, sm.snapshot());
    let settled = false;
    void taking.finally(() => {
      settled = true;
    });

    // The Ready loop's stand-in: one write per turn of the event loop until the snapshot is on
    // disk; overwrites, deletes and inserts, so copy-on-write must keep the view intact.
    let applied = 0;
    while (!settled) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const i = applied++;
      const index = sm.appliedIndex + 1;
      if (i % 3 === 0) sm.apply(index, { op: 'delete', key: `key/${i}`, timeMs: T0 + 50_000 + i });
      else if (i % 3 === 1) sm.apply(index, { op: 'put', key: `key/${i}`, value: 'changed', clientId: `late-${i}`, seq: 1, timeMs: T0 + 50_000 + i });
      else sm.apply(index, { op: 'put', key: `new/${i}`, value: 'inserted', timeMs: T0 + 50_000 + i });
    }
    const result = await taking;

    // Writes were applied while the snapshot was being written, not after it.
    expect(applied).toBeGreaterThan(10);
    expect(result).toMatchObject({ index: meta.index, term: 1 });
    expect(store.find(meta)?.dataBytes).toBe(result.bytes);
    const copy = await restoredFrom(store, meta);
    expect(contents(copy)).toEqual(atSnapshot);
    expect(contents(sm)).not.toEqual(atSnapshot);
    // The live state is unharmed by the clone: a snapshot of it now restores to it.
    const again = new KvStateMachine();
    again.restore(sm.snapshot().toBytes());
    expect(contents(again)).toEqual(contents(sm));
  });

  it('compacts only after the snapshot file is durable (tmp, fsync, rename, fsync dir), core up to the previous snapshot', async () => {
    const sm = populated(3000);
    const { snapshotter, store, fs, compactions } = await harness(1024);
    const first = metaOf(sm);
    await snapshotter.take(first, sm.snapshot());
    for (let i = 0; i < 100; i++) sm.apply(sm.appliedIndex + 1, { op: 'put', key: `more/${i}`, value: 'm', timeMs: T0 + 90_000 });
    const second = metaOf(sm);
    const before = fs.events.length;
    await snapshotter.take(second, sm.snapshot());

    const steps = fs.events.slice(before).map((e) => `${e.op} ${e.path}`);
    const final = `${dir}/${snapshotFileName(second)}`;
    const order = [`sync ${final}.tmp`, `rename ${final}.tmp`, `syncDir ${dir}`, `mkdir compact-core ${first.index}`, `mkdir compact-wal ${second.index}`]
      .map((step) => steps.indexOf(step));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The first snapshot had no predecessor: the core kept its whole log then.
    expect(compactions.core).toEqual([first.index]);
    expect(compactions.wal).toEqual([first.index, second.index]);
    expect(snapshotter.lastIndex).toBe(second.index);
    expect(contents(await restoredFrom(store, second))).toEqual(contents(sm));
  });

  it('one snapshot at a time: a second take while one is written gets the running one', async () => {
    const sm = populated(2000);
    const { snapshotter } = await harness(1024);
    const first = snapshotter.take(metaOf(sm), sm.snapshot());
    expect(snapshotter.inProgress).toBe(true);
    sm.apply(sm.appliedIndex + 1, { op: 'put', key: 'later', value: 'l', timeMs: T0 + 99_000 });
    const second = snapshotter.take(metaOf(sm), sm.snapshot());
    expect(second).toBe(first);
    await first;
    expect(snapshotter.inProgress).toBe(false);
  });
});

describe('Snapshotter: the encoder gives the event loop back every few ms', () => {
  it('hands a chunk to the file at least every SNAPSHOT_ENCODE_SLICE_MS of encoding; the file is unchanged', async () => {
    const sm = populated(20_000);
    const meta = metaOf(sm);
    // A clock that moves 1 ms per reading: the encoder reads it after each page of records, so a
    // slice ends every SNAPSHOT_ENCODE_SLICE_MS pages, long before a 1 MiB chunk is full.
    let clockMs = 0;
    const { snapshotter, store, fs } = await harness(1024 * 1024, () => clockMs++);
    const result = await snapshotter.take(meta, sm.snapshot());
    const writes = fs.events.filter((e) => e.op === 'write' && e.path.endsWith('.tmp')).length;
    // At least bytes / PAGE_BYTES_MAX pages, so that many readings, SNAPSHOT_ENCODE_SLICE_MS per slice.
    expect(writes).toBeGreaterThanOrEqual(Math.floor(result.bytes / PAGE_BYTES_MAX / SNAPSHOT_ENCODE_SLICE_MS));
    expect(writes).toBeGreaterThan(10);
    expect(result.bytes).toBeLessThan(1024 * 1024); // unsliced, this would have been one write
    expect(contents(await restoredFrom(store, meta))).toEqual(contents(sm));
  });
});

describe('snapshotDue / snapshotPhase: every N applied entries, members out of phase', () => {
  it('fires every `every` entries on the node grid, whatever index the last snapshot (automatic or asked for) was at', () => {
    const firesAt = (phase: number, last: number) => {
      let applied = last;
      while (!snapshotDue(applied, last, 10_000, phase)) applied++;
      return applied;
    };
    expect(firesAt(0, 0)).toBe(10_000);
    expect(firesAt(0, 10_000)).toBe(20_000);
    // A snapshot asked for between grid points does not shift the grid.
    expect(firesAt(0, 12_345)).toBe(20_000);
    expect(firesAt(3_333, 0)).toBe(3_333);
    expect(firesAt(3_333, 3_333)).toBe(13_333);
    expect(firesAt(6_666, 13_333)).toBe(16_666);
  });

  it('spreads the members of a cluster evenly over the interval, by sorted id', () => {
    const voters = ['n3', 'n1', 'n2'];
    expect(voters.map((id) => snapshotPhase(id, voters, 10_000))).toEqual([6_666, 0, 3_333]);
    expect(snapshotPhase('n1', ['n1'], 10_000)).toBe(0);
    expect(snapshotPhase('not-a-member', voters, 10_000)).toBe(0);
  });
});
