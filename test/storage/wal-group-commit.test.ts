import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { StorageFailedError } from '../../src/storage/storage-errors.js';
import { entryFrameBytes } from '../../src/storage/wal/record-codec.js';
import { segmentFileName } from '../../src/storage/wal/segment.js';
import { Wal } from '../../src/storage/wal/wal.js';
import { makeEntry, silentLogger } from './helpers/entries.js';
import { RecordingFileSystem } from './helpers/recording-fs.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('wal-gc');
});
afterEach(async () => {
  await removeDir(dir);
});

const DATA_BYTES = 32;
const FRAME_BYTES = entryFrameBytes(makeEntry(1, 1, DATA_BYTES));
/** These tests count the bytes and writes of records: no zeros written ahead (wal-zero-fill.test.ts covers those). */
const RECORDS_ONLY = { zeroFillStepBytes: 0 };

describe('Wal group commit', () => {
  it('coalesces concurrent appends into few syncs, each resolving only once its bytes are synced', async () => {
    const fs = new RecordingFileSystem();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger });
    const segmentPath = join(dir, segmentFileName(1));
    const appends = 200;
    const syncsBefore = fs.countSyncPoints();
    const violations: number[] = [];
    await Promise.all(
      Array.from({ length: appends }, (_, i) =>
        wal.append([makeEntry(i + 1, 1, DATA_BYTES)]).then(() => {
          // Entry i+1's frame ends at (i+1) * FRAME_BYTES: a completed sync must cover it.
          if (fs.durableBytes(segmentPath) < (i + 1) * FRAME_BYTES) violations.push(i + 1);
        }),
      ),
    );
    const syncs = fs.countSyncPoints() - syncsBefore;
    expect(violations).toEqual([]);
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThan(appends / 10);
    expect(wal.lastIndex).toBe(appends);
    await wal.close();
  });

  it('lets closed-loop appenders share syncs', async () => {
    const fs = new RecordingFileSystem();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger });
    const segmentPath = join(dir, segmentFileName(1));
    let nextIndex = 1;
    const appenders = 16;
    const rounds = 20;
    const syncsBefore = fs.countSyncPoints();
    let unsyncedAcks = 0;
    await Promise.all(
      Array.from({ length: appenders }, async () => {
        for (let round = 0; round < rounds; round++) {
          const index = nextIndex++;
          await wal.append([makeEntry(index, 1, DATA_BYTES)]);
          if (fs.durableBytes(segmentPath) < index * FRAME_BYTES) unsyncedAcks++;
        }
      }),
    );
    const syncs = fs.countSyncPoints() - syncsBefore;
    expect(unsyncedAcks).toBe(0);
    // Each round of 16 appenders should take about one sync; allow slack for scheduling.
    expect(syncs).toBeLessThanOrEqual(rounds * 3);
    expect(syncs).toBeLessThan(appenders * rounds);
    await wal.close();
  });

  it('commits each group with one durable (O_DSYNC) write and no separate sync', async () => {
    const fs = new RecordingFileSystem();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger });
    const eventsBefore = fs.events.length;
    await Promise.all(Array.from({ length: 50 }, (_, i) => wal.append([makeEntry(i + 1, 1, DATA_BYTES)])));
    const events = fs.events.slice(eventsBefore);
    const writes = events.filter((e) => e.op === 'write');
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes.every((e) => e.op === 'write' && e.durable)).toBe(true);
    expect(events.filter((e) => e.op === 'datasync' || e.op === 'sync')).toEqual([]);
    expect(fs.durableBytes(join(dir, segmentFileName(1)))).toBe(50 * FRAME_BYTES);
    await wal.close();
  });

  it('skips every sync with fsync off', async () => {
    const fs = new RecordingFileSystem();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger, fsync: false, segmentBytesMax: 300 });
    for (let i = 1; i <= 30; i++) await wal.append([makeEntry(i, 1, DATA_BYTES)]);
    await wal.compact(10);
    expect(fs.count('datasync') + fs.count('sync') + fs.count('syncDir')).toBe(0);
    expect(fs.count('write')).toBe(30);
    expect(fs.countSyncPoints()).toBe(0);
    expect(fs.events.filter((e) => e.op === 'open').map((e) => e.op === 'open' && e.mode)).not.toContain('write-durable');
    await wal.close();
  });

  it('fails the batch, everything queued and everything after when a durable write fails, without retrying', async () => {
    const fs = new RecordingFileSystem();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger });
    await wal.append([makeEntry(1, 1)]);
    fs.fault = (event) => (event.op === 'write' && event.durable ? new Error('EIO: injected') : null);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => wal.append([makeEntry(i + 2, 1)])));
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    for (const outcome of outcomes) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StorageFailedError);
      expect(String((outcome as PromiseRejectedResult).reason.message)).toMatch(/EIO: injected/);
    }
    fs.fault = null;
    const syncsAfterFailure = fs.countSyncPoints();
    await expect(wal.append([makeEntry(7, 1)])).rejects.toBeInstanceOf(StorageFailedError);
    expect(fs.countSyncPoints()).toBe(syncsAfterFailure);
    // The log did not pretend the failed entries were appended.
    expect(wal.lastIndex).toBe(1);
    await wal.close();
  });

  it('fails appends when a write fails', async () => {
    const fs = new RecordingFileSystem();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger });
    fs.fault = (event) => (event.op === 'write' ? new Error('ENOSPC: injected') : null);
    await expect(wal.append([makeEntry(1, 1)])).rejects.toThrow(/ENOSPC: injected/);
    fs.fault = null;
    await expect(wal.append([makeEntry(1, 1)])).rejects.toBeInstanceOf(StorageFailedError);
    await wal.close();
  });
});
