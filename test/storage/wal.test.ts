import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/storage/fs/node-file-system.js';
import { Wal, type WalOptions } from '../../src/storage/wal/wal.js';
import { makeEntries, makeEntry, plain, silentLogger } from './helpers/entries.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';

const fs = new NodeFileSystem();
let dir: string;

beforeEach(async () => {
  dir = await makeTempDir('wal');
});
afterEach(async () => {
  await removeDir(dir);
});

function openWal(options: WalOptions = {}): Promise<Wal> {
  return Wal.open(fs, dir, { logger: silentLogger, ...options });
}

async function segmentNames(): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('Wal', () => {
  it('starts empty with one segment named by its first index', async () => {
    const wal = await openWal();
    expect([wal.firstIndex, wal.lastIndex]).toEqual([1, 0]);
    expect(await segmentNames()).toEqual(['00000000000000000001.wal']);
    await wal.close();
  });

  it('reads back what it appended, across a reopen', async () => {
    const wal = await openWal();
    const entries = [...makeEntries(1, 10, 1), makeEntry(11, 2, 0), ...makeEntries(12, 5, 2, 1000)];
    await wal.append(entries.slice(0, 4));
    await wal.append(entries.slice(4));
    expect(plain(await wal.read(1, 17))).toEqual(plain(entries));
    expect(plain(await wal.read(5, 9))).toEqual(plain(entries.slice(4, 8)));
    await wal.close();

    const reopened = await openWal();
    expect([reopened.firstIndex, reopened.lastIndex]).toEqual([1, 16]);
    expect(plain(await reopened.read(1, 17))).toEqual(plain(entries));
    expect([reopened.term(10), reopened.term(11), reopened.term(16), reopened.term(17)]).toEqual([1, 2, 2, undefined]);
    await reopened.close();
  });

  it('rolls to a new segment past segmentBytesMax and reads across segments', async () => {
    const wal = await openWal({ segmentBytesMax: 500 });
    const entries = makeEntries(1, 40, 1, 50);
    for (const entry of entries) await wal.append([entry]);
    const names = await segmentNames();
    expect(names.length).toBeGreaterThan(4);
    expect(names[0]).toBe('00000000000000000001.wal');
    expect(plain(await wal.read(1, 41))).toEqual(plain(entries));
    await wal.close();
    const reopened = await openWal({ segmentBytesMax: 500 });
    expect(reopened.stats().segments).toBe(names.length);
    expect(plain(await reopened.read(3, 38))).toEqual(plain(entries.slice(2, 37)));
    await reopened.close();
  });

  it('replaces a suffix within the last segment with a truncation record', async () => {
    const wal = await openWal();
    await wal.append(makeEntries(1, 10, 1));
    const replacement = makeEntries(6, 3, 2);
    await wal.append(replacement);
    expect(wal.lastIndex).toBe(8);
    const expected = [...makeEntries(1, 5, 1), ...replacement];
    expect(plain(await wal.read(1, 9))).toEqual(plain(expected));
    await wal.close();
    const reopened = await openWal();
    expect(plain(await reopened.read(1, reopened.lastIndex + 1))).toEqual(plain(expected));
    expect(reopened.term(5)).toBe(1);
    expect(reopened.term(6)).toBe(2);
    await reopened.close();
  });

  it('replaces a suffix that starts in an earlier segment by deleting the later segments', async () => {
    const wal = await openWal({ segmentBytesMax: 300 });
    for (const entry of makeEntries(1, 30, 1, 40)) await wal.append([entry]);
    const before = await segmentNames();
    await wal.append(makeEntries(4, 2, 5, 40));
    const after = await segmentNames();
    expect(after.length).toBeLessThan(before.length);
    expect(wal.lastIndex).toBe(5);
    const expected = [...makeEntries(1, 3, 1, 40), ...makeEntries(4, 2, 5, 40)];
    expect(plain(await wal.read(1, 6))).toEqual(plain(expected));
    await wal.close();
    const reopened = await openWal({ segmentBytesMax: 300 });
    expect(plain(await reopened.read(1, reopened.lastIndex + 1))).toEqual(plain(expected));
    await reopened.close();
  });

  it('rejects an append that would leave a gap or reach below the first index', async () => {
    const wal = await openWal({ segmentBytesMax: 200 });
    await wal.append(makeEntries(1, 20, 1, 40));
    await expect(wal.append([makeEntry(30, 1)])).rejects.toThrow(/gap/);
    await wal.append(makeEntries(21, 20, 1, 40));
    await wal.compact(20);
    expect(wal.firstIndex).toBe(21);
    await expect(wal.append([makeEntry(1, 2)])).rejects.toThrow(RangeError);
    // A rejected append does not poison the log.
    await wal.append([makeEntry(41, 1)]);
    expect(wal.lastIndex).toBe(41);
    await wal.close();
  });

  it('compacts whole segments at or below an index, never the last one', async () => {
    const wal = await openWal({ segmentBytesMax: 300 });
    for (const entry of makeEntries(1, 50, 1, 40)) await wal.append([entry]);
    const segmentsBefore = wal.stats().segments;
    await wal.compact(20);
    expect(wal.firstIndex).toBeLessThanOrEqual(21);
    expect(wal.firstIndex).toBeGreaterThan(1);
    expect(wal.stats().segments).toBeLessThan(segmentsBefore);
    expect(plain(await wal.read(wal.firstIndex, 51))).toEqual(plain(makeEntries(wal.firstIndex, 51 - wal.firstIndex, 1, 40)));
    await expect(wal.read(1, 3)).rejects.toThrow(RangeError);
    await wal.compact(1000);
    expect(wal.stats().segments).toBe(1);
    expect(wal.lastIndex).toBe(50);
    await wal.close();
    const reopened = await openWal({ segmentBytesMax: 300 });
    expect([reopened.firstIndex, reopened.lastIndex]).toEqual([wal.firstIndex, 50]);
    await reopened.close();
  });

  it('resets to start over at a later index', async () => {
    const wal = await openWal({ segmentBytesMax: 300 });
    await wal.append(makeEntries(1, 30, 1, 40));
    await wal.reset(101);
    expect([wal.firstIndex, wal.lastIndex]).toEqual([101, 100]);
    expect(await segmentNames()).toEqual(['00000000000000000101.wal']);
    await wal.append(makeEntries(101, 2, 3));
    await wal.close();
    const reopened = await openWal();
    expect([reopened.firstIndex, reopened.lastIndex]).toEqual([101, 102]);
    await reopened.close();
  });

  it('installSnapshot keeps the log after a matching entry and discards a conflicting one', async () => {
    const wal = await openWal({ segmentBytesMax: 300 });
    await wal.append([...makeEntries(1, 20, 1, 40), ...makeEntries(21, 20, 2, 40)]);
    await wal.installSnapshot(25, 2);
    expect(wal.lastIndex).toBe(40);
    expect(wal.firstIndex).toBeLessThanOrEqual(26);
    await wal.installSnapshot(30, 7);
    expect([wal.firstIndex, wal.lastIndex]).toEqual([31, 30]);
    await wal.close();
  });

  it('stops a read at bytesMax after at least one entry', async () => {
    const wal = await openWal();
    await wal.append(makeEntries(1, 10, 1, 100));
    expect((await wal.read(1, 11, 250)).map((e) => e.index)).toEqual([1, 2, 3]);
    expect((await wal.read(4, 11, 1)).map((e) => e.index)).toEqual([4]);
    await wal.close();
  });

  it('never creates two segments with one name when a voided segment fills up', async () => {
    const wal = await openWal({ segmentBytesMax: 200 });
    await wal.append(makeEntries(1, 10, 1, 40));
    // Void every entry of the only segment, then keep appending past its size limit.
    await wal.append(makeEntries(1, 10, 2, 40));
    await wal.append(makeEntries(11, 10, 2, 40));
    expect(plain(await wal.read(1, 21))).toEqual(plain(makeEntries(1, 20, 2, 40)));
    await wal.close();
    const reopened = await openWal({ segmentBytesMax: 200 });
    expect(plain(await reopened.read(1, 21))).toEqual(plain(makeEntries(1, 20, 2, 40)));
    await reopened.close();
  });

  it('rejects operations after close', async () => {
    const wal = await openWal();
    await wal.close();
    await expect(wal.append([makeEntry(1, 1)])).rejects.toThrow(/closed/);
  });

  it('names unexpected files in the directory without failing', async () => {
    const warnings: string[] = [];
    const first = await openWal();
    await first.close();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'notes.txt'), 'x');
    const wal = await Wal.open(fs, dir, { logger: { log: () => undefined, warn: (m) => warnings.push(m) } });
    expect(warnings.join('\n')).toContain('notes.txt');
    await wal.close();
  });
});
