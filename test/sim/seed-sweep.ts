import { runSimulation, type SimOptions, type SimResult, type SimStats } from './run.js';

/** What a run of many seeds found: failures ready to print, and the summed statistics. */
export interface SeedSweep {
  readonly failures: string[];
  readonly nodeCounts: ReadonlySet<number>;
  total(key: keyof SimStats): number;
}

/** 3 nodes on odd seeds, 5 on even ones, as `npm run sim -- --nodes mixed`. */
export function mixedNodes(seed: number): number {
  return seed % 2 === 0 ? 5 : 3;
}

/**
 * Runs seeds first..first+count-1 with `options` (plus the seed and mixed node counts). Each
 * failure names its seed and the one-line command that replays it with a trace.
 */
export async function sweepSeeds(first: number, count: number, options: Omit<SimOptions, 'seed' | 'nodes'> = {}): Promise<SeedSweep> {
  const failures: string[] = [];
  const totals = new Map<keyof SimStats, number>();
  const nodeCounts = new Set<number>();
  for (let seed = first; seed < first + count; seed++) {
    const result = await runSimulation({ ...options, seed, nodes: mixedNodes(seed) });
    nodeCounts.add(result.nodes);
    for (const [key, value] of Object.entries(result.stats) as [keyof SimStats, number][]) {
      totals.set(key, (totals.get(key) ?? 0) + value);
    }
    if (!result.ok) failures.push(describeFailure(result, options.diskFaults ? ' --disk-faults' : ''));
  }
  return { failures, nodeCounts, total: (key) => totals.get(key) ?? 0 };
}

function describeFailure(result: SimResult, extraFlags: string): string {
  return [
    `seed ${result.seed} (${result.nodes} nodes) failed:`,
    ...result.violations.slice(0, 8).map((violation) => `  ${violation}`),
    `  replay: npm run sim -- --seed ${result.seed} --nodes ${result.nodes}${extraFlags} --trace`,
  ].join('\n');
}
