import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeHardState, HardStateStore, INITIAL_HARD_STATE } from '../../src/storage/hard-state-store.js';
import { StorageCorruptionError, StorageFailedError } from '../../src/storage/storage-errors.js';
import { RecordingFileSystem } from './helpers/recording-fs.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('hard-state');
});
afterEach(async () => {
  await removeDir(dir);
});

describe('HardStateStore', () => {
  it('starts from the initial state and round-trips saves across reopen', async () => {
    const fs = new RecordingFileSystem();
    const store = await HardStateStore.open(fs, dir);
    expect(store.current).toEqual(INITIAL_HARD_STATE);
    await store.save({ term: 3, vote: 'n2', commit: 17 });
    await store.save({ term: 4, vote: null, commit: 20 });
    expect((await HardStateStore.open(fs, dir)).current).toEqual({ term: 4, vote: null, commit: 20 });
    await store.save({ term: 2 ** 40, vote: 'nœud-é', commit: 2 ** 45 });
    expect((await HardStateStore.open(fs, dir)).current).toEqual({ term: 2 ** 40, vote: 'nœud-é', commit: 2 ** 45 });
  });

  it('replaces the file atomically: write tmp, fsync, rename, fsync dir, in that order', async () => {
    const fs = new RecordingFileSystem();
    const store = await HardStateStore.open(fs, dir);
    const before = fs.events.length;
    await store.save({ term: 1, vote: 'n1', commit: 0 });
    const tmp = join(dir, 'state.tmp');
    const steps = fs.events
      .slice(before)
      .filter((e) => e.op !== 'open' && e.op !== 'truncate')
      .map((e) => `${e.op} ${e.path}`);
    expect(steps).toEqual([`write ${tmp}`, `sync ${tmp}`, `close ${tmp}`, `rename ${tmp}`, `syncDir ${dir}`]);
  });

  it('keeps the old state when a crash leaves only the tmp file, and discards the tmp at open', async () => {
    const fs = new RecordingFileSystem();
    const store = await HardStateStore.open(fs, dir);
    await store.save({ term: 5, vote: 'n3', commit: 9 });
    // A crash after writing state.tmp but before the rename.
    await writeFile(join(dir, 'state.tmp'), encodeHardState({ term: 6, vote: 'n1', commit: 9 }).subarray(0, 7));
    const reopened = await HardStateStore.open(fs, dir);
    expect(reopened.current).toEqual({ term: 5, vote: 'n3', commit: 9 });
    expect(await fs.stat(join(dir, 'state.tmp'))).toBeNull();
  });

  it('refuses a damaged state file, naming it', async () => {
    const fs = new RecordingFileSystem();
    const store = await HardStateStore.open(fs, dir);
    await store.save({ term: 5, vote: 'n3', commit: 9 });
    const path = join(dir, 'state');
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0x40;
    await writeFile(path, bytes);
    const error = await HardStateStore.open(fs, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageCorruptionError);
    expect((error as Error).message).toContain(path);
  });

  it('saves in call order and skips a save that changes nothing', async () => {
    const fs = new RecordingFileSystem();
    const store = await HardStateStore.open(fs, dir);
    await Promise.all([1, 2, 3, 4].map((term) => store.save({ term, vote: `n${term}`, commit: 0 })));
    expect((await HardStateStore.open(fs, dir)).current).toEqual({ term: 4, vote: 'n4', commit: 0 });
    const renames = fs.count('rename');
    await store.save({ term: 4, vote: 'n4', commit: 0 });
    expect(fs.count('rename')).toBe(renames);
  });

  it('fails for good after a sync error', async () => {
    const fs = new RecordingFileSystem();
    const store = await HardStateStore.open(fs, dir);
    fs.fault = (event) => (event.op === 'sync' ? new Error('EIO: injected') : null);
    await expect(store.save({ term: 1, vote: 'n1', commit: 0 })).rejects.toBeInstanceOf(StorageFailedError);
    fs.fault = null;
    await expect(store.save({ term: 2, vote: 'n1', commit: 0 })).rejects.toBeInstanceOf(StorageFailedError);
    expect(store.current).toEqual(INITIAL_HARD_STATE);
  });
});
