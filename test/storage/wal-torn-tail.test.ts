import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { appendFile, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/storage/fs/node-file-system.js';
import { entryFrameBytes, FRAME_HEADER_BYTES } from '../../src/storage/wal/record-codec.js';
import { segmentFileName } from '../../src/storage/wal/segment.js';
import { Wal } from '../../src/storage/wal/wal.js';
import { makeEntries, makeEntry, plain, recordingLogger, silentLogger } from './helpers/entries.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';
import { openExpectingDamage } from './helpers/damaged-wal.js';

const fs = new NodeFileSystem();
const DATA_BYTES = 40;
const FRAME = entryFrameBytes(makeEntry(1, 1, DATA_BYTES));
const COUNT = 12;
/** These files hold records alone, so offsets and sizes are the records' (wal-zero-fill.test.ts covers the zeros ahead). */
const RECORDS_ONLY = { zeroFillStepBytes: 0 };

let dir: string;
let segmentPath: string;
let pristine: Buffer;

beforeEach(async () => {
  dir = await makeTempDir('wal-torn');
  segmentPath = join(dir, segmentFileName(1));
  const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger });
  for (const entry of makeEntries(1, COUNT, 1, DATA_BYTES)) await wal.append([entry]);
  await wal.close();
  pristine = await readFile(segmentPath);
});
afterEach(async () => {
  await removeDir(dir);
});

describe('Wal recovery: torn tails', () => {
  it('cuts the last record back cleanly at every byte offset inside it', async () => {
    expect(pristine.length).toBe(COUNT * FRAME);
    const lastStart = (COUNT - 1) * FRAME;
    for (let cut = lastStart + 1; cut < pristine.length; cut++) {
      await writeFile(segmentPath, pristine.subarray(0, cut));
      const logger = recordingLogger();
      const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger });
      expect(wal.lastIndex).toBe(COUNT - 1);
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toContain(segmentPath);
      expect(logger.warnings[0]).toContain(`byte offset ${lastStart}`);
      expect((await stat(segmentPath)).size).toBe(lastStart);
      // The repaired log takes the lost entry again and keeps it.
      await wal.append([makeEntry(COUNT, 1, DATA_BYTES)]);
      await wal.close();
      const reopened = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger });
      expect(plain(await reopened.read(1, COUNT + 1))).toEqual(plain(makeEntries(1, COUNT, 1, DATA_BYTES)));
      await reopened.close();
    }
  });

  it('needs no repair when the cut falls exactly between records', async () => {
    await writeFile(segmentPath, pristine.subarray(0, (COUNT - 2) * FRAME));
    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger });
    expect(wal.lastIndex).toBe(COUNT - 2);
    expect(logger.warnings).toEqual([]);
    await wal.close();
  });

  it('reads zeros past the last record as a clean end: nothing repaired, nothing truncated', async () => {
    await appendFile(segmentPath, Buffer.alloc(4096));
    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger });
    expect(wal.lastIndex).toBe(COUNT);
    expect(wal.stats().bytes).toBe(pristine.length);
    expect(logger.warnings).toEqual([]);
    expect((await stat(segmentPath)).size).toBe(pristine.length + 4096);
    await wal.close();
  });

  it('drops a last record that fails its checksum, alone or followed by zeros', async () => {
    for (const trailingZeros of [0, 512]) {
      const damaged = Buffer.concat([pristine, Buffer.alloc(trailingZeros)]);
      damaged[(COUNT - 1) * FRAME + FRAME_HEADER_BYTES + 5] ^= 0xff;
      await writeFile(segmentPath, damaged);
      const logger = recordingLogger();
      const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger });
      expect(wal.lastIndex).toBe(COUNT - 1);
      expect(logger.warnings[0]).toMatch(/checksum mismatch/);
      await wal.close();
    }
  });

  it('refuses to open when a middle record is damaged, naming the file and offset', async () => {
    const victim = 5;
    const offset = (victim - 1) * FRAME;
    const damaged = Buffer.from(pristine);
    damaged[offset + FRAME_HEADER_BYTES + 20] ^= 0x01;
    await writeFile(segmentPath, damaged);
    const error = await openExpectingDamage(fs, dir, RECORDS_ONLY);
    expect(error.file).toBe(segmentPath);
    expect(error.offset).toBe(offset);
    expect(error.message).toContain(segmentPath);
    expect(error.message).toContain(`byte offset ${offset}`);
    expect(error.message).toMatch(/checksum mismatch/);
    // Nothing was "repaired": the evidence is intact.
    expect(await readFile(segmentPath)).toEqual(damaged);
  });

  it('refuses a damaged length field and a zeroed record followed by data', async () => {
    const offset = 3 * FRAME;
    const huge = Buffer.from(pristine);
    huge.writeUInt32LE(0x7fff_ffff, offset);
    await writeFile(segmentPath, huge);
    expect((await openExpectingDamage(fs, dir, RECORDS_ONLY)).offset).toBe(offset);

    const zeroed = Buffer.from(pristine);
    zeroed.fill(0, offset, offset + FRAME);
    await writeFile(segmentPath, zeroed);
    const error = await openExpectingDamage(fs, dir, RECORDS_ONLY);
    expect(error.offset).toBe(offset);
    expect(error.message).toMatch(/zero length/);
  });

  it('refuses a middle record whose damaged length runs past the end of the file', async () => {
    // Not a tear: the records after it were written later, so this one was complete once.
    // Treating it as "incomplete" would cut acknowledged entries 10..12 off as a repair.
    const offset = 8 * FRAME;
    const damaged = Buffer.from(pristine);
    damaged.writeUInt32LE(damaged.readUInt32LE(offset) | 0x1_0000, offset);
    await writeFile(segmentPath, damaged);
    const error = await openExpectingDamage(fs, dir, RECORDS_ONLY);
    expect(error.file).toBe(segmentPath);
    expect(error.offset).toBe(offset);
    expect(error.message).toContain(`byte offset ${offset}`);
    expect(error.message).toContain(`valid record follows at byte offset ${offset + FRAME}`);
    expect(await readFile(segmentPath)).toEqual(damaged);
  });

  it('still repairs a last record whose length runs past the end, whatever its partial payload holds', async () => {
    // A tear can leave any bytes after the header; only a whole valid record there means damage.
    const lastStart = (COUNT - 1) * FRAME;
    const torn = Buffer.from(pristine.subarray(0, lastStart + FRAME - 1));
    torn.fill(0xa5, lastStart + FRAME_HEADER_BYTES + 18);
    await writeFile(segmentPath, torn);
    const logger = recordingLogger();
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger });
    expect(wal.lastIndex).toBe(COUNT - 1);
    expect(logger.warnings[0]).toContain(`byte offset ${lastStart}`);
    await wal.close();
  });

  it('refuses damage at the end of a segment that is not the last', async () => {
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger, segmentBytesMax: 1 });
    await wal.append([makeEntry(COUNT + 1, 1, DATA_BYTES)]);
    await wal.close();
    expect((await readdir(dir)).length).toBe(2);
    await writeFile(segmentPath, pristine.subarray(0, pristine.length - 3));
    const error = await openExpectingDamage(fs, dir, RECORDS_ONLY);
    expect(error.file).toBe(segmentPath);
    expect(error.message).toMatch(/not the last segment/);
  });

  it('refuses a log with a missing segment in the middle', async () => {
    const wal = await Wal.open(fs, dir, { ...RECORDS_ONLY, logger: silentLogger, segmentBytesMax: 1 });
    await wal.append([makeEntry(COUNT + 1, 1, DATA_BYTES)]);
    await wal.append([makeEntry(COUNT + 2, 1, DATA_BYTES)]);
    await wal.close();
    await unlink(join(dir, segmentFileName(COUNT + 1)));
    const error = await openExpectingDamage(fs, dir, RECORDS_ONLY);
    expect(error.message).toMatch(/segment is missing/);
    expect(error.file).toBe(join(dir, segmentFileName(COUNT + 2)));
  });
});
