import { Prng } from '../../../src/consensus/core/prng.js';
import { PowerFailedError, SimulatedDisk } from './simulated-disk.js';

export interface CrashPointRun {
  readonly crashAt: number;
  readonly seed: number;
  /** The disk after the power loss, to recover from. */
  readonly disk: SimulatedDisk;
}

/**
 * Runs `scenario` on a fresh simulated disk whose power fails after k mutating operations, for
 * k = 0, 1, 2, ... until a run completes without failing; each failed run's disk loses power
 * (one draw per seed) and goes to `afterCrash`, which recovers from it and records problems.
 * `scenario` reports its progress through `progress`, so `afterCrash` knows what was acknowledged.
 * Returns the number of crash points crossed.
 */
export async function everyCrashPoint<P>(
  seeds: readonly number[],
  scenario: (disk: SimulatedDisk, progress: (p: P) => void) => Promise<void>,
  initial: P,
  afterCrash: (run: CrashPointRun, progress: P) => Promise<void>,
): Promise<number> {
  let crashPoints = 0;
  for (let crashAt = 0; ; crashAt++) {
    for (const seed of seeds) {
      const disk = new SimulatedDisk();
      disk.powerFailsAfter(crashAt);
      let progress = initial;
      try {
        await scenario(disk, (p) => (progress = p));
        return crashPoints;
      } catch (error) {
        if (!(error instanceof PowerFailedError) && !disk.hasPowerFailed) throw error;
      }
      await drainPromises();
      disk.powerLoss(new Prng(crashAt * 1000 + seed));
      await afterCrash({ crashAt, seed, disk }, progress);
    }
    crashPoints++;
  }
}

/** Lets work a failed operation left queued finish (it fails too: the power is off). */
function drainPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
