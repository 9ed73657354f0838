import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotMeta } from '../../src/consensus/core/messages.js';
import { INITIAL_HARD_STATE } from '../../src/storage/hard-state-store.js';
import { RaftStorage, type RaftStorageOptions } from '../../src/storage/raft-storage.js';
import { snapshotFileName } from '../../src/storage/snapshot-format.js';
import { dataFor, makeEntries, plain, recordingLogger, silentLogger } from './helpers/entries.js';
import { RecordingFileSystem } from './helpers/recording-fs.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('raft-storage');
});
afterEach(async () => {
  await removeDir(dir);
});

function open(options: RaftStorageOptions = {}): Promise<RaftStorage> {
  return RaftStorage.open(dir, { logger: silentLogger, ...options });
}

function meta(index: number, term: number): SnapshotMeta {
  return { index, term, config: { voters: ['n1', 'n2', 'n3'] } };
}

async function commitSnapshot(storage: RaftStorage, m: SnapshotMeta): Promise<void> {
  const writer = await storage.snapshots.beginWrite(m);
  await writer.write(dataFor(m.index, m.term, 500));
  await writer.commit();
}

async function allEntries(storage: RaftStorage, from: number) {
  const out = [];
  for await (const batch of storage.entries(from, 300)) out.push(...batch);
  return out;
}

describe('RaftStorage', () => {
  it('opens a fresh directory with the initial state', async () => {
    const storage = await open();
    expect(storage.recovered).toEqual({ hardState: INITIAL_HARD_STATE, snapshot: null, firstIndex: 1, lastIndex: 0 });
    expect(storage.term(0)).toBe(0);
    await storage.close();
  });

  it('recovers what it saved', async () => {
    const storage = await open();
    await storage.save({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: 'n1', commit: 4 } });
    await storage.save({ entries: makeEntries(11, 5, 2), hardState: { term: 2, vote: 'n2', commit: 12 } });
    await storage.save({ entries: makeEntries(13, 2, 3) });
    await storage.close();
    const reopened = await open();
    expect(reopened.recovered).toEqual({ hardState: { term: 2, vote: 'n2', commit: 12 }, snapshot: null, firstIndex: 1, lastIndex: 14 });
    const expected = [...makeEntries(1, 10, 1), ...makeEntries(11, 2, 2), ...makeEntries(13, 2, 3)];
    expect(plain(await allEntries(reopened, 1))).toEqual(plain(expected));
    await reopened.close();
  });

  it('makes the entries durable before it writes the hard state', async () => {
    const fs = new RecordingFileSystem();
    const storage = await open({ fs });
    const before = fs.events.length;
    await storage.save({ entries: makeEntries(1, 3, 1), hardState: { term: 1, vote: 'n1', commit: 3 } });
    const steps = fs.events.slice(before);
    // The WAL's group commit is a durable (O_DSYNC) write, or a write then a datasync.
    const walSync = steps.findIndex(
      (e) => e.path.includes(join(dir, 'wal')) && (e.op === 'datasync' || (e.op === 'write' && e.durable)),
    );
    const stateWrite = steps.findIndex((e) => e.op === 'write' && e.path.includes('state.tmp'));
    expect(walSync).toBeGreaterThanOrEqual(0);
    expect(stateWrite).toBeGreaterThan(walSync);
    await storage.close();
  });

  it('installs a received snapshot: keeps a log that holds its last entry, discards one that does not', async () => {
    const storage = await open();
    await storage.save({ entries: makeEntries(1, 30, 1) });
    await commitSnapshot(storage, meta(20, 1));
    await storage.save({ snapshot: meta(20, 1), entries: [] });
    expect(storage.lastIndex).toBe(30);

    await commitSnapshot(storage, meta(40, 2));
    await storage.save({ snapshot: meta(40, 2), entries: makeEntries(41, 3, 2), hardState: { term: 2, vote: null, commit: 40 } });
    expect([storage.firstIndex, storage.lastIndex]).toEqual([41, 43]);
    await storage.close();

    const reopened = await open();
    expect(reopened.recovered).toEqual({ hardState: { term: 2, vote: null, commit: 40 }, snapshot: meta(40, 2), firstIndex: 41, lastIndex: 43 });
    expect(reopened.term(40)).toBe(2);
    expect(reopened.status().snapshot).toEqual({ index: 40, term: 2, bytes: 500 });
    await reopened.close();
  });

  it('refuses to save a snapshot that was never committed to the store', async () => {
    const storage = await open();
    await expect(storage.save({ snapshot: meta(5, 1), entries: [] })).rejects.toThrow(/not committed/);
    await storage.close();
  });

  it('compacts the log behind its own snapshot and restarts from snapshot + log', async () => {
    const storage = await open({ segmentBytesMax: 400 });
    for (let i = 1; i <= 60; i += 5) await storage.save({ entries: makeEntries(i, 5, 1) });
    await commitSnapshot(storage, meta(45, 1));
    await storage.compact(meta(45, 1));
    expect(storage.firstIndex).toBeGreaterThan(1);
    expect(storage.firstIndex).toBeLessThanOrEqual(46);
    await storage.close();
    const reopened = await open({ segmentBytesMax: 400 });
    expect(reopened.recovered.snapshot).toEqual(meta(45, 1));
    expect(reopened.recovered.lastIndex).toBe(60);
    expect(plain(await allEntries(reopened, 46))).toEqual(plain(makeEntries(46, 15, 1)));
    await reopened.close();
  });

  it('finishes an install a crash interrupted: a stale log is discarded at recovery', async () => {
    const storage = await open();
    await storage.save({ entries: makeEntries(1, 30, 1) });
    // Crash after the snapshot was committed but before save() reset the log.
    await commitSnapshot(storage, meta(25, 4));
    await storage.close();
    const logger = recordingLogger();
    const reopened = await open({ logger });
    expect(reopened.recovered).toMatchObject({ snapshot: meta(25, 4), firstIndex: 26, lastIndex: 25 });
    expect(logger.warnings.join('\n')).toMatch(/does not continue the snapshot/);
    await reopened.close();
  });

  it('refuses to start when the newest snapshot is damaged and the log no longer reaches back', async () => {
    const storage = await open({ segmentBytesMax: 300 });
    for (let i = 1; i <= 60; i += 5) await storage.save({ entries: makeEntries(i, 5, 1) });
    await commitSnapshot(storage, meta(10, 1));
    await commitSnapshot(storage, meta(50, 1));
    await storage.compact(meta(50, 1));
    await storage.close();
    const newest = join(dir, 'snapshots', snapshotFileName(meta(50, 1)));
    const bytes = await readFile(newest);
    bytes[40] ^= 1;
    await writeFile(newest, bytes);
    await expect(open({ segmentBytesMax: 300 })).rejects.toThrow(/entries 11\.\.\d+ are missing/);
    // The failed open released the lock.
    await expect(open({ segmentBytesMax: 300 })).rejects.toThrow(/missing/);
  });

  it('refuses to start when the hard state commits past the end of the log', async () => {
    const storage = await open();
    await storage.save({ entries: makeEntries(1, 3, 1), hardState: { term: 1, vote: 'n1', commit: 9 } });
    await storage.close();
    await expect(open()).rejects.toThrow(/committed.*refusing to start/);
  });

  it('reports its status for /admin/status', async () => {
    const storage = await open({ segmentBytesMax: 300 });
    await storage.save({ entries: makeEntries(1, 10, 1) });
    await storage.save({ entries: makeEntries(11, 10, 1) });
    const status = storage.status();
    expect(status.snapshot).toBeNull();
    expect(status.wal.firstIndex).toBe(1);
    expect(status.wal.lastIndex).toBe(20);
    expect(status.wal.segments).toBeGreaterThan(1);
    expect(status.wal.bytes).toBeGreaterThan(20 * 32);
    await storage.close();
  });

  it('holds the data directory against a second open until closed', async () => {
    const first = await open();
    await expect(open()).rejects.toThrow(new RegExp(`data directory ${dir} is locked by process ${process.pid}`));
    await first.close();
    const second = await open();
    await second.close();
  });
});
