import { RaftStorage } from '../../../src/storage/raft-storage.js';
import type { StorageLogger } from '../../../src/storage/storage-logger.js';
import type { SimulatedDisk } from './simulated-disk.js';

/** Small segments, so a short run rolls over, truncates across segments and compacts. */
export const SIM_SEGMENT_BYTES_MAX = 256;

/**
 * The real RaftStorage on a simulated disk: no data-dir lock (proper-lockfile works outside the
 * FileSystem port) and the WAL's writer scheduled as a microtask instead of setImmediate, so a
 * save completes within the promise chain the caller awaits, in an order fixed by the program.
 */
export function openSimStorage(disk: SimulatedDisk, dir: string, logger: StorageLogger): Promise<RaftStorage> {
  return RaftStorage.open(dir, {
    fs: disk,
    lock: false,
    segmentBytesMax: SIM_SEGMENT_BYTES_MAX,
    logger,
    schedule: (run) => queueMicrotask(run),
  });
}
