import { describe, expect, it } from '@jest/globals';
import { Prng } from '../../../src/consensus/core/prng.js';
import type { RaftStorage } from '../../../src/storage/raft-storage.js';
import { makeEntries } from './entries.js';
import { openSimStorage } from './sim-storage.js';
import { SimulatedDisk } from './simulated-disk.js';

/**
 * A failed fsync leaves the written data readable (page cache) but not durable. The process
 * crashes (STYLE 6), and the next one reads that data back and relies on it: it votes and
 * acknowledges from it. So recovery must make what it read durable before the node uses it, or a
 * later power loss takes back a vote or an acknowledged entry. Each case: the failure, a process
 * restart, then power losses drawn from many seeds.
 */

const DIR = '/data/n1';
const silent = { log: () => undefined, warn: () => undefined };
const POWER_LOSS_DRAWS = 30;

/** Runs `fail` on a fresh disk, restarts the process once, then checks `survives` after each power-loss draw. */
async function afterFailedSyncAndRestart(
  prepare: (storage: RaftStorage, disk: SimulatedDisk) => Promise<void>,
  relied: (storage: RaftStorage) => unknown,
): Promise<{ relied: unknown; afterPowerLoss: unknown[] }> {
  const results: unknown[] = [];
  let reliedOn: unknown;
  for (let seed = 1; seed <= POWER_LOSS_DRAWS; seed++) {
    const disk = new SimulatedDisk();
    await prepare(await openSimStorage(disk, DIR, silent), disk);
    disk.processRestarted();
    const restarted = await openSimStorage(disk, DIR, silent);
    reliedOn = relied(restarted);
    disk.powerLoss(new Prng(seed));
    results.push(relied(await openSimStorage(disk, DIR, silent)));
  }
  return { relied: reliedOn, afterPowerLoss: results };
}

describe('recovery makes what it read durable before the node relies on it', () => {
  it('keeps entries whose fsync failed once a restarted node has read them (WAL)', async () => {
    const { relied, afterPowerLoss } = await afterFailedSyncAndRestart(
      async (storage, disk) => {
        await storage.save({ entries: makeEntries(1, 3, 1) });
        disk.injectError('fsync');
        await expect(storage.save({ entries: makeEntries(4, 5, 1) })).rejects.toThrow(/EIO/);
      },
      (storage) => storage.lastIndex,
    );
    expect(relied).toBe(5);
    expect(new Set(afterPowerLoss)).toEqual(new Set([5]));
  });

  it('keeps a vote whose directory fsync failed once a restarted node has read it (hard state)', async () => {
    const { relied, afterPowerLoss } = await afterFailedSyncAndRestart(
      async (storage, disk) => {
        await storage.save({ entries: [], hardState: { term: 1, vote: 'n1', commit: 0 } });
        // The second fsync of the save: state.tmp is synced, the directory after the rename is not.
        disk.injectError('fsync', 1);
        await expect(storage.save({ entries: [], hardState: { term: 2, vote: 'n2', commit: 0 } })).rejects.toThrow(/EIO/);
      },
      (storage) => JSON.stringify(storage.hardState),
    );
    const voted = JSON.stringify({ term: 2, vote: 'n2', commit: 0 });
    expect(relied).toBe(voted);
    expect(new Set(afterPowerLoss)).toEqual(new Set([voted]));
  });
});
