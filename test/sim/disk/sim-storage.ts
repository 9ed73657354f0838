import { RaftStorage } from '../../../src/storage/raft-storage.js';
import type { StorageLogger } from '../../../src/storage/storage-logger.js';
import type { SimulatedDisk } from './simulated-disk.js';

/** Small segments, so a short run rolls over, truncates across segments and compacts. */
export const SIM_SEGMENT_BYTES_MAX = 256;

/** The WAL zeroes ahead of its records in steps this small, so a short run crosses many steps. */
export const SIM_ZERO_FILL_STEP_BYTES = 64;

export interface SimStorageOptions {
  /** The WAL's zero-fill step (WalOptions.zeroFillStepBytes); default SIM_ZERO_FILL_STEP_BYTES, 0 turns it off. */
  readonly zeroFillStepBytes?: number;
}

/**
 * The real RaftStorage on a simulated disk: no data-dir lock (proper-lockfile works outside the
 * FileSystem port) and the WAL's writer scheduled as a microtask instead of setImmediate, so a
 * save completes within the promise chain the caller awaits, in an order fixed by the program.
 */
export function openSimStorage(disk: SimulatedDisk, dir: string, logger: StorageLogger, options: SimStorageOptions = {}): Promise<RaftStorage> {
  return RaftStorage.open(dir, {
    fs: disk,
    lock: false,
    segmentBytesMax: SIM_SEGMENT_BYTES_MAX,
    zeroFillStepBytes: options.zeroFillStepBytes ?? SIM_ZERO_FILL_STEP_BYTES,
    logger,
    schedule: (run) => queueMicrotask(run),
  });
}
