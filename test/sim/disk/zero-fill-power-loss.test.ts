import { describe, expect, it } from '@jest/globals';
import { Wal, type WalOptions } from '../../../src/storage/wal/wal.js';
import { makeEntries } from './entries.js';
import { everyCrashPoint } from './every-crash-point.js';
import type { SimulatedDisk } from './simulated-disk.js';

/**
 * The WAL writes zeros ahead of its append position in the background. For every crash point of
 * a run of appends across several zero-fill steps and segment rolls, the power fails right there;
 * after a power loss (several draws) the WAL must open, keep every acknowledged entry, take
 * new appends and keep them across another restart. Zeros a power loss kept, lost or tore must
 * never make recovery refuse the log or drop an acknowledged entry.
 */

const SEEDS = [1, 2, 3, 4, 5, 6];
const DIR = '/data/n1/wal';
const ENTRIES = 40;
const OPTIONS: WalOptions = { segmentBytesMax: 1536, zeroFillStepBytes: 512, schedule: (run) => queueMicrotask(run) };

function recordingLogger(): { log(m: string): void; warn(m: string): void; warnings: string[] } {
  const warnings: string[] = [];
  return { log: () => undefined, warn: (m: string) => warnings.push(m), warnings };
}

function sameEntries(a: readonly { index: number; term: number; data: Uint8Array }[], b: readonly { index: number; term: number; data: Uint8Array }[]): boolean {
  return a.length === b.length && a.every((e, i) => e.index === b[i].index && e.term === b[i].term && Buffer.from(e.data).equals(Buffer.from(b[i].data)));
}

describe('power loss while the WAL zero-fills ahead', () => {
  it('recovers every acknowledged entry at each crash point, whatever the zeros became', async () => {
    const written = makeEntries(1, ENTRIES, 1);
    const failures: string[] = [];
    let zeroTailRepairs = 0;
    let cleanZeroEnds = 0;
    const appendAll = async (disk: SimulatedDisk, acknowledged: (index: number) => void): Promise<void> => {
      const wal = await Wal.open(disk, DIR, { ...OPTIONS, logger: recordingLogger() });
      for (const entry of written) {
        await wal.append([entry]);
        acknowledged(entry.index);
      }
      await wal.close();
    };
    const crashPoints = await everyCrashPoint(SEEDS, appendAll, 0, async ({ crashAt, seed, disk }, acknowledged) => {
      const where = `crash point ${crashAt}, seed ${seed}`;
      try {
        const logger = recordingLogger();
        const wal = await Wal.open(disk, DIR, { ...OPTIONS, logger });
        if (logger.warnings.some((w) => w.includes('zero length'))) zeroTailRepairs++;
        if (logger.warnings.length === 0 && disk.list(DIR).length > 0) cleanZeroEnds++;
        const last = wal.lastIndex;
        if (last < acknowledged) failures.push(`${where}: last index ${last} below acknowledged ${acknowledged}`);
        else if (last > 0 && !sameEntries(await wal.read(1, last + 1), written.slice(0, last))) failures.push(`${where}: entries differ`);
        const more = makeEntries(last + 1, last + 3, 2);
        await wal.append(more);
        await wal.close();
        const reopened = await Wal.open(disk, DIR, { ...OPTIONS, logger: recordingLogger() });
        if (reopened.lastIndex !== last + 3) failures.push(`${where}: after appending 3, reopened at ${reopened.lastIndex}, not ${last + 3}`);
        else if (!sameEntries(await reopened.read(last + 1, last + 4), more)) failures.push(`${where}: the appends after recovery differ`);
        await reopened.close();
      } catch (error) {
        failures.push(`${where}: recovery failed: ${String(error)}`);
      }
    });
    expect(failures).toEqual([]);
    // The run must cross many crash points, some of them inside zero-fill writes that tore.
    expect(crashPoints).toBeGreaterThan(80);
    expect(zeroTailRepairs).toBeGreaterThan(0);
    expect(cleanZeroEnds).toBeGreaterThan(0);
  });
});
