import { describe, expect, it } from '@jest/globals';
import { runSimulation, type SimResult, type SimStats } from './run.js';

/**
 * The standing regression run: real Raft cores under the full fault mix, seeds 1..SEED_COUNT,
 * 3 nodes on odd seeds and 5 on even ones (as `npm run sim -- --nodes mixed`). Any violation
 * fails with the seed and the one-line command that replays it with a trace.
 */

const SEED_COUNT = 200;
const FIRST_SEED = 1;

function nodesFor(seed: number): number {
  return seed % 2 === 0 ? 5 : 3;
}

function describeFailure(result: SimResult): string {
  return [
    `seed ${result.seed} (${result.nodes} nodes) failed:`,
    ...result.violations.slice(0, 8).map((violation) => `  ${violation}`),
    `  replay: npm run sim -- --seed ${result.seed} --nodes ${result.nodes} --trace`,
  ].join('\n');
}

describe(`simulator: ${SEED_COUNT} seeds, mixed 3 and 5 nodes`, () => {
  it('finds no safety, linearizability, exactly-once or liveness violation', async () => {
    const failures: string[] = [];
    const totals = new Map<keyof SimStats, number>();
    const sizes = new Set<number>();
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEED_COUNT; seed++) {
      const result = await runSimulation({ seed, nodes: nodesFor(seed) });
      sizes.add(result.nodes);
      for (const [key, value] of Object.entries(result.stats) as [keyof SimStats, number][]) {
        totals.set(key, (totals.get(key) ?? 0) + value);
      }
      if (!result.ok) failures.push(describeFailure(result));
    }
    if (failures.length > 0) console.error(failures.join('\n'));
    expect(failures).toEqual([]);

    // The run must have exercised what it claims to: a quiet run proves nothing.
    const total = (key: keyof SimStats): number => totals.get(key) ?? 0;
    expect([...sizes].sort()).toEqual([3, 5]);
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
