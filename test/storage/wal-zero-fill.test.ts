import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/storage/fs/node-file-system.js';
import { StorageFailedError } from '../../src/storage/storage-errors.js';
import { entryFrameBytes, FRAME_HEADER_BYTES } from '../../src/storage/wal/record-codec.js';
import { parseSegmentFileName, segmentFileName } from '../../src/storage/wal/segment.js';
import { Wal, type WalOptions } from '../../src/storage/wal/wal.js';
import { makeEntries, makeEntry, plain, recordingLogger, silentLogger } from './helpers/entries.js';
import { RecordingFileSystem } from './helpers/recording-fs.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';
import { openExpectingDamage } from './helpers/damaged-wal.js';

const fs = new NodeFileSystem();
const DATA_BYTES = 32;
const FRAME = entryFrameBytes(makeEntry(1, 1, DATA_BYTES));
/** Small steps so a few dozen appends cross several of them; a step starts at half a step ahead. */
const STEP_BYTES = 4096;
const OPTIONS: WalOptions = { zeroFillStepBytes: STEP_BYTES };

let dir: string;
let segmentPath: string;
beforeEach(async () => {
  dir = await makeTempDir('wal-zero');
  segmentPath = join(dir, segmentFileName(1));
});
afterEach(async () => {
  await removeDir(dir);
});

async function writeLog(count: number, options: WalOptions = OPTIONS): Promise<void> {
  const wal = await Wal.open(fs, dir, { ...options, logger: silentLogger });
  for (const entry of makeEntries(1, count, 1, DATA_BYTES)) await wal.append([entry]);
  await wal.close();
}

describe('Wal zero-fill ahead of the append position', () => {
  it('writes records only over zeros written earlier, so no durable append grows the file', async () => {
    const recording = new RecordingFileSystem();
    const wal = await Wal.open(recording, dir, { ...OPTIONS, logger: silentLogger });
    const syncsAtOpen = recording.count('datasync') + recording.count('sync');
    const count = 200; // 200 * 58 bytes: about three steps
    for (const entry of makeEntries(1, count, 1, DATA_BYTES)) await wal.append([entry]);
    await wal.close();
    const writes = recording.events.filter((e) => e.op === 'write' && e.path === segmentPath);
    let fileEnd = 0;
    let recordWrites = 0;
    let zeroWrites = 0;
    const growingRecordWrites: number[] = [];
    for (const write of writes) {
      if (write.op !== 'write') continue;
      const end = write.position + write.bytes;
      if (write.bytes === FRAME) {
        recordWrites++;
        if (end > fileEnd) growingRecordWrites.push(write.position);
      } else {
        zeroWrites++;
      }
      fileEnd = Math.max(fileEnd, end);
    }
    expect(recordWrites).toBe(count);
    expect(growingRecordWrites).toEqual([]);
    expect(zeroWrites).toBeGreaterThanOrEqual(Math.floor((count * FRAME) / STEP_BYTES));
    // Every write is durable on its own (O_DSYNC): zero-filling adds no separate sync.
    expect(recording.count('datasync') + recording.count('sync')).toBe(syncsAtOpen);
    const fileBytes = (await stat(segmentPath)).size;
    expect(fileBytes).toBeGreaterThan(count * FRAME);
    // A step starts when less than half a step is left: never more than a step and a half ahead.
    expect(fileBytes - count * FRAME).toBeLessThan(STEP_BYTES * 1.5);
  });

  it('restarts on a zero tail with nothing repaired, continues after the records and keeps them across another restart', async () => {
    await writeLog(30);
    const fileBytes = (await stat(segmentPath)).size;
    expect(fileBytes).toBeGreaterThan(30 * FRAME);

    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...OPTIONS, logger });
    expect(logger.warnings).toEqual([]);
    expect(wal.lastIndex).toBe(30);
    expect(wal.stats().bytes).toBe(30 * FRAME);
    expect((await stat(segmentPath)).size).toBeGreaterThanOrEqual(fileBytes); // nothing truncated
    expect(plain(await wal.read(1, 31))).toEqual(plain(makeEntries(1, 30, 1, DATA_BYTES)));
    for (const entry of makeEntries(31, 10, 2, DATA_BYTES)) await wal.append([entry]);
    expect(wal.stats().bytes).toBe(40 * FRAME);
    await wal.close();

    const again = recordingLogger();
    const reopened = await Wal.open(fs, dir, { ...OPTIONS, logger: again });
    expect(again.warnings).toEqual([]);
    expect(reopened.lastIndex).toBe(40);
    expect(plain(await reopened.read(1, 41))).toEqual(plain([...makeEntries(1, 30, 1, DATA_BYTES), ...makeEntries(31, 10, 2, DATA_BYTES)]));
    await reopened.close();
  });

  it('reads a zero tail shorter than a frame header as a clean end, in the last segment and before it', async () => {
    await writeLog(10, { zeroFillStepBytes: 0, segmentBytesMax: 5 * FRAME });
    const names = (await readdir(dir)).sort();
    expect(names.length).toBe(2);
    for (const name of names) await writeFile(join(dir, name), Buffer.concat([await readFile(join(dir, name)), Buffer.alloc(FRAME_HEADER_BYTES - 3)]));
    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...OPTIONS, logger });
    expect(logger.warnings).toEqual([]);
    expect(wal.stats()).toEqual({ segments: 2, bytes: 10 * FRAME, firstIndex: 1, lastIndex: 10 });
    await wal.close();
  });

  it('repairs a torn record followed by zeros, and logs it', async () => {
    await writeLog(20);
    const file = await readFile(segmentPath);
    const lastStart = 19 * FRAME;
    // The last write reached the disk only in part: its later bytes read as the zeros beneath.
    file.fill(0, lastStart + FRAME_HEADER_BYTES + 10, lastStart + FRAME);
    await writeFile(segmentPath, file);
    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...OPTIONS, logger });
    expect(wal.lastIndex).toBe(19);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain(segmentPath);
    expect(logger.warnings[0]).toContain(`byte offset ${lastStart}`);
    expect(logger.warnings[0]).toMatch(/checksum mismatch/);
    await wal.append([makeEntry(20, 2, DATA_BYTES)]);
    await wal.close();
    const reopened = await Wal.open(fs, dir, { ...OPTIONS, logger: silentLogger });
    expect(plain(await reopened.read(20, 21))).toEqual(plain([makeEntry(20, 2, DATA_BYTES)]));
    await reopened.close();
  });

  it('refuses garbage after the zeros, naming the file and offsets, and leaves the file as it was', async () => {
    await writeLog(10, { zeroFillStepBytes: 0 });
    const recordsEnd = 10 * FRAME;
    const garbageAt = recordsEnd + 3 * STEP_BYTES;
    const damaged = Buffer.concat([await readFile(segmentPath), Buffer.alloc(3 * STEP_BYTES), Buffer.alloc(100, 0x5a), Buffer.alloc(2 * STEP_BYTES)]);
    await writeFile(segmentPath, damaged);
    const error = await openExpectingDamage(fs, dir, OPTIONS);
    expect(error.file).toBe(segmentPath);
    expect(error.offset).toBe(recordsEnd);
    expect(error.message).toContain(segmentPath);
    expect(error.message).toContain(`byte offset ${recordsEnd}`);
    expect(error.message).toContain(`byte offset ${garbageAt}`);
    expect(await readFile(segmentPath)).toEqual(damaged);
  });

  it('repairs a zero-fill cut short by a power loss (zeros, then a torn block at the end of the file)', async () => {
    await writeLog(10, { zeroFillStepBytes: 0 });
    const recordsEnd = 10 * FRAME;
    const tornBlockAt = Math.ceil((recordsEnd + STEP_BYTES) / 4096) * 4096;
    const torn = Buffer.concat([await readFile(segmentPath), Buffer.alloc(tornBlockAt + 200 - recordsEnd), Buffer.alloc(300, 0xc3)]);
    await writeFile(segmentPath, torn);
    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...OPTIONS, logger });
    expect(wal.lastIndex).toBe(10);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain(`byte offset ${recordsEnd}`);
    await wal.append([makeEntry(11, 1, DATA_BYTES)]);
    await wal.close();
    const reopened = await Wal.open(fs, dir, { ...OPTIONS, logger: silentLogger });
    expect(plain(await reopened.read(1, 12))).toEqual(plain(makeEntries(1, 11, 1, DATA_BYTES)));
    await reopened.close();
  });

  it('rolls segments whose files keep a zero tail, counts only record bytes, and recovers them cleanly', async () => {
    const segmentBytesMax = 2 * STEP_BYTES;
    const options: WalOptions = { ...OPTIONS, segmentBytesMax };
    const count = 400; // 400 * 58 bytes: three segments of 8 KiB
    await writeLog(count, options);
    const names = (await readdir(dir)).sort();
    expect(names.length).toBeGreaterThanOrEqual(3);
    let fileBytes = 0;
    for (const name of names) fileBytes += (await stat(join(dir, name))).size;
    expect(fileBytes).toBeGreaterThan(count * FRAME);

    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...options, logger });
    expect(logger.warnings).toEqual([]);
    expect(wal.stats()).toEqual({ segments: names.length, bytes: count * FRAME, firstIndex: 1, lastIndex: count });
    expect(plain(await wal.read(1, count + 1))).toEqual(plain(makeEntries(1, count, 1, DATA_BYTES)));
    // A segment before the last holds records up to its size limit, then zeros.
    const second = parseSegmentFileName(names[1]);
    expect(second).not.toBeNull();
    expect((second! - 1) * FRAME).toBeGreaterThanOrEqual(segmentBytesMax);
    expect((await stat(join(dir, names[0]))).size).toBeGreaterThan((second! - 1) * FRAME);
    // Compaction drops whole segments and the count follows the records.
    await wal.compact(second! - 1);
    expect(wal.stats().bytes).toBe((count - second! + 1) * FRAME);
    await wal.close();
  });

  it('fails the WAL when a zero-fill write fails, as on any failed write', async () => {
    const recording = new RecordingFileSystem();
    recording.fault = (event) => (event.op === 'write' && event.bytes === STEP_BYTES ? new Error('EIO: injected') : null);
    const wal = await Wal.open(recording, dir, { ...OPTIONS, logger: silentLogger });
    // The first step starts at open; the append would land in its range, so it waits for it.
    const error = await wal.append([makeEntry(1, 1, DATA_BYTES)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFailedError);
    expect(String(error)).toMatch(/zero-fill.*EIO: injected/);
    await expect(wal.append([makeEntry(1, 1, DATA_BYTES)])).rejects.toBe(error);
    await wal.close();
  });
});
