import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runSimulation, type SimResult, type SimStats } from './run.js';

/**
 * npm run sim -- --seeds 1000 --nodes 5 [--from 1] [--seed N] [--ticks N] [--disk-faults] [--trace [file]]
 *
 * Runs seeds from..from+seeds-1 (or the one --seed), prints progress and a summary, and for
 * every failing seed the one-line command that replays it with a full trace written to a file.
 * `--nodes mixed` (the default) uses 5 nodes for even seeds and 3 for odd ones. `--disk-faults`
 * runs every node on the real storage code over a simulated disk, with power loss and disk errors.
 * The wall clock is read only here, for the seeds/second figure; it never reaches a simulation.
 */

const USAGE = 'usage: npm run sim -- [--seeds N] [--from N] [--seed N] [--nodes 3|5|mixed] [--ticks N] [--disk-faults] [--trace [FILE]]';

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seeds: { type: 'string', default: '100' },
      from: { type: 'string', default: '1' },
      seed: { type: 'string' },
      nodes: { type: 'string', default: 'mixed' },
      ticks: { type: 'string' },
      trace: { type: 'boolean', default: false },
      'disk-faults': { type: 'boolean', default: false },
      'trace-file': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const nodesFor = parseNodes(values.nodes);
  const faultTicks = values.ticks === undefined ? undefined : parseCount('--ticks', values.ticks);
  const diskFaults = values['disk-faults'];

  if (values.seed !== undefined) {
    const seed = parseCount('--seed', values.seed, 0);
    const trace = values.trace || values['trace-file'] !== undefined;
    const result = await runSimulation({ seed, nodes: nodesFor(seed), faultTicks, trace, diskFaults });
    printResult(result, faultTicks, diskFaults);
    if (trace) {
      const file = values['trace-file'] ?? `sim-trace-${seed}.log`;
      writeFileSync(file, `${(result.trace ?? []).join('\n')}\n`);
      console.log(`trace: ${file} (${result.trace?.length ?? 0} lines)`);
    }
    return result.ok ? 0 : 1;
  }

  const count = parseCount('--seeds', values.seeds);
  const from = parseCount('--from', values.from, 0);
  const started = performance.now();
  const failures: SimResult[] = [];
  const totals = new Map<keyof SimStats, number>();
  const progressEvery = Math.max(1, Math.floor(count / 20));
  for (let i = 0; i < count; i++) {
    const seed = from + i;
    const result = await runSimulation({ seed, nodes: nodesFor(seed), faultTicks, diskFaults });
    for (const [key, value] of Object.entries(result.stats) as [keyof SimStats, number][]) {
      totals.set(key, (totals.get(key) ?? 0) + value);
    }
    if (!result.ok) {
      failures.push(result);
      printResult(result, faultTicks, diskFaults);
    }
    if ((i + 1) % progressEvery === 0 || i + 1 === count) {
      const rate = (i + 1) / ((performance.now() - started) / 1000);
      console.log(`  ${i + 1}/${count} seeds, ${failures.length} failed, ${rate.toFixed(1)} seeds/s`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const total = (key: keyof SimStats): number => totals.get(key) ?? 0;
  console.log(
    `\nsim: ${count} seeds (${from}..${from + count - 1}), ${failures.length} failed, ` +
      `${(count / seconds).toFixed(1)} seeds/s, ${seconds.toFixed(1)} s`,
  );
  console.log(
    `  ops checked ${total('opsChecked')} (completed ${total('opsCompleted')}, unknown outcome ${total('opsUnknown')}), ` +
      `client retries ${total('clientRetries')} (timeouts) + ${total('unknownAttempts')} (index lost to another entry), ` +
      `committed entries ${total('committedEntries')}, leader terms ${total('leaderTerms')}`,
  );
  console.log(
    `  crashes ${total('crashes')}, pauses ${total('pauses')}, transfers ${total('leadershipTransfers')}, partition layouts ${total('partitionLayouts')}, ` +
      `messages ${total('messagesSent')} (dropped ${total('messagesDropped')}, duplicated ${total('messagesDuplicated')}), ` +
      `snapshots sent ${total('snapshotsSent')}`,
  );
  if (diskFaults) {
    console.log(
      `  disk: power losses ${total('powerLosses')}, injected errors ${total('diskErrors')}, nodes crashed by their disk ${total('diskFailures')}, ` +
        `bit flips ${total('bitFlips')} (detected at restart ${total('corruptionsDetected')})`,
    );
  }
  console.log(
    `  unknown-outcome writes seen to take effect ${total('unknownWritesSeen')}, ` +
      `linearizability search steps ${total('linearizabilitySteps')}, inconclusive keys ${total('inconclusiveKeys')}`,
  );
  if (failures.length > 0) {
    const shown = failures.slice(0, 20).map((f) => f.seed);
    console.log(`failing seeds: ${shown.join(' ')}${failures.length > shown.length ? ' ...' : ''}`);
  }
  return failures.length === 0 ? 0 : 1;
}

function printResult(result: SimResult, faultTicks?: number, diskFaults = false): void {
  const s = result.stats;
  if (result.ok) {
    console.log(
      `seed ${result.seed} (${result.nodes} nodes): ok in ${s.ticks} ticks; ${s.opsCompleted}/${s.opsInvoked} ops (${s.opsUnknown} unknown), ` +
        `${s.leaderTerms} leader terms, ${s.crashes} crashes, ${s.snapshotsSent} snapshots sent, recovered in ${s.recoveryTicks} ticks`,
    );
    return;
  }
  console.log(`FAIL seed ${result.seed} (${result.nodes} nodes):`);
  for (const violation of result.violations.slice(0, 12)) console.log(`  ${violation.replaceAll('\n', '\n  ')}`);
  const ticks = faultTicks === undefined ? '' : ` --ticks ${faultTicks}`;
  console.log(`  replay: npm run sim -- --seed ${result.seed} --nodes ${result.nodes}${ticks}${diskFaults ? ' --disk-faults' : ''} --trace`);
}

function parseNodes(text: string): (seed: number) => number {
  if (text === 'mixed') return (seed) => (seed % 2 === 0 ? 5 : 3);
  const nodes = parseCount('--nodes', text);
  return () => nodes;
}

function parseCount(flag: string, text: string, min = 1): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

process.exitCode = await main(process.argv.slice(2));
