import { describe, expect, it } from '@jest/globals';
import { runSimulation } from './run.js';
import { sweepSeeds } from './seed-sweep.js';

/**
 * The standing power-loss run: every node keeps its state with the real storage code (WAL, hard
 * state, snapshots) on its own simulated disk, under power loss of one node, a minority and all
 * nodes at once (some in the middle of a write), read/write/fsync errors and latent bit flips,
 * on top of the usual network and crash faults. After every restart the safety checkers must
 * hold (no vote forgotten, no committed entry changed), and at the end linearizability and
 * exactly-once. Mixed 3 and 5 nodes, as `npm run sim -- --disk-faults`.
 */

const SEED_COUNT = 300;

describe(`simulator on simulated disks: ${SEED_COUNT} seeds with power loss and disk errors`, () => {
  it('finds no safety, linearizability, exactly-once, liveness or storage violation', async () => {
    const { failures, total } = await sweepSeeds(1, SEED_COUNT, { diskFaults: true });
    if (failures.length > 0) console.error(failures.join('\n'));
    expect(failures).toEqual([]);

    // The run must have exercised what it claims to.
    expect(total('powerLosses')).toBeGreaterThan(SEED_COUNT);
    expect(total('diskFailures')).toBeGreaterThan(SEED_COUNT);
    expect(total('diskErrors')).toBeGreaterThan(0);
    expect(total('bitFlips')).toBeGreaterThan(0);
    // Every bit flip was found by the CRC at the next start, and nothing else was refused.
    expect(total('corruptionsDetected')).toBe(total('bitFlips'));
    expect(total('snapshotsDelivered')).toBeGreaterThan(0);
    expect(total('opsCompleted')).toBeGreaterThan(50 * SEED_COUNT);
    expect(total('inconclusiveKeys')).toBe(0);
  });

  it('replays a seed to the same trace, byte for byte', async () => {
    const first = await runSimulation({ seed: 6, nodes: 5, diskFaults: true, trace: true });
    const second = await runSimulation({ seed: 6, nodes: 5, diskFaults: true, trace: true });
    expect(first.ok).toBe(true);
    expect(first.stats.powerLosses + first.stats.diskFailures).toBeGreaterThan(0);
    expect((second.trace ?? []).join('\n') === (first.trace ?? []).join('\n')).toBe(true);
    expect(second.stats).toEqual(first.stats);
  });
});
