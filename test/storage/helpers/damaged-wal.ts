import { expect } from '@jest/globals';
import type { FileSystem } from '../../../src/storage/fs/file-system.js';
import { StorageCorruptionError } from '../../../src/storage/storage-errors.js';
import { Wal, type WalOptions } from '../../../src/storage/wal/wal.js';
import { silentLogger } from './entries.js';


/** Opens a WAL that must refuse to start; returns the error (a StorageCorruptionError). */
export async function openExpectingDamage(fs: FileSystem, dir: string, options: WalOptions): Promise<StorageCorruptionError> {
  const error = await Wal.open(fs, dir, { ...options, logger: silentLogger }).then(
    async (wal) => {
      await wal.close();
      throw new Error('open succeeded on a damaged WAL');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageCorruptionError);
  return error as StorageCorruptionError;
}
