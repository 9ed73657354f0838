import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotMeta } from '../../src/consensus/core/messages.js';
import { NodeFileSystem } from '../../src/storage/fs/node-file-system.js';
import { snapshotFileName } from '../../src/storage/snapshot-format.js';
import { SnapshotStore } from '../../src/storage/snapshot-store.js';
import { StorageCorruptionError } from '../../src/storage/storage-errors.js';
import { dataFor, recordingLogger, silentLogger } from './helpers/entries.js';
import { RecordingFileSystem } from './helpers/recording-fs.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';

const fs = new NodeFileSystem();
let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('snapshots');
});
afterEach(async () => {
  await removeDir(dir);
});

function meta(index: number, term: number): SnapshotMeta {
  return { index, term, config: { voters: ['n1', 'n2', 'n3'] } };
}

async function writeSnapshot(store: SnapshotStore, m: SnapshotMeta, data: Uint8Array, chunkBytes = 1000): Promise<void> {
  const writer = await store.beginWrite(m);
  for (let at = 0; at < data.length; at += chunkBytes) await writer.write(data.subarray(at, at + chunkBytes));
  await writer.commit();
}

describe('SnapshotStore', () => {
  it('streams a snapshot in and out in chunks and finds it after reopen', async () => {
    const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    expect(store.latest()).toBeNull();
    const data = dataFor(1, 1, 250_000);
    await writeSnapshot(store, meta(100, 3), data, 7_777);
    const reopened = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    expect(reopened.latest()?.meta).toEqual(meta(100, 3));
    expect(reopened.latest()?.dataBytes).toBe(data.length);
    const chunks: Uint8Array[] = [];
    for await (const chunk of reopened.openRead(meta(100, 3), 10_000)) chunks.push(chunk);
    expect(chunks.length).toBe(25);
    expect(Buffer.concat(chunks).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(await reopened.readAll(meta(100, 3))).equals(Buffer.from(data))).toBe(true);
    expect(await readdir(dir)).toEqual([snapshotFileName(meta(100, 3))]);
  });

  it('stores an empty snapshot', async () => {
    const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    await writeSnapshot(store, meta(1, 1), new Uint8Array(0));
    const reopened = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    expect((await reopened.readAll(meta(1, 1))).length).toBe(0);
  });

  it('writes tmp, fsyncs, renames, fsyncs the directory', async () => {
    const recording = new RecordingFileSystem();
    const store = await SnapshotStore.open(recording, dir, { logger: silentLogger });
    const before = recording.events.length;
    await writeSnapshot(store, meta(10, 1), dataFor(2, 1, 3000));
    const final = join(dir, snapshotFileName(meta(10, 1)));
    const tmp = `${final}.tmp`;
    const steps = recording.events.slice(before).map((e) => `${e.op} ${e.path}`);
    const order = [`sync ${tmp}`, `close ${tmp}`, `rename ${tmp}`, `syncDir ${dir}`].map((step) => steps.indexOf(step));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(steps.lastIndexOf(`write ${tmp}`)).toBeLessThan(order[0]);
  });

  it('keeps only the two newest', async () => {
    const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    for (const [index, term] of [
      [10, 1],
      [20, 1],
      [30, 2],
      [40, 2],
    ]) {
      await writeSnapshot(store, meta(index, term), dataFor(index, term, 100));
    }
    expect(store.list().map((s) => s.meta.index)).toEqual([40, 30]);
    expect((await readdir(dir)).sort()).toEqual([snapshotFileName(meta(30, 2)), snapshotFileName(meta(40, 2))]);
  });

  it('skips a corrupt newest snapshot, reports it, and loads the one before', async () => {
    const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    await writeSnapshot(store, meta(10, 1), dataFor(10, 1, 5000));
    await writeSnapshot(store, meta(20, 2), dataFor(20, 2, 5000));
    const newest = join(dir, snapshotFileName(meta(20, 2)));
    const bytes = await readFile(newest);
    bytes[bytes.length - 100] ^= 0x10;
    await writeFile(newest, bytes);

    const logger = recordingLogger();
    const reopened = await SnapshotStore.open(fs, dir, { logger });
    expect(reopened.latest()?.meta).toEqual(meta(10, 1));
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain(newest);
    expect(logger.warnings[0]).toMatch(/checksum mismatch/);
    expect((await readdir(dir)).sort()).toEqual([snapshotFileName(meta(10, 1)), `${snapshotFileName(meta(20, 2))}.corrupt`]);
  });

  it('skips a truncated snapshot', async () => {
    const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    await writeSnapshot(store, meta(10, 1), dataFor(10, 1, 5000));
    await writeSnapshot(store, meta(20, 2), dataFor(20, 2, 5000));
    const newest = join(dir, snapshotFileName(meta(20, 2)));
    await writeFile(newest, (await readFile(newest)).subarray(0, 3000));
    const reopened = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    expect(reopened.latest()?.meta).toEqual(meta(10, 1));
  });

  it('throws at the end of a read whose data went bad after open', async () => {
    const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    await writeSnapshot(store, meta(10, 1), dataFor(10, 1, 5000));
    const path = join(dir, snapshotFileName(meta(10, 1)));
    const bytes = await readFile(path);
    bytes[200] ^= 0x01;
    await writeFile(path, bytes);
    await expect(store.readAll(meta(10, 1))).rejects.toBeInstanceOf(StorageCorruptionError);
  });

  it('abort leaves nothing behind, and open removes an interrupted tmp', async () => {
    const store = await SnapshotStore.open(fs, dir, { logger: silentLogger });
    const aborted = await store.beginWrite(meta(5, 1));
    await aborted.write(dataFor(5, 1, 100));
    await aborted.abort();
    expect(await readdir(dir)).toEqual([]);

    const interrupted = await store.beginWrite(meta(6, 1));
    await interrupted.write(dataFor(6, 1, 100));
    // Never committed: as after a crash mid-transfer.
    await SnapshotStore.open(fs, dir, { logger: silentLogger });
    expect(await readdir(dir)).toEqual([]);
    await interrupted.abort();
  });
});

describe('SnapshotStore writer: streaming a large snapshot', () => {
  it('fdatasyncs every syncEveryBytes while writing, and takes chunks without copying them (caller reuses its buffer)', async () => {
    const recording = new RecordingFileSystem();
    const store = await SnapshotStore.open(recording, dir, { logger: silentLogger, syncEveryBytes: 10_000 });
    const data = dataFor(1, 1, 100_000);
    const writer = await store.beginWrite(meta(7, 1));
    const reused = new Uint8Array(4_000);
    for (let at = 0; at < data.length; at += reused.length) {
      const n = Math.min(reused.length, data.length - at);
      reused.set(data.subarray(at, at + n));
      await writer.write(reused.subarray(0, n));
      reused.fill(0xee); // the write resolved: the caller may scribble over its buffer
    }
    const before = recording.count('datasync');
    await writer.commit();
    // 100 000 bytes in 4 000-byte chunks: a datasync after each 12 000 (>= 10 000) bytes.
    expect(before).toBe(8);
    expect(Buffer.from(await store.readAll(meta(7, 1))).equals(Buffer.from(data))).toBe(true);
  });

  it('does not sync mid-write when fsync is off', async () => {
    const recording = new RecordingFileSystem();
    const store = await SnapshotStore.open(recording, dir, { logger: silentLogger, fsync: false, syncEveryBytes: 1_000 });
    const writer = await store.beginWrite(meta(3, 1));
    for (let k = 0; k < 10; k++) await writer.write(dataFor(k + 1, 1, 2_000));
    await writer.commit();
    expect(recording.count('datasync') + recording.count('sync')).toBe(0);
  });
});
