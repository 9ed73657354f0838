import { describe, expect, it } from '@jest/globals';
import type { Entry, HardState, SnapshotMeta } from '../../../src/consensus/core/messages.js';
import { RaftStorage } from '../../../src/storage/raft-storage.js';
import { makeEntries } from './entries.js';
import { everyCrashPoint } from './every-crash-point.js';
import type { SimulatedDisk } from './simulated-disk.js';
import { openSimStorage } from './sim-storage.js';

/**
 * For every crash point of a scripted sequence (appends, group commit, segment roll-over,
 * suffix truncation inside a segment and across segments, a snapshot's write and rename,
 * compaction, a leader's snapshot install), the power fails right there; after a power loss
 * (drawn from several seeds) recovery must give the model's durable state: the state after the
 * last acknowledged step, or the step in flight partly done (a prefix of its new log that keeps
 * everything both logs agree on), and one of the two hard states.
 */

const SEEDS = [1, 2, 3, 4, 5];
/** Zeros written ahead in steps of half a segment: every crash point of zero-filling is one of the points. */
const ZERO_FILL = { zeroFillStepBytes: 128 };
const DIR = '/data/n1';
const CONFIG = { voters: ['n1', 'n2', 'n3'] };

/** The model: the whole logical log (entries a snapshot covers included) and the hard state. */
interface ModelState {
  readonly log: readonly Entry[];
  readonly hardState: HardState;
}

const entries = makeEntries;

async function takeSnapshot(storage: RaftStorage, meta: SnapshotMeta): Promise<void> {
  const writer = await storage.snapshots.beginWrite(meta);
  await writer.write(new TextEncoder().encode(`state at ${meta.index}`));
  await writer.commit();
}

type Step = { readonly name: string; readonly run: (storage: RaftStorage) => Promise<void>; readonly after: ModelState };

/** The scripted steps and the model state after each (index 0: before any). */
function script(): { initial: ModelState; steps: Step[] } {
  const initial: ModelState = { log: [], hardState: { term: 0, vote: null, commit: 0 } };
  const steps: Step[] = [];
  let model = initial;
  const add = (name: string, run: Step['run'], change: (m: ModelState) => ModelState): void => {
    model = change(model);
    steps.push({ name, run, after: model });
  };
  const appendModel = (m: ModelState, batch: readonly Entry[], hardState?: HardState): ModelState => ({
    log: [...m.log.slice(0, batch[0].index - 1), ...batch],
    hardState: hardState ?? m.hardState,
  });

  const hs1 = { term: 1, vote: 'n1', commit: 0 };
  add('append 1..3 with a vote', (s) => s.save({ entries: entries(1, 3, 1), hardState: hs1 }), (m) => appendModel(m, entries(1, 3, 1), hs1));
  // Two saves in flight together share one write and one sync (group commit).
  add(
    'group commit 4..6 and 7..9',
    async (s) => {
      await Promise.all([s.save({ entries: entries(4, 6, 1) }), s.save({ entries: entries(7, 9, 1), hardState: { ...hs1, commit: 4 } })]);
    },
    (m) => appendModel(appendModel(m, entries(4, 6, 1)), entries(7, 9, 1), { ...hs1, commit: 4 }),
  );
  add('roll-over 10..14', (s) => s.save({ entries: entries(10, 14, 1) }), (m) => appendModel(m, entries(10, 14, 1)));
  const hs2 = { term: 2, vote: 'n2', commit: 9 };
  add('new term, vote', (s) => s.save({ entries: [], hardState: hs2 }), (m) => ({ ...m, hardState: hs2 }));
  add('truncate suffix in the last segment', (s) => s.save({ entries: entries(13, 15, 2) }), (m) => appendModel(m, entries(13, 15, 2)));
  add('truncate suffix across segments', (s) => s.save({ entries: entries(11, 12, 3), hardState: { term: 3, vote: null, commit: 10 } }), (m) =>
    appendModel(m, entries(11, 12, 3), { term: 3, vote: null, commit: 10 }),
  );
  const own: SnapshotMeta = { index: 10, term: 1, config: CONFIG };
  add('snapshot write, rename, compaction', async (s) => {
    await takeSnapshot(s, own);
    await s.compact(own);
  }, (m) => m);
  add('append 13..20', (s) => s.save({ entries: entries(13, 20, 3), hardState: { term: 3, vote: null, commit: 15 } }), (m) =>
    appendModel(m, entries(13, 20, 3), { term: 3, vote: null, commit: 15 }),
  );
  // A leader's snapshot past the end of the log: the log is discarded and restarts after it.
  const leaders: SnapshotMeta = { index: 24, term: 4, config: CONFIG };
  const leaderLog = [...model.log.slice(0, 15), ...entries(16, 24, 4)];
  add('install a leader snapshot', async (s) => {
    await takeSnapshot(s, leaders);
    await s.save({ entries: [], snapshot: leaders, hardState: { term: 4, vote: null, commit: 24 } });
  }, () => ({ log: leaderLog, hardState: { term: 4, vote: null, commit: 24 } }));
  add('append 25..27', (s) => s.save({ entries: entries(25, 27, 4) }), (m) => appendModel(m, entries(25, 27, 4)));
  return { initial, steps };
}

const silent = { log: () => undefined, warn: () => undefined };

/** What a reopened storage holds, as index -> "term:data" for the indices it can speak for. */
interface Recovered {
  readonly last: number;
  readonly known: Map<number, string>;
  readonly hardState: HardState;
}

async function recover(disk: SimulatedDisk): Promise<Recovered> {
  const storage = await openSimStorage(disk, DIR, silent, ZERO_FILL);
  const known = new Map<number, string>();
  const snapshot = storage.snapshot;
  if (snapshot) known.set(snapshot.index, `${snapshot.term}:?`);
  for await (const batch of storage.entries(storage.firstIndex)) {
    for (const e of batch) known.set(e.index, `${e.term}:${new TextDecoder().decode(e.data)}`);
  }
  const last = Math.max(storage.lastIndex, snapshot?.index ?? 0);
  const hardState = storage.hardState;
  await storage.close();
  return { last, known, hardState };
}

function describeEntry(e: Entry): string {
  return `${e.term}:${new TextDecoder().decode(e.data)}`;
}

function matches(recovered: Recovered, log: readonly Entry[]): boolean {
  if (recovered.last !== log.length) return false;
  for (const [index, value] of recovered.known) {
    const expected = log[index - 1];
    if (expected === undefined) return false;
    const [term, data] = value.split(':', 2);
    if (term !== String(expected.term) || (data !== '?' && value !== describeEntry(expected))) return false;
  }
  return true;
}

function commonPrefix(a: readonly Entry[], b: readonly Entry[]): number {
  let n = 0;
  while (n < a.length && n < b.length && describeEntry(a[n]) === describeEntry(b[n])) n++;
  return n;
}

/** Why `recovered` is not a state a power loss during `from -> to` may leave, or null. */
function problem(recovered: Recovered, from: ModelState, to: ModelState): string | null {
  const sameHardState = (a: HardState, b: HardState): boolean => a.term === b.term && a.vote === b.vote && a.commit === b.commit;
  if (!sameHardState(recovered.hardState, from.hardState) && !sameHardState(recovered.hardState, to.hardState)) {
    return `hard state ${JSON.stringify(recovered.hardState)} is neither ${JSON.stringify(from.hardState)} nor ${JSON.stringify(to.hardState)}`;
  }
  if (matches(recovered, from.log)) return null;
  const lcp = commonPrefix(from.log, to.log);
  for (let length = lcp; length <= to.log.length; length++) if (matches(recovered, to.log.slice(0, length))) return null;
  return `log ending at ${recovered.last} (${[...recovered.known].map(([i, v]) => `${i}=${v}`).join(' ')}) is no durable prefix`;
}

describe('power loss at every crash point of a scripted storage sequence', () => {
  it('recovers the durable prefix of the model at each point, under several power-loss draws', async () => {
    const { initial, steps } = script();
    const failures: string[] = [];
    let tornWrites = 0;
    const runScript = async (disk: SimulatedDisk, stepsDone: (done: number) => void): Promise<void> => {
      const storage = await openSimStorage(disk, DIR, silent, ZERO_FILL);
      for (const [k, step] of steps.entries()) {
        await step.run(storage);
        stepsDone(k + 1);
      }
    };
    const crashPoints = await everyCrashPoint(SEEDS, runScript, 0, async ({ crashAt, seed, disk }, done) => {
      tornWrites += disk.stats.tornWrites;
      const from = done === 0 ? initial : steps[done - 1].after;
      const to = steps[done]?.after ?? from;
      const where = `crash point ${crashAt} (in "${steps[done]?.name ?? 'open'}"), seed ${seed}`;
      try {
        const why = problem(await recover(disk), from, to);
        if (why !== null) failures.push(`${where}: ${why}`);
      } catch (error) {
        failures.push(`${where}: recovery failed: ${String(error)}`);
      }
    });
    expect(failures).toEqual([]);
    // The script must really cross every kind of crash point (many operations, some torn writes).
    expect(crashPoints).toBeGreaterThan(60);
    expect(tornWrites).toBeGreaterThan(10);
  });
});

