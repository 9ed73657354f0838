import { describe, expect, it } from '@jest/globals';
import { sweepSeeds } from './seed-sweep.js';

/**
 * The standing regression run: real Raft cores under the full fault mix, seeds 1..SEED_COUNT,
 * 3 nodes on odd seeds and 5 on even ones (as `npm run sim -- --nodes mixed`). Any violation
 * fails with the seed and the one-line command that replays it with a trace.
 */

const SEED_COUNT = 200;
const FIRST_SEED = 1;

describe(`simulator: ${SEED_COUNT} seeds, mixed 3 and 5 nodes`, () => {
  it('finds no safety, linearizability, exactly-once or liveness violation', async () => {
    const { failures, nodeCounts, total } = await sweepSeeds(FIRST_SEED, SEED_COUNT);
    if (failures.length > 0) console.error(failures.join('\n'));
    expect(failures).toEqual([]);

    // The run must have exercised what it claims to: a quiet run proves nothing.
    expect([...nodeCounts].sort()).toEqual([3, 5]);
    expect(total('crashes')).toBeGreaterThan(SEED_COUNT);
    expect(total('restarts')).toBeGreaterThan(0);
    expect(total('partitionLayouts')).toBeGreaterThan(SEED_COUNT);
    expect(total('messagesDropped')).toBeGreaterThan(0);
    expect(total('messagesDuplicated')).toBeGreaterThan(0);
    expect(total('snapshotsDelivered')).toBeGreaterThan(0);
    expect(total('leaderTerms')).toBeGreaterThan(2 * SEED_COUNT);
    expect(total('opsCompleted')).toBeGreaterThan(100 * SEED_COUNT);
    // Unknown outcomes must really occur, both for whole ops and for single attempts.
    expect(total('opsUnknown')).toBeGreaterThan(0);
    expect(total('unknownAttempts')).toBeGreaterThan(0);
    // ...and some abandoned writes did take effect, so the checkers had to place them, not drop them.
    expect(total('unknownWritesSeen')).toBeGreaterThan(0);
    expect(total('opsChecked')).toBe(total('opsCompleted') + total('opsUnknown'));
    // The bounded linearizability search must have decided every key, not given up.
    expect(total('inconclusiveKeys')).toBe(0);
  });
});
